"""``/mcp``: the MCP tools over streamable HTTP, made on the first request to it.

A ``memory http`` that only answers the REST API and the dashboard (the local clients it coordinates speak REST)
never loads the MCP SDK, which holds about 24 MB once imported. The first ``/mcp`` request imports it in a worker
thread (about 0.3 s), builds the server over the same service and starts its session manager in the app's
lifespan task group; later requests go straight to it.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus
from starlette.routing import Route

from mcp_memory.config import Settings

from .settings import HttpSettings

#: what the first request imports off the event loop
SDK_MODULES = ("mcp.server.mcpserver", "mcp.server.transport_security", "mcp_memory.mcp_server")


class McpEndpoint:
    """An ASGI app for the ``/mcp`` route. ``running()`` belongs in the app's lifespan: it owns the session
    manager once there is one, and stops it at shutdown."""

    def __init__(self, service: Any, settings: Settings, http: HttpSettings):
        self.service, self.settings, self.http = service, settings, http
        self._app: Any = None
        self._lock = anyio.Lock()
        self._tasks: TaskGroup | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                yield
            finally:
                self._tasks = None
                tasks.cancel_scope.cancel()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        app = self._app if self._app is not None else await self._start()
        await app(scope, receive, send)

    async def _start(self) -> Any:
        async with self._lock:
            if self._app is None:
                if self._tasks is None:
                    raise RuntimeError("/mcp needs the app's lifespan to run (McpEndpoint.running)")
                await anyio.to_thread.run_sync(_import_sdk)
                server, app = self._build()
                await self._tasks.start(_hold, server.session_manager)
                self._app = app
        return self._app

    def _build(self) -> tuple[Any, Any]:
        """The MCP server over the service and its streamable-HTTP ASGI app. A session's project comes from its
        client's roots (or MCP_MEMORY_PROJECT), never from this server's working directory."""
        from mcp.server.transport_security import TransportSecuritySettings

        from mcp_memory.mcp_server import build_server

        service = self.service

        async def get_service() -> Any:
            return service

        server = build_server(get_service, self.settings, use_cwd=False)
        # RequestGuard checks Host and Origin of every route, /mcp included: one rule, in one place
        starlette_app = server.streamable_http_app(
            streamable_http_path="/mcp", host=self.http.host, max_request_body_size=self.http.max_body_bytes,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        [route] = [r for r in starlette_app.routes if isinstance(r, Route) and r.path == "/mcp"]
        return server, route.endpoint


def _import_sdk() -> None:
    for name in SDK_MODULES:
        importlib.import_module(name)


async def _hold(manager: Any, *, task_status: TaskStatus[None]) -> None:
    """Keep the session manager running until the lifespan's task group is cancelled."""
    async with manager.run():
        task_status.started()
        await anyio.sleep_forever()

"""Running the app on uvicorn: in the foreground (``memory http``) or as a task of a ``memory`` process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from mcp_memory.config import Settings
from mcp_memory.coordination import direct_opener
from mcp_memory.errors import ConfigError
from mcp_memory.heap import settle
from mcp_memory.logging import get_logger

from .app import create_app
from .auth import check_bind, is_loopback
from .events import EventBus, PublishingService
from .guard import accepted_hosts
from .listen import HTTP_SERVER, bind_socket
from .settings import HttpSettings

log = get_logger(__name__)

GRACEFUL_SECONDS = 3


def port_in_use_error(host: str, port: int, exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot listen on {host}:{port}: {exc.strerror or exc}. Another program (or another memory server: "
        "check with 'memory coordination') holds the port; stop it or choose another with --port / MCP_HTTP_PORT"
    )


def _config(app: Any, settings: Settings) -> uvicorn.Config:
    # log_config=None: uvicorn logs through the root logger that mcp_memory sends to stderr.
    return uvicorn.Config(app, log_config=None, access_log=False, lifespan="on",
                          timeout_graceful_shutdown=GRACEFUL_SECONDS,
                          log_level=settings.log_level.lower())


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class BackgroundServer:
    """The HTTP server as an asyncio task of this process (coordination mode ``http_server``)."""

    def __init__(self, service: Any, settings: Settings, sock: socket.socket):
        self.bus = EventBus()
        self.service = PublishingService(service, self.bus)
        self.settings = settings
        self.sock = sock
        self.server = _QuietServer(_config(create_app(self.service, settings), settings))
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started and not self.task.done():  # noqa: ASYNC110 - uvicorn has no "started" event
            await asyncio.sleep(0.01)
        if self.task.done():
            self.task.result()  # raises what went wrong
            raise ConfigError("the HTTP server stopped right after starting; see the log above")
        host, port = self.sock.getsockname()[:2]
        log.info("serving HTTP for other clients", url=f"http://{host}:{port}", mode=HTTP_SERVER)

    async def stop(self) -> None:
        if self.task is None:
            return
        self.bus.close()
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), GRACEFUL_SECONDS + 2)
        except asyncio.TimeoutError:
            self.server.force_exit = True
            await self.task
        finally:
            self.sock.close()
            self.task = None


class ServingService:
    """The local service of an ``http_server`` process; closing it stops the HTTP server first."""

    def __init__(self, server: BackgroundServer):
        self._server = server
        self._service = server.service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    async def close(self) -> None:
        try:
            await self._server.stop()
        finally:
            await self._service.close()


async def serve_in_background(settings: Settings, sock: socket.socket) -> ServingService:
    """Open the store in this process and serve it over HTTP from a task; return the local service."""
    service = await direct_opener(settings, HTTP_SERVER)()
    server = BackgroundServer(service, settings, sock)
    try:
        await server.start()
    except BaseException:
        sock.close()
        await service.close()
        raise
    return ServingService(server)


def _warm_up_in_background(service: Any, settings: Settings) -> None:
    """Load the embedding model while the server already answers (MCP_MEMORY_WARMUP=false skips it)."""
    if not settings.warmup:
        return
    embedder = getattr(service, "embedder", None)
    if embedder is None or not hasattr(embedder, "warm_up"):
        return

    def load() -> None:
        try:
            embedder.warm_up()
        except Exception as exc:  # the first search reports the same error to its caller
            log.warning("embedder warm-up failed", error=f"{type(exc).__name__}: {exc}")
        settle()

    threading.Thread(target=load, name="embedder-warmup", daemon=True).start()


def _stop_on_signals(server: uvicorn.Server) -> None:
    """SIGINT/SIGTERM end the serve loop gracefully, so that the store is closed (WAL checkpointed)."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        server.force_exit = server.should_exit  # a second signal: stop waiting for open connections
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl+C still interrupts
            loop.add_signal_handler(sig, stop)


def _listening_log(http: HttpSettings) -> None:
    """The one start-up line: where the dashboard, the API docs and MCP answer."""
    host = http.host if ":" not in http.host.strip("[]") else f"[{http.host.strip('[]')}]"
    url = f"http://{host}:{http.port}"
    log.info("memory HTTP server listening", url=url, dashboard=f"{url}/", api_docs=f"{url}/docs",
             mcp=f"{url}/mcp", api_key_required=bool(http.api_key))
    if not is_loopback(http.host) and not http.allowed_hosts:
        log.warning("listening beyond this machine: requests are answered only for the host names "
                    f"{', '.join(sorted(accepted_hosts(http)))}; add the names other machines use to reach this "
                    "one (its DNS name or address) to MCP_HTTP_ALLOWED_HOSTS")


def run_foreground(settings: Settings) -> int:
    """``memory http``: serve until SIGINT/SIGTERM, then close the store."""
    http = HttpSettings.of(settings)
    check_bind(http.host, http.api_key)
    try:
        sock = bind_socket(http.host, http.port)
    except OSError as exc:
        raise port_in_use_error(http.host, http.port, exc) from None

    async def main() -> None:
        service = await direct_opener(settings, HTTP_SERVER)()
        try:
            _warm_up_in_background(service, settings)
            app = create_app(service, settings)
            _listening_log(http)
            server = _QuietServer(_config(app, settings))
            _stop_on_signals(server)
            await server.serve(sockets=[sock])
            log.info("memory HTTP server stopped")
        finally:
            await service.close()
            sock.close()

    asyncio.run(main())
    return 0

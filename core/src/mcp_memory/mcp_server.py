"""The MCP server over the memory service: tools, resources, and the stdio runner behind ``memory``.

``initialize`` and ``tools/list`` never touch the service: the store and the embedder open on the
first tool call (or in the background right after start), so no torch import delays the handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ToolError,
    UnexpectedToolError,
)
from pydantic import ValidationError

from . import __version__
from .config import Settings
from .errors import MemoryServiceError, StorageError
from .heap import settle
from .logging import configure_logging, get_logger
from .mcp_ops import GetService, Operations, ToolContext
from .mcp_tools import register_tools
from .mcp_tools_current import register_current_tools
from .service_api import MemoryAPI

log = get_logger(__name__)

INSTRUCTIONS = {
    "classic": ("Long-term memory across conversations, per project. Before answering about the user's past "
                "decisions, preferences or project facts, search it (retrieve_memory; recall_memory for a period). "
                "Store new decisions and preferences with store_memory. Deleted memories go to a trash."),
    "current": ("Long-term memory across conversations, per project. Before answering about the user's past "
                "decisions, preferences or project facts, search it (memory_search). Store new decisions and "
                "preferences with memory_store. Deleted memories go to a trash."),
}
RECENT_COUNT = 10
WARMUP_JOIN_SECONDS = 0.5  # at exit, a warm-up this close to done may finish


class ServiceProvider(Protocol):
    """Gives the service to the tools and closes it at shutdown (replaceable by coordination code)."""

    async def get(self) -> MemoryAPI: ...

    async def close(self) -> None: ...


async def default_opener(settings: Settings) -> MemoryAPI:
    """Open the service the way the configured coordination plugins decide (``direct`` by default)."""
    from .coordination import detect

    coordination = await anyio.to_thread.run_sync(detect, settings)  # plugin imports stay off the event loop
    return await coordination.open()


class LazyService:
    """Opens the service on first use; concurrent first calls share one open. A failed open is retried."""

    def __init__(self, settings: Settings, opener: Callable[[], Awaitable[MemoryAPI]] | None = None):
        self.settings = settings
        self._opener = opener or (lambda: default_opener(settings))
        self._service: MemoryAPI | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def opened(self) -> bool:
        return self._service is not None

    async def get(self) -> MemoryAPI:
        if self._service is not None:
            return self._service
        async with self._lock:
            if self._closed:
                raise StorageError("the memory server is shutting down")
            if self._service is None:
                with anyio.CancelScope(shield=True):  # never leave a half-opened store behind
                    self._service = await self._opener()
            service = self._service
        assert service is not None
        return service

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            service, self._service = self._service, None
        if service is not None:
            await service.close()
            log.info("memory service closed")


class MemoryMCPServer(MCPServer):
    """MCPServer whose argument errors read "tags: Input should be a valid list (got 7)"."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            raise ToolError(f"invalid arguments for {name}: {describe_validation_error(cause)}") from cause


    async def list_tools(self) -> Any:
        """The tools with lean schemas: every tool's schema is sent to the model's context."""
        tools = await super().list_tools()
        for listed in tools:
            listed.input_schema = lean_schema(listed.input_schema)
            if listed.output_schema is not None:
                listed.output_schema = lean_schema(listed.output_schema)
        return tools


def lean_schema(schema: Any) -> Any:
    """The same JSON schema, shorter: no generated ``title``, no ``default: null``, and ``anyOf`` of plain types
    with null written as a type list (``{"type": ["string", "null"]}``). Property names are kept as they are."""
    if isinstance(schema, list):
        return [lean_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if (key == "title" and isinstance(value, str)) or (key == "default" and value is None):
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: lean_schema(sub) for name, sub in value.items()}
        else:
            out[key] = lean_schema(value)
    options = out.get("anyOf")
    if isinstance(options, list) and _mergeable(options, out):
        out.pop("anyOf")
        for option in options:
            out.update({k: v for k, v in option.items() if k != "type"})
        out["type"] = [option["type"] for option in options]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _mergeable(options: list[Any], schema: dict[str, Any]) -> bool:
    """True when ``anyOf`` options of distinct plain types can be written as one schema with a type list: each
    keyword other than ``type`` belongs to one option only and applies to that type only (``items`` to arrays,
    ``enum`` to a string option next to null, bounds to numbers)."""
    if not all(isinstance(o, dict) and isinstance(o.get("type"), str) for o in options):
        return False
    types = [o["type"] for o in options]
    if len(set(types)) != len(types):
        return False
    keywords = [k for o in options for k in o if k != "type"]
    if len(keywords) != len(set(keywords)) or set(keywords) & set(schema):
        return False
    for option in options:
        extra = set(option) - {"type"}
        kind = option["type"]
        if kind == "array" and extra <= {"items"}:
            continue
        if kind in ("integer", "number") and extra <= {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
            continue
        if kind == "string" and extra <= {"enum"} and (not extra or set(types) == {"string", "null"}):
            continue
        if extra:
            return False
    return True


def describe_validation_error(error: ValidationError) -> str:
    """One short clause per argument: ``content: Field required; n_results: ... (got 'many')``."""
    messages: dict[str, list[str]] = {}
    inputs: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "arguments"
        if item["msg"] not in messages.setdefault(field, []):
            messages[field].append(item["msg"])
        if item["type"] != "missing":
            inputs[field] = f" (got {item.get('input')!r:.60})"
    return "; ".join(f"{field}: {' or '.join(texts)}{inputs.get(field, '')}" for field, texts in messages.items())


def build_server(get_service: GetService, settings: Settings, lifespan: Callable[[MCPServer], Any] | None = None,
                 use_cwd: bool = True) -> MCPServer:
    """The MCP server: the tools of ``MCP_MEMORY_TOOL_SET`` and the ``memory://`` resources, all over
    ``get_service()``. ``use_cwd``: a session without roots takes its project from this process's git folder."""
    tool_set = settings.tool_set
    server = MemoryMCPServer("mcp-memory", version=__version__, instructions=INSTRUCTIONS[tool_set],
                             lifespan=lifespan)
    ops = Operations(ToolContext(get_service, settings, use_cwd))
    (register_current_tools if tool_set == "current" else register_tools)(server, ops)
    _register_resources(server, get_service)
    return server


def _register_resources(server: MCPServer, get_service: GetService) -> None:
    async def as_json(build: Callable[[MemoryAPI], Awaitable[Any]]) -> str:
        try:
            return json.dumps(await build(await get_service()), indent=2)
        except MemoryServiceError as exc:
            raise ResourceError(str(exc)) from exc

    async def stats(service: MemoryAPI) -> Any:
        return await service.stats()

    async def tags(service: MemoryAPI) -> Any:
        return [{"tag": tag, "count": count} for tag, count in await service.all_tags()]

    async def recent(service: MemoryAPI) -> Any:
        page = await service.list_memories(page=1, page_size=RECENT_COUNT)
        return [m.to_dict() for m in page.memories]

    @server.resource("memory://stats", name="stats", mime_type="application/json",
                     description="Store statistics: memory count, tags, database size, embedding model.")
    async def stats_resource() -> str:
        return await as_json(stats)

    @server.resource("memory://tags", name="tags", mime_type="application/json",
                     description="Every tag with the number of memories carrying it, most used first.")
    async def tags_resource() -> str:
        return await as_json(tags)

    @server.resource("memory://recent", name="recent", mime_type="application/json",
                     description=f"The {RECENT_COUNT} most recently stored memories, newest first.")
    async def recent_resource() -> str:
        return await as_json(recent)


# -- stdio --------------------------------------------------------------------------------------------
class _Warmup:
    """Opens the service and loads the embedding model in a daemon thread, without delaying requests; a store
    with an async ``warm_up()`` gets it called at the same time."""

    def __init__(self, provider: ServiceProvider):
        self.provider = provider
        self.thread: threading.Thread | None = None

    async def run(self) -> None:
        await anyio.sleep(0.05)  # let the transport answer `initialize` first
        try:
            service = await self.provider.get()
        except Exception as exc:  # noqa: BLE001 - the first tool call reports it to the client
            log.warning("warm-up could not open the memory service", error=f"{type(exc).__name__}: {exc}")
            return
        embedder = getattr(service, "embedder", None)
        if embedder is not None and hasattr(embedder, "warm_up"):
            self.thread = threading.Thread(target=self._load, args=(embedder,), name="embedder-warmup", daemon=True)
            self.thread.start()
        store_warm_up = getattr(getattr(service, "storage", None), "warm_up", None)  # optional store capability
        if store_warm_up is not None:
            try:
                await store_warm_up()  # e.g. load search structures while the model loads on the other thread
            except Exception as exc:  # noqa: BLE001 - the first search reports it to the client
                log.warning("store warm-up failed", error=f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _load(embedder: Any) -> None:
        try:
            embedder.warm_up()
        except Exception as exc:  # noqa: BLE001 - the first search reports it to the client
            log.warning("embedder warm-up failed; the first search will report it",
                        error=f"{type(exc).__name__}: {exc}")
        settle()


def run_stdio(settings: Settings, provider: ServiceProvider | None = None) -> int:
    """Serve MCP on stdin/stdout until stdin closes or SIGTERM/SIGINT arrives; return the exit code."""
    configure_logging(settings.log_level, settings.debug)
    provider = provider or LazyService(settings)
    warmup = _Warmup(provider) if settings.warmup else None

    @contextlib.asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[dict[str, Any]]:
        # Entered once the transport owns fd 1: stray prints of libraries go to stderr from here on.
        sys.stdout.flush()
        with contextlib.redirect_stdout(sys.stderr):
            async with anyio.create_task_group() as tg:
                if warmup is not None:
                    tg.start_soon(warmup.run)
                yield {}
                tg.cancel_scope.cancel()

    server = build_server(provider.get, settings, lifespan=lifespan)

    async def main() -> int:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_stop_on_signal, provider)
            log.info("MCP server ready on stdio", version=__version__, backend=settings.storage_backend)
            await server.run_stdio_async()
            tg.cancel_scope.cancel()
        log.info("stdin closed: shutting down")
        return await _close(provider)

    code = anyio.run(main)
    if warmup is not None and warmup.thread is not None:
        warmup.thread.join(WARMUP_JOIN_SECONDS)
        if warmup.thread.is_alive():  # finalising the interpreter under a half-loaded torch can abort
            log.info("exiting while the embedding model is still loading")
            _exit_now(code)
    return code


async def _close(provider: ServiceProvider) -> int:
    """Close the service (the store checkpoints its WAL); 0 on success, 1 when closing failed."""
    with anyio.CancelScope(shield=True):
        try:
            await provider.close()
        except Exception as exc:  # noqa: BLE001 - shutting down: report and exit 1
            log.error("closing the memory service failed", error=f"{type(exc).__name__}: {exc}")
            return 1
    return 0


def _exit_now(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


async def _stop_on_signal(provider: ServiceProvider) -> None:
    """On SIGTERM/SIGINT: close the store (checkpointing its WAL) and exit.

    The transport reads stdin in a worker thread that cannot be interrupted, so the process exits
    with ``os._exit`` once the service is closed.
    """
    try:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("signal received: shutting down", signal=signal.Signals(signum).name)
                break
    except NotImplementedError:  # Windows: no signal receiver; the client closes stdin instead
        await anyio.sleep_forever()
    _exit_now(await _close(provider))

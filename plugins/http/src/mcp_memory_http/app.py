"""The FastAPI app: REST over MemoryService, server-sent events, and the MCP tools at ``/mcp``.

Every route only calls the service; service errors become ``{"error": <name>, "detail": <message>}``
with a 4xx status for bad input, so bad input never gets a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mcp_memory import __version__ as core_version
from mcp_memory.config import Settings
from mcp_memory.errors import InvalidInputError, MemoryServiceError
from mcp_memory.logging import get_logger
from mcp_memory.models import parse_timestamp
from mcp_memory.service import NewMemory

from . import SERVICE_NAME, __version__
from .auth import ApiKeyMiddleware, key_ok
from .dashboard import install_dashboard
from .events import EventBus, PublishingService
from .schemas import (
    DeleteByTagRequest,
    ExactMatchRequest,
    MemoryBatch,
    MemoryCreate,
    MemoryUpdate,
    RecallRequest,
    SearchRequest,
    TagSearchRequest,
    TimeSearchRequest,
)
from .timeline import counts_per_day
from .wire import error_body, http_error_name, status_of

log = get_logger(__name__)

KEEPALIVE_SECONDS = 15.0


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for item in exc.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {item.get('msg')}")
    return "; ".join(parts) or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MemoryServiceError)
    async def service_error(_request: Request, exc: MemoryServiceError) -> JSONResponse:
        return JSONResponse(error_body(type(exc).__name__, str(exc)), status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("InvalidInputError", _validation_detail(exc)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(http_error_name(exc.status_code), str(exc.detail)),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error in a request", error=f"{type(exc).__name__}: {exc}")
        return JSONResponse(error_body("InternalError", f"unexpected server error ({type(exc).__name__}); "
                                                        "see the server log"), status_code=500)


def _mcp_routes(service: Any, settings: Settings) -> tuple[Any, list[Any]]:
    """The MCP server over the same service, and its streamable-HTTP route at /mcp."""
    from mcp_memory.mcp_server import build_server

    async def get_service() -> Any:
        return service

    server = build_server(get_service)
    starlette_app = server.streamable_http_app(streamable_http_path="/mcp", host=settings.http_host)
    return server, [r for r in starlette_app.routes if getattr(r, "path", None) == "/mcp"]


def create_app(service: Any, settings: Settings, bus: EventBus | None = None, with_mcp: bool = True) -> FastAPI:
    """Build the app over an opened service (the caller owns the service and closes it)."""
    svc = service if isinstance(service, PublishingService) else PublishingService(service, bus or EventBus())
    bus = svc.bus
    mcp_server, mcp_routes = _mcp_routes(svc, settings) if with_mcp else (None, [])

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if mcp_server is not None:
                await stack.enter_async_context(mcp_server.session_manager.run())
            yield
            bus.close()

    app = FastAPI(title="mcp-memory", version=__version__, lifespan=lifespan,
                  description="Long-term memory for AI assistants: REST API, server-sent events, and MCP at /mcp.")
    app.router.routes.extend(mcp_routes)
    app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key)
    _install_error_handlers(app)
    app.state.service = svc
    app.state.bus = bus
    install_dashboard(app)

    # -- health and stats ----------------------------------------------------------------------
    @app.get("/api/health", tags=["health"])
    async def health(request: Request) -> dict[str, Any]:
        """Who answers here (service, version) without touching the store; open without the key."""
        answer: dict[str, Any] = {"status": "ok", "service": SERVICE_NAME, "version": __version__,
                                  "core_version": core_version, "auth_required": bool(settings.api_key)}
        if key_ok(request.headers, settings.api_key):
            answer["coordination_mode"] = getattr(svc, "coordination_mode", None)
        return answer

    @app.get("/api/health/detailed", tags=["health"])
    async def health_detailed() -> dict[str, Any]:
        """Store, embedder and coordination status (as the check_database_health tool)."""
        return await svc.health()

    @app.get("/api/stats", tags=["health"])
    async def stats() -> dict[str, Any]:
        return await svc.stats()

    @app.get("/api/stats/timeline", tags=["health"])
    async def timeline(days: int = Query(30, ge=1, le=366),
                       utc_offset_minutes: int = Query(0, ge=-840, le=840)) -> dict[str, Any]:
        """Memories stored per calendar day over the last ``days`` days (in the caller's UTC offset)."""
        return await counts_per_day(svc, days, utc_offset_minutes)

    @app.get("/api/tags", tags=["memories"])
    async def tags() -> dict[str, Any]:
        return {"tags": [{"tag": tag, "count": count} for tag, count in await svc.all_tags()]}

    # -- memories --------------------------------------------------------------------------------
    @app.get("/api/memories", tags=["memories"])
    async def list_memories(page: int = Query(1, ge=1), page_size: int = Query(10, ge=1),
                            tag: str | None = None, memory_type: str | None = None) -> dict[str, Any]:
        """A page of memories, newest first, optionally filtered by tag(s) (comma-separated) and type."""
        listed = await svc.list_memories(page=page, page_size=page_size, tag=tag, memory_type=memory_type)
        return listed.to_dict()

    @app.post("/api/memories", tags=["memories"], status_code=201)
    async def create_memory(body: MemoryCreate) -> JSONResponse:
        """Store a memory: 201 when new, 200 with duplicate=true when this content is already stored."""
        result = await svc.store(body.content, tags=body.tags, memory_type=body.memory_type,
                                 metadata=body.metadata, created_at=_timestamp(body.created_at))
        return JSONResponse(result.to_dict(), status_code=200 if result.duplicate else 201)

    @app.post("/api/memories/batch", tags=["memories"])
    async def create_memories(body: MemoryBatch) -> dict[str, Any]:
        """Store several memories in one transaction; one invalid item rejects the batch."""
        items = [NewMemory(m.content, m.tags, m.memory_type, m.metadata, _timestamp(m.created_at))
                 for m in body.memories]
        return {"results": [r.to_dict() for r in await svc.store_batch(items)]}

    @app.post("/api/memories/delete-by-tag", tags=["memories"])
    async def delete_by_tag(body: DeleteByTagRequest) -> dict[str, Any]:
        return {"deleted": await svc.delete_by_tag(body.tags)}

    @app.post("/api/memories/cleanup-duplicates", tags=["memories"])
    async def cleanup_duplicates() -> dict[str, Any]:
        return {"removed": await svc.cleanup_duplicates()}

    @app.get("/api/memories/{content_hash}", tags=["memories"])
    async def get_memory(content_hash: str) -> dict[str, Any]:
        return (await svc.get(content_hash)).to_dict()

    @app.patch("/api/memories/{content_hash}", tags=["memories"])
    async def update_memory(content_hash: str, body: MemoryUpdate) -> dict[str, Any]:
        """Change tags, memory_type and/or metadata (only the fields sent); never the content."""
        changes = {name: getattr(body, name) for name in ("tags", "memory_type", "metadata")
                   if name in body.model_fields_set}
        if not changes:
            raise InvalidInputError('nothing to update: send "tags", "memory_type" and/or "metadata"')
        return (await svc.update_metadata(content_hash, merge_metadata=body.merge_metadata, **changes)).to_dict()

    @app.delete("/api/memories/{content_hash}", tags=["memories"])
    async def delete_memory(content_hash: str) -> dict[str, Any]:
        await svc.delete(content_hash)
        return {"deleted": content_hash.strip().lower()}

    # -- search ----------------------------------------------------------------------------------
    @app.post("/api/search", tags=["search"])
    async def search(body: SearchRequest) -> dict[str, Any]:
        """Search by meaning and words (mode hybrid, semantic or lexical), best first."""
        results = await svc.retrieve(body.query, n_results=body.n_results, tags=body.tags,
                                     memory_type=body.memory_type, min_relevance=body.min_relevance,
                                     **_mode(body.mode))
        return {"results": [r.to_dict() for r in results]}

    @app.post("/api/search/by-tag", tags=["search"])
    async def search_by_tag(body: TagSearchRequest) -> dict[str, Any]:
        memories = await svc.search_by_tag(body.tags, match_all=body.match_all, limit=body.limit)
        return {"memories": [m.to_dict() for m in memories]}

    @app.post("/api/search/by-time", tags=["search"])
    async def search_by_time(body: TimeSearchRequest) -> dict[str, Any]:
        memories = await svc.search_by_time(body.start, body.end, limit=body.limit)
        return {"memories": [m.to_dict() for m in memories]}

    @app.post("/api/search/exact", tags=["search"])
    async def exact_match(body: ExactMatchRequest) -> dict[str, Any]:
        memory = await svc.exact_match(body.content)
        return {"memory": memory.to_dict() if memory else None}

    @app.post("/api/recall", tags=["search"])
    async def recall(body: RecallRequest) -> dict[str, Any]:
        """Time-aware recall: 'what did I decide last week about X'."""
        now = None
        if body.now is not None:
            now = datetime.fromtimestamp(parse_timestamp(body.now), tz=timezone.utc)
        found = await svc.recall(body.query, n_results=body.n_results, now=now, **_mode(body.mode))
        return {"results": [r.to_dict() for r in found.results], "start": found.start, "end": found.end,
                "time_expression": found.time_expression, "semantic_query": found.semantic_query}

    # -- events ----------------------------------------------------------------------------------
    @app.get("/api/events", tags=["events"])
    async def events() -> StreamingResponse:
        """Server-sent events: ``ready`` once subscribed, then ``stored``, ``updated`` and ``deleted``."""
        queue = bus.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                yield "event: ready\ndata: {}\n\n"
                while True:
                    try:
                        item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                    except asyncio.TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    if bus.is_closed_marker(item):
                        return
                    event, data = item
                    yield f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"
            finally:
                bus.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app


def _mode(mode: str | None) -> dict[str, Any]:
    """Pass a ranking mode only when one was asked for (the service picks its default)."""
    return {} if mode is None else {"mode": mode}


def _timestamp(value: Any) -> float | None:
    return None if value is None else parse_timestamp(value)

"""The REST API: ``MemoryAPI`` over HTTP, one route a method (plus the dashboard's timeline and the event stream).

Routes only translate: a body or query into the service's arguments, a result into its ``to_dict`` form. Every
rule lives in the service; its errors become ``{"error", "detail"}`` answers (see ``app.py``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse

from mcp_memory import __version__ as core_version
from mcp_memory.errors import InvalidInputError
from mcp_memory.inputs import Scope
from mcp_memory.models import parse_timestamp
from mcp_memory.results import NewMemory, TrashResult

from . import SERVICE_NAME, __version__
from .auth import key_ok
from .events import EventBus
from .identity import StoreIdentity
from .schemas import (
    PROJECT_HELP,
    BatchAnswer,
    CountAnswer,
    DeleteByTagRequest,
    DeleteMatchingRequest,
    DetailedHealth,
    DocumentAnswer,
    ErrorBody,
    ExactAnswer,
    ExactMatchRequest,
    HealthAnswer,
    MemoriesAnswer,
    MemoryBatch,
    MemoryCreate,
    MemoryOut,
    MemoryUpdate,
    PageAnswer,
    ProjectsAnswer,
    PruneAnswer,
    PruneRequest,
    PurgeAnswer,
    PurgeRequest,
    RecallAnswer,
    RecallRequest,
    RestoreAnswer,
    RestoreRequest,
    SearchAnswer,
    SearchRequest,
    Stats,
    StoreAnswer,
    TagsAnswer,
    TagSearchRequest,
    Timeline,
    TimeSearchRequest,
    TrashAnswer,
    UpdateAnswer,
    VersionsAnswer,
)
from .settings import HttpSettings
from .timeline import counts_per_day

KEEPALIVE_SECONDS = 15.0

Project = Annotated[str | None, Query(description=PROJECT_HELP)]
AllProjects = Annotated[bool, Query(description="read every project (overrides project)")]

#: The error answers any API route may give, all ``{"error", "detail"}``.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in (
        (400, "The request is wrong (the detail says why)"),
        (401, "Missing or wrong API key (MCP_API_KEY)"),
        (403, "A browser request from a web origin that is not allowed (MCP_HTTP_ALLOWED_ORIGINS)"),
        (404, "No memory has this hash (or prefix)"),
        (413, "The body is larger than MCP_HTTP_MAX_BODY_BYTES"),
        (421, "A Host this server does not answer for (MCP_HTTP_ALLOWED_HOSTS)"),
        (422, "The body or query does not have the documented shape (unknown fields included)"),
        (503, "The store or a plugin failed (the detail says how)"),
    )
}


async def refuse_unknown_query(request: Request) -> None:
    """An unknown query parameter is refused like an unknown body field (422), never ignored."""
    route = request.scope.get("route")
    known = {p.alias for p in getattr(getattr(route, "dependant", None), "query_params", ())}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError([{"type": "extra_forbidden", "loc": ("query", name), "msg": "unknown",
                                       "input": request.query_params[name]} for name in unknown])


def scope_of(project: str | None, all_projects: bool) -> Scope:
    """The projects a request reads: the named project and global memories, every project, or (none named)
    every project: a server has no current project of its own."""
    return Scope.of(None, project, all_projects)


def _memories(memories: list[Any]) -> dict[str, Any]:
    return {"memories": [m.to_dict() for m in memories]}


def trash_answer(result: TrashResult) -> dict[str, Any]:
    """A TrashResult with how to undo it."""
    dry_run = result.reason == "dry run"
    shown = ", ".join(h[:12] for h in result.hashes[:10]) + (", ..." if len(result.hashes) > 10 else "")
    if dry_run:
        message = f"dry run: {result.count} memories would go to the trash ({shown or 'none'})"
    elif result.count:
        message = (f"moved {result.count} memories to the trash ({shown}); POST /api/trash/restore with "
                   '{"content_hashes": [...]} brings them back')
    else:
        message = "nothing matched: nothing moved to the trash"
    return {**result.to_dict(), "dry_run": dry_run, "message": message}


def api_router(svc: Any, http: HttpSettings, store: StoreIdentity, bus: EventBus) -> APIRouter:
    """The ``/api`` routes over ``svc`` (a ``MemoryAPI``)."""
    router = APIRouter(prefix="/api", responses=ERRORS, dependencies=[Depends(refuse_unknown_query)])

    def route(method: str, path: str, model: Any, tag: str, **extra: Any) -> Callable[[Any], Any]:
        return router.api_route(path, methods=[method], response_model=model, response_model_exclude_unset=True,
                                tags=[tag], **extra)

    # -- health and statistics ---------------------------------------------------------------------
    @route("GET", "/health", HealthAnswer, "health")
    async def health(request: Request) -> dict[str, Any]:
        """Who answers here, without touching the store; open without the key. With the key: the coordination
        mode and the store served (clients use the server only when it serves the store they are set up for)."""
        answer: dict[str, Any] = {"status": "ok", "service": SERVICE_NAME, "version": __version__,
                                  "core_version": core_version, "auth_required": bool(http.api_key)}
        if key_ok(request.headers, http.api_key):
            answer.update(coordination_mode=svc.coordination_mode, store=store.to_dict())
        return answer

    @route("GET", "/health/detailed", DetailedHealth, "health")
    async def health_detailed() -> dict[str, Any]:
        """Store, embedder and coordination status (as the check_database_health tool)."""
        return {**await svc.health(), "store": store.to_dict()}

    @route("GET", "/stats", Stats, "health")
    async def stats() -> dict[str, Any]:
        return await svc.stats()

    @route("GET", "/stats/timeline", Timeline, "health")
    async def timeline(days: int = 30, utc_offset_minutes: int = 0, project: Project = None,
                       all_projects: AllProjects = False) -> dict[str, Any]:
        """Memories stored per calendar day over the last ``days`` days (in the caller's UTC offset)."""
        return await counts_per_day(svc, days, utc_offset_minutes, scope=scope_of(project, all_projects))

    @route("GET", "/projects", ProjectsAnswer, "health")
    async def projects() -> dict[str, Any]:
        """Every project with its number of live memories (null: the global memories), most first."""
        return {"projects": [{"project": p, "count": n} for p, n in await svc.projects()]}

    @route("GET", "/tags", TagsAnswer, "memories")
    async def tags(project: Project = None, all_projects: AllProjects = False) -> dict[str, Any]:
        """Every tag with how many memories carry it, most used first."""
        found = await svc.all_tags(scope_of(project, all_projects))
        return {"tags": [{"tag": tag, "count": count} for tag, count in found]}

    @route("GET", "/count", CountAnswer, "memories")
    async def count(project: Project = None, all_projects: AllProjects = False) -> dict[str, Any]:
        return {"count": await svc.count(scope_of(project, all_projects))}

    # -- memories ----------------------------------------------------------------------------------
    @route("GET", "/memories", PageAnswer, "memories")
    async def list_memories(page: int = 1, page_size: int = 10, tag: str | None = None,
                            memory_type: str | None = None, match_all: bool = False,
                            project: Project = None, all_projects: AllProjects = False) -> dict[str, Any]:
        """A page of memories, newest first, optionally by tags (comma-separated; any, or all) and type."""
        listed = await svc.list_memories(page=page, page_size=page_size, tag=tag, memory_type=memory_type,
                                         scope=scope_of(project, all_projects), match_all=match_all)
        return listed.to_dict()

    @route("POST", "/memories", StoreAnswer, "memories", status_code=201,
           responses={200: {"model": StoreAnswer, "description": "Not stored: a duplicate or a near-duplicate"}})
    async def create_memory(body: MemoryCreate) -> JSONResponse:
        """Store a memory: 201 when stored (or back from the trash), 200 when it already is (duplicate=true) or a
        memory of the project says nearly the same (near_duplicate=true, that memory answered)."""
        result = await svc.store(body.content, tags=body.tags, memory_type=body.memory_type, metadata=body.metadata,
                                 created_at=body.created_at, project=body.project,
                                 allow_near_duplicate=body.allow_near_duplicate)
        return JSONResponse(result.to_dict(), status_code=201 if result.stored else 200)

    @route("POST", "/memories/batch", BatchAnswer, "memories")
    async def create_memories(body: MemoryBatch) -> dict[str, Any]:
        """Store several memories in one transaction (exact duplicates only); one invalid item rejects the batch."""
        items = [NewMemory(m.content, m.tags, m.memory_type, m.metadata, m.created_at, m.project)
                 for m in body.memories]
        return {"results": [r.to_dict() for r in await svc.store_batch(items)]}

    @route("POST", "/memories/delete-by-tag", TrashAnswer, "memories")
    async def delete_by_tag(body: DeleteByTagRequest) -> dict[str, Any]:
        """Move every memory carrying any of the tags to the trash."""
        return trash_answer(await svc.delete_by_tag(body.tags, scope=scope_of(body.project, body.all_projects)))

    @route("POST", "/memories/delete-matching", TrashAnswer, "memories")
    async def delete_matching(body: DeleteMatchingRequest) -> dict[str, Any]:
        """Move the memories with the tags (any, or all) and/or created between start and end to the trash; with
        dry_run, only say which."""
        return trash_answer(await svc.delete_matching(body.tags, body.match_all, body.start, body.end,
                                                      scope_of(body.project, body.all_projects), body.dry_run))

    @route("POST", "/memories/cleanup-duplicates", TrashAnswer, "memories")
    async def cleanup_duplicates() -> dict[str, Any]:
        """Move memories whose text repeats an older one to the trash."""
        return trash_answer(await svc.cleanup_duplicates())

    @route("GET", "/memories/{content_hash}", MemoryOut, "memories")
    async def get_memory(content_hash: str) -> dict[str, Any]:
        """One live memory, by its hash or a unique prefix of 8+ characters."""
        return (await svc.get(content_hash)).to_dict()

    @route("GET", "/memories/{content_hash}/history", VersionsAnswer, "memories")
    async def history(content_hash: str) -> dict[str, Any]:
        """Every version of a memory, newest first (edits keep the previous text in the trash)."""
        return {"versions": [m.to_dict() for m in await svc.history(content_hash)]}

    @route("PATCH", "/memories/{content_hash}", UpdateAnswer, "memories")
    async def update_memory(content_hash: str, body: MemoryUpdate) -> dict[str, Any]:
        """Change the fields sent. New content makes a new memory: the answer gives the new hash and the
        previous one (that version stays in the trash as history)."""
        changes = {name: getattr(body, name) for name in ("content", "tags", "memory_type", "metadata", "project")
                   if name in body.model_fields_set}
        if not changes:
            raise InvalidInputError('nothing to update: send "content", "tags", "memory_type", "metadata" and/or '
                                    '"project"')
        return (await svc.update(content_hash, merge_metadata=body.merge_metadata, **changes)).to_dict()

    @route("DELETE", "/memories/{content_hash}", TrashAnswer, "memories")
    async def delete_memory(content_hash: str) -> dict[str, Any]:
        """Move a memory to the trash; the answer says how to restore it."""
        return trash_answer(await svc.delete(content_hash))

    # -- trash -------------------------------------------------------------------------------------
    @route("GET", "/trash", PageAnswer, "trash")
    async def trash(page: int = 1, page_size: int = 10, reason: str | None = None) -> dict[str, Any]:
        """The trash, most recently deleted first (reason: deleted, edited, merged, duplicate, expired)."""
        return (await svc.trash_list(page=page, page_size=page_size, reason=reason)).to_dict()

    @route("POST", "/trash/restore", RestoreAnswer, "trash")
    async def restore(body: RestoreRequest) -> dict[str, Any]:
        """Bring trashed memories back as they were (an earlier version of an edited memory becomes current)."""
        return {"restored": [m.to_dict() for m in await svc.restore(body.content_hashes)]}

    @route("POST", "/trash/purge", PurgeAnswer, "trash")
    async def purge(body: PurgeRequest) -> dict[str, Any]:
        """Delete trashed memories for good: the hashes given, or all deleted older_than_days ago or earlier."""
        return {"purged": await svc.purge(body.content_hashes, body.older_than_days)}

    # -- documents ---------------------------------------------------------------------------------
    @route("POST", "/documents", DocumentAnswer, "documents", openapi_extra={"requestBody": {
        "required": True, "description": "the document's bytes (at most MCP_MEMORY_MAX_DOCUMENT_BYTES)",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def ingest_document(request: Request, name: str, source: str | None = None, tags: str | None = None,
                              project: str | None = None, dry_run: bool = False, encoding: str | None = None,
                              chunk_chars: int | None = None, overlap: int | None = None) -> dict[str, Any]:
        """Read, chunk and store one document sent as the body; ``name`` (its file name) picks the reader, ``source``
        identifies it for re-ingesting (an unchanged document is skipped, a changed one's chunks replaced)."""
        found = await svc.ingest_document(await request.body(), name, source=source, tags=tags, project=project,
                                          dry_run=dry_run, encoding=encoding, chunk_chars=chunk_chars, overlap=overlap)
        return asdict(found)

    @route("POST", "/documents/prune", PruneAnswer, "documents")
    async def prune_documents(body: PruneRequest) -> dict[str, Any]:
        """Move the chunks of documents that were under these folders and are gone to the trash."""
        return {"results": [asdict(f) for f in await svc.prune_documents(body.folders, body.dry_run)]}

    # -- search ------------------------------------------------------------------------------------
    @route("POST", "/search", SearchAnswer, "search")
    async def search(body: SearchRequest) -> dict[str, Any]:
        """Search by meaning and words (mode hybrid, semantic or lexical), best first."""
        results = await svc.retrieve(body.query, n_results=body.n_results, tags=body.tags,
                                     memory_type=body.memory_type, min_relevance=body.min_relevance, mode=body.mode,
                                     scope=scope_of(body.project, body.all_projects), start=body.start,
                                     end=body.end)
        return {"results": [r.to_dict() for r in results]}

    @route("POST", "/recall", RecallAnswer, "search")
    async def recall(body: RecallRequest) -> dict[str, Any]:
        """Time-aware recall: 'what did I decide last week about X'."""
        now = None if body.now is None else datetime.fromtimestamp(parse_timestamp(body.now), tz=timezone.utc)
        found = await svc.recall(body.query, n_results=body.n_results, now=now, mode=body.mode,
                                 scope=scope_of(body.project, body.all_projects))
        return {"results": [r.to_dict() for r in found.results], "start": found.start, "end": found.end,
                "time_expression": found.time_expression, "semantic_query": found.semantic_query}

    @route("POST", "/search/by-tag", MemoriesAnswer, "search")
    async def search_by_tag(body: TagSearchRequest) -> dict[str, Any]:
        """Memories with any (or all) of the tags (created between start and end), newest first."""
        return _memories(await svc.search_by_tag(body.tags, match_all=body.match_all, limit=body.limit,
                                                 scope=scope_of(body.project, body.all_projects),
                                                 start=body.start, end=body.end))

    @route("POST", "/search/by-time", MemoriesAnswer, "search")
    async def search_by_time(body: TimeSearchRequest) -> dict[str, Any]:
        """Memories created between start and end (either open), newest first."""
        return _memories(await svc.search_by_time(body.start, body.end, limit=body.limit,
                                                  scope=scope_of(body.project, body.all_projects)))

    @route("POST", "/search/exact", ExactAnswer, "search")
    async def exact_match(body: ExactMatchRequest) -> dict[str, Any]:
        """The live memory whose text is exactly this (compared as the hash: case and outer spaces ignored)."""
        memory = await svc.exact_match(body.content)
        return {"memory": memory.to_dict() if memory else None}

    # -- events ------------------------------------------------------------------------------------
    stream_answer = {"description": "An endless text/event-stream",
                     "content": {"text/event-stream": {"schema": {"type": "string"}}}}

    @router.get("/events", tags=["events"], response_class=StreamingResponse, responses={200: stream_answer})
    async def events() -> StreamingResponse:
        """Server-sent events: ``ready`` once subscribed, then ``stored``, ``updated``, ``deleted`` (to the trash),
        ``restored``, ``purged``, ``ingested`` and ``pruned``, each with the write's answer as data."""
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

    return router

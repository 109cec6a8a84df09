"""What the MCP tools do, once: both tool sets (``classic`` and ``current`` names) call these operations.

An operation takes plain arguments, calls the service, sizes the answer (``budget.fit``) and returns a
``CallToolResult`` (short text plus structured content). ``ToolContext`` gives it the service and the caller's
current project (from ``MCP_MEMORY_PROJECT``, the client's roots, or the git folder of the working directory).
"""

from __future__ import annotations

import asyncio
import functools
import warnings
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult

from . import budget
from .config import Settings
from .errors import InvalidInputError, MemoryServiceError
from .inputs import Scope
from .logging import get_logger
from .mcp_results import (
    ExactMatchOutput,
    GetOutput,
    HealthOutput,
    IngestedFile,
    IngestOutput,
    ListOutput,
    MemoryOut,
    RecallOutput,
    SearchOutput,
    StatsOutput,
    StoreOutput,
    TagSearchOutput,
    TrashListOutput,
    TrashOutput,
    UpdateOutput,
    count,
    memory_line,
    render_health,
    render_memories,
    render_scored,
    result,
    scored,
    time_range_text,
)
from .models import QueryResult, iso, normalize_tags
from .projects import current_project, root_folder
from .service_api import MemoryAPI

log = get_logger(__name__)

GetService = Callable[[], Awaitable[MemoryAPI]]
ROOTS_TIMEOUT = 3.0
_MISSING: Any = object()


def guarded(fn: Callable[..., Awaitable[CallToolResult]]) -> Callable[..., Awaitable[CallToolResult]]:
    """Turn service errors into tool errors; log anything unexpected with its traceback (never crash)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except ToolError:
            raise
        except MemoryServiceError as exc:
            raise ToolError(str(exc)) from exc
        except Exception as exc:
            log.exception("tool failed unexpectedly", tool=fn.__name__, error=f"{type(exc).__name__}: {exc}")
            raise ToolError(f"internal error ({type(exc).__name__}: {exc}); the server log on stderr has the "
                            "traceback") from exc

    return wrapper


class ToolContext:
    """The service and the current project of each MCP session.

    ``use_cwd``: fall back to the git folder of this process's working directory (a stdio server runs where its
    client works; an HTTP server does not).
    """

    def __init__(self, get_service: GetService, settings: Settings, use_cwd: bool = True):
        self.get_service = get_service
        self.settings = settings
        self.use_cwd = use_cwd
        self._connections: weakref.WeakKeyDictionary[Any, tuple[list[str], str | None]] = weakref.WeakKeyDictionary()

    async def _session_info(self, ctx: Any) -> tuple[list[str], str | None]:
        """The client's roots and the caller's current project (cached per client connection)."""
        session, connection = _session(ctx), _connection(ctx)
        if connection is not None and connection in self._connections:
            return self._connections[connection]
        roots = await _roots(session)
        found = (roots, current_project(self.settings, roots, Path.cwd() if self.use_cwd else None))
        if connection is not None:
            self._connections[connection] = found
        return found

    async def project(self, ctx: Any) -> str | None:
        """The caller's current project."""
        return (await self._session_info(ctx))[1]

    async def ingest_roots(self, ctx: Any) -> list[Path]:
        """Folders the ingest tools may read: the client's roots and ``MCP_MEMORY_INGEST_ROOTS``."""
        roots = [folder for folder in (root_folder(uri) for uri in (await self._session_info(ctx))[0]) if folder]
        return [*roots, *self.settings.ingest_roots]

    async def scope(self, ctx: Any, project: Any = None, all_projects: Any = False) -> Scope:
        return Scope.of(await self.project(ctx), project, all_projects)


def _session(ctx: Any) -> Any:
    try:
        return ctx.request_context.session if ctx is not None else None
    except (ValueError, AttributeError):
        return None


def _connection(ctx: Any) -> Any:
    """What stays the same across one client's requests. The SDK (2.x) builds a new session object for each
    request around the client's connection, and has no public name for that connection: a cache keyed on the
    session missed every time and asked the client for its roots on every tool call. The session itself where
    the SDK has no ``_connection``."""
    session = _session(ctx)
    return getattr(session, "_connection", session)


async def _roots(session: Any) -> list[str]:
    """The ``file://`` roots the client declares, or [] (no capability, no back-channel, error, timeout)."""
    capabilities = getattr(session, "client_capabilities", None) if session is not None else None
    if capabilities is None or getattr(capabilities, "roots", None) is None:
        return []
    if not getattr(session, "can_send_request", True):
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the roots capability is deprecated in newer protocol versions
            listed = await asyncio.wait_for(session.list_roots(), ROOTS_TIMEOUT)
        return [str(root.uri) for root in listed.roots]
    except Exception as exc:  # noqa: BLE001 - roots are a hint; the project falls back
        log.info("could not list the client's roots", error=f"{type(exc).__name__}: {exc}")
        return []


class Operations:
    """The memory operations behind the tools."""

    def __init__(self, tools: ToolContext):
        self.tools = tools

    async def _service(self) -> MemoryAPI:
        return await self.tools.get_service()

    # -- writes ------------------------------------------------------------------------------
    async def store(self, ctx: Any, content: Any, tags: Any = None, memory_type: Any = None, metadata: Any = None,
                    project: Any = None, store_anyway: Any = False) -> CallToolResult:
        tags, memory_type, metadata = legacy_metadata(tags, memory_type, metadata)
        scope = await self.tools.scope(ctx, project)
        service = await self._service()
        stored = await service.store(content, tags=tags, memory_type=memory_type, metadata=metadata,
                                     project=scope.write_project, allow_near_duplicate=store_anyway)
        m = MemoryOut.of(stored.memory)
        where = f" in project {m.project}" if m.project else " (global)"
        if stored.near_duplicate:
            message = (f"Not stored: memory {m.content_hash[:12]} of the same project says nearly the same "
                       f"(similarity {stored.similarity:.2f}): {budget.first_line(m.content)!r}. Update that one, or "
                       "call again with store_anyway=true to keep both.")
        elif stored.duplicate:
            message = (f"Duplicate: this text is already stored as {m.content_hash[:12]} "
                       f"(since {m.created_at_iso[:10]}).")
        elif stored.restored:
            message = f"This text was in the trash: restored memory {m.content_hash[:12]}{where}."
        else:
            tags = f", tags: {', '.join(m.tags)}." if m.tags else "."
            message = f"Stored memory {m.content_hash[:12]}{where}{tags}"
        return result(message, StoreOutput(success=stored.stored, duplicate=stored.duplicate,
                                           near_duplicate=stored.near_duplicate, similarity=stored.similarity,
                                           restored=stored.restored, content_hash=m.content_hash, message=message,
                                           memory=m))

    async def update(self, content_hash: Any, content: Any = _MISSING, tags: Any = _MISSING,
                     memory_type: Any = _MISSING, metadata: Any = _MISSING, project: Any = _MISSING) -> CallToolResult:
        changes = {name: value for name, value in (("content", content), ("tags", tags), ("memory_type", memory_type),
                                                   ("metadata", metadata), ("project", project))
                   if value is not _MISSING}
        if not changes:
            raise InvalidInputError("nothing to change: give content, tags, memory_type, metadata and/or project")
        service = await self._service()
        updated = await service.update(content_hash, **changes)
        m = MemoryOut.of(updated.memory)
        fields = sorted(changes)
        if updated.previous:
            text = (f"Updated memory: the new text is {m.content_hash[:12]} (was {updated.previous[:12]}, kept in "
                    f"its history).\n" + memory_line(m))
        else:
            text = f"Updated {', '.join(fields)} of memory {m.content_hash[:12]}.\n" + memory_line(m)
        return result(text, UpdateOutput(success=True, content_hash=m.content_hash, previous_hash=updated.previous,
                                         updated_fields=fields, memory=m))

    async def delete(self, content_hash: Any) -> CallToolResult:
        service = await self._service()
        trashed = await service.delete(content_hash)
        h = trashed.hashes[0]
        message = f"Moved memory {h[:12]} to the trash (restore it with memory_trash action=restore)."
        return result(message, TrashOutput(success=True, trashed_count=1, content_hashes=trashed.hashes,
                                           message=message))

    async def delete_by_tag(self, ctx: Any, tags: Any, project: Any = None, all_projects: Any = False
                            ) -> CallToolResult:
        if not normalize_tags(tags):
            raise InvalidInputError("give at least one tag")
        return await self.delete_matching(ctx, tags, False, None, None, False, project, all_projects)

    async def delete_matching(self, ctx: Any, tags: Any, match_all: Any, start: Any, end: Any, dry_run: Any,
                              project: Any = None, all_projects: Any = False) -> CallToolResult:
        scope = await self.tools.scope(ctx, project, all_projects)
        service = await self._service()
        trashed = await service.delete_matching(tags, match_all, start, end, scope, dry_run)
        what = f"{count(trashed.count)} ({scope.describe()})"
        if dry_run:
            message = f"Dry run: {what} would go to the trash: " + ", ".join(h[:12] for h in trashed.hashes[:20])
        else:
            message = (f"Moved {what} to the trash"
                       + (" (memory_trash action=restore brings them back)." if trashed.count else "."))
        return result(message, TrashOutput(success=not dry_run, trashed_count=0 if dry_run else trashed.count,
                                           content_hashes=trashed.hashes, message=message))

    async def cleanup(self) -> CallToolResult:
        service = await self._service()
        trashed = await service.cleanup_duplicates()
        message = (f"Moved {count(trashed.count, 'duplicate', 'duplicates')} to the trash." if trashed.count
                   else "No duplicates found.")
        return result(message, TrashOutput(success=True, trashed_count=trashed.count, content_hashes=trashed.hashes,
                                           message=message))

    async def trash(self, action: str, content_hashes: Any = None, older_than_days: Any = None, page: int = 1,
                    max_tokens: int = budget.DEFAULT_TOKENS) -> CallToolResult:
        service = await self._service()
        if action == "list":
            listed = await service.trash_list(page=page, page_size=20)
            fitted = budget.fit(listed.memories, max_tokens, compact=True)
            memories = [MemoryOut.of(m, compact=True) for m in fitted.memories]
            message = render_memories(f"The trash holds {count(listed.total)} (page {page}):", memories,
                                      "The trash is empty.", fitted.note(), compact=True)
            return result(message, TrashListOutput(action=action, memories=memories, count=listed.total,
                                                   message=message))
        if action == "restore":
            restored = await service.restore(content_hashes or [])
            memories = [MemoryOut.of(m) for m in restored]
            message = f"Restored {count(len(restored))}: " + ", ".join(m.content_hash[:12] for m in memories) + "."
            return result(message, TrashListOutput(action=action, memories=memories, count=len(restored),
                                                   message=message))
        if action == "purge":
            purged = await service.purge(content_hashes, older_than_days)
            message = f"Deleted {count(purged)} from the trash for good."
            return result(message, TrashListOutput(action=action, count=purged, message=message))
        raise InvalidInputError(f"action must be list, restore or purge, got {action!r}")

    # -- reads -------------------------------------------------------------------------------
    async def search(self, ctx: Any, query: Any, n_results: Any = 5, min_relevance: Any = None, tags: Any = None,
                     memory_type: Any = None, mode: Any = None, project: Any = None, all_projects: Any = False,
                     max_tokens: Any = budget.DEFAULT_TOKENS, compact: Any = False, start: Any = None,
                     end: Any = None) -> CallToolResult:
        scope = await self.tools.scope(ctx, project, all_projects)
        service = await self._service()
        found = await service.retrieve(query, n_results=n_results, tags=tags, memory_type=memory_type,
                                       min_relevance=min_relevance, mode=mode, scope=scope, start=start, end=end)
        fitted = budget.fit([r.memory for r in found], max_tokens, compact)
        shown = scored(found, fitted, compact)
        text = render_scored(f"Found {count(len(found))} for {query!r} ({scope.describe()}):", shown,
                             f"No memory is relevant to {query!r} ({scope.describe()}).", fitted.note(), compact)
        return result(text, SearchOutput(query=query, scope=scope.describe(), results=shown,
                                         total_results=len(found), note=fitted.note()))

    async def recall(self, ctx: Any, query: Any, n_results: Any = 5, project: Any = None, all_projects: Any = False,
                     max_tokens: Any = budget.DEFAULT_TOKENS, compact: Any = False) -> CallToolResult:
        scope = await self.tools.scope(ctx, project, all_projects)
        service = await self._service()
        recalled = await service.recall(query, n_results=n_results, scope=scope)
        fitted = budget.fit([r.memory for r in recalled.results], max_tokens, compact)
        shown = scored(recalled.results, fitted, compact)
        n = count(len(recalled.results))
        if recalled.time_expression is None:
            title = f"No time expression in {query!r}; found {n} by meaning:"
            empty = f"No memory is relevant to {query!r} ({scope.describe()})."
        else:
            span = time_range_text(recalled.start, recalled.end)
            about = f" about {recalled.semantic_query!r}" if recalled.semantic_query else ""
            title = f"Found {n}{about}, preferring {span}:"
            empty = f"No memories from {span} ({scope.describe()})."
        return result(render_scored(title, shown, empty, fitted.note(), compact), RecallOutput(
            query=query, scope=scope.describe(), time_expression=recalled.time_expression,
            start_iso=iso(recalled.start) if recalled.start is not None else None,
            end_iso=iso(recalled.end) if recalled.end is not None else None,
            semantic_query=recalled.semantic_query, results=shown, total_results=len(recalled.results),
            note=fitted.note()))

    async def by_tag(self, ctx: Any, tags: Any, match_all: Any = False, limit: Any = 10, project: Any = None,
                     all_projects: Any = False, max_tokens: Any = budget.DEFAULT_TOKENS,
                     compact: Any = False) -> CallToolResult:
        scope = await self.tools.scope(ctx, project, all_projects)
        service = await self._service()
        found = await service.search_by_tag(tags, match_all=match_all, limit=limit, scope=scope)
        fitted = budget.fit(found, max_tokens, compact)
        memories = [MemoryOut.of(m, compact) for m in fitted.memories]
        clean = normalize_tags(tags)
        how = "all" if match_all else "any"
        text = render_memories(f"Newest {count(len(found))} with {how} of the tags {', '.join(clean)} "
                               f"({scope.describe()}):", memories,
                               f"No memories with {how} of the tags {', '.join(clean)} ({scope.describe()}).",
                               fitted.note(), compact)
        return result(text, TagSearchOutput(scope=scope.describe(), tags=clean, match_all=bool(match_all),
                                            memories=memories, total_results=len(found), note=fitted.note()))

    async def list(self, ctx: Any, page: Any = 1, page_size: Any = 10, tags: Any = None, memory_type: Any = None,
                   project: Any = None, all_projects: Any = False, max_tokens: Any = budget.DEFAULT_TOKENS,
                   compact: Any = True, match_all: Any = False) -> CallToolResult:
        scope = await self.tools.scope(ctx, project, all_projects)
        service = await self._service()
        listed = await service.list_memories(page=page, page_size=page_size, tag=tags, memory_type=memory_type,
                                             scope=scope, match_all=match_all)
        fitted = budget.fit(listed.memories, max_tokens, compact)
        memories = [MemoryOut.of(m, compact) for m in fitted.memories]
        pages = max(1, -(-listed.total // listed.page_size))
        title = f"Page {listed.page} of {pages} ({count(listed.total)}, {scope.describe()}):"
        text = render_memories(title, memories, f"Page {listed.page} is empty ({count(listed.total)} in total).",
                               fitted.note(), compact)
        return result(text, ListOutput(scope=scope.describe(), memories=memories, total_results=len(memories),
                                       note=fitted.note(), page=listed.page, page_size=listed.page_size,
                                       total=listed.total, total_pages=pages, has_more=listed.has_more))

    async def get(self, content_hash: Any, history: Any = False) -> CallToolResult:
        service = await self._service()
        if history:
            versions = await service.history(content_hash)
            current, earlier = versions[0], versions[1:]
        else:
            current, earlier = await service.get(content_hash), []
        m = MemoryOut.of(current)
        text = memory_line(m) + "".join(f"\nearlier version:\n{memory_line(MemoryOut.of(v))}" for v in earlier)
        return result(text, GetOutput(memory=m, history=[MemoryOut.of(v) for v in earlier]))

    async def exact(self, content: Any) -> CallToolResult:
        service = await self._service()
        memory = await service.exact_match(content)
        if memory is None:
            return result("No memory has exactly this content.", ExactMatchOutput(found=False))
        m = MemoryOut.of(memory)
        return result("Found:\n" + memory_line(m), ExactMatchOutput(found=True, memory=m))

    async def filtered(self, ctx: Any, tags: Any = None, match_all: Any = False, start: Any = None, end: Any = None,
                       limit: Any = 10, project: Any = None, all_projects: Any = False,
                       max_tokens: Any = budget.DEFAULT_TOKENS, compact: Any = False) -> CallToolResult:
        """Memories by tags and/or period, newest first, shaped like a search answer (relevance 1)."""
        scope = await self.tools.scope(ctx, project, all_projects)
        service = await self._service()
        if normalize_tags(tags):
            found = await service.search_by_tag(tags, match_all=match_all, limit=limit, scope=scope, start=start,
                                                end=end)
        else:
            found = await service.search_by_time(start, end, limit=limit, scope=scope)
        fitted = budget.fit(found, max_tokens, compact)
        shown = scored([QueryResult(m, 1.0) for m in found], fitted, compact)
        text = render_scored(f"Newest {count(len(found))} matching ({scope.describe()}):", shown,
                             f"No memories match ({scope.describe()}).", fitted.note(), compact)
        return result(text, SearchOutput(query="", scope=scope.describe(), results=shown, total_results=len(found),
                                         note=fitted.note()))

    async def stats(self) -> CallToolResult:
        service = await self._service()
        stats = await service.stats()
        projects = await service.projects()
        tags = (await service.all_tags())[:10]
        lines = [f"{count(stats.get('total_memories') or 0)} (+{stats.get('trashed_memories') or 0} in the trash), "
                 f"{stats.get('database_size_mb')} MB, backend {stats.get('backend')}"]
        lines += [f"  {name or '(global)'}: {n}" for name, n in projects[:20]]
        if tags:
            lines.append("top tags: " + ", ".join(f"{t} ({n})" for t, n in tags))
        return result("\n".join(lines), StatsOutput(
            stats=stats, projects=[{"project": name, "count": n} for name, n in projects],
            top_tags=[{"tag": t, "count": n} for t, n in tags]))

    async def ingest(self, ctx: Any, path: Any, tags: Any = None, project: Any = None) -> CallToolResult:
        """Ingest a file or folder the client's roots (or MCP_MEMORY_INGEST_ROOTS) contain; anything else is
        refused."""
        from .ingest import allowed, find_files, known_suffixes

        if not isinstance(path, str) or not path.strip():
            raise InvalidInputError("path must be a file or folder path")
        target = Path(path.strip()).expanduser()
        roots = await self.tools.ingest_roots(ctx)
        if not target.is_absolute() and roots:
            target = roots[0] / target
        if not roots or not allowed(target, roots):
            where = ", ".join(str(r) for r in roots) or "none (the client declares no roots and "
            raise InvalidInputError(f"{target} is outside the folders this server may read ({where}"
                                    f"{'' if roots else 'MCP_MEMORY_INGEST_ROOTS is unset)'}); add it to "
                                    "MCP_MEMORY_INGEST_ROOTS or open it as a root in the client")
        scope = await self.tools.scope(ctx, project)
        service = await self._service()
        from .plugins import get_plugin_manager

        suffixes = known_suffixes(get_plugin_manager(self.tools.settings).registry.readers.values())
        files = await asyncio.to_thread(find_files, [target], suffixes)
        results = []
        for file in files:
            data = await asyncio.to_thread(file.read_bytes)
            results.append(await service.ingest_document(data, file.name, str(file), tags=tags,
                                                         project=scope.write_project))
        stored = sum(r.new_chunks for r in results)
        lines = [f"Ingested {count(len(files), 'file', 'files')} from {target}: {stored} new chunks."]
        lines += [f"- {r.status}: {r.source} ({r.chunks} chunks)" + (f": {r.error}" if r.error else "")
                  for r in results[:30]]
        return result("\n".join(lines), IngestOutput(files=[IngestedFile(**r.__dict__) for r in results],
                                                      stored_chunks=stored))

    async def health(self) -> CallToolResult:
        service = await self._service()
        health = HealthOutput(**await service.health())
        return result(render_health(health), health)


def legacy_metadata(tags: Any, memory_type: Any, metadata: Any) -> tuple[Any, Any, Any]:
    """The reference service took ``metadata.tags`` and ``metadata.type``: move them where they belong."""
    if not isinstance(metadata, dict) or not ({"tags", "type"} & metadata.keys()):
        return tags, memory_type, metadata
    metadata = dict(metadata)
    extra = metadata.pop("tags", None)
    if extra is not None:
        tags = normalize_tags(tags) + normalize_tags(extra)
    kind = metadata.pop("type", None)
    if memory_type is None and kind is not None:
        memory_type = kind
    return tags, memory_type, metadata

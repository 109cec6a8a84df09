"""The MCP tools: names and parameters of the reference service's classic set, each one calling MemoryService.

Every tool returns a short text plus structured content (its output schema comes from the
``Annotated[CallToolResult, Model]`` return annotation). Service errors become tool errors.
"""

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from .errors import InvalidInputError, MemoryServiceError
from .logging import get_logger
from .mcp_results import (
    CleanupOutput,
    DeleteByTagOutput,
    DeleteOutput,
    ExactMatchOutput,
    HealthOutput,
    ListOutput,
    MemoryOut,
    RecallOutput,
    RetrieveOutput,
    ScoredMemory,
    StoreOutput,
    TagSearchOutput,
    UpdateOutput,
    count,
    memory_line,
    render_health,
    render_memories,
    render_scored,
    result,
    time_range_text,
)
from .models import iso, normalize_tags
from .service import MemoryService

log = get_logger(__name__)

GetService = Callable[[], Awaitable[MemoryService]]

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                              open_world_hint=False)

Tags = Annotated[
    list[str] | str | None,
    Field(description='Tags: a list of strings, or one comma-separated string ("project,decision").'),
]
RequiredTags = Annotated[
    list[str] | str,
    Field(description='One or more tags: a list of strings, or one comma-separated string ("a,b").'),
]
MemoryType = Annotated[
    str | None, Field(description='Kind of memory, free text such as "note", "decision", "fact", "todo".')
]
NResults = Annotated[int, Field(ge=1, description="Maximum number of memories to return (default 5).")]
ContentHash = Annotated[
    str, Field(description="The content_hash of a memory, as returned by store, search and list tools.")
]
# Keys of update_memory_metadata's `updates` that can never change.
_FIXED = ("content", "content_hash", "embedding", "created_at", "updated_at")


def guarded(fn: Callable[..., Awaitable[CallToolResult]]) -> Callable[..., Awaitable[CallToolResult]]:
    """Turn service errors into tool errors; log anything unexpected with its traceback (never crash)."""

    @functools.wraps(fn)
    async def wrapper(**kwargs: Any) -> CallToolResult:
        try:
            return await fn(**kwargs)
        except ToolError:
            raise
        except MemoryServiceError as exc:
            raise ToolError(str(exc)) from exc
        except Exception as exc:
            log.exception("tool failed unexpectedly", tool=fn.__name__, error=f"{type(exc).__name__}: {exc}")
            raise ToolError(f"internal error ({type(exc).__name__}: {exc}); the server log on stderr has the "
                            "traceback") from exc

    return wrapper


def _legacy_metadata(tags: Any, memory_type: Any, metadata: Any) -> tuple[Any, Any, Any]:
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


def register_tools(server: MCPServer, get_service: GetService) -> None:
    """Add the eleven memory tools to ``server``; each gets the service from ``get_service()``."""

    @server.tool(annotations=WRITE)
    @guarded
    async def store_memory(
        content: Annotated[str, Field(description="The text to remember: one self-contained fact, decision, "
                                                  "preference or note, written so it makes sense on its own later.")],
        tags: Tags = None,
        memory_type: MemoryType = None,
        metadata: Annotated[dict[str, Any] | None,
                            Field(description="Any extra JSON object to keep with the memory (source, project...).")
                            ] = None,
    ) -> Annotated[CallToolResult, StoreOutput]:
        """Save information to long-term memory so it can be found in later conversations.

        Use it when the user shares something worth remembering (preferences, decisions, facts about
        people or projects, solutions) or asks you to remember something. Add a few short tags to make
        tag search possible. Storing the same text twice does nothing: the answer says "duplicate" and
        gives the content_hash of the memory already stored.
        """
        service = await get_service()
        tags, memory_type, metadata = _legacy_metadata(tags, memory_type, metadata)
        stored = await service.store(content, tags=tags, memory_type=memory_type, metadata=metadata)
        m = MemoryOut.of(stored.memory)
        if stored.duplicate:
            message = f"Duplicate: this content is already stored as {m.content_hash} (since {m.created_at_iso})."
        else:
            message = f"Stored memory {m.content_hash}" + (f" with tags: {', '.join(m.tags)}." if m.tags else ".")
        return result(message, StoreOutput(success=True, duplicate=stored.duplicate, content_hash=m.content_hash,
                                           message=message, memory=m))

    @server.tool(annotations=READ_ONLY)
    @guarded
    async def retrieve_memory(
        query: Annotated[str, Field(description="What to look for, in natural language; matched by meaning, "
                                                "so paraphrases work.")],
        n_results: NResults = 5,
        min_relevance: Annotated[float | None, Field(ge=0.0, le=1.0, description=(
            "Drop results whose relevance (0..1) is below this; e.g. 0.3 keeps only fairly close matches."))] = None,
        tags: Annotated[list[str] | str | None, Field(description=(
            "Only memories carrying at least one of these tags (list or comma-separated string)."))] = None,
        memory_type: Annotated[str | None, Field(description="Only memories of this type.")] = None,
        mode: Annotated[Literal["semantic", "lexical", "hybrid"] | None, Field(description=(
            "hybrid (default): meaning and exact words together; semantic: meaning only; lexical: "
            "exact words only (names, numbers, rare terms)."))] = None,
    ) -> Annotated[CallToolResult, RetrieveOutput]:
        """Semantic search: find the stored memories most related in meaning to a question or topic.

        This is the default way to look something up in memory ("what does the user prefer for
        coffee?", "database decisions"). Results are best first with a relevance score in 0..1.
        For a period of time ("last week", "in March") use recall_memory; for exact tags use
        search_by_tag; for an exact known text use exact_match_retrieve.
        """
        service = await get_service()
        found = [ScoredMemory.of(r) for r in await service.retrieve(
            query, n_results=n_results, tags=tags, memory_type=memory_type, min_relevance=min_relevance,
            mode=mode)]
        text = render_scored(f"Found {count(len(found))} for {query!r}:", found,
                             f"No memories match {query!r}.")
        return result(text, RetrieveOutput(query=query, results=found, total_results=len(found)))

    @server.tool(annotations=READ_ONLY)
    @guarded
    async def recall_memory(
        query: Annotated[str, Field(description=(
            'A time expression, optionally with a topic: "yesterday", "last week", "in March", '
            '"2 days ago", "last 3 months", "since 2026-01-15", "between 2026-01-01 and 2026-02-01", '
            '"what did we decide about the API last week". Dates are UTC, YYYY-MM-DD.'))],
        n_results: NResults = 5,
    ) -> Annotated[CallToolResult, RecallOutput]:
        """Recall memories by when they were stored, optionally ranked by a topic.

        Use it when the user refers to time: "what did we discuss yesterday?", "notes from last
        week about the database", "what happened in March". The whole query ranks memories by
        meaning and words, and memories from the period of the time expression are preferred (a
        strong match from just outside it can still follow them); with no topic, the period's
        memories are listed newest first. Without any time expression it behaves like
        retrieve_memory.
        """
        service = await get_service()
        recalled = await service.recall(query, n_results=n_results)
        found = [ScoredMemory.of(r) for r in recalled.results]
        if recalled.time_expression is None:
            title = f"No time expression in {query!r}; found {count(len(found))} by meaning:"
        else:
            span = time_range_text(recalled.start, recalled.end)
            about = f" about {recalled.semantic_query!r}" if recalled.semantic_query else ""
            title = f"Found {count(len(found))}{about}, preferring {span}:"
        empty = (f"No memories from {time_range_text(recalled.start, recalled.end)}."
                 if recalled.time_expression else f"No memories match {query!r}.")
        return result(render_scored(title, found, empty), RecallOutput(
            query=query, time_expression=recalled.time_expression,
            start_iso=iso(recalled.start) if recalled.start is not None else None,
            end_iso=iso(recalled.end) if recalled.end is not None else None,
            semantic_query=recalled.semantic_query, results=found, total_results=len(found)))

    @server.tool(annotations=READ_ONLY)
    @guarded
    async def search_by_tag(
        tags: RequiredTags,
        match_all: Annotated[bool, Field(description=(
            "false (default): memories with ANY of the tags; true: only memories with ALL of them."))] = False,
    ) -> Annotated[CallToolResult, TagSearchOutput]:
        """Find memories by their tags (exact tag names, case-insensitive), newest first.

        Use it when the user names a tag or category ("everything tagged project-x"). For a topic
        in free words use retrieve_memory instead.
        """
        service = await get_service()
        memories = [MemoryOut.of(m) for m in await service.search_by_tag(tags, match_all=match_all)]
        clean = normalize_tags(tags)
        mode = "all" if match_all else "any"
        text = render_memories(f"Found {count(len(memories))} with {mode} of the tags {', '.join(clean)}:",
                               memories, f"No memories with {mode} of the tags {', '.join(clean)}.")
        return result(text, TagSearchOutput(tags=clean, match_all=match_all, memories=memories,
                                            total_results=len(memories)))

    @server.tool(annotations=READ_ONLY)
    @guarded
    async def exact_match_retrieve(
        content: Annotated[str, Field(description="The exact text of the memory (case and surrounding "
                                                  "spaces are ignored).")],
    ) -> Annotated[CallToolResult, ExactMatchOutput]:
        """Check whether this exact text is stored, and return that memory (with its content_hash).

        Use it to find the hash of a memory whose text you know, before updating or deleting it.
        """
        service = await get_service()
        memory = await service.exact_match(content)
        if memory is None:
            return result("No memory has exactly this content.", ExactMatchOutput(found=False))
        m = MemoryOut.of(memory)
        return result("Found:\n" + memory_line(m), ExactMatchOutput(found=True, memory=m))

    @server.tool(annotations=READ_ONLY)
    @guarded
    async def list_memories(
        page: Annotated[int, Field(ge=1, description="Page number, starting at 1.")] = 1,
        page_size: Annotated[int, Field(ge=1, description="Memories per page (default 10).")] = 10,
        tag: Annotated[list[str] | str | None, Field(description=(
            "Only memories with this tag (or any of these tags)."))] = None,
        memory_type: Annotated[str | None, Field(description="Only memories of this type.")] = None,
    ) -> Annotated[CallToolResult, ListOutput]:
        """Browse stored memories page by page, newest first, optionally filtered by tag or type.

        Use it to show what is in memory; to find something specific, searching is better.
        """
        service = await get_service()
        listed = await service.list_memories(page=page, page_size=page_size, tag=tag, memory_type=memory_type)
        memories = [MemoryOut.of(m) for m in listed.memories]
        pages = max(1, -(-listed.total // listed.page_size))
        title = f"Page {listed.page} of {pages} ({count(listed.total)} in total):"
        text = render_memories(title, memories, f"Page {listed.page} is empty ({count(listed.total)} in total).")
        return result(text, ListOutput(memories=memories, page=listed.page, page_size=listed.page_size,
                                       total=listed.total, total_pages=pages, has_more=listed.has_more))

    @server.tool(annotations=DESTRUCTIVE)
    @guarded
    async def delete_memory(content_hash: ContentHash) -> Annotated[CallToolResult, DeleteOutput]:
        """Delete one memory, identified by its content_hash. This cannot be undone.

        Find the hash first with retrieve_memory, search_by_tag, list_memories or exact_match_retrieve.
        """
        service = await get_service()
        await service.delete(content_hash)
        message = f"Deleted memory {content_hash.strip().lower()}."
        return result(message, DeleteOutput(success=True, content_hash=content_hash.strip().lower(),
                                            message=message))

    @server.tool(annotations=DESTRUCTIVE)
    @guarded
    async def delete_by_tag(tags: RequiredTags) -> Annotated[CallToolResult, DeleteByTagOutput]:
        """Delete every memory that carries ANY of the given tags; returns how many were deleted.

        This cannot be undone: check first with search_by_tag what would be deleted.
        """
        service = await get_service()
        deleted = await service.delete_by_tag(tags)
        clean = normalize_tags(tags)
        message = f"Deleted {count(deleted)} tagged {', '.join(clean)}."
        return result(message, DeleteByTagOutput(tags=clean, deleted_count=deleted, message=message))

    @server.tool(annotations=DESTRUCTIVE)
    @guarded
    async def update_memory_metadata(
        content_hash: ContentHash,
        updates: Annotated[dict[str, Any], Field(description=(
            'What to change: "tags" (replaces all tags; list or comma-separated string), "memory_type", '
            'and "metadata" (merged into the existing metadata). Any other key is stored in metadata. '
            'Example: {"tags": ["project", "done"], "metadata": {"status": "closed"}}'))],
    ) -> Annotated[CallToolResult, UpdateOutput]:
        """Change the tags, type or metadata of a stored memory, keeping its content and creation date.

        The content itself cannot change (store a new memory and delete the old one instead).
        """
        fixed = sorted(set(updates) & set(_FIXED))
        if fixed:
            raise InvalidInputError(f"cannot change {', '.join(fixed)}; only tags, memory_type and metadata can "
                                    "be updated (store a new memory to change the content)")
        if not updates:
            raise InvalidInputError('updates is empty; give "tags", "memory_type" and/or "metadata"')
        changes: dict[str, Any] = {}
        if "tags" in updates:
            changes["tags"] = updates["tags"]
        if "memory_type" in updates:
            changes["memory_type"] = updates["memory_type"]
        extra = {k: v for k, v in updates.items() if k not in ("tags", "memory_type", "metadata")}
        if "metadata" in updates or extra:
            meta = updates.get("metadata") or {}
            if not isinstance(meta, dict):
                raise InvalidInputError(f"updates.metadata must be a JSON object, got {type(meta).__name__}")
            changes["metadata"] = {**meta, **extra}
        service = await get_service()
        updated = await service.update_metadata(content_hash, **changes)
        m = MemoryOut.of(updated)
        fields = sorted(changes)
        text = f"Updated {', '.join(fields)} of memory {m.content_hash}.\n" + memory_line(m)
        return result(text, UpdateOutput(success=True, content_hash=m.content_hash, updated_fields=fields, memory=m))

    @server.tool(annotations=DESTRUCTIVE)
    @guarded
    async def cleanup_duplicates() -> Annotated[CallToolResult, CleanupOutput]:
        """Remove memories whose text repeats an older memory (keeps the oldest copy); returns the count.

        Duplicates can only come from imports; normal storing never creates them.
        """
        service = await get_service()
        removed = await service.cleanup_duplicates()
        message = f"Removed {count(removed, 'duplicate', 'duplicates')}." if removed else "No duplicates found."
        return result(message, CleanupOutput(removed_count=removed, message=message))

    @server.tool(annotations=READ_ONLY)
    @guarded
    async def check_database_health() -> Annotated[CallToolResult, HealthOutput]:
        """Report the health of the memory database: store statistics, embedding model, coordination mode.

        Use it when memory tools fail or the user asks how much is stored.
        """
        service = await get_service()
        health = HealthOutput(**await service.health())
        return result(render_health(health), health)

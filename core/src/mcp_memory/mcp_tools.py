"""The MCP tools of the ``classic`` set: our names (and the reference service's classic ones) over ``Operations``.

Every tool returns a short text plus structured content (its output schema comes from the
``Annotated[CallToolResult, Model]`` return annotation). Descriptions start with when to call the tool.
"""

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from . import budget
from .errors import InvalidInputError
from .mcp_ops import Operations, guarded
from .mcp_results import (
    ExactMatchOutput,
    GetOutput,
    HealthOutput,
    IngestOutput,
    ListOutput,
    RecallOutput,
    SearchOutput,
    StoreOutput,
    TagSearchOutput,
    TrashListOutput,
    TrashOutput,
    UpdateOutput,
)

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                              open_world_hint=False)

# -- argument types shared by both tool sets ---------------------------------------------------------
Tags = Annotated[list[str] | str | None, Field(description='List, or comma-separated string: "api,decision".')]
RequiredTags = Annotated[list[str] | str, Field(description='One or more tags: ["api"] or "api,decision".')]
MemoryType = Annotated[str | None, Field(description='Kind of memory, e.g. "decision", "preference", "fact".')]
NResults = Annotated[int, Field(ge=1, description="Most results to return.")]
ContentHash = Annotated[str, Field(description="A memory's content_hash, or a unique prefix of 8+ characters.")]
Project = Annotated[str | None, Field(description=(
    'Another project to use instead of the current one; "global" for memories of no project.'))]
AllProjects = Annotated[bool, Field(description="Read every project, not just the current one plus global.")]
MaxTokens = Annotated[int, Field(ge=50, le=50_000, description=(
    "Answer budget in approximate tokens; longer contents are cut with a marker (get_memory gives them whole)."))]
Compact = Annotated[bool, Field(description="One line per memory (hash, first line, tags, date, score).")]
Mode = Annotated[Literal["semantic", "lexical", "hybrid"] | None, Field(description=(
    "hybrid (default): meaning and exact words; semantic: meaning only; lexical: exact words (names, ids)."))]
MinRelevance = Annotated[float | None, Field(ge=0.0, le=1.0, description=(
    "Drop weaker results (0..1); default MCP_MEMORY_MIN_RELEVANCE."))]
Metadata = Annotated[dict[str, Any] | None, Field(description='Extra JSON to keep, e.g. {"source": "meeting"}.')]
TrashAction = Annotated[Literal["list", "restore", "purge"], Field(description=(
    "list: what is in the trash; restore: bring content_hashes back; purge: delete content_hashes (or everything "
    "deleted older_than_days ago) for good."))]

# Keys of update_memory_metadata's `updates` that can never change there.
_FIXED = ("content_hash", "embedding", "created_at", "updated_at")


def tool(server: MCPServer, annotations: ToolAnnotations, name: str | None = None) -> Callable[[Any], Any]:
    """Register ``fn`` as a guarded tool whose description is its docstring without indentation."""
    def decorate(fn: Any) -> Any:
        server.tool(name=name, description=inspect.cleandoc(fn.__doc__ or ""), annotations=annotations)(guarded(fn))
        return fn
    return decorate


def register_tools(server: MCPServer, ops: Operations) -> None:
    """The classic set: store_memory, retrieve_memory, recall_memory, search_by_tag, ... (15 tools)."""

    @tool(server, WRITE)
    async def store_memory(
        ctx: Context,
        content: Annotated[str, Field(description="One self-contained fact, decision or preference, written to "
                                                  "make sense on its own later.")],
        tags: Tags = None,
        memory_type: MemoryType = None,
        metadata: Metadata = None,
        project: Project = None,
        store_anyway: Annotated[bool, Field(description="Store even if a near-duplicate exists.")] = False,
    ) -> Annotated[CallToolResult, StoreOutput]:
        """Call when the user states a decision, preference or fact worth keeping, or says "remember ...".

        Stores it in the current project (or global with project="global"). The same text is stored once, and a
        memory nearly identical to one of the same project is not stored twice: the answer names it.
        """
        return await ops.store(ctx, content, tags, memory_type, metadata, project, store_anyway)

    @tool(server, READ_ONLY)
    async def retrieve_memory(
        ctx: Context,
        query: Annotated[str, Field(description='What to look for, in plain words: "database choice for staging".')],
        n_results: NResults = 5,
        min_relevance: MinRelevance = None,
        tags: Tags = None,
        memory_type: MemoryType = None,
        mode: Mode = None,
        project: Project = None,
        all_projects: AllProjects = False,
        max_tokens: MaxTokens = budget.DEFAULT_TOKENS,
        compact: Compact = False,
    ) -> Annotated[CallToolResult, SearchOutput]:
        """Before answering anything about the user's past decisions, preferences or project facts, call this.

        Searches memories of the current project and global ones by meaning and words, best first (relevance
        0..1); weak matches are left out, so an empty answer means nothing relevant is stored. For a period
        ("last week") use recall_memory.
        """
        return await ops.search(ctx, query, n_results, min_relevance, tags, memory_type, mode, project,
                                all_projects, max_tokens, compact)

    @tool(server, READ_ONLY)
    async def recall_memory(
        ctx: Context,
        query: Annotated[str, Field(description=(
            'A time expression, optionally with a topic: "yesterday", "last week", "in March", "since '
            '2026-01-15", "what did we decide about the API last week". Dates are UTC.'))],
        n_results: NResults = 5,
        project: Project = None,
        all_projects: AllProjects = False,
        max_tokens: MaxTokens = budget.DEFAULT_TOKENS,
        compact: Compact = False,
    ) -> Annotated[CallToolResult, RecallOutput]:
        """Call when the user refers to a time: "what did we discuss yesterday?", "notes from last week".

        Memories from that period rank first; a topic in the query ranks them by meaning, and without one the
        period is listed newest first.
        """
        return await ops.recall(ctx, query, n_results, project, all_projects, max_tokens, compact)

    @tool(server, READ_ONLY)
    async def search_by_tag(
        ctx: Context,
        tags: RequiredTags,
        match_all: Annotated[bool, Field(description="true: only memories with ALL the tags.")] = False,
        limit: Annotated[int, Field(ge=1, le=1000, description="Newest this many.")] = 10,
        project: Project = None,
        all_projects: AllProjects = False,
        max_tokens: MaxTokens = budget.DEFAULT_TOKENS,
        compact: Compact = False,
    ) -> Annotated[CallToolResult, TagSearchOutput]:
        """Call when the user names a tag or category ("everything tagged billing"); newest first.

        Tags match exactly (case-insensitive). For a topic in free words use retrieve_memory.
        """
        return await ops.by_tag(ctx, tags, match_all, limit, project, all_projects, max_tokens, compact)

    @tool(server, READ_ONLY)
    async def exact_match_retrieve(
        content: Annotated[str, Field(description="The exact text (case and surrounding spaces are ignored).")],
    ) -> Annotated[CallToolResult, ExactMatchOutput]:
        """Call to check whether an exact text is stored, and get its content_hash."""
        return await ops.exact(content)

    @tool(server, READ_ONLY)
    async def list_memories(
        ctx: Context,
        page: Annotated[int, Field(ge=1, description="Page number, from 1.")] = 1,
        page_size: Annotated[int, Field(ge=1, description="Memories per page.")] = 10,
        tag: Tags = None,
        memory_type: MemoryType = None,
        project: Project = None,
        all_projects: AllProjects = False,
        max_tokens: MaxTokens = budget.DEFAULT_TOKENS,
        compact: Compact = True,
    ) -> Annotated[CallToolResult, ListOutput]:
        """Call when the user wants to browse what is stored; newest first, one line each by default."""
        return await ops.list(ctx, page, page_size, tag, memory_type, project, all_projects, max_tokens, compact)

    @tool(server, READ_ONLY)
    async def get_memory(
        content_hash: ContentHash,
        history: Annotated[bool, Field(description="Also list the earlier versions of an edited memory.")] = False,
    ) -> Annotated[CallToolResult, GetOutput]:
        """Call to read the whole text of a memory that an answer cut short or listed compactly."""
        return await ops.get(content_hash, history)

    @tool(server, DESTRUCTIVE)
    async def update_memory(
        content_hash: ContentHash,
        content: Annotated[str | None, Field(description="New text (the old one stays in the history).")] = None,
        tags: Tags = None,
        memory_type: MemoryType = None,
        metadata: Annotated[dict[str, Any] | None, Field(description="Merged into the existing metadata.")] = None,
        project: Project = None,
    ) -> Annotated[CallToolResult, UpdateOutput]:
        """Call when a stored fact changed: correct its text, tags, type, metadata or project.

        New text gets a new content_hash (the answer gives both); the previous version is kept in its history
        (get_memory history=true).
        """
        changes = {k: v for k, v in (("content", content), ("tags", tags), ("memory_type", memory_type),
                                     ("metadata", metadata), ("project", project)) if v is not None}
        return await ops.update(content_hash, **changes)

    @tool(server, DESTRUCTIVE)
    async def update_memory_metadata(
        content_hash: ContentHash,
        updates: Annotated[dict[str, Any], Field(description=(
            '"tags" (replaces them), "memory_type", "metadata" (merged), "content"; other keys go into metadata. '
            'Example: {"tags": ["done"], "metadata": {"status": "closed"}}'))],
    ) -> Annotated[CallToolResult, UpdateOutput]:
        """Call to change a memory's tags, type or metadata (the reference service's name for update_memory)."""
        fixed = sorted(set(updates) & set(_FIXED))
        if fixed:
            raise InvalidInputError(f"cannot change {', '.join(fixed)}")
        if not updates:
            raise InvalidInputError('updates is empty; give "tags", "memory_type", "metadata" and/or "content"')
        changes: dict[str, Any] = {k: updates[k] for k in ("tags", "memory_type", "content") if k in updates}
        extra = {k: v for k, v in updates.items() if k not in ("tags", "memory_type", "metadata", "content")}
        if "metadata" in updates or extra:
            meta = updates.get("metadata") or {}
            if not isinstance(meta, dict):
                raise InvalidInputError(f"updates.metadata must be a JSON object, got {type(meta).__name__}")
            changes["metadata"] = {**meta, **extra}
        return await ops.update(content_hash, **changes)

    @tool(server, DESTRUCTIVE)
    async def delete_memory(content_hash: ContentHash) -> Annotated[CallToolResult, TrashOutput]:
        """Call when the user asks to forget one memory; it goes to the trash (memory_trash restores it)."""
        return await ops.delete(content_hash)

    @tool(server, DESTRUCTIVE)
    async def delete_by_tag(
        ctx: Context,
        tags: RequiredTags,
        project: Project = None,
        all_projects: AllProjects = False,
    ) -> Annotated[CallToolResult, TrashOutput]:
        """Call to forget every memory carrying ANY of the tags; they go to the trash (check with search_by_tag)."""
        return await ops.delete_by_tag(ctx, tags, project, all_projects)

    @tool(server, DESTRUCTIVE)
    async def cleanup_duplicates() -> Annotated[CallToolResult, TrashOutput]:
        """Call to move memories whose text repeats an older one to the trash (only imports create them)."""
        return await ops.cleanup()

    register_trash_tool(server, ops)
    register_ingest_tool(server, ops, "ingest_document")

    @tool(server, READ_ONLY)
    async def check_database_health() -> Annotated[CallToolResult, HealthOutput]:
        """Call when memory tools fail or the user asks how much is stored: store, model and mode status."""
        return await ops.health()


def register_ingest_tool(server: MCPServer, ops: Operations, name: str) -> None:
    """The document tool, the same in both tool sets (named ingest_document or memory_ingest)."""

    @tool(server, WRITE, name=name)
    async def ingest(
        ctx: Context,
        path: Annotated[str, Field(description="A file or folder in the client's roots or MCP_MEMORY_INGEST_ROOTS.")],
        tags: Tags = None,
        project: Project = None,
    ) -> Annotated[CallToolResult, IngestOutput]:
        """Call when the user asks to add a document or folder (Markdown, text, HTML, PDF) to memory.

        Chunks follow its headings and pages; each keeps its source, found by retrieve_memory later. A file
        ingested again is skipped when unchanged and replaced when changed.
        """
        return await ops.ingest(ctx, path, tags, project)


def register_trash_tool(server: MCPServer, ops: Operations) -> None:
    """memory_trash, the same in both tool sets."""

    @tool(server, DESTRUCTIVE)
    async def memory_trash(
        action: TrashAction,
        content_hashes: Annotated[list[str] | None, Field(description="Hashes (or 8+ character prefixes).")] = None,
        older_than_days: Annotated[float | None, Field(ge=0, description="purge: days in the trash.")] = None,
        page: Annotated[int, Field(ge=1)] = 1,
    ) -> Annotated[CallToolResult, TrashListOutput]:
        """Call when the user wants a deleted memory back, or to see or empty the trash."""
        return await ops.trash(action, content_hashes, older_than_days, page)

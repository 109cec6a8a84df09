"""The ``current`` tool set (``MCP_MEMORY_TOOL_SET=current``): the unified names and arguments of the reference
service 10.x-12.x (memory_store, memory_search, memory_list, memory_delete, memory_update, memory_health,
memory_stats, memory_cleanup), plus memory_get and memory_trash. Same ``Operations`` as the classic set.

Reference arguments without a counterpart here are accepted and ignored where ignoring is harmless
(``conversation_id`` stores near-duplicates, as the reference skips its semantic dedup for it).
"""

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from . import budget
from .errors import InvalidInputError
from .mcp_ops import Operations
from .mcp_results import (
    GetOutput,
    HealthOutput,
    ListOutput,
    RecallOutput,
    StatsOutput,
    StoreOutput,
    TrashOutput,
    UpdateOutput,
)
from .mcp_tools import (
    DESTRUCTIVE,
    READ_ONLY,
    WRITE,
    AllProjects,
    Compact,
    ContentHash,
    Project,
    Tags,
    register_ingest_tool,
    register_trash_tool,
    tool,
)

SearchMode = Annotated[Literal["semantic", "exact", "hybrid", "ranked"], Field(description=(
    "semantic: by meaning; exact: by the query's words; hybrid (default) and ranked: both mixed."))]
TagMatch = Annotated[Literal["any", "all"], Field(description="Match ANY tag (default) or ALL tags.")]
MaxChars = Annotated[int | None, Field(ge=200, description="Answer budget in characters (default about 4,800).")]
Date = Annotated[str | None, Field(description="ISO date or time, UTC: 2026-01-31 or 2026-01-31T12:00:00.")]
_MODES = {"semantic": "semantic", "exact": "lexical", "hybrid": "hybrid", "ranked": "hybrid"}


def _tokens(max_response_chars: int | None) -> int:
    return budget.DEFAULT_TOKENS if max_response_chars is None else max(50, max_response_chars // 4)


def register_current_tools(server: MCPServer, ops: Operations) -> None:
    """The current set (10 tools)."""

    @tool(server, WRITE)
    async def memory_store(
        ctx: Context,
        content: Annotated[str, Field(description="One self-contained fact, decision or preference.")],
        metadata: Annotated[dict[str, Any] | None, Field(description=(
            'Optional: {"tags": "a,b" or ["a", "b"], "type": "decision", ...any other keys are kept}.'))] = None,
        tags: Tags = None,
        conversation_id: Annotated[str | None, Field(description="Stores near-duplicates too (incremental notes).")
                                   ] = None,
        project: Project = None,
    ) -> Annotated[CallToolResult, StoreOutput]:
        """Call when the user states a decision, preference or fact worth keeping, or says "remember ...".

        Stored in the current project (project="global": no project). The same text is stored once.
        """
        return await ops.store(ctx, content, tags, None, metadata, project, store_anyway=conversation_id is not None)

    @tool(server, READ_ONLY)
    async def memory_search(
        ctx: Context,
        query: Annotated[str | None, Field(description="What to look for; optional with a time filter.")] = None,
        mode: SearchMode = "hybrid",
        time_expr: Annotated[str | None, Field(description='"yesterday", "last week", "in March"...')] = None,
        after: Date = None,
        before: Date = None,
        tags: Tags = None,
        tag_match: TagMatch = "any",
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
        max_response_chars: MaxChars = None,
        project: Project = None,
        all_projects: AllProjects = False,
        compact: Compact = False,
    ) -> Annotated[CallToolResult, RecallOutput]:
        """Before answering anything about the user's past decisions, preferences or project facts, call this.

        Finds memories of the current project and global ones by meaning and words, best first; weak matches are
        left out. Combine with time_expr or after/before for a period, tags for a category.
        """
        tokens = _tokens(max_response_chars)
        if time_expr:
            text = f"{query} {time_expr}" if query else time_expr
            return await ops.recall(ctx, text, limit, project, all_projects, tokens, compact)
        if not query:
            if not tags and after is None and before is None:
                raise InvalidInputError("give a query, a time filter (time_expr, after, before) or tags")
            return await ops.filtered(ctx, tags, tag_match == "all", after, before, limit, project, all_projects,
                                      tokens, compact)
        if tag_match == "all" and tags:
            raise InvalidInputError('tag_match "all" works without a query (it lists the memories carrying every '
                                    'tag); with a query, tags filter by any of them')
        return await ops.search(ctx, query, limit, None, tags, None, _MODES[mode], project, all_projects, tokens,
                                compact, start=after, end=before)

    @tool(server, READ_ONLY)
    async def memory_list(
        ctx: Context,
        page: Annotated[int, Field(ge=1)] = 1,
        page_size: Annotated[int, Field(ge=1, le=100)] = 20,
        tags: Tags = None,
        tag_match: TagMatch = "any",
        memory_type: Annotated[str | None, Field(description="Only this type.")] = None,
        project: Project = None,
        all_projects: AllProjects = False,
        compact: Compact = True,
    ) -> Annotated[CallToolResult, ListOutput]:
        """Call when the user wants to browse what is stored; newest first, one line each by default."""
        return await ops.list(ctx, page, page_size, tags, memory_type, project, all_projects,
                              budget.DEFAULT_TOKENS, compact, match_all=tag_match == "all")

    @tool(server, READ_ONLY)
    async def memory_get(content_hash: ContentHash, history: bool = False) -> Annotated[CallToolResult, GetOutput]:
        """Call to read the whole text of a memory that an answer cut short or listed compactly."""
        return await ops.get(content_hash, history)

    @tool(server, DESTRUCTIVE)
    async def memory_delete(
        ctx: Context,
        content_hash: Annotated[str | None, Field(description="One memory (hash or 8+ character prefix).")] = None,
        tags: Tags = None,
        tag_match: TagMatch = "any",
        before: Date = None,
        after: Date = None,
        dry_run: Annotated[bool, Field(description="Only say what would be deleted.")] = False,
        project: Project = None,
        all_projects: AllProjects = False,
    ) -> Annotated[CallToolResult, TrashOutput]:
        """Call when the user asks to forget memories: one by hash, or by tags and/or dates. They go to the trash
        (memory_trash restores them); dry_run=true previews."""
        if content_hash:
            return await ops.delete(content_hash)
        return await ops.delete_matching(ctx, tags, tag_match == "all", after, before, dry_run, project, all_projects)

    @tool(server, DESTRUCTIVE)
    async def memory_update(
        content_hash: ContentHash,
        updates: Annotated[dict[str, Any], Field(description=(
            '"content" (new text, old one kept in the history), "tags" (replaces them), "memory_type", "metadata" '
            '(merged), "project". Example: {"tags": ["done"]}'))],
        preserve_timestamps: Annotated[bool, Field(description="Kept for compatibility: created_at never changes.")
                                       ] = True,
    ) -> Annotated[CallToolResult, UpdateOutput]:
        """Call when a stored fact changed: correct its text, tags, type, metadata or project."""
        known = {"content", "tags", "memory_type", "metadata", "project"}
        changes = {k: v for k, v in updates.items() if k in known}
        extra = {k: v for k, v in updates.items() if k not in known}
        if extra:
            changes["metadata"] = {**(changes.get("metadata") or {}), **extra}
        return await ops.update(content_hash, **changes)

    @tool(server, DESTRUCTIVE)
    async def memory_cleanup() -> Annotated[CallToolResult, TrashOutput]:
        """Call to move memories whose text repeats an older one to the trash (only imports create them)."""
        return await ops.cleanup()

    register_trash_tool(server, ops)
    register_ingest_tool(server, ops, "memory_ingest")

    @tool(server, READ_ONLY)
    async def memory_health() -> Annotated[CallToolResult, HealthOutput]:
        """Call when memory tools fail: store, model and coordination status."""
        return await ops.health()

    @tool(server, READ_ONLY)
    async def memory_stats() -> Annotated[CallToolResult, StatsOutput]:
        """Call when the user asks how much is stored: counts by project, the trash, the most used tags."""
        return await ops.stats()


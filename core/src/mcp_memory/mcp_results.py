"""Structured results of the MCP tools (their output schemas) and their short text renderings."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from .models import Memory, QueryResult, iso

PREVIEW_CHARS = 2000


class MemoryOut(BaseModel):
    """One stored memory."""

    content: str
    content_hash: str = Field(description="SHA-256 id of the memory; pass it to delete/update tools")
    tags: list[str]
    memory_type: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: float = Field(description="Unix seconds, UTC")
    updated_at: float = Field(description="Unix seconds, UTC")
    created_at_iso: str
    updated_at_iso: str

    @classmethod
    def of(cls, memory: Memory) -> MemoryOut:
        return cls(**memory.to_dict())


class ScoredMemory(BaseModel):
    memory: MemoryOut
    relevance_score: float = Field(description="0..1, 1 is the best match")

    @classmethod
    def of(cls, result: QueryResult) -> ScoredMemory:
        return cls(memory=MemoryOut.of(result.memory), relevance_score=round(result.relevance_score, 6))


class StoreOutput(BaseModel):
    success: bool
    duplicate: bool = Field(description="True when this content was already stored (nothing new written)")
    content_hash: str
    message: str
    memory: MemoryOut


class RetrieveOutput(BaseModel):
    query: str
    results: list[ScoredMemory]
    total_results: int


class RecallOutput(BaseModel):
    query: str
    time_expression: str | None = Field(None, description="The part of the query read as a time range")
    start_iso: str | None = None
    end_iso: str | None = None
    semantic_query: str = Field(description="What was ranked by meaning (empty: listed newest first)")
    results: list[ScoredMemory]
    total_results: int


class TagSearchOutput(BaseModel):
    tags: list[str]
    match_all: bool
    memories: list[MemoryOut]
    total_results: int


class ExactMatchOutput(BaseModel):
    found: bool
    memory: MemoryOut | None = None


class ListOutput(BaseModel):
    memories: list[MemoryOut]
    page: int
    page_size: int
    total: int
    total_pages: int
    has_more: bool


class DeleteOutput(BaseModel):
    success: bool
    content_hash: str
    message: str


class DeleteByTagOutput(BaseModel):
    tags: list[str]
    deleted_count: int
    message: str


class UpdateOutput(BaseModel):
    success: bool
    content_hash: str
    updated_fields: list[str]
    memory: MemoryOut


class CleanupOutput(BaseModel):
    removed_count: int
    message: str


class HealthOutput(BaseModel):
    status: str = Field(description="healthy or unhealthy")
    coordination_mode: str
    storage: dict[str, Any] = Field(description="Store statistics, or the error that made it unhealthy")
    embedder: dict[str, Any]


# -- rendering --------------------------------------------------------------------------------------
def result(text: str, data: BaseModel) -> CallToolResult:
    """A tool result: a short readable text plus the structured content."""
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=data.model_dump(mode="json"))


def _clip(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + f"... [{len(text):,} characters]"


def memory_line(m: MemoryOut, score: float | None = None) -> str:
    """``[0.83] content`` then a detail line with hash, tags, type and date."""
    head = f"[{score:.2f}] " if score is not None else ""
    details = [f"hash {m.content_hash}", m.created_at_iso[:19].replace("T", " ") + " UTC"]
    if m.tags:
        details.append("tags: " + ", ".join(m.tags))
    if m.memory_type:
        details.append(f"type: {m.memory_type}")
    return f"{head}{_clip(m.content)}\n   ({'; '.join(details)})"


def count(n: int, noun: str = "memory", plural: str = "memories") -> str:
    """``1 memory``, ``3 memories``."""
    return f"{n} {noun if n == 1 else plural}"


def numbered(lines: list[str]) -> str:
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))


def render_scored(title: str, results: list[ScoredMemory], empty: str) -> str:
    if not results:
        return empty
    return title + "\n" + numbered([memory_line(r.memory, r.relevance_score) for r in results])


def render_memories(title: str, memories: list[MemoryOut], empty: str) -> str:
    if not memories:
        return empty
    return title + "\n" + numbered([memory_line(m) for m in memories])


def time_range_text(start: float | None, end: float | None) -> str:
    lo = iso(start)[:19].replace("T", " ") if start is not None else "the beginning"
    hi = iso(end)[:19].replace("T", " ") if end is not None else "now"
    return f"{lo} to {hi} UTC"


def render_health(h: HealthOutput) -> str:
    s = h.storage
    if "error" in s:
        store = f"store error: {s['error']}"
    else:
        store = (f"backend {s.get('backend')}, {count(s.get('total_memories') or 0)}, "
                 f"{count(s.get('unique_tags') or 0, 'tag', 'tags')}, "
                 f"{s.get('database_size_mb')} MB")
    e = h.embedder
    embed = (f"embedder {e.get('model')} ({e.get('dimension')} dims, "
             f"{'loaded' if e.get('loaded') else 'loads on first use'})" if "error" not in e
             else f"embedder error: {e['error']}")
    return f"Status: {h.status}\nCoordination: {h.coordination_mode}\nStore: {store}\nEmbedder: {embed}"

"""Structured results of the MCP tools (their output schemas) and their short text renderings.

Memories in answers are sized by ``budget.fit``: the same (possibly cut) contents appear in the text and in the
structured content, so an answer stays within its budget whichever of the two a client gives the model.
"""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from .budget import Fitted
from .ingest import source_text
from .models import Memory, QueryResult, iso


class MemoryOut(BaseModel):
    # One stored memory (``content`` may be cut to fit the answer's budget, with a marker saying so). No
    # docstring: pydantic would copy it into every output schema that lists memories.

    content: str
    content_hash: str
    tags: list[str]
    memory_type: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    project: str | None = None
    created_at: float
    created_at_iso: str
    updated_at_iso: str
    deleted_reason: str | None = None
    replaced_by: str | None = None
    source: str | None = None

    @classmethod
    def of(cls, memory: Memory, compact: bool = False) -> MemoryOut:
        data = memory.to_dict()
        if compact:
            data["metadata"] = {}
        data["source"] = source_text(memory)
        fields = cls.model_fields  # a property in pydantic: read once, not once per key
        return cls(**{k: v for k, v in data.items() if k in fields})


class ScoredMemory(BaseModel):
    memory: MemoryOut
    relevance_score: float


def scored(results: list[QueryResult], fitted: Fitted, compact: bool = False) -> list[ScoredMemory]:
    """The fitted memories with the scores of their results (same order)."""
    scores = {r.memory.content_hash: r.relevance_score for r in results}
    return [ScoredMemory(memory=MemoryOut.of(m, compact), relevance_score=round(scores[m.content_hash], 4))
            for m in fitted.memories]


class StoreOutput(BaseModel):
    success: bool
    duplicate: bool
    near_duplicate: bool = False
    similarity: float | None = None
    restored: bool = False
    content_hash: str
    message: str
    memory: MemoryOut


class SearchOutput(BaseModel):
    query: str
    scope: str
    results: list[ScoredMemory]
    total_results: int
    note: str = ""


class RecallOutput(SearchOutput):
    time_expression: str | None = None
    start_iso: str | None = None
    end_iso: str | None = None
    semantic_query: str = ""


class MemoriesOutput(BaseModel):
    scope: str
    memories: list[MemoryOut]
    total_results: int
    note: str = ""


class TagSearchOutput(MemoriesOutput):
    tags: list[str]
    match_all: bool


class ListOutput(MemoriesOutput):
    page: int
    page_size: int
    total: int
    total_pages: int
    has_more: bool


class ExactMatchOutput(BaseModel):
    found: bool
    memory: MemoryOut | None = None


class GetOutput(BaseModel):
    memory: MemoryOut
    history: list[MemoryOut] = Field(default_factory=list)


class TrashOutput(BaseModel):
    # Outcome of a delete: what went to the trash and how to bring it back.

    success: bool
    trashed_count: int
    content_hashes: list[str]
    message: str


class UpdateOutput(BaseModel):
    success: bool
    content_hash: str
    previous_hash: str | None = None
    updated_fields: list[str]
    memory: MemoryOut


class TrashListOutput(BaseModel):
    action: str
    memories: list[MemoryOut] = Field(default_factory=list)
    count: int
    message: str


class StatsOutput(BaseModel):
    stats: dict[str, Any]
    projects: list[dict[str, Any]]
    top_tags: list[dict[str, Any]]


class IngestedFile(BaseModel):
    source: str
    status: str
    chunks: int = 0
    new_chunks: int = 0
    outdated: int = 0
    pages: int | None = None
    error: str | None = None


class IngestOutput(BaseModel):
    files: list[IngestedFile]
    stored_chunks: int


class HealthOutput(BaseModel):
    status: str
    coordination_mode: str
    storage: dict[str, Any]
    embedder: dict[str, Any]


# -- rendering --------------------------------------------------------------------------------------
def result(text: str, data: BaseModel) -> CallToolResult:
    """A tool result: a short readable text plus the structured content."""
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=data.model_dump(mode="json", exclude_none=True))


def memory_line(m: MemoryOut, score: float | None = None, compact: bool = False) -> str:
    """``[0.83] content`` then a detail line with hash, date, tags, type and project."""
    head = f"[{score:.2f}] " if score is not None else ""
    when = m.created_at_iso[:10] if compact else m.created_at_iso[:16].replace("T", " ") + " UTC"
    details = [m.content_hash[:12], when]
    if m.tags:
        details.append("tags: " + ", ".join(m.tags))
    if m.memory_type and not compact:
        details.append(f"type: {m.memory_type}")
    if m.project and not compact:
        details.append(f"project: {m.project}")
    if m.deleted_reason:
        details.append(f"in trash: {m.deleted_reason}")
    if m.source:
        details.append(f"source: {m.source}")
    return f"{head}{m.content}\n   ({'; '.join(details)})"


def count(n: int, noun: str = "memory", plural: str = "memories") -> str:
    """``1 memory``, ``3 memories``."""
    return f"{n} {noun if n == 1 else plural}"


def numbered(lines: list[str]) -> str:
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))


def render_scored(title: str, results: list[ScoredMemory], empty: str, note: str = "",
                  compact: bool = False) -> str:
    if not results:
        return empty
    body = title + "\n" + numbered([memory_line(r.memory, r.relevance_score, compact) for r in results])
    return body + (f"\n{note}" if note else "")


def render_memories(title: str, memories: list[MemoryOut], empty: str, note: str = "", compact: bool = False) -> str:
    if not memories:
        return empty
    body = title + "\n" + numbered([memory_line(m, compact=compact) for m in memories])
    return body + (f"\n{note}" if note else "")


def time_range_text(start: float | None, end: float | None) -> str:
    lo = iso(start)[:19].replace("T", " ") if start is not None else "the beginning"
    hi = iso(end)[:19].replace("T", " ") if end is not None else "now"
    return f"{lo} to {hi} UTC"


def render_health(h: HealthOutput) -> str:
    s = h.storage
    if "error" in s:
        store = f"store error: {s['error']}"
    else:
        store = (f"backend {s.get('backend')}, {count(s.get('total_memories') or 0)} "
                 f"(+{s.get('trashed_memories') or 0} in the trash), "
                 f"{count(s.get('unique_tags') or 0, 'tag', 'tags')}, {s.get('database_size_mb')} MB")
    e = h.embedder
    embed = (f"embedder {e.get('model')} ({e.get('dimension')} dims, "
             f"{'loaded' if e.get('loaded') else 'loads on first use'})" if "error" not in e
             else f"embedder error: {e['error']}")
    return f"Status: {h.status}\nCoordination: {h.coordination_mode}\nStore: {store}\nEmbedder: {embed}"

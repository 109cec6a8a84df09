"""What the service's methods return (and what a store takes as input): plain dataclasses with ``to_dict``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .models import Memory, QueryResult

#: why a memory is in the trash
DELETED, EDITED, MERGED, DUPLICATE, EXPIRED = "deleted", "edited", "merged", "duplicate", "expired"
#: a document chunk that its file no longer has (the file changed or was removed)
OUTDATED = "outdated"


@dataclass(frozen=True)
class StoreResult:
    """Outcome of a store: the memory as stored (or the one already there), and what happened.

    ``duplicate``: the same text was already stored. ``near_duplicate``: a memory of the same project this
    close in meaning exists, so nothing was stored (``similarity`` says how close). ``restored``: the same
    text was in the trash and is back.
    """

    memory: Memory
    duplicate: bool
    near_duplicate: bool = False
    similarity: float | None = None
    restored: bool = False

    @property
    def stored(self) -> bool:
        return not (self.duplicate or self.near_duplicate)

    def to_dict(self) -> dict[str, Any]:
        return {"duplicate": self.duplicate, "near_duplicate": self.near_duplicate, "similarity": self.similarity,
                "restored": self.restored, "content_hash": self.memory.content_hash, "memory": self.memory.to_dict()}


@dataclass(frozen=True)
class NewMemory:
    """Input of a store: what a caller supplies (``project`` already resolved: a name, or None for global)."""

    content: Any
    tags: Any = None
    memory_type: Any = None
    metadata: Any = None
    created_at: Any = None
    project: Any = None


@dataclass
class Page:
    memories: list[Memory]
    page: int
    page_size: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.page * self.page_size < self.total

    def to_dict(self) -> dict[str, Any]:
        return {"memories": [m.to_dict() for m in self.memories], "page": self.page,
                "page_size": self.page_size, "total": self.total, "has_more": self.has_more}


@dataclass
class RecallResult:
    results: list[QueryResult]
    start: float | None
    end: float | None
    time_expression: str | None
    semantic_query: str


@dataclass(frozen=True)
class TrashResult:
    """Outcome of a delete: the hashes moved to the trash (restore them with ``restore``)."""

    hashes: list[str]
    reason: str = DELETED

    @property
    def count(self) -> int:
        return len(self.hashes)

    def to_dict(self) -> dict[str, Any]:
        return {"trashed": self.count, "content_hashes": self.hashes, "reason": self.reason}


@dataclass(frozen=True)
class UpdateResult:
    """Outcome of an update: the memory now live; ``previous`` is the hash of the version it replaced when
    the content changed (kept in the trash as history), else None."""

    memory: Memory
    previous: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"memory": self.memory.to_dict(), "content_hash": self.memory.content_hash,
                "previous_hash": self.previous, "content_changed": self.previous is not None}




@dataclass
class FileResult:
    """What happened to one file: ``stored``, ``unchanged``, ``updated``, ``pruned``, ``would store`` or
    ``error``."""

    source: str
    status: str
    chunks: int = 0
    new_chunks: int = 0
    outdated: int = 0
    pages: int | None = None
    error: str | None = None


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "error"]

    def to_dict(self) -> dict[str, Any]:
        return {"files": [asdict(f) for f in self.files], "seconds": self.seconds, "dry_run": self.dry_run,
                "stored_chunks": sum(f.new_chunks for f in self.files),
                "errors": len(self.errors)}

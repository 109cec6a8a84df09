"""The interfaces plugins implement: a memory store and an embedder.

Stores hold data; they contain no business logic. Tag normalisation, hashing, dedup policy,
time parsing and relevance thresholds live in ``service.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator, Protocol, Sequence, runtime_checkable

from .errors import InvalidInputError
from .models import Memory, QueryResult, Vector


@dataclass(frozen=True)
class EmbeddingInfo:
    """Which model made the vectors of a store; recorded by the store at first use."""

    model: str
    dimension: int


def embed_inputs(texts: Sequence[str]) -> list[str]:
    """The texts of an ``Embedder.embed`` call as a list; InvalidInputError names any non-string types."""
    texts = list(texts)
    bad = sorted({type(t).__name__ for t in texts if not isinstance(t, str)})
    if bad:
        raise InvalidInputError(f"embed() takes strings, got {', '.join(bad)}")
    return texts


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    ``model_name`` and ``dimension`` must be known without loading the model, so that a store can be
    opened and checked before the first embed (the model loads lazily on the first ``embed`` call).
    """

    model_name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> Sequence[Vector]:
        """Return one normalised vector per text, in order. Blocking (CPU-bound)."""
        ...

    def warm_up(self) -> None:
        """Load the model now (optional; ``embed`` loads it anyway)."""
        ...


@runtime_checkable
class MemoryStorage(Protocol):
    """An async memory store. All timestamps are Unix seconds (UTC); listings are newest first.

    Errors a store cannot recover from are raised as ``mcp_memory.errors.StorageError`` with a
    message that names the cause (locked, corrupt, unreachable, schema too new ...).
    """

    backend_name: str

    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        """Open or create the store. The first open records ``embedding``; a later open with a
        different model or dimension raises ``EmbeddingError``. ``None`` means "any" (read-only
        tools such as migration sources)."""

    async def store(self, memory: Memory, embedding: Vector) -> bool:
        """Store atomically (memory, tags and vector together). False if the hash already exists."""

    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        """Store many in one transaction; one bool per item, False for existing hashes."""

    async def retrieve(
        self,
        embedding: Vector,
        k: int,
        tags: Sequence[str] | None = None,
        memory_type: str | None = None,
    ) -> list[QueryResult]:
        """The k nearest memories by cosine similarity, best first, optionally restricted to those
        carrying any of ``tags`` and/or of ``memory_type``. Relevance = max(0, cosine similarity)."""

    async def search_by_tag(
        self, tags: Sequence[str], match_all: bool = False, limit: int | None = None
    ) -> list[Memory]:
        """Memories carrying any (or, with ``match_all``, every) of the normalised ``tags``."""

    async def search_by_time(
        self, start: float | None, end: float | None, limit: int | None = None
    ) -> list[Memory]:
        """Memories with ``start <= created_at <= end`` (either bound may be open)."""

    async def list_memories(
        self,
        offset: int = 0,
        limit: int = 10,
        tags: Sequence[str] | None = None,
        memory_type: str | None = None,
    ) -> list[Memory]:
        """A page of memories, newest first, optionally filtered by any-tag and type."""

    async def count(self, tags: Sequence[str] | None = None, memory_type: str | None = None) -> int:
        """How many memories (with the same filters as ``list_memories``)."""

    async def get_by_hash(self, content_hash: str) -> Memory | None:
        """The memory with this hash, or None."""

    async def delete(self, content_hash: str) -> bool:
        """Delete one memory with its tags and vector. False if it did not exist."""

    async def delete_by_tag(self, tags: Sequence[str]) -> int:
        """Delete every memory carrying any of ``tags``; return how many were deleted."""

    async def update_memory_metadata(
        self,
        content_hash: str,
        tags: Sequence[str],
        memory_type: str | None,
        metadata: dict[str, Any],
        updated_at: float,
    ) -> bool:
        """Replace tags, type, metadata and updated_at, keeping content and vector. False if absent."""

    def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        """Every memory with its stored vector (None if the store cannot return it), oldest first,
        in batches. Used by migration and backup."""

    async def get_stats(self) -> dict[str, Any]:
        """At least: backend, total_memories, unique_tags, database_size_mb, embedding_model,
        embedding_dimension."""

    async def all_tags(self) -> list[tuple[str, int]]:
        """Every tag with the number of memories carrying it, most used first."""

    async def optimize(self) -> dict[str, Any]:
        """Maintenance (vacuum, reindex, analyze ...); returns what was done with sizes before/after."""

    async def close(self) -> None:
        """Flush and release everything; safe to call twice."""


@runtime_checkable
class LexicalSearch(Protocol):
    """OPTIONAL store capability: full-text (word) search, used by the ``lexical`` and ``hybrid``
    retrieval modes. A store without ``search_lexical`` (or whose ``search_lexical`` raises
    ``NotImplementedError``, e.g. SQLite built without FTS5) makes the service fall back to semantic
    search and log it once; nothing else depends on it.
    """

    async def search_lexical(
        self,
        query: str,
        k: int,
        tags: Sequence[str] | None = None,
        memory_type: str | None = None,
    ) -> list[QueryResult]:
        """The k best memories matching ANY word of ``query``, ranked by BM25 (or similar), best first,
        with the same filters as ``retrieve``. ``query`` is plain words from the service (stop words
        already removed): treat it as text, never as query syntax; quotes, brackets or operators in it
        must neither error nor change the meaning. Relevance = score / best score of this query, so the
        best match is 1.0. No matching word: an empty list."""

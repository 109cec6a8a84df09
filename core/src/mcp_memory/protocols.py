"""The interfaces plugins implement: a memory store and an embedder, and the filter every read takes.

Stores hold data; they contain no business logic. Tag normalisation, hashing, dedup policy, time parsing,
projects by default and relevance thresholds live in ``service.py``. A store's methods are coroutines that
must never block the event loop: run a blocking driver in a worker thread (``asyncio.to_thread`` or a
dedicated executor), as the bundled stores do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .errors import InvalidInputError
from .models import Hit, Memory, QueryResult, Vector

#: a value a metadata filter may compare with (equality on a top-level key)
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class EmbeddingInfo:
    """Which model made the vectors of a store (its identity, not the runtime); recorded at first use."""

    model: str
    dimension: int


@dataclass(frozen=True)
class Filter:
    """Which memories a read covers. Every field narrows; the default is every live memory.

    - ``projects``: None for every project; else a tuple of project names, where ``None`` inside the tuple
      stands for global memories (those of no project). ``("api", None)`` = project api plus global.
    - ``tags`` with ``match_all``: memories carrying any (or every) of these normalised tags.
    - ``memory_type``: exactly this type.
    - ``start`` / ``end``: ``start <= created_at <= end`` (either bound may be None).
    - ``metadata``: (key, value) pairs that must all equal the memory's top-level metadata values.
    - ``replaced_by``: memories moved to the trash in favour of this hash (versions, merged originals).
    - ``trashed``: False reads live memories, True reads the trash instead.
    """

    projects: tuple[str | None, ...] | None = None
    tags: tuple[str, ...] = ()
    match_all: bool = False
    memory_type: str | None = None
    start: float | None = None
    end: float | None = None
    metadata: tuple[tuple[str, Scalar], ...] = ()
    replaced_by: str | None = None
    trashed: bool = False

    def matches(self, memory: Memory) -> bool:
        """The reference semantics of the filter, for stores that filter in Python and for tests."""
        if self.trashed != (memory.deleted_at is not None):
            return False
        if self.projects is not None and memory.project not in self.projects:
            return False
        if self.tags:
            have = set(memory.tags)
            if not (have.issuperset(self.tags) if self.match_all else have.intersection(self.tags)):
                return False
        if self.memory_type is not None and memory.memory_type != self.memory_type:
            return False
        if self.start is not None and memory.created_at < self.start:
            return False
        if self.end is not None and memory.created_at > self.end:
            return False
        if any(key not in memory.metadata or not same_value(memory.metadata[key], value)
               for key, value in self.metadata):
            return False
        return self.replaced_by is None or memory.replaced_by == self.replaced_by

    @property
    def is_plain(self) -> bool:
        """True when the filter selects every live memory (stores may take a faster path)."""
        return self == LIVE


def same_value(a: Any, b: Any) -> bool:
    """Metadata equality as JSON sees it: ``true`` is not ``1`` (Python's ``True == 1`` is not used)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


LIVE = Filter()
TRASH = Filter(trashed=True)


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
    ``model_name`` is the model's identity: two runtimes of the same model report the same name, so a
    store made with one opens with the other.
    """

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Sequence[Vector]:
        """Return one normalised vector per text, in order. Blocking (CPU-bound)."""
        ...

    def warm_up(self) -> None:
        """Load the model now (optional; ``embed`` loads it anyway)."""
        ...


@runtime_checkable
class MemoryStorage(Protocol):
    """An async memory store. All timestamps are Unix seconds (UTC).

    One row per content hash, live or in the trash. A trashed memory keeps everything (content, tags,
    metadata, dates, project, vector) and is invisible to every read unless ``Filter.trashed`` asks for the
    trash. Errors a store cannot recover from are ``mcp_memory.errors.StorageError`` with a message naming
    the cause (locked, corrupt, unreachable, schema too new ...).
    ``mcp_memory.storage_base.BaseStorage`` derives the optional methods from the others.
    """

    backend_name: str

    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        """Open or create the store. The first open records ``embedding``; a later open with a different model
        or dimension raises ``EmbeddingError`` naming both and the fix (``memory reembed``). ``None`` means
        "any" (read-only tools such as migration sources)."""

    async def close(self) -> None:
        """Flush and release everything; safe to call twice."""

    # -- writes ----------------------------------------------------------------------------------
    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        """Store many (memory, tags and vector together) in one transaction; one bool per item, False for a
        hash already present, live or trashed. A memory arriving with ``deleted_at`` set goes to the trash."""

    async def store(self, memory: Memory, embedding: Vector) -> bool:
        """Store one memory atomically; False if its hash is already present."""

    async def update_memory(self, memory: Memory) -> bool:
        """Replace the mutable fields (tags, type, metadata, project, updated_at, last_used_at, use_count) of the
        live memory with this hash, keeping its content, vector and created_at. False if no live memory has it."""

    async def trash(self, hashes: Sequence[str], at: float, reason: str,
                    replaced_by: str | None = None) -> list[str]:
        """Move these live memories to the trash (``deleted_at=at``, ``deleted_reason``, ``replaced_by``) in one
        transaction; return the hashes moved (unknown or already trashed ones are left out)."""

    async def restore(self, hashes: Sequence[str]) -> list[str]:
        """Bring these trashed memories back, exactly as they were; return the hashes restored."""

    async def purge(self, hashes: Sequence[str]) -> int:
        """Delete these trashed memories for good (live ones are never purged); return how many."""

    async def mark_used(self, hashes: Sequence[str], at: float) -> None:
        """Record that these memories were returned to a caller: ``last_used_at=at``, ``use_count += 1``."""

    # -- reads -----------------------------------------------------------------------------------
    async def get_by_hash(self, content_hash: str, trashed: bool | None = False) -> Memory | None:
        """The memory with this hash: live only (False), trashed only (True) or either (None)."""

    async def find_hashes(self, prefix: str, limit: int = 10) -> list[str]:
        """Up to ``limit`` hashes (live or trashed) starting with ``prefix``, sorted."""

    async def retrieve(self, embedding: Vector, k: int, where: Filter = LIVE) -> list[QueryResult]:
        """The k nearest memories by cosine similarity among those ``where`` selects, best first.
        Relevance = max(0, cosine similarity)."""

    async def list_memories(self, where: Filter = LIVE, offset: int = 0, limit: int | None = 10) -> list[Memory]:
        """A page of the memories ``where`` selects: live ones newest first (created_at, then hash,
        descending), trashed ones most recently deleted first. ``limit=None``: all of them."""

    async def count(self, where: Filter = LIVE) -> int:
        """How many memories ``where`` selects."""

    async def all_tags(self, where: Filter = LIVE) -> list[tuple[str, int]]:
        """Every tag of the selected memories with how many carry it, most used first (then by name)."""

    async def projects(self) -> list[tuple[str | None, int]]:
        """Every project of live memories with its count (None = global), most memories first."""

    def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        """Every memory, trashed ones included, with its stored vector (None if the store cannot return it),
        oldest first, in batches. Used by migration, backup and re-embedding."""

    # -- upkeep ----------------------------------------------------------------------------------
    async def get_stats(self) -> dict[str, Any]:
        """At least: backend, total_memories (live), trashed_memories, unique_tags, database_size_mb,
        embedding_model, embedding_dimension."""

    async def optimize(self) -> dict[str, Any]:
        """Maintenance (vacuum, reindex, analyze ...); returns what was done with sizes before/after."""


@runtime_checkable
class LexicalSearch(Protocol):
    """OPTIONAL store capability: full-text (word) search, used by the ``lexical`` and ``hybrid`` retrieval
    modes. Without it (or when ``search_lexical`` raises ``NotImplementedError``), those modes answer
    semantically: ``memory health`` and the stats' ``search_modes`` say so, and the service logs it once.
    """

    async def search_lexical(self, query: str, k: int, where: Filter = LIVE) -> list[QueryResult]:
        """The k best memories matching ANY word of ``query``, ranked by BM25 (or similar), best first, among
        those ``where`` selects. ``query`` is plain words from the service (stop words already removed): treat
        it as text, never as query syntax; quotes, brackets or operators in it must neither error nor change
        the meaning. Relevance = score / best score of this query, so the best match is 1.0. No matching
        word: an empty list."""


@runtime_checkable
class SearchHits(Protocol):
    """OPTIONAL store capability, for stores with lexical search: the two halves of a hybrid search as hits (hash,
    tags, relevance) instead of memories, and the memories of given hashes. The service ranks the candidates of a
    default-mode search (up to 200 from each half) from hits and reads in full only the k it returns. Without it,
    every candidate is read (``retrieve``, ``search_lexical``)."""

    async def retrieve_hits(self, embedding: Vector, k: int, where: Filter = LIVE) -> list[Hit]:
        """What ``retrieve(embedding, k, where)`` finds, in the same order with the same relevance, as hits."""

    async def search_lexical_hits(self, query: str, k: int, where: Filter = LIVE) -> list[Hit]:
        """What ``search_lexical(query, k, where)`` finds, in the same order with the same relevance, as hits."""

    async def get_many(self, hashes: Sequence[str]) -> list[Memory]:
        """The memories (live or trashed) of these hashes, in any order; a hash with no memory is left out."""


@runtime_checkable
class NearDuplicates(Protocol):
    """OPTIONAL store capability: the near-duplicate check the service runs before every store. Without it the
    service asks ``retrieve(embedding, 1, where)``; a store with an in-memory index can answer faster by
    skipping memories that cannot reach ``threshold``."""

    async def nearest_above(self, embedding: Vector, threshold: float, where: Filter = LIVE) -> QueryResult | None:
        """The most similar memory among those ``where`` selects if its cosine similarity is at least
        ``threshold``, else None. Exact for every memory at or above the threshold."""


@runtime_checkable
class WarmUp(Protocol):
    """OPTIONAL store capability: load search structures ahead of the first query (the stdio server calls
    it in the background while the embedding model loads)."""

    async def warm_up(self) -> None: ...


@dataclass(frozen=True)
class ReembedState:
    """A re-embedding in progress: the model being moved to, and how far it got."""

    target: EmbeddingInfo
    staged: int
    total: int


@runtime_checkable
class Reembedding(Protocol):
    """OPTIONAL store capability behind ``memory reembed``: build vectors of another model beside the current
    ones, then swap them in one transaction. Until the swap the store keeps serving the old model; a process
    killed at any moment leaves it on the old model (the staged vectors resume the work) or on the new one.
    """

    async def reembed_state(self) -> ReembedState | None:
        """The re-embedding in progress, or None."""

    async def reembed_begin(self, target: EmbeddingInfo) -> ReembedState:
        """Start staging vectors of ``target`` (or resume the staging already begun for the same target;
        another target's staging is dropped)."""

    async def reembed_pending(self, limit: int) -> list[Memory]:
        """Up to ``limit`` memories (trashed ones included) that have no staged vector yet, in any order."""

    async def reembed_stage(self, items: Sequence[tuple[str, Vector]]) -> None:
        """Keep these (hash, vector of the target model) beside the current vectors, durably."""

    async def reembed_commit(self) -> bool:
        """Swap in the staged vectors and record the target model, in one transaction. Returns False and
        changes nothing when some memory still lacks a staged vector (stored meanwhile): stage them first."""

    async def reembed_abort(self) -> None:
        """Drop the staged vectors; the store stays on its current model."""

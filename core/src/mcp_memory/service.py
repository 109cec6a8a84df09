"""MemoryService: the one place where memory logic lives (validation, dedup, tags, time, relevance).

Every surface (CLI, MCP tools, REST API, migration) calls this class; stores only hold data.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator, Iterable, Sequence

from . import ranking
from .config import Settings
from .errors import EmbeddingError, InvalidInputError, NotFoundError
from .logging import get_logger
from .models import (
    Memory,
    QueryResult,
    Vector,
    check_metadata,
    check_text,
    content_hash,
    normalize_tags,
    parse_timestamp,
)
from .protocols import Embedder, EmbeddingInfo, MemoryStorage
from .timeparse import parse_time_expression

log = get_logger(__name__)

_MISSING: Any = object()
#: the largest row offset a store is asked for (SQLite integers are 64-bit)
MAX_OFFSET = 2**62
#: retrieval mode when the caller gives none (hybrid won on the LoCoMo dev set: docs/retrieval.md)
DEFAULT_MODE = "hybrid"


@dataclass(frozen=True)
class StoreResult:
    """Outcome of a store: the memory as stored, and whether it was already there."""

    memory: Memory
    duplicate: bool

    def to_dict(self) -> dict[str, Any]:
        return {"duplicate": self.duplicate, "content_hash": self.memory.content_hash, "memory": self.memory.to_dict()}


@dataclass(frozen=True)
class NewMemory:
    """Input of a store: what a caller supplies."""

    content: Any
    tags: Any = None
    memory_type: Any = None
    metadata: Any = None
    created_at: float | None = None


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


class MemoryService:
    """Memory operations over one store and one embedder."""

    def __init__(
        self,
        storage: MemoryStorage,
        embedder: Embedder | None,
        settings: Settings | None = None,
        coordination_mode: str = "direct",
    ) -> None:
        self.storage = storage
        self.embedder = embedder
        self.settings = settings or Settings()
        self.coordination_mode = coordination_mode
        self._closed = False
        self._no_lexical = False

    # -- lifecycle ---------------------------------------------------------------------------
    async def initialize(self) -> None:
        info = EmbeddingInfo(self.embedder.model_name, self.embedder.dimension) if self.embedder else None
        await self.storage.initialize(info)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.storage.close()

    async def __aenter__(self) -> "MemoryService":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- validation --------------------------------------------------------------------------
    def _check_content(self, content: Any) -> str:
        if not isinstance(content, str):
            raise InvalidInputError(f"content must be a string, got {type(content).__name__}")
        if not check_text(content, "content").strip():
            raise InvalidInputError("content is empty")
        limit = self.settings.max_content_length
        if len(content) > limit:
            raise InvalidInputError(
                f"content has {len(content):,} characters, more than the limit of {limit:,} "
                "(MCP_MEMORY_MAX_CONTENT_LENGTH); split it into several memories"
            )
        return content

    @staticmethod
    def _check_type(memory_type: Any) -> str | None:
        if memory_type is None:
            return None
        if not isinstance(memory_type, str):
            raise InvalidInputError(f"memory_type must be a string, got {type(memory_type).__name__}")
        return check_text(memory_type, "memory_type").strip() or None

    @staticmethod
    def _check_hash(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError("content_hash must be a non-empty string")
        return check_text(value, "content_hash").strip().lower()

    def _check_metadata(self, metadata: Any) -> dict[str, Any]:
        checked = check_metadata(metadata)
        size = len(json.dumps(checked, ensure_ascii=False)) if checked else 0
        if size > self.settings.max_content_length:
            raise InvalidInputError(f"metadata has {size:,} characters as JSON, more than the limit of "
                                    f"{self.settings.max_content_length:,} (MCP_MEMORY_MAX_CONTENT_LENGTH)")
        return checked

    def _limit(self, n: Any, name: str = "n_results") -> int:
        if isinstance(n, bool) or not isinstance(n, int):
            raise InvalidInputError(f"{name} must be an integer, got {n!r}")
        if n < 1:
            raise InvalidInputError(f"{name} must be at least 1, got {n}")
        return min(n, self.settings.max_results)

    def prepare(self, item: NewMemory) -> Memory:
        """Validate caller input and build the Memory to store (raises InvalidInputError)."""
        content = self._check_content(item.content)
        created = None
        if item.created_at is not None:
            created = parse_timestamp(item.created_at)
        return Memory.create(
            content,
            tags=normalize_tags(item.tags),
            memory_type=self._check_type(item.memory_type),
            metadata=self._check_metadata(item.metadata),
            created_at=created,
        )

    def _require_embedder(self) -> Embedder:
        if self.embedder is None:
            raise EmbeddingError("no embedder is installed: pip install mcp-memory-sentence-transformers")
        return self.embedder

    async def _embed(self, texts: Sequence[str]) -> list[Vector]:
        embedder = self._require_embedder()
        return list(await asyncio.to_thread(embedder.embed, list(texts)))

    # -- writes ------------------------------------------------------------------------------
    async def store(
        self,
        content: Any,
        tags: Any = None,
        memory_type: Any = None,
        metadata: Any = None,
        created_at: float | None = None,
    ) -> StoreResult:
        """Store one memory; the same content (after normalisation) is stored once."""
        memory = self.prepare(NewMemory(content, tags, memory_type, metadata, created_at))
        existing = await self.storage.get_by_hash(memory.content_hash)
        if existing is not None:
            return StoreResult(existing, duplicate=True)
        [vector] = await self._embed([memory.content])
        if await self.storage.store(memory, vector):
            log.debug("stored", content_hash=memory.content_hash)
            return StoreResult(memory, duplicate=False)
        existing = await self.storage.get_by_hash(memory.content_hash)
        return StoreResult(existing or memory, duplicate=True)

    async def store_batch(self, items: Iterable[NewMemory]) -> list[StoreResult]:
        """Store many memories with one embedding pass and one transaction.

        Validation happens first for all items: one invalid item rejects the batch before any write.
        """
        memories = [self.prepare(item) for item in items]
        return await self.store_prepared(memories)

    async def store_prepared(
        self, memories: Sequence[Memory], vectors: Sequence[Vector | None] | None = None
    ) -> list[StoreResult]:
        """Store already-built memories (import, migration); vectors of None are embedded here."""
        results: list[StoreResult | None] = [None] * len(memories)
        first_index: dict[str, int] = {}
        todo: list[int] = []
        for i, memory in enumerate(memories):
            if memory.content_hash in first_index:
                continue
            first_index[memory.content_hash] = i
            if vectors is not None and vectors[i] is not None:
                todo.append(i)  # nothing to embed: the store itself reports a hash it already has
                continue
            existing = await self.storage.get_by_hash(memory.content_hash)  # skip embedding what is stored
            if existing is not None:
                results[i] = StoreResult(existing, duplicate=True)
            else:
                todo.append(i)
        if todo:
            given = [vectors[i] if vectors is not None else None for i in todo]
            missing = [j for j, v in enumerate(given) if v is None]
            if missing:
                embedded = await self._embed([memories[todo[j]].content for j in missing])
                for j, vector in zip(missing, embedded):
                    given[j] = vector
            stored = await self.storage.store_batch([(memories[i], v) for i, v in zip(todo, given)])
            for i, ok in zip(todo, stored):
                existing = None if ok else await self.storage.get_by_hash(memories[i].content_hash)
                results[i] = StoreResult(existing or memories[i], duplicate=not ok)
        for i, memory in enumerate(memories):
            if results[i] is None:  # repeated inside the batch
                results[i] = StoreResult(results[first_index[memory.content_hash]].memory, duplicate=True)  # type: ignore[union-attr]
        return results  # type: ignore[return-value]

    async def delete(self, content_hash: Any) -> None:
        """Delete one memory; NotFoundError when no memory has this hash."""
        h = self._check_hash(content_hash)
        if not await self.storage.delete(h):
            raise NotFoundError(f"no memory with content_hash {h!r}")

    async def delete_by_tag(self, tags: Any) -> int:
        """Delete every memory carrying any of the tags; returns how many."""
        clean = normalize_tags(tags)
        if not clean:
            raise InvalidInputError("give at least one tag")
        return await self.storage.delete_by_tag(clean)

    async def update_metadata(
        self,
        content_hash: Any,
        tags: Any = _MISSING,
        memory_type: Any = _MISSING,
        metadata: Any = _MISSING,
        merge_metadata: bool = True,
    ) -> Memory:
        """Change tags, type and/or metadata without re-embedding. Metadata is merged by default."""
        h = self._check_hash(content_hash)
        current = await self.storage.get_by_hash(h)
        if current is None:
            raise NotFoundError(f"no memory with content_hash {h!r}")
        new_tags = current.tags if tags is _MISSING else normalize_tags(tags)
        new_type = current.memory_type if memory_type is _MISSING else self._check_type(memory_type)
        new_meta = current.metadata
        if metadata is not _MISSING:
            checked = self._check_metadata(metadata)
            new_meta = {**current.metadata, **checked} if merge_metadata else checked
        updated = current.with_changes(tags=new_tags, memory_type=new_type, metadata=new_meta,
                                       updated_at=max(time.time(), current.created_at))
        if not await self.storage.update_memory_metadata(h, updated.tags, updated.memory_type,
                                                         updated.metadata, updated.updated_at):
            raise NotFoundError(f"no memory with content_hash {h!r}")
        return updated

    async def cleanup_duplicates(self) -> int:
        """Remove memories whose normalised content repeats one stored earlier; returns how many.

        Only imports that kept a foreign hash can create such duplicates: the oldest copy is kept.
        """
        keep: dict[str, str] = {}
        doomed: list[str] = []
        async for batch in self.iter_memories():
            for memory, _ in batch:
                key = content_hash(memory.content)
                if key in keep:
                    doomed.append(memory.content_hash)
                else:
                    keep[key] = memory.content_hash
        for h in doomed:
            await self.storage.delete(h)
        return len(doomed)

    # -- reads -------------------------------------------------------------------------------
    async def get(self, content_hash: Any) -> Memory:
        h = self._check_hash(content_hash)
        memory = await self.storage.get_by_hash(h)
        if memory is None:
            raise NotFoundError(f"no memory with content_hash {h!r}")
        return memory

    async def exact_match(self, content: Any) -> Memory | None:
        """The memory whose content equals this text (same normalisation as the hash), or None."""
        text = self._check_content(content)
        return await self.storage.get_by_hash(content_hash(text))

    async def retrieve(
        self,
        query: Any,
        n_results: Any = 5,
        tags: Any = None,
        memory_type: Any = None,
        min_relevance: Any = 0.0,
        mode: Any = None,
    ) -> list[QueryResult]:
        """Search, best first, optionally filtered by any-tag and type.

        ``mode``: "semantic" (by meaning), "lexical" (BM25 over words) or "hybrid" (both mixed; the
        default). A store without lexical search answers semantically and the service logs it once.
        """
        text = self._check_query(query)
        k = self._limit(n_results)
        floor = self._check_relevance(min_relevance)
        chosen = self._check_mode(mode)
        results = await self._search(text, k, normalize_tags(tags) or None, self._check_type(memory_type), chosen)
        return [r for r in results if r.relevance_score >= floor]

    async def _search(self, text: str, k: int, tags: list[str] | None, memory_type: str | None,
                      mode: str) -> list[QueryResult]:
        """The ranking of one mode (lexical and hybrid fall back to semantic without lexical search)."""
        if mode == "lexical":
            found = await self._lexical(text, k, tags, memory_type)
            if found is not None:
                return found
            mode = "semantic"
        pool = k if mode == "semantic" else max(k, ranking.HYBRID_POOL)
        [vector] = await self._embed([text])
        semantic = await self.storage.retrieve(vector, pool, tags, memory_type)
        if mode == "semantic":
            return semantic
        lexical = await self._lexical(text, pool, tags, memory_type)
        return semantic[:k] if lexical is None else ranking.fuse(semantic, lexical, k)

    async def _lexical(self, text: str, k: int, tags: list[str] | None,
                       memory_type: str | None) -> list[QueryResult] | None:
        """BM25 results of the store, or None when it has no lexical search (logged once)."""
        search = getattr(self.storage, "search_lexical", None)
        if search is not None and not self._no_lexical:
            terms = ranking.key_terms(text)
            if not terms:
                return []
            try:
                return await search(terms, k, tags, memory_type)
            except NotImplementedError as exc:
                reason = str(exc) or "not supported by this store"
        else:
            reason = "not supported by this store"
        if not self._no_lexical:
            self._no_lexical = True
            log.warning("lexical search unavailable; lexical and hybrid retrieval fall back to semantic",
                        backend=getattr(self.storage, "backend_name", type(self.storage).__name__), reason=reason)
        return None

    @property
    def search_modes(self) -> list[str]:
        """The retrieval modes this store really serves (others fall back to semantic)."""
        lexical = getattr(self.storage, "search_lexical", None) is not None and not self._no_lexical
        return list(ranking.MODES) if lexical else ["semantic"]

    async def recall(self, query: Any, n_results: Any = 5, now: datetime | None = None,
                     mode: Any = None) -> RecallResult:
        """Time-aware recall: the query ranks memories (``mode`` as in retrieve) and those created in
        its time expression's window are preferred (``ranking.TIME_BOOST``), so a strong match from
        just outside the window can still follow the in-window ones.

        With no time expression it is a plain retrieve; with only a time expression it lists that
        period newest first. ``now`` is the reference time for relative expressions (default: now).
        """
        text = self._check_query(query)
        k = self._limit(n_results)
        chosen = self._check_mode(mode)
        window = parse_time_expression(text, now)
        if window is None:
            return RecallResult(await self._search(text, k, None, None, chosen), None, None, None, text)
        if not window.rest:
            in_range = await self.storage.search_by_time(window.start, window.end, limit=k)
            return RecallResult([QueryResult(m, 1.0) for m in in_range], window.start, window.end,
                                window.expression, window.rest)
        pool = max(k, ranking.HYBRID_POOL)
        # the whole query ranks: words of the time expression ("camping trip last year") are evidence too
        ranked = await self._search(text, pool, None, None, chosen)
        in_range = await self.storage.search_by_time(window.start, window.end, limit=pool)
        results = ranking.boost_window(ranked, in_range, window.start, window.end, k)
        return RecallResult(results, window.start, window.end, window.expression, window.rest)

    async def search_by_tag(self, tags: Any, match_all: Any = False, limit: Any = None) -> list[Memory]:
        clean = normalize_tags(tags)
        if not clean:
            raise InvalidInputError("give at least one tag")
        if not isinstance(match_all, bool):
            raise InvalidInputError("match_all must be true or false")
        cap = self.settings.max_results if limit is None else self._limit(limit, "limit")
        return await self.storage.search_by_tag(clean, match_all=match_all, limit=cap)

    async def search_by_time(self, start: Any = None, end: Any = None, limit: Any = None) -> list[Memory]:
        lo = None if start is None else parse_timestamp(start)
        hi = None if end is None else parse_timestamp(end)
        if lo is not None and hi is not None and hi < lo:
            raise InvalidInputError("end is before start")
        cap = self.settings.max_results if limit is None else self._limit(limit, "limit")
        return await self.storage.search_by_time(lo, hi, limit=cap)

    async def list_memories(self, page: Any = 1, page_size: Any = 10, tag: Any = None, memory_type: Any = None) -> Page:
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise InvalidInputError(f"page must be an integer >= 1, got {page!r}")
        size = self._limit(page_size, "page_size")
        tags = normalize_tags(tag) or None
        mtype = self._check_type(memory_type)
        offset = min((page - 1) * size, MAX_OFFSET)  # a page far past the end is empty, not an overflow
        memories = await self.storage.list_memories(offset, size, tags, mtype)
        total = await self.storage.count(tags, mtype)
        return Page(memories, page, size, total)

    async def all_tags(self) -> list[tuple[str, int]]:
        return await self.storage.all_tags()

    async def count(self) -> int:
        return await self.storage.count()

    async def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        """Every memory with its stored vector, oldest first, in batches (export, backup, migration)."""
        async for batch in self.storage.iter_memories(batch_size):
            yield batch

    async def stats(self) -> dict[str, Any]:
        stats = dict(await self.storage.get_stats())
        stats["coordination_mode"] = self.coordination_mode
        stats["search_modes"] = self.search_modes
        if self.embedder is not None:
            stats.setdefault("embedding_model", self.embedder.model_name)
            stats.setdefault("embedding_dimension", self.embedder.dimension)
        return stats

    async def health(self) -> dict[str, Any]:
        """Store, embedder and coordination status; never raises for a sick store."""
        report: dict[str, Any] = {"status": "healthy", "coordination_mode": self.coordination_mode}
        try:
            report["storage"] = await self.stats()
        except Exception as exc:
            report["status"] = "unhealthy"
            report["storage"] = {"error": f"{type(exc).__name__}: {exc}"}
        embedder = self.embedder
        report["embedder"] = (
            {"model": embedder.model_name, "dimension": embedder.dimension,
             "loaded": bool(getattr(embedder, "loaded", False))}
            if embedder is not None else {"error": "no embedder installed"}
        )
        return report

    # -- helpers -----------------------------------------------------------------------------
    def _check_query(self, query: Any) -> str:
        if not isinstance(query, str):
            raise InvalidInputError(f"query must be a string, got {type(query).__name__}")
        if not check_text(query, "query").strip():
            raise InvalidInputError("query is empty")
        if len(query) > self.settings.max_content_length:
            raise InvalidInputError("query is longer than MCP_MEMORY_MAX_CONTENT_LENGTH")
        return query.strip()

    @staticmethod
    def _check_mode(mode: Any) -> str:
        if mode is None:
            return DEFAULT_MODE
        if not isinstance(mode, str) or mode.strip().lower() not in ranking.MODES:
            raise InvalidInputError(f"mode must be one of {', '.join(ranking.MODES)}, got {mode!r}")
        return mode.strip().lower()

    @staticmethod
    def _check_relevance(value: Any) -> float:
        if value is None:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            raise InvalidInputError(f"min_relevance must be a number between 0 and 1, got {value!r}")
        return float(value)


async def open_service(
    settings: Settings | None = None,
    *,
    backend: str | None = None,
    location: str | None = None,
    with_embedder: bool = True,
    coordination_mode: str = "direct",
) -> MemoryService:
    """Open the configured store (and embedder) in this process and return an initialised service."""
    from .plugins import get_plugin_manager

    settings = settings or Settings.from_env()
    pm = get_plugin_manager(settings)
    storage = pm.storage_factory(backend or settings.storage_backend)(settings, location=location)
    embedder = None
    if with_embedder:
        _, factory = pm.embedder_factory(settings.embedder)
        embedder = factory(settings)
    service = MemoryService(storage, embedder, settings, coordination_mode=coordination_mode)
    await service.initialize()
    return service

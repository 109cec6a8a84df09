"""``ChromaStorage``: the ``MemoryStorage`` protocol over one Chroma collection, local or on a server.

Chroma's client is synchronous: every call runs in a worker thread under one lock per store. We always pass
our own embeddings; the collection has no embedding function, so Chroma never downloads a model. Nothing is
created before the first write: opening, reading, counting and stats leave a missing store missing
(``connection``). The record layout is in ``layout``, filters in ``where``, BM25 in ``lexical``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, MemoryServiceError, StorageError
from mcp_memory.logging import get_logger
from mcp_memory.models import (
    Memory,
    QueryResult,
    Vector,
    relevance_from_cosine_distance,
)
from mcp_memory.protocols import LIVE, TRASH, EmbeddingInfo, Filter
from mcp_memory.storage_base import BaseStorage

from . import layout, lexical
from .config import COLLECTION, local_path, parse_remote
from .connection import Connection
from .where import Where, both, translate

log = get_logger(__name__)

#: candidates of the unfiltered first try of a filtered search: 2k + PROBE_EXTRA nearest
PROBE_EXTRA = 32
#: above max(4k, this many) trashed records, a filtered live search asks Chroma for ``trashed = 0`` instead
#: of k more neighbours than there are trashed records
CROWD_LIMIT = 1000
#: creation-time windows (seconds back from now) where a page of the newest live memories is looked for first
WINDOWS = (86_400.0, 7 * 86_400.0, 30 * 86_400.0, 365 * 86_400.0)
T = TypeVar("T")


def _dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


class ChromaStorage(BaseStorage):
    """A memory store in one Chroma collection (``mcp_memory``, cosine space), trash and usage included."""

    backend_name = "chroma"

    def __init__(self, settings: Settings | None = None, location: str | None = None):
        self.settings = settings
        self.remote = parse_remote(location, settings)
        self.path = None if self.remote else local_path(location, settings)
        self.collection_name = self.remote.collection if self.remote else COLLECTION
        self.db = Connection(self.remote, self.path, self.collection_name)
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        return self.db.location

    # -- plumbing ----------------------------------------------------------------------------
    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        def locked() -> T:
            with self._lock:
                try:
                    return fn(*args)
                except MemoryServiceError:
                    raise
                except Exception as exc:
                    raise StorageError(f"Chroma at {self.location} failed: {type(exc).__name__}: {exc}") from exc
        return await asyncio.to_thread(locked)

    def _rows(self, collection: Any, where: Filter, w: Where) -> list[tuple[str, dict[str, Any]]]:
        """(id, metadata) of the records ``where`` selects: Chroma's where, then the trash flag (exact filters)
        or ``Filter.matches`` (the others)."""
        got = self.db.scan(collection, w.candidates, ["metadatas"])
        rows = [(i, m or {}) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        if w.exact:
            return [(i, m) for i, m in rows if layout.is_trashed(m) == w.trashed]
        return [(i, m) for i, m in rows if where.matches(layout.to_memory(i, "", m))]

    def _count(self, collection: Any, where: Filter, w: Where) -> int:
        if w.empty:
            return 0
        if not w.exact:
            return len(self._rows(collection, where, w))
        if w.trashed:
            return len(self.db.scan(collection, w.candidates, [])["ids"])
        if w.clause is None:
            return int(collection.count()) - len(self.db.trashed(collection))
        return len(set(self.db.scan(collection, w.clause, [])["ids"]) - self.db.trashed(collection))

    def _vectors(self, items: Sequence[tuple[Memory, Vector]]) -> np.ndarray:
        vectors = np.asarray([np.asarray(v, dtype=np.float32) for _, v in items], dtype=np.float32)
        if vectors.ndim != 2:
            raise EmbeddingError(f"vectors must all have one length, got shape {vectors.shape}")
        expected = self.db.embedding.dimension if self.db.embedding else None
        if expected is not None and vectors.shape[1] != expected:
            raise EmbeddingError(f"vector has {vectors.shape[1]} dimensions, the store expects {expected} "
                                 f"({self.db.embedding.model if self.db.embedding else '?'})")
        return vectors

    def _metas(self, collection: Any, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {i: row["metadata"] or {} for i, row in self.db.by_ids(collection, list(dict.fromkeys(hashes)),
                                                                     ["metadatas"]).items()}

    # -- lifecycle ---------------------------------------------------------------------------
    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        self.db.wanted = embedding
        self.db.embedding = embedding

        def work() -> None:
            if self.remote:
                client = self.db.connect(False)
                try:
                    client.heartbeat()
                except Exception as exc:
                    raise StorageError(f"the Chroma server at {self.location} does not answer: {exc}; start it "
                                       "(chroma run --path DIR --host HOST --port PORT) or check "
                                       "MCP_MEMORY_CHROMA_HOST/_PORT") from exc
            self.db.attach(create=False)

        await self._call(work)
        log.debug("chroma store opened", location=self.location, collection=self.collection_name,
                  exists=self.db.collection is not None)

    async def close(self) -> None:
        try:
            await asyncio.to_thread(self.db.close)
        except Exception as exc:  # noqa: BLE001 - closing must never raise
            log.warning("closing chroma client failed", error=str(exc))

    # -- writes ------------------------------------------------------------------------------
    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        if not items:
            return []

        def work() -> list[bool]:
            collection = self.db.attach(create=True)
            existing = set(self.db.by_ids(collection, [m.content_hash for m, _ in items], []))
            results: list[bool] = []
            fresh: list[tuple[Memory, Vector]] = []
            for memory, vector in items:
                results.append(memory.content_hash not in existing)
                if results[-1]:
                    existing.add(memory.content_hash)
                    fresh.append((memory, vector))
            for start in range(0, len(fresh), self.db.max_batch):
                chunk = fresh[start:start + self.db.max_batch]
                collection.add(ids=[m.content_hash for m, _ in chunk], embeddings=self._vectors(chunk),
                               documents=[m.content for m, _ in chunk],
                               metadatas=[layout.to_record_metadata(m) for m, _ in chunk])
            return results

        return await self._call(work)

    async def update_memory(self, memory: Memory) -> bool:
        def work() -> bool:
            collection = self.db.attach()
            if collection is None:
                return False
            old = self._metas(collection, [memory.content_hash]).get(memory.content_hash)
            current = layout.to_memory(memory.content_hash, "", old) if old is not None else None
            if current is None or current.trashed:
                return False
            changed = current.with_changes(tags=list(memory.tags), memory_type=memory.memory_type,
                                           metadata=dict(memory.metadata), project=memory.project,
                                           updated_at=memory.updated_at, last_used_at=memory.last_used_at,
                                           use_count=memory.use_count)
            self.db.update(collection, [(memory.content_hash,
                                       layout.patch(old or {}, layout.to_record_metadata(changed)))])
            return True

        return await self._call(work)

    async def _change(self, hashes: Sequence[str], trashed: bool,
                      change: Callable[[Memory], Memory | None]) -> list[str]:
        """Apply ``change`` to the memories of these hashes whose trashed state is ``trashed``."""
        def work() -> list[str]:
            collection = self.db.attach()
            if collection is None or not hashes:
                return []
            metas = self._metas(collection, hashes)
            patches = []
            for record_id in dict.fromkeys(hashes):
                old = metas.get(record_id)
                if old is None:
                    continue
                current = layout.to_memory(record_id, "", old)
                if current.trashed != trashed:
                    continue
                changed = change(current)
                if changed is not None:
                    patches.append((record_id, layout.patch(old, layout.to_record_metadata(changed))))
            self.db.update(collection, patches)
            return [record_id for record_id, _ in patches]

        return await self._call(work)

    async def trash(self, hashes: Sequence[str], at: float, reason: str,
                    replaced_by: str | None = None) -> list[str]:
        return await self._change(hashes, False, lambda m: m.with_changes(deleted_at=at, deleted_reason=reason,
                                                                          replaced_by=replaced_by))

    async def restore(self, hashes: Sequence[str]) -> list[str]:
        return await self._change(hashes, True, lambda m: m.with_changes(deleted_at=None, deleted_reason=None,
                                                                         replaced_by=None))

    async def mark_used(self, hashes: Sequence[str], at: float) -> None:
        await self._change(hashes, False, lambda m: m.with_changes(last_used_at=at, use_count=m.use_count + 1))

    async def purge(self, hashes: Sequence[str]) -> int:
        def work() -> int:
            collection = self.db.attach()
            if collection is None or not hashes:
                return 0
            metas = self._metas(collection, hashes)
            doomed = [i for i in dict.fromkeys(hashes) if i in metas and metas[i].get("trashed") == 1]
            for start in range(0, len(doomed), self.db.max_batch):
                collection.delete(ids=doomed[start:start + self.db.max_batch])
            return len(doomed)

        return await self._call(work)

    # -- reads -------------------------------------------------------------------------------
    async def get_by_hash(self, content_hash: str, trashed: bool | None = False) -> Memory | None:
        def work() -> Memory | None:
            collection = self.db.attach()
            if collection is None:
                return None
            row = self.db.by_ids(collection, [content_hash], ["documents", "metadatas"]).get(content_hash)
            if row is None:
                return None
            memory = layout.to_memory(content_hash, row["document"], row["metadata"])
            return memory if trashed is None or memory.trashed == trashed else None

        return await self._call(work)

    async def find_hashes(self, prefix: str, limit: int = 10) -> list[str]:
        def work() -> list[str]:
            collection = self.db.attach()
            if collection is None or limit < 1:
                return []
            ids = self.db.scan(collection, None, [])["ids"]
            return sorted(i for i in ids if i.startswith(prefix))[:limit]

        return await self._call(work)

    def _nearest(self, collection: Any, query: np.ndarray, n: int, where: dict[str, Any] | None = None,
                 ids: list[str] | None = None, metadata: bool = False) -> list[tuple[str, float, Any]]:
        """(id, relevance, metadata or None) of the n nearest records, nearest first (no documents)."""
        got = collection.query(query_embeddings=query, n_results=n, where=where, ids=ids,
                               include=["metadatas", "distances"] if metadata else ["distances"])
        found, distances = got["ids"][0], got["distances"][0]
        metas = got["metadatas"][0] if metadata else [None] * len(found)
        return [(i, relevance_from_cosine_distance(d), m or {}) for i, d, m in zip(found, distances, metas, strict=True)]

    def _filtered(self, collection: Any, query: np.ndarray, k: int, where: Filter,
                  w: Where) -> list[tuple[str, float]]:
        """The k nearest the filter selects, with the filter in Chroma (the probe found too few)."""
        if not w.exact:  # metadata conditions: the candidates' ids
            ids = [record_id for record_id, _ in self._rows(collection, where, w)]
            found = []
            for start in range(0, len(ids), self.db.max_batch):
                chunk = ids[start:start + self.db.max_batch]
                found.extend(self._nearest(collection, query, min(k, len(chunk)), ids=chunk))
            return [(i, score) for i, score, _ in found]
        if w.trashed:
            return [(i, score) for i, score, _ in self._nearest(collection, query, k, w.candidates)]
        nearest = self._nearest(collection, query, k, w.clause, metadata=True)
        live = [(i, score) for i, score, m in nearest if not layout.is_trashed(m)]
        if len(live) == len(nearest) or len(nearest) < k:  # no trashed one among them, or every record seen
            return live
        trashed = self.db.trashed(collection)
        if len(trashed) > max(4 * k, CROWD_LIMIT):
            return [(i, score) for i, score, _ in self._nearest(collection, query, k, both(w.clause, {"trashed": 0}))]
        nearest = self._nearest(collection, query, k + len(trashed), w.clause)
        return [(i, score) for i, score, _ in nearest if i not in trashed]

    def _results(self, collection: Any, scored: list[tuple[str, float]]) -> list[QueryResult]:
        rows = self.db.by_ids(collection, [i for i, _ in scored], ["documents", "metadatas"])
        return [QueryResult(layout.to_memory(i, rows[i]["document"], rows[i]["metadata"]), score)
                for i, score in scored if i in rows]

    async def retrieve(self, embedding: Vector, k: int, where: Filter = LIVE) -> list[QueryResult]:
        """Nearest first. The 2k + 32 nearest, unfiltered, answer most filters: a where clause that selects most
        records costs Chroma far more than a few extra neighbours (when some but fewer than k match, a second
        try takes twice as many as their share suggests, up to 4 times more). When they hold fewer than k, the
        filter goes to Chroma: for live memories without ``trashed = 0`` (which matches nearly everything),
        and when trashed ones are among the k nearest, asking for k more than there are trashed records and
        dropping those; with metadata conditions, as the ids of the candidates read here. Documents are read
        for the k results only."""
        def work() -> list[QueryResult]:
            collection = self.db.attach()
            w = translate(where, self.db.native)
            if collection is None or k < 1 or w.empty:
                return []
            query = np.asarray([embedding], dtype=np.float32)
            n = 2 * k + PROBE_EXTRA
            nearest = self._nearest(collection, query, n, metadata=True)
            hits = [(i, score) for i, score, m in nearest if where.matches(layout.to_memory(i, "", m))]
            if 0 < len(hits) < k and len(nearest) == n:  # a rarer filter: twice the neighbours it seems to need
                n = min(2 * k * n // len(hits) + PROBE_EXTRA, 4 * n)
                nearest = self._nearest(collection, query, n, metadata=True)
                hits = [(i, score) for i, score, m in nearest if where.matches(layout.to_memory(i, "", m))]
            if len(hits) < k and len(nearest) == n:  # fewer than n back: that was every record
                hits = self._filtered(collection, query, k, where, w)
            hits.sort(key=lambda hit: hit[1], reverse=True)
            return self._results(collection, hits[:k])

        return await self._call(work)

    def _newest(self, collection: Any, where: Filter, need: int) -> list[tuple[str, dict[str, Any]]] | None:
        """Rows holding the ``need`` newest live memories ``where`` selects, read from growing windows of
        creation time (the last day, week, month, year before now or the filter's end) and filtered here; None
        when a window that holds them would cover more than a quarter of the store. Memories older than a
        window are older than everything in it, so the newest ones are exact."""
        anchor = where.end if where.end is not None else time.time()
        total = int(collection.count())
        for span in WINDOWS:
            ids = self.db.scan(collection, {"created_at": {"$gte": anchor - span}}, [])["ids"]
            if len(ids) * 4 > total:
                return None
            metas = self.db.by_ids(collection, ids, ["metadatas"])
            rows = [(i, row["metadata"] or {}) for i, row in metas.items()]
            rows = [(i, m) for i, m in rows if where.matches(layout.to_memory(i, "", m))]
            if len(rows) >= need:
                return rows
        return None

    async def list_memories(self, where: Filter = LIVE, offset: int = 0, limit: int | None = 10) -> list[Memory]:
        """Newest first. Chroma cannot sort, so every match is read and sorted here; a page of live memories
        under a broad filter (no tags, type, replaced_by or start: projects at most) is first looked for among
        the recent ones (``_newest``), where a narrow filter is cheaper read whole."""
        def work() -> list[Memory]:
            collection = self.db.attach()
            w = translate(where, self.db.native)
            if collection is None or w.empty or (limit is not None and limit < 1):
                return []
            broad = not where.trashed and limit is not None and w.narrow is None and where.start is None
            recent = self._newest(collection, where, offset + limit) if broad and limit is not None else None
            found = self._rows(collection, where, w) if recent is None else recent
            keys = sorted((layout.listing_key(i, m) for i, m in found), reverse=True)
            page = [i for _, i in (keys[offset:] if limit is None else keys[offset:offset + limit])]
            rows = self.db.by_ids(collection, page, ["documents", "metadatas"])
            return [layout.to_memory(i, rows[i]["document"], rows[i]["metadata"]) for i in page if i in rows]

        return await self._call(work)

    async def count(self, where: Filter = LIVE) -> int:
        def work() -> int:
            collection = self.db.attach()
            return 0 if collection is None else self._count(collection, where, translate(where, self.db.native))

        return await self._call(work)

    async def all_tags(self, where: Filter = LIVE) -> list[tuple[str, int]]:
        def work() -> list[tuple[str, int]]:
            collection = self.db.attach()
            w = translate(where, self.db.native)
            if collection is None or w.empty:
                return []
            rows = self._rows(collection, where, w)
            tags = ((layout.tag_keys(m) if self.db.native else layout.to_memory(i, "", m).tags) for i, m in rows)
            counts = Counter(tag for found in tags for tag in found)
            return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

        return await self._call(work)

    async def projects(self) -> list[tuple[str | None, int]]:
        def work() -> list[tuple[str | None, int]]:
            collection = self.db.attach()
            if collection is None:
                return []
            rows = self._rows(collection, LIVE, translate(LIVE, self.db.native))
            counts = Counter((m.get("project") or None) if self.db.native else None for _, m in rows)
            return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or ""))

        return await self._call(work)

    async def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        def order() -> list[str]:
            collection = self.db.attach()
            if collection is None:
                return []
            got = self.db.scan(collection, None, ["metadatas"])
            return [i for _, i in sorted((layout.created_of(m or {}), i) for i, m in zip(got["ids"], got["metadatas"], strict=True))]

        def fetch(ids: list[str]) -> list[tuple[Memory, Vector | None]]:
            collection = self.db.attach()
            if collection is None:
                return []
            rows = self.db.by_ids(collection, ids, ["documents", "metadatas", "embeddings"])
            out: list[tuple[Memory, Vector | None]] = []
            for record_id in ids:
                row = rows.get(record_id)
                if row is not None:
                    vector = row["embedding"]
                    out.append((layout.to_memory(record_id, row["document"], row["metadata"]),
                                None if vector is None else np.asarray(vector, dtype=np.float32).tolist()))
            return out

        ids = await self._call(order)
        for start in range(0, len(ids), max(1, batch_size)):
            batch = await self._call(fetch, ids[start:start + max(1, batch_size)])
            if batch:
                yield batch

    # -- upkeep ------------------------------------------------------------------------------
    def _size_mb(self) -> float | None:
        if self.path is None:
            return None
        if not self.path.exists():
            return 0.0
        return round(_dir_size(self.path) / (1024 * 1024), 3)

    async def get_stats(self) -> dict[str, Any]:
        total, trashed, tags = await self.count(LIVE), await self.count(TRASH), await self.all_tags(LIVE)
        recorded = self.db.embedding
        return {
            "backend": self.backend_name,
            "location": self.location,
            "remote": self.remote is not None,
            "collection": self.collection_name,
            "layout_version": self.db.layout if self.db.collection is not None else None,
            "total_memories": total,
            "trashed_memories": trashed,
            "unique_tags": len(tags),
            "database_size_mb": await asyncio.to_thread(self._size_mb),
            "embedding_model": recorded.model if recorded else None,
            "embedding_dimension": recorded.dimension if recorded else None,
        }

    async def optimize(self) -> dict[str, Any]:
        size = await asyncio.to_thread(self._size_mb)
        return {"backend": self.backend_name, "size_before_mb": size, "size_after_mb": size,
                "actions": [], "note": "Chroma compacts its own indexes; nothing to do"}


class ChromaLexicalStorage(ChromaStorage):
    """The chroma store with word search (``MCP_MEMORY_CHROMA_LEXICAL``): the ``lexical`` and ``hybrid`` modes.

    Chroma has no ranking full-text index: every search reads the documents that hold a query word, so its
    cost grows with them (about 0.1 s at 10k memories, 1 s at 100k, more over HTTP). Off by default, since
    hybrid is the service's default mode and would pay it on every search.
    """

    async def search_lexical(self, query: str, k: int, where: Filter = LIVE) -> list[QueryResult]:
        """BM25 over the words of ``query``: Chroma's regex document filter finds the candidates, the
        scoring runs here (see ``lexical``)."""
        words = lexical.words(query)

        def work() -> list[QueryResult]:
            collection = self.db.attach()
            w = translate(where, self.db.native)
            if collection is None or w.empty or k < 1 or not words:
                return []
            matching = {"where_document": {"$regex": lexical.prefilter(words)}}
            if w.exact:  # documents only; the trashed ones among them are found by id
                got = self.db.scan(collection, w.candidates, ["documents"], **matching)
                skip = set() if w.trashed else self.db.trashed(collection)
                texts = [(i, d or "") for i, d in zip(got["ids"], got["documents"], strict=True) if i not in skip]
            else:
                got = self.db.scan(collection, w.candidates, ["documents", "metadatas"], **matching)
                texts = [(i, d or "") for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
                         if where.matches(layout.to_memory(i, d, m))]
            if not texts:
                return []
            ranked = lexical.rank(words, texts, self._scope(collection, w), k)
            rows = self.db.by_ids(collection, [i for i, _ in ranked], ["documents", "metadatas"])
            return [QueryResult(layout.to_memory(i, rows[i]["document"], rows[i]["metadata"]), score)
                    for i, score in ranked if i in rows]

        return await self._call(work)

    def _scope(self, collection: Any, w: Where) -> int:
        """BM25's N: the memories of the store in the state the filter reads (live or trashed), whatever the
        other conditions, as search engines take their statistics from the whole index; counting the
        filter's own memories would cost a scan of them per query."""
        trashed = len(self.db.trashed(collection))
        return trashed if w.trashed else int(collection.count()) - trashed

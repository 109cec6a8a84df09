"""``ChromaStorage``: the ``MemoryStorage`` protocol over one Chroma collection, local or on a server.

Chroma's client is synchronous: every call runs in a worker thread under one lock per store. We always pass
our own embeddings; the collection has no embedding function, so Chroma never downloads a model. Nothing is
created before the first write: opening, reading, counting and stats leave a missing store missing.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, MemoryServiceError, StorageError
from mcp_memory.logging import get_logger
from mcp_memory.models import Memory, QueryResult, Vector, relevance_from_cosine_distance
from mcp_memory.protocols import LIVE, TRASH, EmbeddingInfo, Filter
from mcp_memory.storage_base import BaseStorage

from . import layout, lexical
from .config import COLLECTION, local_path, parse_remote
from .where import TRASHED, Where, both, translate

log = get_logger(__name__)

#: records per get(): Chroma's local store fails one returning more than about 32k ("too many SQL variables")
GET_PAGE = 10_000
#: candidates of the unfiltered first try of a filtered search: 2k + PROBE_EXTRA nearest
PROBE_EXTRA = 32
#: above max(4k, this many) trashed records among a live search's candidates, the search asks Chroma for
#: ``trashed = 0`` instead of k more neighbours
CROWD_LIMIT = 1000
#: chromadb shares one system per directory in a process and does not start it thread-safely: clients of
#: every store in this process are made and closed under this lock
_CLIENTS = threading.Lock()
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
        self._client: Any = None
        self._collection: Any = None
        self._wanted: EmbeddingInfo | None = None
        self._embedding: EmbeddingInfo | None = None
        self._native = True  # records of the current layout: filters go into Chroma's where
        self._layout = layout.LAYOUT_VERSION
        self._lock = threading.Lock()
        self._max_batch = 1000

    @property
    def location(self) -> str:
        return self.remote.url if self.remote else str(self.path)

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

    def _connect(self, create: bool) -> Any:
        """The client, or None for a local directory that holds no Chroma store (and ``create`` is False)."""
        if self._client is not None:
            return self._client
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if self.remote:
                self._client = chromadb.HttpClient(host=self.remote.host, port=self.remote.port, ssl=self.remote.ssl,
                                                   settings=chroma_settings)
            else:
                assert self.path is not None
                if self.path.exists() and not self.path.is_dir():
                    raise StorageError(f"{self.path} is a file, not a Chroma directory; point "
                                       "MCP_MEMORY_CHROMA_PATH at a directory")
                if not (self.path / "chroma.sqlite3").exists():
                    if not create:
                        return None
                    self.path.mkdir(parents=True, exist_ok=True)
                with _CLIENTS:
                    self._client = chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
        except MemoryServiceError:
            raise
        except Exception as exc:
            fix = ("start it (chroma run --path DIR --host HOST --port PORT) or check MCP_MEMORY_CHROMA_HOST/_PORT"
                   if self.remote else "check MCP_MEMORY_CHROMA_PATH points to a writable directory")
            raise StorageError(f"cannot open Chroma at {self.location}: {type(exc).__name__}: {exc}; {fix}") from exc
        try:
            self._max_batch = int(self._client.get_max_batch_size())
        except Exception:
            self._max_batch = 1000
        return self._client

    def _attach(self, create: bool = False) -> Any:
        """The collection, or None while the store does not exist (created here only when ``create``)."""
        if self._collection is not None:
            return self._collection
        client = self._connect(create)
        if client is None:
            return None
        from chromadb.errors import NotFoundError

        try:
            collection = client.get_collection(self.collection_name, embedding_function=None)
        except NotFoundError:
            if not create:
                return None
            metadata: dict[str, Any] = {"layout_version": layout.LAYOUT_VERSION}
            if self._wanted is not None:
                metadata.update(embedding_model=self._wanted.model, embedding_dimension=self._wanted.dimension)
            collection = client.get_or_create_collection(self.collection_name, metadata=metadata,
                                                         configuration={"hnsw": {"space": "cosine"}},
                                                         embedding_function=None)
            log.info("chroma store created", location=self.location, collection=self.collection_name)
        self._adopt(collection)
        self._collection = collection
        return collection

    def _adopt(self, collection: Any) -> None:
        """Check the collection's layout and model against ours; upgrade an older layout when writing."""
        meta = dict(collection.metadata or {})
        version = meta.get("layout_version", 1)
        if not isinstance(version, int) or version > layout.LAYOUT_VERSION:
            raise StorageError(f"the Chroma collection {self.collection_name} at {self.location} has layout "
                               f"{version}, newer than this mcp-memory-chroma knows ({layout.LAYOUT_VERSION}); "
                               "upgrade the plugin (pip install -U mcp-memory-chroma)")
        model, dimension = meta.get("embedding_model"), meta.get("embedding_dimension")
        recorded = EmbeddingInfo(model, dimension) if isinstance(model, str) and isinstance(dimension, int) else None
        wanted = self._wanted
        if wanted is None:  # read-only use: change nothing, read an old layout in Python
            self._embedding, self._layout, self._native = recorded, version, version >= layout.LAYOUT_VERSION
            return
        if recorded is not None and recorded != wanted:
            raise EmbeddingError(
                f"the Chroma collection at {self.location} holds vectors of {recorded.model} ({recorded.dimension} "
                f"dims) but the embedder is {wanted.model} ({wanted.dimension} dims); set "
                f"MCP_MEMORY_EMBEDDING_MODEL={recorded.model} back, or re-embed into a new store: Chroma cannot "
                "`memory reembed` in place, so copy it with memory migrate --from chroma --to chroma "
                "--target-path NEW_DIR_OR_URL (migration re-embeds)")
        if version < layout.LAYOUT_VERSION:
            self._upgrade(collection, version)
        if recorded is None or version < layout.LAYOUT_VERSION:
            meta.update(layout_version=layout.LAYOUT_VERSION, embedding_model=wanted.model,
                        embedding_dimension=wanted.dimension)
            collection.modify(metadata=meta)  # modify replaces the whole metadata: keep every key
        self._embedding, self._layout, self._native = wanted, layout.LAYOUT_VERSION, True

    def _upgrade(self, collection: Any, version: int) -> None:
        """Layout 1 -> 2 in place: every record becomes a live, global, unused memory; nothing else changes.
        Idempotent: a run cut short is finished by the next open."""
        got = self._scan(collection, None, ["metadatas"])
        patches = [(i, layout.upgrade_patch(m)) for i, m in zip(got["ids"], got["metadatas"])]
        patches = [(i, p) for i, p in patches if p]
        for start in range(0, len(patches), self._max_batch):
            chunk = patches[start:start + self._max_batch]
            collection.update(ids=[i for i, _ in chunk], metadatas=[p for _, p in chunk])
        log.info("chroma layout upgraded", location=self.location, collection=self.collection_name,
                 from_layout=version, to_layout=layout.LAYOUT_VERSION, records=len(got["ids"]),
                 changed=len(patches))

    def _scan(self, collection: Any, where: dict[str, Any] | None, include: list[str],
              **kwargs: Any) -> dict[str, list[Any]]:
        """``collection.get`` of every matching record, read in pages of ``GET_PAGE``."""
        out: dict[str, list[Any]] = {key: [] for key in ("ids", *include)}
        offset = 0
        while True:
            got = collection.get(where=where, include=include, limit=GET_PAGE, offset=offset, **kwargs)
            for key in out:
                out[key].extend(got[key] if got[key] is not None else [])
            if len(got["ids"]) < GET_PAGE:
                return out
            offset += GET_PAGE

    def _by_ids(self, collection: Any, ids: Sequence[str], include: list[str]) -> dict[str, dict[str, Any]]:
        """Records by id (chunked): id -> {"document", "metadata", "embedding"} as included."""
        rows: dict[str, dict[str, Any]] = {}
        singular = {"documents": "document", "metadatas": "metadata", "embeddings": "embedding"}
        for start in range(0, len(ids), self._max_batch):
            got = collection.get(ids=list(ids[start:start + self._max_batch]), include=include)
            for n, record_id in enumerate(got["ids"]):
                rows[record_id] = {singular[key]: got[key][n] for key in include}
        return rows

    def _rows(self, collection: Any, where: Filter, w: Where) -> list[tuple[str, dict[str, Any]]]:
        """(id, metadata) of the records ``where`` selects: Chroma's where, then the trash flag (exact filters)
        or ``Filter.matches`` (the others)."""
        got = self._scan(collection, w.candidates, ["metadatas"])
        rows = [(i, m or {}) for i, m in zip(got["ids"], got["metadatas"])]
        if w.exact:
            return [(i, m) for i, m in rows if layout.is_trashed(m) == w.trashed]
        return [(i, m) for i, m in rows if where.matches(layout.to_memory(i, "", m))]

    def _size(self, collection: Any, clause: dict[str, Any] | None) -> int:
        """How many records ``clause`` selects (ids only)."""
        if clause is None:
            return int(collection.count())
        return len(self._scan(collection, clause, [])["ids"])

    def _trashed(self, collection: Any) -> set[str]:
        """The ids of every trashed record (``trashed = 1`` alone: cheap, the trash is small)."""
        return set(self._scan(collection, TRASHED, [])["ids"])

    def _count(self, collection: Any, where: Filter, w: Where) -> int:
        if w.empty:
            return 0
        if not w.exact:
            return len(self._rows(collection, where, w))
        if w.trashed:
            return self._size(collection, w.candidates)
        if w.clause is None:
            return int(collection.count()) - len(self._trashed(collection))
        return len(set(self._scan(collection, w.clause, [])["ids"]) - self._trashed(collection))

    def _vectors(self, items: Sequence[tuple[Memory, Vector]]) -> np.ndarray:
        vectors = np.asarray([np.asarray(v, dtype=np.float32) for _, v in items], dtype=np.float32)
        if vectors.ndim != 2:
            raise EmbeddingError(f"vectors must all have one length, got shape {vectors.shape}")
        expected = self._embedding.dimension if self._embedding else None
        if expected is not None and vectors.shape[1] != expected:
            raise EmbeddingError(f"vector has {vectors.shape[1]} dimensions, the store expects {expected} "
                                 f"({self._embedding.model if self._embedding else '?'})")
        return vectors

    def _update(self, collection: Any, patches: list[tuple[str, dict[str, Any]]]) -> None:
        for start in range(0, len(patches), self._max_batch):
            chunk = patches[start:start + self._max_batch]
            collection.update(ids=[i for i, _ in chunk], metadatas=[p for _, p in chunk])

    def _metas(self, collection: Any, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {i: row["metadata"] or {} for i, row in self._by_ids(collection, list(dict.fromkeys(hashes)),
                                                                     ["metadatas"]).items()}

    # -- lifecycle ---------------------------------------------------------------------------
    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        self._wanted = embedding
        self._embedding = embedding

        def work() -> None:
            if self.remote:
                client = self._connect(False)
                try:
                    client.heartbeat()
                except Exception as exc:
                    raise StorageError(f"the Chroma server at {self.location} does not answer: {exc}; start it "
                                       "(chroma run --path DIR --host HOST --port PORT) or check "
                                       "MCP_MEMORY_CHROMA_HOST/_PORT") from exc
            self._attach(create=False)

        await self._call(work)
        log.debug("chroma store opened", location=self.location, collection=self.collection_name,
                  exists=self._collection is not None)

    async def close(self) -> None:
        client, self._client, self._collection = self._client, None, None
        if client is not None and hasattr(client, "close"):
            def shut() -> None:
                with _CLIENTS:
                    client.close()
            try:
                await asyncio.to_thread(shut)
            except Exception as exc:  # closing must never raise
                log.warning("closing chroma client failed", error=str(exc))

    # -- writes ------------------------------------------------------------------------------
    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        if not items:
            return []

        def work() -> list[bool]:
            collection = self._attach(create=True)
            existing = set(self._by_ids(collection, [m.content_hash for m, _ in items], []))
            results: list[bool] = []
            fresh: list[tuple[Memory, Vector]] = []
            for memory, vector in items:
                results.append(memory.content_hash not in existing)
                if results[-1]:
                    existing.add(memory.content_hash)
                    fresh.append((memory, vector))
            for start in range(0, len(fresh), self._max_batch):
                chunk = fresh[start:start + self._max_batch]
                collection.add(ids=[m.content_hash for m, _ in chunk], embeddings=self._vectors(chunk),
                               documents=[m.content for m, _ in chunk],
                               metadatas=[layout.to_record_metadata(m) for m, _ in chunk])
            return results

        return await self._call(work)

    async def update_memory(self, memory: Memory) -> bool:
        def work() -> bool:
            collection = self._attach()
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
            self._update(collection, [(memory.content_hash,
                                       layout.patch(old or {}, layout.to_record_metadata(changed)))])
            return True

        return await self._call(work)

    async def _change(self, hashes: Sequence[str], trashed: bool,
                      change: Callable[[Memory], Memory | None]) -> list[str]:
        """Apply ``change`` to the memories of these hashes whose trashed state is ``trashed``."""
        def work() -> list[str]:
            collection = self._attach()
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
            self._update(collection, patches)
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
            collection = self._attach()
            if collection is None or not hashes:
                return 0
            metas = self._metas(collection, hashes)
            doomed = [i for i in dict.fromkeys(hashes) if i in metas and metas[i].get("trashed") == 1]
            for start in range(0, len(doomed), self._max_batch):
                collection.delete(ids=doomed[start:start + self._max_batch])
            return len(doomed)

        return await self._call(work)

    # -- reads -------------------------------------------------------------------------------
    async def get_by_hash(self, content_hash: str, trashed: bool | None = False) -> Memory | None:
        def work() -> Memory | None:
            collection = self._attach()
            if collection is None:
                return None
            row = self._by_ids(collection, [content_hash], ["documents", "metadatas"]).get(content_hash)
            if row is None:
                return None
            memory = layout.to_memory(content_hash, row["document"], row["metadata"])
            return memory if trashed is None or memory.trashed == trashed else None

        return await self._call(work)

    async def find_hashes(self, prefix: str, limit: int = 10) -> list[str]:
        def work() -> list[str]:
            collection = self._attach()
            if collection is None or limit < 1:
                return []
            ids = self._scan(collection, None, [])["ids"]
            return sorted(i for i in ids if i.startswith(prefix))[:limit]

        return await self._call(work)

    def _query(self, collection: Any, query: np.ndarray, n: int, where: dict[str, Any] | None = None,
               ids: list[str] | None = None) -> list[QueryResult]:
        got = collection.query(query_embeddings=query, n_results=n, where=where, ids=ids,
                               include=["documents", "metadatas", "distances"])
        return [QueryResult(layout.to_memory(i, d, m), relevance_from_cosine_distance(dist))
                for i, d, m, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0],
                                         got["distances"][0])]

    async def retrieve(self, embedding: Vector, k: int, where: Filter = LIVE) -> list[QueryResult]:
        """Nearest first. An unfiltered search of the 2k + 32 nearest answers most filters (a where clause
        that selects most records costs Chroma far more than a few extra neighbours). When it holds fewer
        than k matches, the filter goes to Chroma: for live memories without ``trashed = 0`` (which matches
        nearly everything), asking for k more than the trashed records the other clauses match; with
        metadata conditions, the ids of the candidates read here."""
        def work() -> list[QueryResult]:
            collection = self._attach()
            w = translate(where, self._native)
            if collection is None or k < 1 or w.empty:
                return []
            query = np.asarray([embedding], dtype=np.float32)
            n = 2 * k + PROBE_EXTRA
            nearest = self._query(collection, query, n)
            hits = [r for r in nearest if where.matches(r.memory)]
            if len(hits) < k and len(nearest) == n:  # fewer than n back: that was every record
                if w.exact:
                    crowd = 0 if w.trashed else len(self._trashed(collection))
                    if crowd > max(4 * k, CROWD_LIMIT):
                        chosen, n = both(w.clause, {"trashed": 0}), k
                    else:
                        chosen, n = w.candidates, k + crowd
                    hits = [r for r in self._query(collection, query, n, chosen) if where.matches(r.memory)]
                else:
                    ids = [record_id for record_id, _ in self._rows(collection, where, w)]
                    hits = []
                    for start in range(0, len(ids), self._max_batch):
                        chunk = ids[start:start + self._max_batch]
                        hits.extend(self._query(collection, query, min(k, len(chunk)), ids=chunk))
            hits.sort(key=lambda r: r.relevance_score, reverse=True)
            return hits[:k]

        return await self._call(work)

    async def list_memories(self, where: Filter = LIVE, offset: int = 0, limit: int | None = 10) -> list[Memory]:
        def work() -> list[Memory]:
            collection = self._attach()
            w = translate(where, self._native)
            if collection is None or w.empty or (limit is not None and limit < 1):
                return []
            keys = sorted((layout.listing_key(i, m) for i, m in self._rows(collection, where, w)), reverse=True)
            page = [i for _, i in (keys[offset:] if limit is None else keys[offset:offset + limit])]
            rows = self._by_ids(collection, page, ["documents", "metadatas"])
            return [layout.to_memory(i, rows[i]["document"], rows[i]["metadata"]) for i in page if i in rows]

        return await self._call(work)

    async def count(self, where: Filter = LIVE) -> int:
        def work() -> int:
            collection = self._attach()
            return 0 if collection is None else self._count(collection, where, translate(where, self._native))

        return await self._call(work)

    async def all_tags(self, where: Filter = LIVE) -> list[tuple[str, int]]:
        def work() -> list[tuple[str, int]]:
            collection = self._attach()
            w = translate(where, self._native)
            if collection is None or w.empty:
                return []
            rows = self._rows(collection, where, w)
            tags = ((layout.tag_keys(m) if self._native else layout.to_memory(i, "", m).tags) for i, m in rows)
            counts = Counter(tag for found in tags for tag in found)
            return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

        return await self._call(work)

    async def projects(self) -> list[tuple[str | None, int]]:
        def work() -> list[tuple[str | None, int]]:
            collection = self._attach()
            if collection is None:
                return []
            rows = self._rows(collection, LIVE, translate(LIVE, self._native))
            counts = Counter((m.get("project") or None) if self._native else None for _, m in rows)
            return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or ""))

        return await self._call(work)

    async def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        def order() -> list[str]:
            collection = self._attach()
            if collection is None:
                return []
            got = self._scan(collection, None, ["metadatas"])
            return [i for _, i in sorted((layout.created_of(m or {}), i) for i, m in zip(got["ids"], got["metadatas"]))]

        def fetch(ids: list[str]) -> list[tuple[Memory, Vector | None]]:
            collection = self._attach()
            if collection is None:
                return []
            rows = self._by_ids(collection, ids, ["documents", "metadatas", "embeddings"])
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

    # -- lexical search ----------------------------------------------------------------------
    async def search_lexical(self, query: str, k: int, where: Filter = LIVE) -> list[QueryResult]:
        """BM25 over the words of ``query``: Chroma's regex document filter finds the candidates, the
        scoring runs here (see ``lexical``)."""
        words = lexical.words(query)

        def work() -> list[QueryResult]:
            collection = self._attach()
            w = translate(where, self._native)
            if collection is None or w.empty or k < 1 or not words:
                return []
            matching = {"where_document": {"$regex": lexical.prefilter(words)}}
            if w.exact:  # documents only; the trashed ones among them are found by id
                got = self._scan(collection, w.candidates, ["documents"], **matching)
                skip = set() if w.trashed else self._trashed(collection)
                texts = [(i, d or "") for i, d in zip(got["ids"], got["documents"]) if i not in skip]
            else:
                got = self._scan(collection, w.candidates, ["documents", "metadatas"], **matching)
                texts = [(i, d or "") for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])
                         if where.matches(layout.to_memory(i, d, m))]
            if not texts:
                return []
            ranked = lexical.rank(words, texts, self._scope(collection, w), k)
            rows = self._by_ids(collection, [i for i, _ in ranked], ["documents", "metadatas"])
            return [QueryResult(layout.to_memory(i, rows[i]["document"], rows[i]["metadata"]), score)
                    for i, score in ranked if i in rows]

        return await self._call(work)

    def _scope(self, collection: Any, w: Where) -> int:
        """BM25's N: the memories of the store in the state the filter reads (live or trashed), whatever the
        other conditions, as search engines take their statistics from the whole index; counting the
        filter's own memories would cost a scan of them per query."""
        trashed = len(self._trashed(collection))
        return trashed if w.trashed else int(collection.count()) - trashed

    # -- upkeep ------------------------------------------------------------------------------
    def _size_mb(self) -> float | None:
        if self.path is None:
            return None
        if not self.path.exists():
            return 0.0
        return round(_dir_size(self.path) / (1024 * 1024), 3)

    async def get_stats(self) -> dict[str, Any]:
        total, trashed, tags = await self.count(LIVE), await self.count(TRASH), await self.all_tags(LIVE)
        recorded = self._embedding
        return {
            "backend": self.backend_name,
            "location": self.location,
            "remote": self.remote is not None,
            "collection": self.collection_name,
            "layout_version": self._layout if self._collection is not None else None,
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

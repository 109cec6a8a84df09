"""``ChromaStorage``: the ``MemoryStorage`` protocol over a Chroma collection, local or on a server.

Chroma's client is synchronous: every call runs in a worker thread under one lock. We always pass our
own embeddings; the collection has no embedding function, so Chroma never downloads a model.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from mcp_memory.errors import EmbeddingError, MemoryServiceError, StorageError
from mcp_memory.logging import get_logger
from mcp_memory.models import (
    Memory,
    QueryResult,
    Vector,
    relevance_from_cosine_distance,
)
from mcp_memory.protocols import EmbeddingInfo

from . import layout

log = get_logger(__name__)

COLLECTION = "mcp_memory"
#: records per get(): Chroma's local store fails one returning more than about 32k ("too many SQL variables")
GET_PAGE = 10_000
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})$")
T = TypeVar("T")


def parse_remote(location: str | None, settings: Any) -> tuple[str, int, bool] | None:
    """(host, port, ssl) when this store talks to a Chroma server, None for a local directory.

    A server is used when ``location`` is an ``http(s)://host:port`` URL, or when
    ``MCP_MEMORY_CHROMA_HOST`` is set and ``location`` is empty or ``host:port``; any other
    ``location`` is a local directory.
    """
    if location and location.startswith(("http://", "https://")):
        ssl = location.startswith("https://")
        rest = location.split("://", 1)[1].rstrip("/")
        match = _HOST_PORT.match(rest)
        if match:
            return match["host"].strip("[]"), int(match["port"]), ssl
        return rest, 443 if ssl else 8000, ssl
    host = getattr(settings, "chroma_host", None)
    if not host:
        return None
    if location:
        match = _HOST_PORT.match(location)
        return (match["host"].strip("[]"), int(match["port"]), False) if match else None
    return host, int(getattr(settings, "chroma_port", 8000)), False


def _dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


class ChromaStorage:
    """A memory store in one Chroma collection (``mcp_memory``), cosine space."""

    backend_name = "chroma"

    def __init__(self, settings: Any, location: str | None = None):
        self.settings = settings
        self.remote = parse_remote(location, settings)
        self.path = None if self.remote else Path(location or settings.chroma_path).expanduser()
        self._client: Any = None
        self._collection: Any = None
        self._embedding: EmbeddingInfo | None = None
        self._lock = threading.Lock()
        self._max_batch = 1000

    @property
    def where(self) -> str:
        if self.remote:
            host, port, ssl = self.remote
            return f"{'https' if ssl else 'http'}://{host}:{port}"
        return str(self.path)

    # -- plumbing ----------------------------------------------------------------------------
    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        def locked() -> T:
            with self._lock:
                try:
                    return fn(*args)
                except MemoryServiceError:
                    raise
                except Exception as exc:
                    raise StorageError(f"Chroma at {self.where} failed: {type(exc).__name__}: {exc}") from exc
        return await asyncio.to_thread(locked)

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if self.remote:
                host, port, ssl = self.remote
                return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
            self.path.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            return chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
        except Exception as exc:
            fix = ("start it (chroma run --path DIR --host HOST --port PORT) or check MCP_MEMORY_CHROMA_HOST/_PORT"
                   if self.remote else "check MCP_MEMORY_CHROMA_PATH points to a writable directory")
            raise StorageError(f"cannot open Chroma at {self.where}: {type(exc).__name__}: {exc}; {fix}") from exc

    def _open(self, embedding: EmbeddingInfo | None) -> None:
        if self._client is None:
            self._client = self._connect()
            try:
                self._max_batch = int(self._client.get_max_batch_size())
            except Exception:
                self._max_batch = 1000
        if embedding is None:
            names = {getattr(c, "name", c) for c in self._client.list_collections()}
            if COLLECTION in names:
                self._collection = self._client.get_collection(COLLECTION, embedding_function=None)
                self._embedding = self._recorded()
            return
        self._collection = self._client.get_or_create_collection(
            COLLECTION,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": embedding.model, "embedding_dimension": embedding.dimension},
            embedding_function=None,
        )
        recorded = self._recorded()
        if recorded is None:
            self._collection.modify(metadata={"embedding_model": embedding.model,
                                              "embedding_dimension": embedding.dimension})
        elif recorded != embedding:
            raise EmbeddingError(
                f"the Chroma collection at {self.where} holds vectors of {recorded.model} "
                f"({recorded.dimension} dims) but the embedder is {embedding.model} ({embedding.dimension} dims); "
                "set MCP_MEMORY_EMBEDDING_MODEL back, or migrate to a new store "
                "(memory migrate --from chroma --to sqlite_vec ...) which re-embeds"
            )
        self._embedding = embedding

    def _recorded(self) -> EmbeddingInfo | None:
        meta = self._collection.metadata or {}
        model, dim = meta.get("embedding_model"), meta.get("embedding_dimension")
        if isinstance(model, str) and isinstance(dim, int):
            return EmbeddingInfo(model, dim)
        return None

    def _require(self) -> Any:
        if self._collection is None:
            if self._client is None:
                raise StorageError("the Chroma store is not initialised: call initialize() first")
            self._collection = self._client.get_or_create_collection(
                COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
        return self._collection

    def _get_all(self, include: list[str], **kwargs: Any) -> dict[str, list[Any]]:
        """``collection.get`` of every matching record, read in pages of ``GET_PAGE``."""
        out: dict[str, list[Any]] = {key: [] for key in ("ids", *include)}
        offset = 0
        while True:
            got = self._collection.get(include=include, limit=GET_PAGE, offset=offset, **kwargs)
            for key in out:
                out[key].extend(got[key] or [])
            if len(got["ids"]) < GET_PAGE:
                return out
            offset += GET_PAGE

    def _get(self, **kwargs: Any) -> list[Memory]:
        if self._collection is None:
            return []
        got = self._get_all(["documents", "metadatas"], **kwargs)
        return [layout.to_memory(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def _existing(self, ids: Sequence[str]) -> set[str]:
        if self._collection is None or not ids:
            return set()
        found: set[str] = set()
        for start in range(0, len(ids), self._max_batch):
            found.update(self._collection.get(ids=list(ids[start:start + self._max_batch]), include=[])["ids"])
        return found

    def _headers(self, where: dict[str, Any] | None) -> list[tuple[float, str]]:
        """(created_at, id) of every matching record, without documents."""
        if self._collection is None:
            return []
        got = self._get_all(["metadatas"], where=where)
        out = []
        for record_id, meta in zip(got["ids"], got["metadatas"]):
            created = (meta or {}).get("created_at", 0.0)
            out.append((float(created) if isinstance(created, (int, float)) else 0.0, record_id))
        return out

    def _by_ids(self, ids: Sequence[str], vectors: bool = False) -> list[tuple[Memory, Vector | None]]:
        if not ids:
            return []
        include = ["documents", "metadatas", "embeddings"] if vectors else ["documents", "metadatas"]
        got = self._collection.get(ids=list(ids), include=include)
        embeddings = got.get("embeddings") if vectors else None
        rows: dict[str, tuple[Memory, Vector | None]] = {}
        for n, record_id in enumerate(got["ids"]):
            vector = None
            if embeddings is not None and len(embeddings) > n and embeddings[n] is not None:
                vector = np.asarray(embeddings[n], dtype=np.float32).tolist()
            rows[record_id] = (layout.to_memory(record_id, got["documents"][n], got["metadatas"][n]), vector)
        return [rows[i] for i in ids if i in rows]

    @staticmethod
    def _filters(tags: Sequence[str] | None, memory_type: str | None) -> dict[str, Any] | None:
        return layout.combine(layout.tags_filter(tags) if tags else None,
                              {"memory_type": memory_type} if memory_type is not None else None)

    # -- lifecycle ---------------------------------------------------------------------------
    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        await self._call(self._open, embedding)
        log.debug("chroma store opened", location=self.where, collection=COLLECTION)

    async def close(self) -> None:
        client, self._client, self._collection = self._client, None, None
        if client is not None and hasattr(client, "close"):
            try:
                await asyncio.to_thread(client.close)
            except Exception as exc:  # closing must never raise
                log.warning("closing chroma client failed", error=str(exc))

    # -- writes ------------------------------------------------------------------------------
    async def store(self, memory: Memory, embedding: Vector) -> bool:
        return (await self.store_batch([(memory, embedding)]))[0]

    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        if not items:
            return []

        def work() -> list[bool]:
            collection = self._require()
            existing = self._existing([m.content_hash for m, _ in items])
            results: list[bool] = []
            fresh: list[tuple[Memory, Vector]] = []
            for memory, vector in items:
                if memory.content_hash in existing:
                    results.append(False)
                else:
                    existing.add(memory.content_hash)
                    fresh.append((memory, vector))
                    results.append(True)
            for start in range(0, len(fresh), self._max_batch):
                chunk = fresh[start:start + self._max_batch]
                vectors = np.asarray([np.asarray(v, dtype=np.float32) for _, v in chunk], dtype=np.float32)
                if self._embedding is not None and vectors.shape[1] != self._embedding.dimension:
                    raise EmbeddingError(f"vector has {vectors.shape[1]} dimensions, the store expects "
                                         f"{self._embedding.dimension} ({self._embedding.model})")
                collection.add(ids=[m.content_hash for m, _ in chunk], embeddings=vectors,
                               documents=[m.content for m, _ in chunk],
                               metadatas=[layout.to_record_metadata(m) for m, _ in chunk])
            return results

        return await self._call(work)

    async def delete(self, content_hash: str) -> bool:
        def work() -> bool:
            if not self._existing([content_hash]):
                return False
            self._collection.delete(ids=[content_hash])
            return True

        return await self._call(work)

    async def delete_by_tag(self, tags: Sequence[str]) -> int:
        def work() -> int:
            if self._collection is None or not tags:
                return 0
            ids = self._get_all([], where=layout.tags_filter(tags))["ids"]
            for start in range(0, len(ids), self._max_batch):
                self._collection.delete(ids=ids[start:start + self._max_batch])
            return len(ids)

        return await self._call(work)

    async def update_memory_metadata(self, content_hash: str, tags: Sequence[str], memory_type: str | None,
                                     metadata: dict[str, Any], updated_at: float) -> bool:
        def work() -> bool:
            if self._collection is None:
                return False
            got = self._collection.get(ids=[content_hash], include=["documents", "metadatas"])
            if not got["ids"]:
                return False
            old_meta = got["metadatas"][0] or {}
            current = layout.to_memory(content_hash, got["documents"][0], old_meta)
            changed = current.with_changes(tags=list(tags), memory_type=memory_type, metadata=dict(metadata),
                                           updated_at=updated_at)
            patch = layout.update_metadata(old_meta, layout.to_record_metadata(changed))
            self._collection.update(ids=[content_hash], metadatas=[patch])
            return True

        return await self._call(work)

    # -- reads -------------------------------------------------------------------------------
    async def retrieve(self, embedding: Vector, k: int, tags: Sequence[str] | None = None,
                       memory_type: str | None = None) -> list[QueryResult]:
        def work() -> list[QueryResult]:
            if self._collection is None or k < 1 or self._collection.count() == 0:
                return []
            got = self._collection.query(
                query_embeddings=np.asarray([embedding], dtype=np.float32), n_results=k,
                where=self._filters(tags, memory_type), include=["documents", "metadatas", "distances"])
            ids, docs, metas, dists = got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0]
            results = [QueryResult(layout.to_memory(i, d, m), relevance_from_cosine_distance(dist))
                       for i, d, m, dist in zip(ids, docs, metas, dists)]
            results.sort(key=lambda r: r.relevance_score, reverse=True)
            return results

        return await self._call(work)

    async def search_by_tag(self, tags: Sequence[str], match_all: bool = False,
                            limit: int | None = None) -> list[Memory]:
        if not tags:
            return []
        found = await self._call(lambda: self._get(where=layout.tags_filter(tags, match_all)))
        return layout.newest_first(found)[:limit] if limit else layout.newest_first(found)

    async def search_by_time(self, start: float | None, end: float | None,
                             limit: int | None = None) -> list[Memory]:
        where = layout.combine({"created_at": {"$gte": float(start)}} if start is not None else None,
                               {"created_at": {"$lte": float(end)}} if end is not None else None)
        found = await self._call(lambda: self._get(where=where))
        return layout.newest_first(found)[:limit] if limit else layout.newest_first(found)

    async def list_memories(self, offset: int = 0, limit: int = 10, tags: Sequence[str] | None = None,
                            memory_type: str | None = None) -> list[Memory]:
        def work() -> list[Memory]:
            headers = sorted(self._headers(self._filters(tags, memory_type)), reverse=True)
            page = [record_id for _, record_id in headers[offset:offset + limit]]
            return [m for m, _ in self._by_ids(page)]

        return await self._call(work)

    async def count(self, tags: Sequence[str] | None = None, memory_type: str | None = None) -> int:
        def work() -> int:
            if self._collection is None:
                return 0
            where = self._filters(tags, memory_type)
            if where is None:
                return int(self._collection.count())
            return len(self._get_all([], where=where)["ids"])

        return await self._call(work)

    async def get_by_hash(self, content_hash: str) -> Memory | None:
        found = await self._call(lambda: self._get(ids=[content_hash]))
        return found[0] if found else None

    async def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        order = [record_id for _, record_id in sorted(await self._call(lambda: self._headers(None)))]
        for start in range(0, len(order), batch_size):
            ids = order[start:start + batch_size]
            batch = await self._call(self._by_ids, ids, True)
            if batch:
                yield batch

    async def all_tags(self) -> list[tuple[str, int]]:
        def work() -> list[tuple[str, int]]:
            if self._collection is None:
                return []
            counts: dict[str, int] = {}
            for meta in self._get_all(["metadatas"])["metadatas"]:
                for tag in layout.to_memory("", "", meta).tags:
                    counts[tag] = counts.get(tag, 0) + 1
            return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

        return await self._call(work)

    def _size_mb(self) -> float:
        if self.path is None or not self.path.exists():
            return 0.0
        return round(_dir_size(self.path) / (1024 * 1024), 3)

    async def get_stats(self) -> dict[str, Any]:
        total = await self.count()
        tags = await self.all_tags()
        recorded = self._embedding
        return {
            "backend": self.backend_name,
            "location": self.where,
            "remote": self.remote is not None,
            "total_memories": total,
            "unique_tags": len(tags),
            "database_size_mb": await asyncio.to_thread(self._size_mb),
            "embedding_model": recorded.model if recorded else None,
            "embedding_dimension": recorded.dimension if recorded else None,
        }

    async def optimize(self) -> dict[str, Any]:
        size = await asyncio.to_thread(self._size_mb)
        return {"backend": self.backend_name, "size_before_mb": size, "size_after_mb": size,
                "actions": [], "note": "Chroma compacts its own indexes; nothing to do"}

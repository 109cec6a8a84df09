"""The connection of a chroma store: client, collection, layout and model checks, the in-place upgrade, and
the record reads and writes every store method uses. Synchronous (the store runs it in a worker thread).

Nothing is created before the first write: ``attach(create=False)`` answers None while the store is missing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mcp_memory.errors import EmbeddingError, MemoryServiceError, StorageError
from mcp_memory.logging import get_logger
from mcp_memory.protocols import EmbeddingInfo

from .config import Remote
from .layout import LAYOUT_VERSION, upgrade_patch
from .where import TRASHED

log = get_logger(__name__)

#: records per read with fields: Chroma's local store fails a read of metadata past 32,766 records (SQLite's
#: limit of variables in one statement); reads of ids alone have no limit
READ_CHUNK = 30_000
#: chromadb shares one system per directory in a process and does not start it thread-safely: clients of
#: every store in this process are made and closed under this lock
_CLIENTS = threading.Lock()


class Connection:
    """One collection on a local directory or a server, opened lazily."""

    def __init__(self, remote: Remote | None, path: Path | None, collection_name: str):
        self.remote, self.path, self.collection_name = remote, path, collection_name
        self.client: Any = None
        self.collection: Any = None
        self.wanted: EmbeddingInfo | None = None  # the embedder's model; None: read-only use
        self.embedding: EmbeddingInfo | None = None  # the model of the vectors
        self.layout = LAYOUT_VERSION
        self.native = True  # records of the current layout: filters go into Chroma's where
        self.max_batch = 1000

    @property
    def location(self) -> str:
        return self.remote.url if self.remote else str(self.path)

    def close(self) -> None:
        client, self.client, self.collection = self.client, None, None
        if client is not None and hasattr(client, "close"):
            with _CLIENTS:
                client.close()

    def connect(self, create: bool) -> Any:
        """The client, or None for a local directory that holds no Chroma store (and ``create`` is False)."""
        if self.client is not None:
            return self.client
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if self.remote:
                self.client = chromadb.HttpClient(host=self.remote.host, port=self.remote.port, ssl=self.remote.ssl,
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
                    self.client = chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
        except MemoryServiceError:
            raise
        except Exception as exc:
            fix = ("start it (chroma run --path DIR --host HOST --port PORT) or check MCP_MEMORY_CHROMA_HOST/_PORT"
                   if self.remote else "check MCP_MEMORY_CHROMA_PATH points to a writable directory")
            raise StorageError(f"cannot open Chroma at {self.location}: {type(exc).__name__}: {exc}; {fix}") from exc
        try:
            self.max_batch = int(self.client.get_max_batch_size())
        except Exception:  # noqa: BLE001 - older servers lack it: Chroma's own default
            self.max_batch = 1000
        return self.client

    def attach(self, create: bool = False) -> Any:
        """The collection, or None while the store does not exist (created here only when ``create``)."""
        if self.collection is not None:
            return self.collection
        client = self.connect(create)
        if client is None:
            return None
        from chromadb.errors import NotFoundError

        try:
            collection = client.get_collection(self.collection_name, embedding_function=None)
        except NotFoundError:
            if not create:
                return None
            metadata: dict[str, Any] = {"layout_version": LAYOUT_VERSION}
            if self.wanted is not None:
                metadata.update(embedding_model=self.wanted.model, embedding_dimension=self.wanted.dimension)
            collection = client.get_or_create_collection(self.collection_name, metadata=metadata,
                                                         configuration={"hnsw": {"space": "cosine"}},
                                                         embedding_function=None)
            log.info("chroma store created", location=self.location, collection=self.collection_name)
        self.adopt(collection)
        self.collection = collection
        return collection

    def adopt(self, collection: Any) -> None:
        """Check the collection's layout and model against ours; upgrade an older layout when writing."""
        meta = dict(collection.metadata or {})
        version = meta.get("layout_version", 1)
        if not isinstance(version, int) or version > LAYOUT_VERSION:
            raise StorageError(f"the Chroma collection {self.collection_name} at {self.location} has layout "
                               f"{version}, newer than this mcp-memory-chroma knows ({LAYOUT_VERSION}); "
                               "upgrade the plugin (pip install -U mcp-memory-chroma)")
        model, dimension = meta.get("embedding_model"), meta.get("embedding_dimension")
        recorded = EmbeddingInfo(model, dimension) if isinstance(model, str) and isinstance(dimension, int) else None
        wanted = self.wanted
        if wanted is None:  # read-only use: change nothing, read an old layout in Python
            self.embedding, self.layout, self.native = recorded, version, version >= LAYOUT_VERSION
            return
        if recorded is not None and recorded != wanted:
            raise EmbeddingError(
                f"the Chroma collection at {self.location} holds vectors of {recorded.model} ({recorded.dimension} "
                f"dims) but the embedder is {wanted.model} ({wanted.dimension} dims); set "
                f"MCP_MEMORY_EMBEDDING_MODEL={recorded.model} back, or re-embed into a new store: Chroma cannot "
                "`memory reembed` in place, so copy it with memory migrate --from chroma --to chroma "
                "--target-path NEW_DIR_OR_URL (migration re-embeds)")
        if version < LAYOUT_VERSION:
            self.upgrade(collection, version)
        if recorded is None or version < LAYOUT_VERSION:
            meta.update(layout_version=LAYOUT_VERSION, embedding_model=wanted.model,
                        embedding_dimension=wanted.dimension)
            collection.modify(metadata=meta)  # modify replaces the whole metadata: keep every key
        self.embedding, self.layout, self.native = wanted, LAYOUT_VERSION, True

    def upgrade(self, collection: Any, version: int) -> None:
        """Layout 1 -> 2 in place: every record becomes a live, global, unused memory; nothing else changes.
        Idempotent: a run cut short is finished by the next open."""
        log.info("chroma layout upgrade started", location=self.location, collection=self.collection_name,
                 from_layout=version, to_layout=LAYOUT_VERSION, records=int(collection.count()))
        got = self.scan(collection, None, ["metadatas"])
        patches = [(i, upgrade_patch(m)) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        patches = [(i, p) for i, p in patches if p]
        self.update(collection, patches)
        log.info("chroma layout upgraded", location=self.location, collection=self.collection_name,
                 from_layout=version, to_layout=LAYOUT_VERSION, records=len(got["ids"]),
                 changed=len(patches))

    @property
    def read_chunk(self) -> int:
        """Records per read by id: large locally; a server's batch size over HTTP."""
        return min(READ_CHUNK, self.max_batch) if self.remote else READ_CHUNK

    def scan(self, collection: Any, where: dict[str, Any] | None, include: list[str],
             **kwargs: Any) -> dict[str, list[Any]]:
        """Every matching record (``kwargs``: ``where_document``). Ids alone come in one call; with fields, one
        call answers up to ``READ_CHUNK`` records and the rest is read by id: paging by offset would make
        Chroma evaluate the filter again for every page."""
        if not include:
            return {"ids": list(collection.get(where=where, include=[], **kwargs)["ids"])}
        got = collection.get(where=where, include=include, limit=READ_CHUNK, **kwargs)
        out: dict[str, list[Any]] = {key: list(got[key] or []) for key in ("ids", *include)}
        if len(out["ids"]) < READ_CHUNK:
            return out
        seen = set(out["ids"])
        rest = [i for i in collection.get(where=where, include=[], **kwargs)["ids"] if i not in seen]
        for start in range(0, len(rest), self.read_chunk):
            more = collection.get(ids=rest[start:start + self.read_chunk], include=include)
            for key, values in out.items():
                values.extend(more[key] or [])
        return out

    def by_ids(self, collection: Any, ids: Sequence[str], include: list[str]) -> dict[str, dict[str, Any]]:
        """Records by id (chunked): id -> {"document", "metadata", "embedding"} as included."""
        rows: dict[str, dict[str, Any]] = {}
        singular = {"documents": "document", "metadatas": "metadata", "embeddings": "embedding"}
        for start in range(0, len(ids), self.read_chunk):
            got = collection.get(ids=list(ids[start:start + self.read_chunk]), include=include)
            for n, record_id in enumerate(got["ids"]):
                rows[record_id] = {singular[key]: got[key][n] for key in include}
        return rows

    def trashed(self, collection: Any) -> set[str]:
        """The ids of every trashed record (``trashed = 1`` alone: cheap, the trash is small)."""
        return set(self.scan(collection, TRASHED, [])["ids"])

    def update(self, collection: Any, patches: list[tuple[str, dict[str, Any]]]) -> None:
        for start in range(0, len(patches), self.max_batch):
            chunk = patches[start:start + self.max_batch]
            collection.update(ids=[i for i, _ in chunk], metadatas=[p for _, p in chunk])

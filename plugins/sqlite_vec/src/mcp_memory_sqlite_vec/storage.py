"""SqliteVecStorage: the MemoryStorage protocol over one SQLite file with sqlite-vec vectors, plus the optional
capabilities LexicalSearch (FTS5), NearDuplicates, WarmUp and Reembedding.

All SQLite work runs on one dedicated worker thread that owns the connection, so the event loop never blocks
and the connection is never shared between threads.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np

from mcp_memory import plugins
from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, StorageError
from mcp_memory.logging import get_logger
from mcp_memory.models import Hit, Memory, QueryResult, Vector
from mcp_memory.protocols import LIVE, EmbeddingInfo, Filter, ReembedState
from mcp_memory.storage_base import BaseStorage

from . import reads, reembed, rows, schema, search, writes
from . import where as w
from .connection import apply_pragmas, connect, driver_module, storage_error
from .index import VectorIndex
from .rows import to_blob, transaction
from .settings import SQLITE_SETTINGS

log = get_logger(__name__)

CACHE_SIZE = -16000  # SQLite's unit for a negative value is KiB: a 16 MB page cache per connection


def _run_once(attempt: Callable[[], Any], is_busy: Callable[[BaseException], bool]) -> Any:
    """The write policy without a retry plugin (``wal``): no retry."""
    return attempt()


def _setup(conn: Any, path: Path, embedding: EmbeddingInfo | None) -> tuple[EmbeddingInfo | None, bool]:
    with transaction(conn):
        return schema.setup(conn, path, embedding)


def _size_mb(path: Path) -> float:
    total = 0
    for p in (path, Path(f"{path}-wal")):
        try:
            total += p.stat().st_size
        except OSError:
            pass
    return round(total / (1024 * 1024), 3)


class SqliteVecStorage(BaseStorage):
    """A memory store in one SQLite file (WAL mode with the ``wal`` plugin), vectors in a sqlite-vec ``vec0``
    table and, for searches, in memory (index.py)."""

    backend_name = "sqlite_vec"

    def __init__(self, settings: Settings | None = None, location: str | os.PathLike[str] | None = None):
        settings = settings or Settings()
        mine = settings.section(SQLITE_SETTINGS)
        self.path = Path(location if location is not None else mine.sqlite_path).expanduser()
        self.settings = settings
        self.pragmas: tuple[tuple[str, str], ...] = tuple(mine.sqlite_pragmas)
        self.driver: str | None = None
        self._busy_ms: int | None = None
        self._retry: Callable[..., Any] = _run_once
        self._executor: ThreadPoolExecutor | None = None
        self._conn: Any = None
        self._errors: tuple[type[Exception], ...] = ()
        self._embedding: EmbeddingInfo | None = None
        self._index: VectorIndex | None = None  # the live vectors in memory, loaded on the first search
        self._fts = False
        self._closed = False

    # -- worker plumbing ---------------------------------------------------------------------
    def _guarded(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(self._conn, *args)
        except self._errors as exc:
            raise storage_error(exc, self.path, self._busy_ms) from exc

    def _is_busy(self, exc: BaseException) -> bool:
        return isinstance(exc, self._errors) and any(word in str(exc).lower() for word in ("locked", "busy"))

    def _retrying(self, conn: Any, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one write transaction under the retry policy (rolled back before each new try)."""
        def attempt() -> Any:
            try:
                return fn(conn, *args)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return self._retry(attempt, self._is_busy)

    async def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._call(self._retrying, fn, *args)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._conn is None or self._executor is None:
            state = "closed" if self._closed else "not initialised (call initialize() first)"
            raise StorageError(f"the sqlite_vec store at {self.path} is {state}")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._guarded, fn, *args))

    # -- lifecycle ---------------------------------------------------------------------------
    def _open(self, embedding: EmbeddingInfo | None) -> tuple[EmbeddingInfo | None, bool]:
        conn, driver = connect(self.path)
        errors = (driver_module(driver).Error,)
        self._errors = errors
        try:
            schema.check_existing(conn, self.path)
            self._configure(conn)
            info = self._retrying(conn, _setup, self.path, embedding)
        except errors as exc:
            conn.close()
            raise storage_error(exc, self.path, self._busy_ms) from exc
        except BaseException:
            conn.close()
            raise
        self._conn, self.driver, self._errors = conn, driver, errors
        return info

    def _configure(self, conn: Any) -> None:
        """Connection policy from plugins (``wal``); without one, SQLite defaults plus the user's pragmas.

        The page cache starts at ``CACHE_SIZE`` (the user's ``cache_size`` pragma wins): SQLite's 2 MB default
        makes every write at 100k memories re-read index pages, about 1.6x slower.
        """
        conn.execute(f"PRAGMA cache_size={CACHE_SIZE}")
        pm = plugins.get_plugin_manager(self.settings)
        configured = [name for name, _ in pm.call_each("memory_configure_sqlite", connection=conn,
                                                          pragmas=self.pragmas)]
        if not configured:
            apply_pragmas(conn, self.pragmas)
        self._retry = pm.first_result("memory_sqlite_write_retry") or _run_once
        self._busy_ms = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])

    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        if self._closed:
            raise StorageError(f"the sqlite_vec store at {self.path} is closed; create a new one")
        if self._conn is not None:
            await self.close()
            self._closed = False
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-vec")
        loop = asyncio.get_running_loop()
        try:
            self._embedding, self._fts = await loop.run_in_executor(self._executor, self._open, embedding)
            self._index = VectorIndex(self._embedding) if self._embedding else None
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        log.debug("sqlite_vec store opened", path=str(self.path), driver=self.driver,
                  model=self._embedding.model if self._embedding else None)

    def _close_sync(self, conn: Any) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except self._errors as exc:
            log.warning("WAL checkpoint skipped at close", path=str(self.path), error=str(exc))
        conn.close()

    async def close(self) -> None:
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            if self._conn is not None:
                await asyncio.get_running_loop().run_in_executor(executor, self._close_sync, self._conn)
        finally:
            self._conn, self._index = None, None
            executor.shutdown(wait=True)

    async def warm_up(self) -> None:
        """Load the in-memory vectors and their sign codes now (the stdio server calls it while the model loads)."""
        def warm(conn: Any) -> None:
            if self._index is not None:
                self._index.refresh(conn)
                self._index.warm()
        await self._call(warm)

    # -- writes ------------------------------------------------------------------------------
    def _info(self) -> EmbeddingInfo:
        if self._embedding is None:
            raise EmbeddingError(
                f"{self.path} has no embedding model recorded yet; open it with an embedder before storing"
            )
        return self._embedding

    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        if not items:
            return []
        return await self._write(writes.insert_many, list(items), self._info(), self._fts)

    async def update_memory(self, memory: Memory) -> bool:
        return await self._write(writes.update_memory, memory)

    async def trash(self, hashes: Sequence[str], at: float, reason: str,
                    replaced_by: str | None = None) -> list[str]:
        if not hashes:
            return []
        return await self._write(writes.trash, list(hashes), at, reason, replaced_by, self._fts)

    async def restore(self, hashes: Sequence[str]) -> list[str]:
        if not hashes:
            return []
        return await self._write(writes.restore, list(hashes), self._fts)

    async def purge(self, hashes: Sequence[str]) -> int:
        if not hashes:
            return 0
        return await self._write(writes.purge, list(hashes), self._embedding is not None)

    async def mark_used(self, hashes: Sequence[str], at: float) -> None:
        if hashes:
            await self._write(writes.mark_used, list(hashes), at)

    # -- reads -------------------------------------------------------------------------------
    def _query(self, embedding: Vector) -> np.ndarray | None:
        if self._embedding is None or self._index is None:
            return None
        return np.frombuffer(to_blob(embedding, self._embedding), dtype=np.float32)

    async def retrieve(self, embedding: Vector, k: int, where: Filter = LIVE) -> list[QueryResult]:
        return await self._nearest(search.nearest, embedding, k, where)

    async def retrieve_hits(self, embedding: Vector, k: int, where: Filter = LIVE) -> list[Hit]:
        return await self._nearest(search.nearest_hits, embedding, k, where)

    async def _nearest(self, how: Callable[..., list[Any]], embedding: Vector, k: int, where: Filter) -> list[Any]:
        vector = self._query(embedding)
        if vector is None or k < 1:
            return []
        return await self._call(how, self._index, vector, k, where)

    async def get_many(self, hashes: Sequence[str]) -> list[Memory]:
        return await self._call(rows.by_hashes, hashes) if hashes else []

    async def nearest_above(self, embedding: Vector, threshold: float, where: Filter = LIVE) -> QueryResult | None:
        """The most similar memory ``where`` selects if its cosine similarity is at least ``threshold``."""
        vector = self._query(embedding)
        if vector is None:
            return None
        if not w.projects_only(where):
            best = await self.retrieve(cast(Vector, vector), 1, where)
            return best[0] if best and best[0].relevance_score >= threshold else None
        return await self._call(search.nearest_above, self._index, vector, threshold, where)

    async def search_lexical(self, query: str, k: int, where: Filter = LIVE) -> list[QueryResult]:
        """BM25 over the FTS5 index (any word of ``query``, taken as plain text)."""
        return await self._words(search.lexical, query, k, where)

    async def search_lexical_hits(self, query: str, k: int, where: Filter = LIVE) -> list[Hit]:
        return await self._words(search.lexical_hits, query, k, where)

    async def _words(self, how: Callable[..., list[Any]], query: str, k: int, where: Filter) -> list[Any]:
        if self._conn is not None and not self._fts:
            raise NotImplementedError("this SQLite build has no FTS5 (pip install sqlean.py)")
        return await self._call(how, query, k, where)

    async def list_memories(self, where: Filter = LIVE, offset: int = 0, limit: int | None = 10) -> list[Memory]:
        return await self._call(reads.page, where, offset, limit)

    async def count(self, where: Filter = LIVE) -> int:
        return await self._call(reads.count, where)

    async def all_tags(self, where: Filter = LIVE) -> list[tuple[str, int]]:
        return await self._call(reads.tag_counts, where)

    async def projects(self) -> list[tuple[str | None, int]]:
        return await self._call(reads.project_counts)

    async def find_hashes(self, prefix: str, limit: int = 10) -> list[str]:
        return await self._call(reads.find_hashes, prefix, limit)

    async def get_by_hash(self, content_hash: str, trashed: bool | None = False) -> Memory | None:
        return await self._call(reads.by_hash, content_hash, trashed)

    async def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        after: tuple[float, str] | None = None
        while True:
            batch = await self._call(reads.batch_after, after, batch_size, self._embedding is not None)
            if not batch:
                return
            yield batch
            last = batch[-1][0]
            after = (last.created_at, last.content_hash)

    # -- re-embedding ------------------------------------------------------------------------
    async def reembed_state(self) -> ReembedState | None:
        return await self._call(reembed.state)

    async def reembed_begin(self, target: EmbeddingInfo) -> ReembedState:
        return await self._write(reembed.begin, target)

    async def reembed_pending(self, limit: int) -> list[Memory]:
        return await self._call(reembed.pending, limit)

    async def reembed_stage(self, items: Sequence[tuple[str, Vector]]) -> None:
        if items:
            await self._write(reembed.stage, list(items))

    async def reembed_commit(self) -> bool:
        model = await self._write(reembed.commit)
        if model is None:
            return False
        self._embedding, self._index = model, VectorIndex(model)
        log.info("re-embedding committed", path=str(self.path), model=model.model, dimension=model.dimension)
        return True

    async def reembed_abort(self) -> None:
        await self._write(reembed.abort)

    # -- upkeep ------------------------------------------------------------------------------
    def _stats_sync(self, conn: Any) -> dict[str, Any]:
        meta = schema.read_meta(conn)

        def one(sql: str) -> Any:
            return conn.execute(sql).fetchone()[0]

        recorded = schema.recorded_embedding(meta)
        stats = {
            "backend": self.backend_name,
            "total_memories": reads.count(conn, LIVE),
            "trashed_memories": one("SELECT count(*) FROM memories WHERE deleted_at IS NOT NULL"),
            "unique_tags": len(reads.tag_counts(conn, LIVE)),
            "database_size_mb": _size_mb(self.path),
            "embedding_model": recorded.model if recorded else None,
            "embedding_dimension": recorded.dimension if recorded else None,
            "schema_version": int(meta.get("schema_version", schema.SCHEMA_VERSION)),
            "sqlite_version": one("SELECT sqlite_version()"),
            "sqlite_vec_version": one("SELECT vec_version()"),
            "sqlite_driver": self.driver,
            "full_text_index": self._fts,
            "journal_mode": one("PRAGMA journal_mode"),
            "database_path": str(self.path),
        }
        staging = reembed.state(conn)
        if staging is not None:
            stats["reembedding"] = {"target_model": staging.target.model, "target_dimension": staging.target.dimension,
                                    "staged": staging.staged, "total": staging.total}
        if str(stats["journal_mode"]).lower() != "wal":
            stats["warning"] = (f"WAL is off (journal_mode={stats['journal_mode']}): several processes writing "
                                "at once may get 'database is locked'; install mcp-memory-wal")
        return stats

    async def get_stats(self) -> dict[str, Any]:
        return await self._call(self._stats_sync)

    def _optimize_sync(self, conn: Any) -> dict[str, Any]:
        before = _size_mb(self.path)
        actions = ["vacuum", "reindex", "analyze", "wal_checkpoint"]
        if self._fts:
            with transaction(conn):
                conn.execute("INSERT INTO memory_fts (memory_fts) VALUES ('optimize')")
            actions.insert(0, "fts_optimize")
        conn.execute("VACUUM")
        conn.execute("REINDEX")
        conn.execute("ANALYZE")
        busy, wal_pages, moved = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return {"size_before_mb": before, "size_after_mb": _size_mb(self.path), "actions": actions,
                "checkpoint": {"busy": bool(busy), "wal_pages": wal_pages, "checkpointed_pages": moved}}

    async def optimize(self) -> dict[str, Any]:
        return await self._call(self._optimize_sync)

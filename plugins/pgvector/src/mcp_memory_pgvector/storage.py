"""``PgvectorStorage``: the ``MemoryStorage`` protocol over PostgreSQL + pgvector, plus lexical search (full-text),
near-duplicate checks, re-embedding and warm-up.

Vector search is exact by default (``ORDER BY embedding <=> q LIMIT k`` over the filtered rows, written so that
no index is used); with ``MCP_MEMORY_PGVECTOR_INDEX=hnsw`` it goes through an HNSW index (pgvector 0.8 iterative
scans keep filtered queries full). The near-duplicate check is always exact.
"""

from __future__ import annotations

import re
import time
from typing import Any, AsyncIterator, Sequence

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from mcp_memory.errors import EmbeddingError, MemoryServiceError, StorageError
from mcp_memory.models import Memory, QueryResult, Vector, relevance_from_cosine_distance
from mcp_memory.protocols import LIVE, EmbeddingInfo, Filter
from mcp_memory.storage_base import BaseStorage

from . import schema
from .db import Connected, connect, translate
from .filters import condition, order
from .reembed import ReembedMixin
from .rows import COLUMNS, INSERT, WIDTH, insert_params, to_memory
from .schema import mismatch, recorded_embedding
from .settings import load_config
from .vectors import PgVector, to_param

MAX_TERMS = 64
_WORD = re.compile(r"\w+")
_LAST_CHARACTER = "\U0010ffff"
_EMBEDDING_META = "SELECT key, value FROM meta WHERE key IN ('embedding_model', 'embedding_dimension')"


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def nearest_query(vector: PgVector, k: int, where: Filter, exact: bool) -> tuple[sql.Composable, list[Any]]:
    """The k nearest rows of ``where`` with their cosine distance and the recorded model, nearest first.

    Exact: "+ 0" makes the ordering an expression no index provides, so PostgreSQL computes the distance of every
    selected row (in parallel workers on a large table). HNSW: ``ORDER BY distance`` is the index's ordering.
    """
    cond, params = condition(where)
    ordering = "(embedding <=> %s) + 0" if exact else "distance"
    statement = sql.SQL(
        "WITH top AS (SELECT id, embedding <=> %s AS distance FROM memories WHERE {cond} "
        "ORDER BY {ordering} LIMIT %s) "
        "SELECT {columns}, top.distance, (SELECT value FROM meta WHERE key = 'embedding_model') "
        "FROM top JOIN memories USING (id) ORDER BY top.distance, content_hash"
    ).format(cond=cond, ordering=sql.SQL(ordering), columns=sql.SQL(COLUMNS))
    return statement, [vector, *params, *([vector] if exact else []), k]


class PgvectorStorage(ReembedMixin, Connected, BaseStorage):
    """A store in one schema of a PostgreSQL database; many processes and machines may share it."""

    backend_name = "pgvector"

    def __init__(self, settings: Any = None, location: str | None = None):
        Connected.__init__(self)
        self._settings = settings
        self._location = location

    # -- lifecycle ---------------------------------------------------------------------------
    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        if self._pool is not None:
            return
        cfg = load_config(self._settings, self._location)
        conn = await connect(cfg)
        try:
            state = await schema.ensure(conn, cfg, embedding)
        except MemoryServiceError:
            raise
        except psycopg.Error as exc:
            raise translate(cfg, exc) from None
        finally:
            await conn.close()
        await self._open_pool(cfg, state)
        self._cfg, self._state = cfg, state

    async def warm_up(self) -> None:
        """Open the pool's connections and read the table once, ahead of the first search."""
        async def work(conn: Any) -> None:
            await conn.execute("SELECT count(*) FROM memories WHERE deleted_at IS NULL")
        await self.run(work)

    # -- writes ------------------------------------------------------------------------------
    async def _checked_model(self, conn: Any) -> EmbeddingInfo:
        """The model recorded now, row-locked against a concurrent re-embedding swap until this transaction ends;
        EmbeddingError when it is no longer this process's model."""
        meta = dict(await (await conn.execute(_EMBEDDING_META + " FOR KEY SHARE")).fetchall())
        current = recorded_embedding(meta)
        mine = self._require_state().embedding
        if current is None:
            raise StorageError("the pgvector store has no embedding model recorded: open it with an embedder "
                               "before storing memories")
        if mine is not None and current != mine:
            raise mismatch(current, mine, self._config().shown)
        return current

    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        if not items:
            return []
        state = self._require_state()
        dimension = state.embedding.dimension if state.embedding else None
        rows = [insert_params(memory, to_param(vector, dimension)) for memory, vector in items]
        by_hash = sorted(range(len(rows)), key=lambda i: rows[i][1])  # one lock order for concurrent batches

        async def work(conn: Any) -> list[bool]:
            current = await self._checked_model(conn)
            if dimension is None and any(r[-1].array.size != current.dimension for r in rows):
                raise EmbeddingError(f"the store holds {current.dimension}-dimensional vectors of {current.model}")
            inserted: list[bool] = []
            async with conn.cursor() as cur:
                await cur.executemany(INSERT, [rows[i] for i in by_hash], returning=True)
                while True:
                    inserted.append(await cur.fetchone() is not None)
                    if not cur.nextset():
                        break
            return inserted

        done = await self.run(work, transaction=True)
        result = [False] * len(rows)
        for position, index in enumerate(by_hash):
            result[index] = done[position]
        return result

    async def update_memory(self, memory: Memory) -> bool:
        rows = await self.fetchall(
            "UPDATE memories SET tags = %s, memory_type = %s, metadata = %s, project = %s, updated_at = %s, "
            "last_used_at = %s, use_count = %s WHERE content_hash = %s AND deleted_at IS NULL RETURNING id",
            (list(memory.tags), memory.memory_type, Jsonb(dict(memory.metadata)), memory.project,
             float(memory.updated_at), None if memory.last_used_at is None else float(memory.last_used_at),
             int(memory.use_count), memory.content_hash))
        return bool(rows)

    async def _move(self, query: str, params: tuple[Any, ...], hashes: Sequence[str]) -> list[str]:
        """Run an UPDATE ... RETURNING content_hash over ``hashes``; the hashes changed, in the order given."""
        wanted = list(dict.fromkeys(hashes))
        if not wanted:
            return []
        changed = {h for (h,) in await self.fetchall(query, (*params, sorted(wanted)))}
        return [h for h in wanted if h in changed]

    async def trash(self, hashes: Sequence[str], at: float, reason: str,
                    replaced_by: str | None = None) -> list[str]:
        return await self._move("UPDATE memories SET deleted_at = %s, deleted_reason = %s, replaced_by = %s "
                                "WHERE content_hash = ANY(%s) AND deleted_at IS NULL RETURNING content_hash",
                                (float(at), reason, replaced_by), hashes)

    async def restore(self, hashes: Sequence[str]) -> list[str]:
        return await self._move("UPDATE memories SET deleted_at = NULL, deleted_reason = NULL, replaced_by = NULL "
                                "WHERE content_hash = ANY(%s) AND deleted_at IS NOT NULL RETURNING content_hash",
                                (), hashes)

    async def purge(self, hashes: Sequence[str]) -> int:
        return len(await self._move("DELETE FROM memories WHERE content_hash = ANY(%s) AND deleted_at IS NOT NULL "
                                    "RETURNING content_hash", (), hashes))

    async def mark_used(self, hashes: Sequence[str], at: float) -> None:
        wanted = sorted(set(hashes))
        if wanted:
            async def work(conn: Any) -> None:
                await conn.execute("UPDATE memories SET last_used_at = %s, use_count = use_count + 1 "
                                   "WHERE content_hash = ANY(%s) AND deleted_at IS NULL", (float(at), wanted))
            await self.run(work)

    # -- reads -------------------------------------------------------------------------------
    async def get_by_hash(self, content_hash: str, trashed: bool | None = False) -> Memory | None:
        which = {False: " AND deleted_at IS NULL", True: " AND deleted_at IS NOT NULL", None: ""}[trashed]
        rows = await self.fetchall(f"SELECT {COLUMNS} FROM memories WHERE content_hash = %s{which}", (content_hash,))
        return to_memory(rows[0]) if rows else None

    async def find_hashes(self, prefix: str, limit: int = 10) -> list[str]:
        if limit <= 0:
            return []
        # the range lets the (C collation) unique index find the prefix; LIKE (wildcards escaped) makes it exact
        rows = await self.fetchall("SELECT content_hash FROM memories WHERE content_hash >= %s AND content_hash < %s "
                                   "AND content_hash LIKE %s ORDER BY content_hash LIMIT %s",
                                   (prefix, prefix + _LAST_CHARACTER, _like_prefix(prefix), limit))
        return [h for (h,) in rows]

    async def retrieve(self, embedding: Vector, k: int, where: Filter = LIVE) -> list[QueryResult]:
        return await self._nearest(embedding, k, where, exact=self._config().index == "exact")

    async def nearest_above(self, embedding: Vector, threshold: float, where: Filter = LIVE) -> QueryResult | None:
        """The near-duplicate check: exact, unless MCP_MEMORY_PGVECTOR_DUPLICATE_SEARCH=index in HNSW mode (the
        contract asks for exactness; an index finds near-identical vectors almost always, not always)."""
        cfg = self._config()
        exact = cfg.index == "exact" or cfg.duplicate_search == "exact"
        [best] = await self._nearest(embedding, 1, where, exact=exact) or [None]
        return best if best is not None and best.relevance_score >= threshold else None

    async def _nearest(self, embedding: Vector, k: int, where: Filter, exact: bool) -> list[QueryResult]:
        state = self._require_state()
        if k <= 0 or state.embedding is None:
            return []
        statement, values = nearest_query(to_param(embedding, state.embedding.dimension), k, where, exact)
        rows = await self.fetchall(statement, values)
        if rows and rows[0][WIDTH + 1] != state.embedding.model:
            recorded = EmbeddingInfo(rows[0][WIDTH + 1], state.embedding.dimension)
            raise mismatch(recorded, state.embedding, self._config().shown)
        return [QueryResult(to_memory(row), relevance_from_cosine_distance(row[WIDTH])) for row in rows]

    async def search_lexical(self, query: str, k: int, where: Filter = LIVE) -> list[QueryResult]:
        """Full-text search: the words of ``query`` (never its syntax) ORed, ranked by ``ts_rank_cd``."""
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))[:MAX_TERMS]
        if not words or k <= 0:
            return []
        config = self._require_state().text_search
        tsquery = sql.SQL(" || ").join([sql.SQL("plainto_tsquery(%s::regconfig, %s)")] * len(words))
        word_params = [value for word in words for value in (config, word)]
        cond, params = condition(where)
        statement = sql.SQL(
            "SELECT {columns}, ts_rank_cd(content_tsv, {q}, 1) AS score FROM memories "
            "WHERE content_tsv @@ ({q}) AND {cond} ORDER BY score DESC, created_at DESC, content_hash DESC LIMIT %s"
        ).format(columns=sql.SQL(COLUMNS), q=tsquery, cond=cond)
        rows = await self.fetchall(statement, [*word_params, *word_params, *params, k])
        best = rows[0][WIDTH] if rows else 0.0
        return [QueryResult(to_memory(row), row[WIDTH] / best if best > 0 else 1.0) for row in rows]

    async def list_memories(self, where: Filter = LIVE, offset: int = 0, limit: int | None = 10) -> list[Memory]:
        cond, params = condition(where)
        statement = sql.SQL("SELECT {columns} FROM memories WHERE {cond} ORDER BY {order} LIMIT %s OFFSET %s").format(
            columns=sql.SQL(COLUMNS), cond=cond, order=order(where))
        return [to_memory(row) for row in await self.fetchall(statement, [*params, limit, max(0, offset)])]

    async def count(self, where: Filter = LIVE) -> int:
        cond, params = condition(where)
        rows = await self.fetchall(sql.SQL("SELECT count(*) FROM memories WHERE {}").format(cond), params)
        return int(rows[0][0])

    async def all_tags(self, where: Filter = LIVE) -> list[tuple[str, int]]:
        cond, params = condition(where)
        statement = sql.SQL("SELECT tag, count(*) FROM memories, unnest(tags) AS tag WHERE {} "
                            "GROUP BY tag ORDER BY count(*) DESC, tag COLLATE \"C\"").format(cond)
        return [(tag, int(n)) for tag, n in await self.fetchall(statement, params)]

    async def projects(self) -> list[tuple[str | None, int]]:
        rows = await self.fetchall("SELECT project, count(*) FROM memories WHERE deleted_at IS NULL GROUP BY project "
                                   "ORDER BY count(*) DESC, project IS NOT NULL, project COLLATE \"C\"")
        return [(project, int(n)) for project, n in rows]

    async def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        """Every memory, trash included, oldest first, by keyset pages (created_at, content_hash)."""
        state = self._require_state()
        vector = "embedding::vector" if state.embedding is not None else "NULL::text"
        size = max(1, int(batch_size))
        after: tuple[float, str] | None = None
        while True:
            page = "" if after is None else "WHERE (created_at, content_hash) > (%s, %s) "
            rows = await self.fetchall(f"SELECT {COLUMNS}, {vector} FROM memories {page}"
                                       "ORDER BY created_at, content_hash LIMIT %s",
                                       [*(after or ()), size], binary=True)
            if not rows:
                return
            yield [(to_memory(row), row[WIDTH]) for row in rows]
            if len(rows) < size:
                return
            last = rows[-1]
            after = (last[5], last[1])

    # -- upkeep ------------------------------------------------------------------------------
    async def get_stats(self) -> dict[str, Any]:
        cfg, state = self._config(), self._require_state()

        async def work(conn: Any) -> tuple[Any, ...]:
            counts = await (await conn.execute(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL), "
                "(SELECT count(DISTINCT tag) FROM memories, unnest(tags) AS tag WHERE deleted_at IS NULL), "
                "pg_total_relation_size('memories') + pg_total_relation_size('meta') FROM memories")).fetchone()
            meta = dict(await (await conn.execute("SELECT key, value FROM meta")).fetchall())
            has_hnsw = await schema.index_exists(conn, cfg.schema, schema.HNSW_INDEX)
            return counts, meta, has_hnsw

        (live, trashed, tags, size), meta, has_hnsw = await self.run(work)
        recorded = recorded_embedding(meta)
        target = recorded_embedding(meta, "reembed")
        return {"backend": self.backend_name, "total_memories": int(live), "trashed_memories": int(trashed),
                "unique_tags": int(tags), "database_size_mb": round(size / 1_048_576, 3),
                "embedding_model": recorded.model if recorded else None,
                "embedding_dimension": recorded.dimension if recorded else None,
                "location": cfg.shown, "schema_version": int(meta.get("schema_version", 0)),
                "vector_search": cfg.index, "hnsw_index": has_hnsw,
                "ef_search": cfg.ef_search if cfg.index == "hnsw" else None,
                "text_search": state.text_search, "pgvector_version": state.pgvector_version,
                "reembedding_to": f"{target.model} ({target.dimension} dims)" if target else None}

    async def _size(self) -> int:
        rows = await self.fetchall("SELECT pg_total_relation_size('memories') + pg_total_relation_size('meta')")
        return int(rows[0][0])

    async def optimize(self) -> dict[str, Any]:
        """VACUUM (ANALYZE) the table: dead rows of updates and purges become reusable, statistics are fresh."""
        before = await self._size()
        started = time.perf_counter()

        async def work(conn: Any) -> None:
            await conn.execute("VACUUM (ANALYZE) memories")
            await conn.execute("ANALYZE meta")
        await self.run(work)
        after = await self._size()
        return {"actions": ["VACUUM (ANALYZE) memories", "ANALYZE meta"],
                "seconds": round(time.perf_counter() - started, 3), "size_before_mb": round(before / 1_048_576, 3),
                "size_after_mb": round(after / 1_048_576, 3)}

    async def close(self) -> None:
        await Connected.close(self)


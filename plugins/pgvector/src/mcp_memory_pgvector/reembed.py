"""Re-embedding in place: vectors of the target model are staged in a column ``embedding_next vector(m)`` beside
``embedding vector(n)``; the commit replaces the old column by the staged one in one transaction.

A ``vector(n)`` column has a fixed dimension, so the swap cannot be an UPDATE: it drops ``embedding``, renames
``embedding_next`` and rebuilds the HNSW index if there was one, all under an exclusive lock of the table (DDL is
transactional in PostgreSQL: a process killed at any moment leaves the old model or the new one). Writers lock the
meta rows of the model (``FOR KEY SHARE``) before they insert; the commit locks them ``FOR UPDATE`` first, so a
writer of the old model can never put an old vector into the new column.
"""

from __future__ import annotations

from typing import Any, Sequence


from mcp_memory.errors import StorageError
from mcp_memory.models import Memory, Vector
from mcp_memory.protocols import EmbeddingInfo, ReembedState

from . import schema
from .rows import COLUMNS, to_memory
from .schema import recorded_embedding, set_meta
from .vectors import to_param

STAGING = "embedding_next"
_REEMBED_KEYS = "('reembed_model', 'reembed_dimension')"


class ReembedMixin:
    """The ``Reembedding`` capability of ``PgvectorStorage`` (uses its ``run``/``fetchall``)."""

    async def _target(self, conn: Any, lock: str = "") -> EmbeddingInfo | None:
        rows = await (await conn.execute(f"SELECT key, value FROM meta {lock}")).fetchall()
        return recorded_embedding(dict(rows), "reembed")

    async def reembed_state(self) -> ReembedState | None:
        async def work(conn: Any) -> ReembedState | None:
            target = await self._target(conn)
            if target is None:
                return None
            staged, total = await (await conn.execute(
                f"SELECT count({STAGING}), count(*) FROM memories")).fetchone()
            return ReembedState(target, int(staged), int(total))
        return await self.run(work)  # type: ignore[attr-defined]

    async def reembed_begin(self, target: EmbeddingInfo) -> ReembedState:
        async def work(conn: Any) -> None:
            current = await self._target(conn, "FOR UPDATE")
            if current == target:
                return  # resume the staging already begun
            await conn.execute(f"ALTER TABLE memories DROP COLUMN IF EXISTS {STAGING}")
            await schema.add_vector_column(conn, STAGING, target.dimension)
            await set_meta(conn, reembed_model=target.model, reembed_dimension=str(target.dimension))

        await self.run(work, transaction=True)  # type: ignore[attr-defined]
        state = await self.reembed_state()
        assert state is not None
        return state

    async def reembed_pending(self, limit: int) -> list[Memory]:
        """Memories without a staged vector, oldest first (the order of ``iter_memories``)."""
        if limit <= 0:
            return []
        state = await self.reembed_state()
        missing = f"WHERE {STAGING} IS NULL " if state is not None else ""
        rows = await self.fetchall(  # type: ignore[attr-defined]
            f"SELECT {COLUMNS} FROM memories {missing}ORDER BY created_at, content_hash LIMIT %s", (limit,))
        return [to_memory(row) for row in rows]

    async def reembed_stage(self, items: Sequence[tuple[str, Vector]]) -> None:
        if not items:
            return

        async def work(conn: Any) -> None:
            target = await self._target(conn, "FOR KEY SHARE")
            if target is None:
                raise StorageError("no re-embedding was begun (reembed_begin) or it was aborted meanwhile")
            params = sorted((content_hash, to_param(vector, target.dimension)) for content_hash, vector in items)
            async with conn.cursor() as cur:
                await cur.executemany(f"UPDATE memories SET {STAGING} = %s WHERE content_hash = %s",
                                      [(vector, content_hash) for content_hash, vector in params])

        await self.run(work, transaction=True)  # type: ignore[attr-defined]

    async def reembed_commit(self) -> bool:
        cfg = self._config()  # type: ignore[attr-defined]

        async def work(conn: Any) -> EmbeddingInfo | None:
            target = await self._target(conn, "FOR UPDATE")
            if target is None:
                return None
            await conn.execute("LOCK TABLE memories IN ACCESS EXCLUSIVE MODE")
            missing = await (await conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM memories WHERE {STAGING} IS NULL)")).fetchone()
            if missing[0]:
                return None
            had_index = await schema.index_exists(conn, cfg.schema, schema.HNSW_INDEX)
            await conn.execute("ALTER TABLE memories DROP COLUMN IF EXISTS embedding")
            await conn.execute(f"ALTER TABLE memories RENAME COLUMN {STAGING} TO embedding")
            await conn.execute("ALTER TABLE memories ALTER COLUMN embedding SET NOT NULL")
            await set_meta(conn, embedding_model=target.model, embedding_dimension=str(target.dimension))
            await conn.execute(f"DELETE FROM meta WHERE key IN {_REEMBED_KEYS}")
            if had_index or cfg.index == "hnsw":
                await schema.create_hnsw(conn, cfg.schema)
            return target

        switched = await self.run(work, transaction=True)  # type: ignore[attr-defined]
        if switched is None:
            return False
        self._require_state().embedding = switched  # type: ignore[attr-defined]
        return True

    async def reembed_abort(self) -> None:
        async def work(conn: Any) -> None:
            await self._target(conn, "FOR UPDATE")
            await conn.execute(f"ALTER TABLE memories DROP COLUMN IF EXISTS {STAGING}")
            await conn.execute(f"DELETE FROM meta WHERE key IN {_REEMBED_KEYS}")

        await self.run(work, transaction=True)  # type: ignore[attr-defined]


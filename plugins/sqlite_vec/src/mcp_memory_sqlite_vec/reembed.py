"""Re-embedding in place: vectors of another model are staged in ``reembed_vectors`` (the target model in
``meta``) beside the current ones, then swapped in by one transaction.

Until the swap the store serves the old model. The swap drops and re-creates the ``vec0`` table with the new
dimension, fills it from the staging table, records the new model and empties the staging table: a process
killed at any moment leaves the file on the old model (staged vectors resume the work) or on the new one,
never between.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp_memory.errors import StorageError
from mcp_memory.models import Memory, Vector
from mcp_memory.protocols import EmbeddingInfo, ReembedState

from . import schema
from .rows import COLUMNS, chunks, memories, to_blob, transaction

TARGET_KEYS = ("reembed_model", "reembed_dimension")
MISSING = "NOT EXISTS (SELECT 1 FROM reembed_vectors r WHERE r.memory_id = m.id)"


def target(conn: Any) -> EmbeddingInfo | None:
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)", TARGET_KEYS).fetchall())
    if len(meta) < 2:
        return None
    return EmbeddingInfo(meta["reembed_model"], int(meta["reembed_dimension"]))


def state(conn: Any) -> ReembedState | None:
    goal = target(conn)
    if goal is None:
        return None
    staged = conn.execute("SELECT count(*) FROM reembed_vectors").fetchone()[0]
    return ReembedState(goal, staged, conn.execute("SELECT count(*) FROM memories").fetchone()[0])


def begin(conn: Any, goal: EmbeddingInfo) -> ReembedState:
    """Start staging for ``goal``, or resume the staging already begun for it (another target's is dropped)."""
    schema.check_dimension(goal.dimension)
    with transaction(conn):
        if target(conn) != goal:
            conn.execute("DELETE FROM reembed_vectors")
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             [("reembed_model", goal.model), ("reembed_dimension", str(goal.dimension))])
    found = state(conn)
    assert found is not None
    return found


def pending(conn: Any, limit: int) -> list[Memory]:
    """Up to ``limit`` memories (trashed ones included) without a staged vector, in id order."""
    rows = conn.execute(f"SELECT {COLUMNS} FROM memories m WHERE {MISSING} ORDER BY m.id LIMIT ?",
                        (max(0, limit),)).fetchall()
    return memories(conn, rows)


def stage(conn: Any, items: Sequence[tuple[str, Vector]]) -> None:
    """Keep these (hash, vector of the target model); hashes no longer stored are skipped."""
    with transaction(conn):
        goal = target(conn)
        if goal is None:
            raise StorageError("no re-embedding was begun on this store; call reembed_begin first")
        blobs = {h: to_blob(vector, goal) for h, vector in items}
        for part, q in chunks(list(blobs)):
            rows = conn.execute(f"SELECT id, content_hash FROM memories WHERE content_hash IN ({q})", part).fetchall()
            conn.executemany("INSERT OR REPLACE INTO reembed_vectors (memory_id, embedding) VALUES (?, ?)",
                             [(i, blobs[h]) for i, h in rows])


def commit(conn: Any) -> EmbeddingInfo | None:
    """Swap the staged vectors in, in one transaction; the new model, or None (nothing changed) when no
    re-embedding was begun or some memory has no staged vector yet."""
    with transaction(conn):
        goal = target(conn)
        if goal is None or conn.execute(f"SELECT 1 FROM memories m WHERE {MISSING} LIMIT 1").fetchone():
            return None
        conn.execute("DROP TABLE IF EXISTS memory_vectors")
        schema.create_vector_table(conn, goal.dimension)
        conn.execute("INSERT INTO memory_vectors (rowid, embedding) SELECT r.memory_id, r.embedding "
                     "FROM reembed_vectors r JOIN memories m ON m.id = r.memory_id ORDER BY r.memory_id")
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                         [("embedding_model", goal.model), ("embedding_dimension", str(goal.dimension))])
        conn.execute(f"DELETE FROM meta WHERE key IN ({','.join('?' * len(TARGET_KEYS))})", TARGET_KEYS)
        conn.execute("DELETE FROM reembed_vectors")
        # a gap in the change log makes every process's in-memory index reload (and notice the new model)
        last = conn.execute("SELECT coalesce(max(seq), 0) FROM vector_changes").fetchone()[0]
        conn.execute("DELETE FROM vector_changes")
        conn.execute("INSERT INTO vector_changes (seq, memory_id, added) VALUES (?, 0, 0)", (last + 2,))
    return goal


def abort(conn: Any) -> None:
    with transaction(conn):
        conn.execute("DELETE FROM reembed_vectors")
        conn.execute(f"DELETE FROM meta WHERE key IN ({','.join('?' * len(TARGET_KEYS))})", TARGET_KEYS)

"""Write transactions: store, update, trash, restore, purge and usage (run on the store's worker thread).

Each function is one transaction. The full-text index (live memories only) and the ``vector_changes`` log
(what the in-memory vector index of every process must follow) are written in the same transaction, a whole
batch in one statement each: FTS5 fed row by row, as a trigger does, costs about 15 times more.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mcp_memory.errors import EmbeddingError
from mcp_memory.models import Memory, Vector
from mcp_memory.protocols import EmbeddingInfo

from . import schema
from .rows import chunks, to_blob, transaction

TAG_INSERT = "INSERT INTO memory_tags (memory_id, tag, position, created_at) VALUES (?, ?, ?, ?)"
MEMORY_INSERT = ("INSERT OR IGNORE INTO memories (content_hash, content, memory_type, metadata, created_at, "
                 "updated_at, project, last_used_at, use_count, deleted_at, deleted_reason, replaced_by) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _json(metadata: dict[str, Any] | None) -> str:
    return json.dumps(metadata or {}, ensure_ascii=False)


def _tag_rows(memory_id: int, tags: Sequence[str], created_at: float) -> list[tuple[int, str, int, float]]:
    return [(memory_id, tag, i, created_at) for i, tag in enumerate(dict.fromkeys(tags))]


def prune_log(conn: Any) -> None:
    """Keep the last ``VECTOR_LOG_KEEP`` entries of the change log (a reader further behind reloads)."""
    conn.execute("DELETE FROM vector_changes WHERE seq <= (SELECT max(seq) FROM vector_changes) - ?",
                 (schema.VECTOR_LOG_KEEP,))


def log_and_index(conn: Any, ids: list[int], added: bool, fts: bool) -> None:
    """Record memories entering (or leaving) the live set in the change log and the full-text index.

    Leaving: call it while ``memories`` still holds their content (FTS5 needs the text it indexed).
    """
    for part, q in chunks(ids):
        conn.execute(f"INSERT INTO vector_changes (memory_id, added) SELECT id, ? FROM memories WHERE id IN ({q})",
                     [int(added), *part])
        if fts and added:
            conn.execute(f"INSERT INTO memory_fts (rowid, content) SELECT id, content FROM memories WHERE id IN ({q})",
                         part)
        elif fts:
            conn.execute("INSERT INTO memory_fts (memory_fts, rowid, content) "
                         f"SELECT 'delete', id, content FROM memories WHERE id IN ({q})", part)
    prune_log(conn)


def check_model(conn: Any, info: EmbeddingInfo) -> None:
    """Refuse to write vectors of a model the file no longer holds (another process re-embedded it)."""
    recorded = schema.recorded_embedding(dict(conn.execute(
        "SELECT key, value FROM meta WHERE key IN ('embedding_model', 'embedding_dimension')").fetchall()))
    if recorded is not None and recorded != info:
        raise EmbeddingError(
            f"the store now holds vectors of {recorded.model!r} ({recorded.dimension} dims): it was re-embedded "
            f"while this process ran on {info.model!r} ({info.dimension} dims); restart it with "
            f"MCP_MEMORY_EMBEDDING_MODEL={recorded.model}")


def insert_many(conn: Any, items: Sequence[tuple[Memory, Vector]], info: EmbeddingInfo, fts: bool) -> list[bool]:
    """Insert memories with tags and vectors in one transaction; False for hashes already present (live or
    trashed). A memory with ``deleted_at`` set goes to the trash: stored whole, vector included, but neither
    full-text indexed nor logged as live. Every vector is checked before anything is written."""
    blobs = [to_blob(vector, info) for _, vector in items]
    results: list[bool] = []
    tag_rows: list[tuple[int, str, int, float]] = []
    vector_rows: list[tuple[int, bytes]] = []
    live: list[int] = []
    with transaction(conn):
        check_model(conn, info)
        for (m, _), blob in zip(items, blobs, strict=True):
            cur = conn.execute(MEMORY_INSERT, (
                m.content_hash, m.content, m.memory_type, _json(m.metadata), m.created_at, m.updated_at, m.project,
                m.last_used_at, m.use_count, m.deleted_at, m.deleted_reason, m.replaced_by))
            results.append(cur.rowcount == 1)
            if cur.rowcount == 1:
                tag_rows.extend(_tag_rows(cur.lastrowid, m.tags, m.created_at))
                vector_rows.append((cur.lastrowid, blob))
                if m.deleted_at is None:
                    live.append(cur.lastrowid)
        conn.executemany(TAG_INSERT, tag_rows)
        conn.executemany("INSERT INTO memory_vectors (rowid, embedding) VALUES (?, ?)", vector_rows)
        log_and_index(conn, live, True, fts)
    return results


def update_memory(conn: Any, memory: Memory) -> bool:
    """Replace tags, type, metadata, project, updated_at and usage of the live memory with this hash."""
    with transaction(conn):
        row = conn.execute("SELECT id, created_at, project FROM memories WHERE content_hash = ? AND deleted_at IS NULL",
                           (memory.content_hash,)).fetchone()
        if row is None:
            return False
        memory_id, created_at, project = row
        conn.execute("UPDATE memories SET memory_type = ?, metadata = ?, project = ?, updated_at = ?, "
                     "last_used_at = ?, use_count = ? WHERE id = ?",
                     (memory.memory_type, _json(memory.metadata), memory.project, memory.updated_at,
                      memory.last_used_at, memory.use_count, memory_id))
        conn.execute("DELETE FROM memory_tags WHERE memory_id = ?", (memory_id,))
        conn.executemany(TAG_INSERT, _tag_rows(memory_id, memory.tags, created_at))
        if memory.project != project:  # the in-memory index keeps each vector's project: re-read it
            conn.execute("INSERT INTO vector_changes (memory_id, added) VALUES (?, 1)", (memory_id,))
            prune_log(conn)
    return True


def _ids(conn: Any, hashes: Sequence[str], trashed: bool) -> dict[str, int]:
    """hash -> id of the memories among ``hashes`` that are live (or trashed)."""
    state = "IS NOT NULL" if trashed else "IS NULL"
    found: dict[str, int] = {}
    for part, q in chunks(list(dict.fromkeys(hashes))):
        found.update((h, i) for i, h in conn.execute(
            f"SELECT id, content_hash FROM memories WHERE content_hash IN ({q}) AND deleted_at {state}", part))
    return found


def _in_given_order(hashes: Sequence[str], found: dict[str, int]) -> list[str]:
    return [h for h in dict.fromkeys(hashes) if h in found]


def trash(conn: Any, hashes: Sequence[str], at: float, reason: str, replaced_by: str | None, fts: bool) -> list[str]:
    with transaction(conn):
        found = _ids(conn, hashes, trashed=False)
        ids = list(found.values())
        log_and_index(conn, ids, False, fts)
        for part, q in chunks(ids):
            conn.execute(f"UPDATE memories SET deleted_at = ?, deleted_reason = ?, replaced_by = ? WHERE id IN ({q})",
                         [at, reason, replaced_by, *part])
    return _in_given_order(hashes, found)


def restore(conn: Any, hashes: Sequence[str], fts: bool) -> list[str]:
    with transaction(conn):
        found = _ids(conn, hashes, trashed=True)
        ids = list(found.values())
        for part, q in chunks(ids):
            conn.execute("UPDATE memories SET deleted_at = NULL, deleted_reason = NULL, replaced_by = NULL "
                         f"WHERE id IN ({q})", part)
        log_and_index(conn, ids, True, fts)
    return _in_given_order(hashes, found)


def purge(conn: Any, hashes: Sequence[str], has_vectors: bool) -> int:
    """Delete trashed memories for good: row, tags, vector and any staged re-embedding vector."""
    with transaction(conn):
        ids = list(_ids(conn, hashes, trashed=True).values())
        for part, q in chunks(ids):
            conn.execute(f"INSERT INTO vector_changes (memory_id, added) SELECT id, 0 FROM memories WHERE id IN ({q})",
                         part)
            conn.execute(f"DELETE FROM memory_tags WHERE memory_id IN ({q})", part)
            conn.execute(f"DELETE FROM reembed_vectors WHERE memory_id IN ({q})", part)
            if has_vectors:
                conn.execute(f"DELETE FROM memory_vectors WHERE rowid IN ({q})", part)
            conn.execute(f"DELETE FROM memories WHERE id IN ({q})", part)
        prune_log(conn)
    return len(ids)


def mark_used(conn: Any, hashes: Sequence[str], at: float) -> None:
    with transaction(conn):
        for part, q in chunks(list(dict.fromkeys(hashes))):
            conn.execute("UPDATE memories SET last_used_at = ?, use_count = use_count + 1 "
                         f"WHERE content_hash IN ({q}) AND deleted_at IS NULL", [at, *part])

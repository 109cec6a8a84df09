"""Synchronous SQL over one connection (run on the store's worker thread). Values are always bound."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

from mcp_memory.errors import EmbeddingError
from mcp_memory.models import Memory, QueryResult, Vector, relevance_from_cosine_distance
from mcp_memory.protocols import EmbeddingInfo

from .index import VectorIndex
from .schema import VECTOR_LOG_KEEP

COLUMNS = "m.id, m.content_hash, m.content, m.memory_type, m.metadata, m.created_at, m.updated_at"
NEWEST_FIRST = "ORDER BY m.created_at DESC, m.content_hash DESC"
CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-variable limit
MAX_MATCH_TERMS = 64
_WORD = re.compile(r"\w+")


@contextmanager
def transaction(conn: Any) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def marks(n: int) -> str:
    return ",".join("?" * n)


def to_blob(vector: Vector, info: EmbeddingInfo) -> bytes:
    """A vector as float32 bytes, checked against the store's dimension."""
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.shape[0] != info.dimension:
        raise EmbeddingError(
            f"vector has {array.shape[0]} dimensions but this store holds {info.dimension}-dimension "
            f"vectors of {info.model!r}; embed with the same model"
        )
    if not np.isfinite(array).all():
        raise EmbeddingError("vector contains NaN or infinite values")
    return array.tobytes()


def filters(tags: Sequence[str] | None, memory_type: str | None) -> tuple[str, list[Any]]:
    """A WHERE clause (any-tag and/or type) over alias ``m`` with its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if tags:
        clauses.append(f"m.id IN (SELECT memory_id FROM memory_tags WHERE tag IN ({marks(len(tags))}))")
        params.extend(tags)
    if memory_type is not None:
        clauses.append("m.memory_type = ?")
        params.append(memory_type)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _memories(conn: Any, rows: list[tuple]) -> list[Memory]:
    """Turn memory rows (COLUMNS order) into Memory objects, with their tags, keeping row order."""
    tags: dict[int, list[str]] = {row[0]: [] for row in rows}
    ids = list(tags)
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        for memory_id, tag in conn.execute(
            f"SELECT memory_id, tag FROM memory_tags WHERE memory_id IN ({marks(len(part))}) "
            "ORDER BY memory_id, position", part,
        ):
            tags[memory_id].append(tag)
    return [
        Memory(content=content, content_hash=h, tags=tags[mid], memory_type=mtype,
               metadata=json.loads(meta) if meta else {}, created_at=created, updated_at=updated)
        for mid, h, content, mtype, meta, created, updated in rows
    ]


def select(conn: Any, where: str = "", params: Sequence[Any] = (), tail: str = "") -> list[Memory]:
    rows = conn.execute(f"SELECT {COLUMNS} FROM memories m{where} {tail}", list(params)).fetchall()
    return _memories(conn, rows)


def by_ids(conn: Any, ids: list[int]) -> dict[int, Memory]:
    out: dict[int, Memory] = {}
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        rows = conn.execute(f"SELECT {COLUMNS} FROM memories m WHERE m.id IN ({marks(len(part))})", part).fetchall()
        out.update(zip((r[0] for r in rows), _memories(conn, rows)))
    return out


# -- writes ----------------------------------------------------------------------------------
TAG_INSERT = "INSERT INTO memory_tags (memory_id, tag, position, created_at) VALUES (?, ?, ?, ?)"


def _tag_rows(memory_id: int, tags: Sequence[str], created_at: float) -> list[tuple[int, str, int, float]]:
    return [(memory_id, tag, i, created_at) for i, tag in enumerate(dict.fromkeys(tags))]


def _prune_log(conn: Any) -> None:
    """Keep the last ``VECTOR_LOG_KEEP`` entries of the vector change log (a reader further behind reloads)."""
    conn.execute("DELETE FROM vector_changes WHERE seq <= (SELECT max(seq) FROM vector_changes) - ?",
                 (VECTOR_LOG_KEEP,))


def _chunks(ids: list[int]) -> Iterator[tuple[list[int], str]]:
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        yield part, marks(len(part))


def _log_and_index(conn: Any, ids: list[int], added: bool, fts: bool) -> None:
    """Record inserted (or about to be deleted) memories in the change log and the full-text index.

    One statement per chunk of ids: FTS5 fed row by row, as a trigger does, costs about 15 times more.
    """
    for part, q in _chunks(ids):
        conn.execute(f"INSERT INTO vector_changes (memory_id, added) SELECT id, ? FROM memories WHERE id IN ({q})",
                     [int(added), *part])
        if fts and added:
            conn.execute(f"INSERT INTO memory_fts (rowid, content) SELECT id, content FROM memories WHERE id IN ({q})",
                         part)
        elif fts:
            conn.execute("INSERT INTO memory_fts (memory_fts, rowid, content) "
                         f"SELECT 'delete', id, content FROM memories WHERE id IN ({q})", part)


def insert_many(conn: Any, items: Sequence[tuple[Memory, Vector]], info: EmbeddingInfo, fts: bool) -> list[bool]:
    """Insert memories with tags and vectors in one transaction; False for hashes already present.

    Every vector is checked before anything is written; tags, vectors, the full-text index and the change
    log are written for the whole batch at once.
    """
    blobs = [to_blob(vector, info) for _, vector in items]
    results: list[bool] = []
    tag_rows: list[tuple[int, str, int, float]] = []
    vector_rows: list[tuple[int, bytes]] = []
    with transaction(conn):
        for (memory, _), blob in zip(items, blobs):
            cur = conn.execute(
                "INSERT OR IGNORE INTO memories (content_hash, content, memory_type, metadata, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (memory.content_hash, memory.content, memory.memory_type,
                 json.dumps(memory.metadata or {}, ensure_ascii=False), memory.created_at, memory.updated_at),
            )
            results.append(cur.rowcount == 1)
            if cur.rowcount == 1:
                tag_rows.extend(_tag_rows(cur.lastrowid, memory.tags, memory.created_at))
                vector_rows.append((cur.lastrowid, blob))
        conn.executemany(TAG_INSERT, tag_rows)
        conn.executemany("INSERT INTO memory_vectors (rowid, embedding) VALUES (?, ?)", vector_rows)
        _log_and_index(conn, [memory_id for memory_id, _ in vector_rows], True, fts)
        _prune_log(conn)
    return results


def _delete_ids(conn: Any, ids: list[int], has_vectors: bool, fts: bool) -> None:
    _log_and_index(conn, ids, False, fts)
    for part, q in _chunks(ids):
        conn.execute(f"DELETE FROM memory_tags WHERE memory_id IN ({q})", part)
        if has_vectors:
            conn.execute(f"DELETE FROM memory_vectors WHERE rowid IN ({q})", part)
        conn.execute(f"DELETE FROM memories WHERE id IN ({q})", part)
    _prune_log(conn)


def delete_hash(conn: Any, content_hash: str, has_vectors: bool, fts: bool) -> bool:
    with transaction(conn):
        row = conn.execute("SELECT id FROM memories WHERE content_hash = ?", (content_hash,)).fetchone()
        if row is None:
            return False
        _delete_ids(conn, [row[0]], has_vectors, fts)
    return True


def delete_tags(conn: Any, tags: Sequence[str], has_vectors: bool, fts: bool) -> int:
    if not tags:
        return 0
    with transaction(conn):
        ids = [r[0] for r in conn.execute(
            f"SELECT DISTINCT memory_id FROM memory_tags WHERE tag IN ({marks(len(tags))})", list(tags))]
        _delete_ids(conn, ids, has_vectors, fts)
    return len(ids)


def update(conn: Any, content_hash: str, tags: Sequence[str], memory_type: str | None,
           metadata: dict[str, Any], updated_at: float) -> bool:
    with transaction(conn):
        row = conn.execute("SELECT id, created_at FROM memories WHERE content_hash = ?", (content_hash,)).fetchone()
        if row is None:
            return False
        conn.execute("UPDATE memories SET memory_type = ?, metadata = ?, updated_at = ? WHERE id = ?",
                     (memory_type, json.dumps(metadata or {}, ensure_ascii=False), updated_at, row[0]))
        conn.execute("DELETE FROM memory_tags WHERE memory_id = ?", (row[0],))
        conn.executemany(TAG_INSERT, _tag_rows(row[0], tags, row[1]))
    return True


# -- reads -----------------------------------------------------------------------------------
def nearest(conn: Any, index: VectorIndex, query: np.ndarray, k: int, tags: Sequence[str] | None,
            memory_type: str | None) -> list[QueryResult]:
    """Exact top-k by cosine distance over the in-memory vectors, among the filtered memories if filters."""
    index.refresh(conn)
    candidates = None
    where, params = filters(tags, memory_type)
    if where:
        candidates = [r[0] for r in conn.execute(f"SELECT m.id FROM memories m{where}", params)]
    hits = index.search(query, k, candidates)
    found = by_ids(conn, [h[0] for h in hits])
    return [QueryResult(found[i], relevance_from_cosine_distance(d)) for i, d in hits if i in found]


def match_expression(text: str) -> str | None:
    """An FTS5 query matching ANY word of ``text``: each word quoted as a string, joined by OR.

    Only ``\\w+`` runs survive, so quotes, brackets, ``NEAR(``, ``*`` or ``-`` in user text can never act as
    FTS5 syntax. None when the text has no word at all.
    """
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:MAX_MATCH_TERMS]
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words) or None


def lexical(conn: Any, text: str, k: int, tags: Sequence[str] | None, memory_type: str | None) -> list[QueryResult]:
    """Top-k by BM25 over the full-text index, with the same filters as ``nearest``.

    Relevance is the BM25 score divided by the best score of this query (the best match is 1.0).
    """
    expression = match_expression(text)
    if expression is None or k < 1:
        return []
    where, params = filters(tags, memory_type)
    if where:
        sql = ("SELECT m.id, -bm25(memory_fts) AS score FROM memory_fts JOIN memories m ON m.id = memory_fts.rowid "
               f"WHERE memory_fts MATCH ?{where.replace(' WHERE ', ' AND ', 1)} ORDER BY score DESC, m.id LIMIT ?")
    else:  # no join: every match is scored, and a lookup in memories per match doubled the time at 100k
        sql = ("SELECT rowid, -bm25(memory_fts) AS score FROM memory_fts WHERE memory_fts MATCH ? "
               "ORDER BY score DESC, rowid LIMIT ?")
    hits = conn.execute(sql, [expression, *params, k]).fetchall()
    if not hits:
        return []
    best = hits[0][1] if hits[0][1] > 0 else 1.0
    found = by_ids(conn, [h[0] for h in hits])
    return [QueryResult(found[i], min(1.0, max(0.0, score / best))) for i, score in hits if i in found]


def by_tags(conn: Any, tags: Sequence[str], match_all: bool, limit: int | None) -> list[Memory]:
    """Newest first. With a limit, each tag's newest rows come from the (tag, created_at) index, so the
    cost follows the limit, not how many memories carry the tag."""
    wanted = list(dict.fromkeys(tags))
    if not wanted:
        return []
    if limit is None or limit < 1:
        sub = f"SELECT memory_id FROM memory_tags WHERE tag IN ({marks(len(wanted))})"
        params: list[Any] = list(wanted)
        if match_all:
            sub += " GROUP BY memory_id HAVING COUNT(*) = ?"
            params.append(len(wanted))
        return select(conn, f" WHERE m.id IN ({sub})", params, NEWEST_FIRST)
    ids: set[int] = set()
    if match_all:
        driver = min(wanted, key=lambda tag: _capped_count(conn, tag))  # walk the rarest tag, probe the others
        others = [t for t in wanted if t != driver]
        probes = "".join(" AND EXISTS (SELECT 1 FROM memory_tags o WHERE o.memory_id = t.memory_id AND o.tag = ?)"
                         for _ in others)
        ids.update(_newest_ids(conn, f"FROM memory_tags t WHERE t.tag = ?{probes}", [driver, *others], limit))
    else:
        for tag in wanted:
            ids.update(_newest_ids(conn, "FROM memory_tags t WHERE t.tag = ?", [tag], limit))
    found = sorted(by_ids(conn, list(ids)).values(), key=lambda m: (m.created_at, m.content_hash), reverse=True)
    return found[:limit]


def _capped_count(conn: Any, tag: str, cap: int = 5000) -> int:
    sql = "SELECT count(*) FROM (SELECT 1 FROM memory_tags WHERE tag = ? LIMIT ?)"
    return conn.execute(sql, (tag, cap)).fetchone()[0]


def _newest_ids(conn: Any, stream: str, params: list[Any], limit: int) -> list[int]:
    """Ids of the ``limit`` newest rows of ``stream`` (over alias ``t``), plus any tied with the last one."""
    edge = conn.execute(f"SELECT t.created_at {stream} ORDER BY t.created_at DESC LIMIT 1 OFFSET ?",
                        [*params, limit - 1]).fetchone()
    if edge is None:
        return [r[0] for r in conn.execute(f"SELECT t.memory_id {stream}", params)]
    return [r[0] for r in conn.execute(f"SELECT t.memory_id {stream} AND t.created_at >= ?", [*params, edge[0]])]


def by_time(conn: Any, start: float | None, end: float | None, limit: int | None) -> list[Memory]:
    clauses, params = [], []
    if start is not None:
        clauses.append("m.created_at >= ?")
        params.append(start)
    if end is not None:
        clauses.append("m.created_at <= ?")
        params.append(end)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return select(conn, where, [*params, limit or -1], f"{NEWEST_FIRST} LIMIT ?")


def page(conn: Any, offset: int, limit: int, tags: Sequence[str] | None, memory_type: str | None) -> list[Memory]:
    where, params = filters(tags, memory_type)
    return select(conn, where, [*params, limit, offset], f"{NEWEST_FIRST} LIMIT ? OFFSET ?")


def count(conn: Any, tags: Sequence[str] | None, memory_type: str | None) -> int:
    where, params = filters(tags, memory_type)
    return conn.execute(f"SELECT COUNT(*) FROM memories m{where}", params).fetchone()[0]


def by_hash(conn: Any, content_hash: str) -> Memory | None:
    found = select(conn, " WHERE m.content_hash = ?", [content_hash])
    return found[0] if found else None


def tag_counts(conn: Any) -> list[tuple[str, int]]:
    return [(t, c) for t, c in conn.execute(
        "SELECT tag, COUNT(*) AS c FROM memory_tags GROUP BY tag ORDER BY c DESC, tag")]


def batch_after(conn: Any, after: tuple[float, str] | None, size: int, has_vectors: bool
                ) -> list[tuple[Memory, list[float] | None]]:
    """The next ``size`` memories oldest first after the (created_at, content_hash) key, with vectors."""
    vector_col = "v.embedding" if has_vectors else "NULL"
    join = " LEFT JOIN memory_vectors v ON v.rowid = m.id" if has_vectors else ""
    where, params = "", []
    if after is not None:
        where = " WHERE (m.created_at > ? OR (m.created_at = ? AND m.content_hash > ?))"
        params = [after[0], after[0], after[1]]
    rows = conn.execute(
        f"SELECT {COLUMNS}, {vector_col} FROM memories m{join}{where} "
        "ORDER BY m.created_at, m.content_hash LIMIT ?", [*params, size],
    ).fetchall()
    memories = _memories(conn, [r[:-1] for r in rows])
    vectors = [np.frombuffer(r[-1], dtype=np.float32).tolist() if r[-1] is not None else None for r in rows]
    return list(zip(memories, vectors))

"""Reads of memories by ``Filter``: pages, counts, tags, projects, hash prefixes and the full iteration.

A first page never depends on how many memories match. Live listings walk an index newest first and stop at
the page: the live ``(created_at)`` index, each project's ``(project, created_at)`` range, or each tag's
``(tag, created_at)`` range, with the other conditions checked on the rows walked (created_at ties are ordered
by content_hash).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from mcp_memory.models import Memory
from mcp_memory.protocols import LIVE, Filter

from . import where as w
from .rows import COLUMNS, LATEST_DELETED_FIRST, NEWEST_FIRST, chunks, in_order, memories, select

Key = tuple[float, str, int]  # (created_at, content_hash, id): the newest-first order, read backwards

# The streams whose driving index is known name it: statistics gathered by ANALYZE (``memory optimize``) on a
# skewed store can otherwise lead the planner to a skip-scan of another index and a sort of the whole range.
LIVE_INDEX = "idx_memories_live"
PROJECT_INDEX = "idx_memories_project"
TRASH_CREATED_INDEX = "idx_memories_trash_created"
TAG_INDEX = "idx_memory_tags_tag_created"


def page(conn: Any, where: Filter, offset: int, limit: int | None) -> list[Memory]:
    offset = max(0, offset)
    if limit is not None and limit < 1:
        return []
    clause, params = w.sql(where)
    if where.trashed or limit is None:
        order = LATEST_DELETED_FIRST if where.trashed else NEWEST_FIRST
        return select(conn, clause, [*params, -1 if limit is None else limit, offset], f"{order} LIMIT ? OFFSET ?")
    if where.tags:
        keys = _newest_by_tags(conn, where, offset + limit)
    elif where.projects is not None:
        keys = _newest_by_projects(conn, where, offset + limit)
    else:
        index = LIVE_INDEX if _time_only(where) else ""
        return select(conn, clause, [*params, limit, offset], f"{NEWEST_FIRST} LIMIT ? OFFSET ?", index)
    keys.sort(reverse=True)
    return in_order(conn, [key[2] for key in keys[offset:offset + limit]])


def _time_only(where: Filter) -> bool:
    """True when ``where`` selects live memories by projects and time at most: walking the newest-first index
    is then the best plan whatever the statistics say (a type or metadata filter is left to the planner)."""
    return replace(where, projects=None, start=None, end=None) == LIVE


def _newest_by_projects(conn: Any, where: Filter, n: int) -> list[Key]:
    """The n newest of each project (one index range each) among the other conditions."""
    clauses, params = w.conditions(replace(where, projects=None))
    source = f"memories m INDEXED BY {PROJECT_INDEX}" if _time_only(where) else "memories m"
    keys: list[Key] = []
    for project in dict.fromkeys(where.projects or ()):
        test, value = ("m.project IS NULL", []) if project is None else ("m.project = ?", [project])
        sql = (f"SELECT m.created_at, m.content_hash, m.id FROM {source} WHERE {test} "
               f"AND {' AND '.join(clauses)} {NEWEST_FIRST} LIMIT ?")
        keys.extend(conn.execute(sql, [*value, *params, n]).fetchall())
    return keys


def _newest_by_tags(conn: Any, where: Filter, n: int) -> list[Key]:
    """The n newest of each tag's index range (any), or of the rarest tag's range probing the others (all)."""
    clauses, params = w.conditions(replace(where, tags=()))
    rest = " AND ".join(clauses)
    wanted = list(dict.fromkeys(where.tags))
    ids: set[int] = set()
    if where.match_all:
        driver = min(wanted, key=lambda tag: _capped_count(conn, tag))
        others = [t for t in wanted if t != driver]
        probes = "".join(" AND EXISTS (SELECT 1 FROM memory_tags o WHERE o.memory_id = t.memory_id AND o.tag = ?)"
                         for _ in others)
        stream = (f"FROM memory_tags t INDEXED BY {TAG_INDEX} JOIN memories m ON m.id = t.memory_id "
                  f"WHERE t.tag = ?{probes} AND {rest}")
        ids.update(_newest_ids(conn, stream, [driver, *others, *params], n))
    else:
        for tag in wanted:
            stream = (f"FROM memory_tags t INDEXED BY {TAG_INDEX} JOIN memories m ON m.id = t.memory_id "
                      f"WHERE t.tag = ? AND {rest}")
            ids.update(_newest_ids(conn, stream, [tag, *params], n))
    return _keys(conn, list(ids))


def _capped_count(conn: Any, tag: str, cap: int = 5000) -> int:
    sql = "SELECT count(*) FROM (SELECT 1 FROM memory_tags WHERE tag = ? LIMIT ?)"
    return conn.execute(sql, (tag, cap)).fetchone()[0]


def _newest_ids(conn: Any, stream: str, params: list[Any], n: int) -> list[int]:
    """Ids of the ``n`` newest rows of ``stream`` (over aliases ``t`` and ``m``), plus any tied with the last."""
    edge = conn.execute(f"SELECT t.created_at {stream} ORDER BY t.created_at DESC LIMIT 1 OFFSET ?",
                        [*params, n - 1]).fetchone()
    if edge is None:
        return [r[0] for r in conn.execute(f"SELECT t.memory_id {stream}", params)]
    return [r[0] for r in conn.execute(f"SELECT t.memory_id {stream} AND t.created_at >= ?", [*params, edge[0]])]


def _keys(conn: Any, ids: list[int]) -> list[Key]:
    keys: list[Key] = []
    for part, q in chunks(ids):
        keys.extend(conn.execute(f"SELECT created_at, content_hash, id FROM memories WHERE id IN ({q})", part))
    return keys


def count(conn: Any, where: Filter) -> int:
    if where == LIVE:  # two small-index counts instead of a scan of the live index
        return conn.execute("SELECT (SELECT count(*) FROM memories) - "
                            "(SELECT count(*) FROM memories WHERE deleted_at IS NOT NULL)").fetchone()[0]
    clause, params = w.sql(where)
    return conn.execute(f"SELECT count(*) FROM memories m{clause}", params).fetchone()[0]


def matching_ids(conn: Any, where: Filter) -> list[int]:
    """Ids of every memory ``where`` selects (candidates of a filtered vector search)."""
    clause, params = w.sql(where)
    return [r[0] for r in conn.execute(f"SELECT m.id FROM memories m{clause}", params)]


def tag_counts(conn: Any, where: Filter) -> list[tuple[str, int]]:
    """Most used first, then by name."""
    if where == LIVE:  # every tag row (index only) minus those of the trash (small)
        counts = dict(conn.execute("SELECT tag, count(*) FROM memory_tags GROUP BY tag").fetchall())
        for tag, gone in conn.execute("SELECT t.tag, count(*) FROM memories m JOIN memory_tags t ON t.memory_id = m.id "
                                      "WHERE m.deleted_at IS NOT NULL GROUP BY t.tag"):
            counts[tag] -= gone
        pairs = [(tag, c) for tag, c in counts.items() if c > 0]
    else:
        clause, params = w.sql(where)
        pairs = conn.execute(f"SELECT t.tag, count(*) FROM memories m JOIN memory_tags t ON t.memory_id = m.id"
                             f"{clause} GROUP BY t.tag", params).fetchall()
    return sorted(pairs, key=lambda item: (-item[1], item[0]))


def project_counts(conn: Any) -> list[tuple[str | None, int]]:
    """Projects of live memories, most memories first, global (None) first on ties, then by name."""
    rows = conn.execute("SELECT m.project, count(*) FROM memories m WHERE m.deleted_at IS NULL GROUP BY m.project")
    return sorted(rows.fetchall(), key=lambda item: (-item[1], item[0] or ""))


def find_hashes(conn: Any, prefix: str, limit: int) -> list[str]:
    """Hashes (live or trashed) starting with ``prefix``: a range of the unique index, so wildcards are text."""
    rows = conn.execute("SELECT content_hash FROM memories WHERE content_hash >= ? AND content_hash < ? "
                        "ORDER BY content_hash LIMIT ?", (prefix, prefix + "\U0010ffff", max(0, limit)))
    return [r[0] for r in rows if r[0].startswith(prefix)]


def by_hash(conn: Any, content_hash: str, trashed: bool | None) -> Memory | None:
    state = "" if trashed is None else f" AND {w.TRASHED_ONLY if trashed else w.LIVE_ONLY}"
    found = select(conn, f" WHERE m.content_hash = ?{state}", [content_hash])
    return found[0] if found else None


def batch_after(conn: Any, after: tuple[float, str] | None, size: int, has_vectors: bool
                ) -> list[tuple[Memory, list[float] | None]]:
    """The next ``size`` memories, live and trashed, oldest first after the (created_at, content_hash) key, with
    their vectors: the next ``size`` of each partial index, merged."""
    vector_col = "v.embedding" if has_vectors else "NULL"
    join = " LEFT JOIN memory_vectors v ON v.rowid = m.id" if has_vectors else ""
    key = "" if after is None else " AND (m.created_at, m.content_hash) > (?, ?)"
    rows: list[tuple] = []
    for state, index in ((w.LIVE_ONLY, LIVE_INDEX), (w.TRASHED_ONLY, TRASH_CREATED_INDEX)):
        rows.extend(conn.execute(
            f"SELECT {COLUMNS}, {vector_col} FROM memories m INDEXED BY {index}{join} WHERE {state}{key} "
            "ORDER BY m.created_at, m.content_hash LIMIT ?", [*(after or ()), size]).fetchall())
    rows.sort(key=lambda r: (r[5], r[1]))
    rows = rows[:size]
    found = memories(conn, [r[:-1] for r in rows])
    vectors = [np.frombuffer(r[-1], dtype=np.float32).tolist() if r[-1] is not None else None for r in rows]
    return list(zip(found, vectors, strict=True))


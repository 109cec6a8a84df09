"""Searches: exact semantic top-k, the near-duplicate check, and BM25 over the full-text index.

Live memories are searched in the in-memory index (index.py): alone when the filter selects projects at most,
else among the ids the filter selects in SQL. The trash (rarely searched, small) is scored from ``vec0``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from mcp_memory.models import QueryResult, relevance_from_cosine_distance
from mcp_memory.protocols import Filter

from . import reads
from . import where as w
from .index import VectorIndex
from .rows import by_ids, chunks, select

MAX_MATCH_TERMS = 64
_WORD = re.compile(r"\w+")


def _results(conn: Any, hits: list[tuple[int, float]]) -> list[QueryResult]:
    found = by_ids(conn, [h[0] for h in hits])
    return [QueryResult(found[i], relevance_from_cosine_distance(d)) for i, d in hits if i in found]


def nearest(conn: Any, index: VectorIndex, query: np.ndarray, k: int, where: Filter) -> list[QueryResult]:
    """Exact top-k by cosine distance among the memories ``where`` selects."""
    if where.trashed:
        return _nearest_in_trash(conn, query, k, where)
    index.refresh(conn)
    if w.projects_only(where):
        hits = index.search(query, k, projects=where.projects)
    else:
        hits = index.search(query, k, candidates=reads.matching_ids(conn, where))
    return _results(conn, hits)


def nearest_above(conn: Any, index: VectorIndex, query: np.ndarray, threshold: float,
                  where: Filter) -> QueryResult | None:
    """The nearest live memory of ``where``'s projects at cosine >= threshold (``where`` selects projects only)."""
    index.refresh(conn)
    hit = index.nearest_above(query, threshold, where.projects)
    found = _results(conn, [hit]) if hit is not None else []
    return found[0] if found else None


def _nearest_in_trash(conn: Any, query: np.ndarray, k: int, where: Filter) -> list[QueryResult]:
    ids: list[int] = []
    vectors: list[bytes] = []
    for part, q in chunks(reads.matching_ids(conn, where)):
        for i, blob in conn.execute(f"SELECT rowid, embedding FROM memory_vectors WHERE rowid IN ({q})", part):
            ids.append(i)
            vectors.append(blob)
    norm = float(np.linalg.norm(query))
    if not ids or norm == 0.0 or k < 1:
        return []
    matrix = np.frombuffer(b"".join(vectors), dtype=np.float32).reshape(len(ids), -1)
    norms = np.linalg.norm(matrix, axis=1)
    scores = (matrix @ (query / norm)) / np.where(norms == 0, 1.0, norms)
    order = np.lexsort((np.asarray(ids), -scores))[:k]
    return _results(conn, [(ids[i], float(1.0 - scores[i])) for i in order])


def match_expression(text: str) -> str | None:
    """An FTS5 query matching ANY word of ``text``: each word quoted as a string, joined by OR.

    Only ``\\w+`` runs survive, so quotes, brackets, ``NEAR(``, ``*`` or ``-`` in user text can never act as
    FTS5 syntax. None when the text has no word at all.
    """
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))[:MAX_MATCH_TERMS]
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words) or None


def lexical(conn: Any, text: str, k: int, where: Filter) -> list[QueryResult]:
    """Top-k by BM25 over the full-text index (live memories), among those ``where`` selects.

    Relevance is the BM25 score divided by the best score of this query (the best match is 1.0).
    """
    expression = match_expression(text)
    if expression is None or k < 1:
        return []
    if where.trashed:
        return _words_in_trash(conn, text, k, where)
    if where.is_plain:  # no join: every match is scored, and a lookup in memories per match doubled the time
        sql = ("SELECT rowid, -bm25(memory_fts) AS score FROM memory_fts WHERE memory_fts MATCH ? "
               "ORDER BY score DESC, rowid LIMIT ?")
        params: list[Any] = [expression, k]
    else:
        clauses, values = w.conditions(where)
        sql = ("SELECT m.id, -bm25(memory_fts) AS score FROM memory_fts JOIN memories m ON m.id = memory_fts.rowid "
               f"WHERE memory_fts MATCH ? AND {' AND '.join(clauses)} ORDER BY score DESC, m.id LIMIT ?")
        params = [expression, *values, k]
    hits = conn.execute(sql, params).fetchall()
    if not hits:
        return []
    best = hits[0][1] if hits[0][1] > 0 else 1.0
    found = by_ids(conn, [h[0] for h in hits])
    return [QueryResult(found[i], min(1.0, max(0.0, score / best))) for i, score in hits if i in found]


def _words_in_trash(conn: Any, text: str, k: int, where: Filter) -> list[QueryResult]:
    """The trash is not in the full-text index: rank its memories by how many words of ``text`` they hold."""
    words = {word.lower() for word in _WORD.findall(text)}
    clause, params = w.sql(where)
    scored = []
    for memory in select(conn, clause, params):
        hits = len(words & {word.lower() for word in _WORD.findall(memory.content)})
        if hits:
            scored.append((hits, memory))
    scored.sort(key=lambda item: (-item[0], item[1].content_hash))
    best = scored[0][0] if scored else 1
    return [QueryResult(memory, hits / best) for hits, memory in scored[:k]]

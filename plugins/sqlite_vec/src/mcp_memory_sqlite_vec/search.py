"""Searches: exact semantic top-k, the near-duplicate check, and BM25 over the full-text index.

Live memories are searched in the in-memory index (index.py): alone when the filter selects projects at most,
else among the ids the filter selects in SQL. The trash (rarely searched, small) is scored from ``vec0``.
Each search scores ids first; ``QueryResult``s read those memories whole, ``Hit``s only their hash and tags.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from mcp_memory.models import Hit, QueryResult, relevance_from_cosine_distance
from mcp_memory.protocols import Filter

from . import reads
from . import where as w
from .index import VectorIndex
from .rows import briefs, by_ids, chunks, select

MAX_MATCH_TERMS = 64
_WORD = re.compile(r"\w+")


Scored = list[tuple[int, float]]  # (memory id, relevance), best first


def _results(conn: Any, scored: Scored) -> list[QueryResult]:
    found = by_ids(conn, [i for i, _ in scored])
    return [QueryResult(found[i], relevance) for i, relevance in scored if i in found]


def _hits(conn: Any, scored: Scored) -> list[Hit]:
    found = briefs(conn, [i for i, _ in scored])
    return [Hit(*found[i], relevance) for i, relevance in scored if i in found]


def nearest(conn: Any, index: VectorIndex, query: np.ndarray, k: int, where: Filter) -> list[QueryResult]:
    """Exact top-k by cosine distance among the memories ``where`` selects."""
    return _results(conn, _nearest(conn, index, query, k, where))


def nearest_hits(conn: Any, index: VectorIndex, query: np.ndarray, k: int, where: Filter) -> list[Hit]:
    """``nearest`` as hits."""
    return _hits(conn, _nearest(conn, index, query, k, where))


def _nearest(conn: Any, index: VectorIndex, query: np.ndarray, k: int, where: Filter) -> Scored:
    if where.trashed:
        found = _nearest_in_trash(conn, query, k, where)
    else:
        index.refresh(conn)
        if w.projects_only(where):
            found = index.search(query, k, projects=where.projects)
        else:
            found = index.search(query, k, candidates=reads.matching_ids(conn, where))
    return [(i, relevance_from_cosine_distance(distance)) for i, distance in found]


def nearest_above(conn: Any, index: VectorIndex, query: np.ndarray, threshold: float,
                  where: Filter) -> QueryResult | None:
    """The nearest live memory of ``where``'s projects at cosine >= threshold (``where`` selects projects only)."""
    index.refresh(conn)
    hit = index.nearest_above(query, threshold, where.projects)
    found = _results(conn, [(hit[0], relevance_from_cosine_distance(hit[1]))]) if hit is not None else []
    return found[0] if found else None


def _nearest_in_trash(conn: Any, query: np.ndarray, k: int, where: Filter) -> list[tuple[int, float]]:
    """(id, cosine distance) of the k nearest trashed memories ``where`` selects."""
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
    return [(ids[i], float(1.0 - scores[i])) for i in order]


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
    if where.trashed:
        return _words_in_trash(conn, text, k, where)
    return _results(conn, _bm25(conn, text, k, where))


def lexical_hits(conn: Any, text: str, k: int, where: Filter) -> list[Hit]:
    """``lexical`` as hits."""
    if where.trashed:
        return [Hit(r.content_hash, tuple(r.tags), r.relevance_score) for r in _words_in_trash(conn, text, k, where)]
    return _hits(conn, _bm25(conn, text, k, where))


def _bm25(conn: Any, text: str, k: int, where: Filter) -> Scored:
    expression = match_expression(text)
    if expression is None or k < 1:
        return []
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
    return [(i, min(1.0, max(0.0, score / best))) for i, score in hits]


def _words_in_trash(conn: Any, text: str, k: int, where: Filter) -> list[QueryResult]:
    """The trash is not in the full-text index: rank its memories by how many words of ``text`` they hold."""
    words = {word.lower() for word in _WORD.findall(text)}
    if not words or k < 1:
        return []
    clause, params = w.sql(where)
    scored = []
    for memory in select(conn, clause, params):
        hits = len(words & {word.lower() for word in _WORD.findall(memory.content)})
        if hits:
            scored.append((hits, memory))
    scored.sort(key=lambda item: (-item[0], item[1].content_hash))
    best = scored[0][0] if scored else 1
    return [QueryResult(memory, hits / best) for hits, memory in scored[:k]]

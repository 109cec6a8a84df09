"""BM25 over the documents Chroma's regex filter finds: pure functions, no chromadb import.

Chroma matches documents (``where_document`` ``$regex``) but does not rank them. The store asks Chroma for
the memories holding any query word as a whole word, case-insensitively (one regex of plain words: the query
is never syntax), and ranks them here with Okapi BM25 (k1 = 1.2, b = 0.75):

- ``N`` is the number of memories the filter selects; a word's ``df`` is the number of those that hold it
  (exact: every memory holding a word is among the candidates);
- the average length ``avgdl`` is taken over the candidates, not over every memory of the store (Chroma keeps
  no word counts, and reading every document per query would cost what the regex filter saves); it only
  scales how much length counts, the same for every candidate.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

from mcp_memory.models import Memory, QueryResult

K1 = 1.2
B = 0.75
MAX_WORDS = 64
_WORD = re.compile(r"\w+")


def words(query: str) -> list[str]:
    """The distinct lower-cased words of ``query``, in order (at most ``MAX_WORDS``)."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))[:MAX_WORDS]


def prefilter(terms: Sequence[str]) -> str:
    """A Chroma regex matching documents that hold any of ``terms`` as a whole word, in any case.
    ``terms`` come from ``words`` (letters, digits, underscores): nothing in them is regex syntax."""
    return "(?i)\\b(?:" + "|".join(terms) + ")\\b"


def rank(terms: Sequence[str], candidates: Sequence[Memory], scope_size: int, k: int) -> list[QueryResult]:
    """The k best candidates by BM25, relevance = score / best score; candidates holding no term as a word
    (the regex and Python may disagree on rare characters) are dropped."""
    wanted = set(terms)
    counted: list[tuple[Memory, Counter[str], int]] = []
    for memory in candidates:
        tokens = _WORD.findall(memory.content.lower())
        hits = Counter(t for t in tokens if t in wanted)
        if hits:
            counted.append((memory, hits, len(tokens)))
    if not counted:
        return []
    df = Counter(term for _, hits, _ in counted for term in hits)
    n = max(scope_size, len(counted))
    idf = {term: math.log(1.0 + (n - count + 0.5) / (count + 0.5)) for term, count in df.items()}
    avgdl = sum(length for _, _, length in counted) / len(counted)
    scored = []
    for memory, hits, length in counted:
        norm = K1 * (1.0 - B + B * length / avgdl)
        score = sum(idf[t] * tf * (K1 + 1.0) / (tf + norm) for t, tf in hits.items())
        scored.append((score, memory))
    scored.sort(key=lambda item: (-item[0], -item[1].created_at, item[1].content_hash))
    best = scored[0][0] or 1.0
    return [QueryResult(memory, score / best) for score, memory in scored[:k]]

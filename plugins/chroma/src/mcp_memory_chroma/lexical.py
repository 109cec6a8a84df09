"""BM25 over the documents Chroma's regex filter finds: pure functions, no chromadb import.

Chroma matches documents (``where_document`` ``$regex``) but does not rank them. The store asks Chroma for
the memories holding any query word as a whole word, case-insensitively (one regex of plain words: the query
is never syntax), and ranks them here with Okapi BM25 (k1 = 1.2, b = 0.75):

- a word's ``df`` is the number of memories the filter selects that hold it (exact: every memory holding a
  word is among the candidates); ``N`` is the number of live memories of the store (search engines, too,
  take N from the whole index: counting the filter's memories would cost a scan of them per query);
- the average length ``avgdl`` is taken over the candidates, not over every memory of the store (Chroma keeps
  no word counts, and reading every document per query would cost what the regex filter saves); it only
  scales how much length counts, the same for every candidate.

Only the candidates' documents are read (Chroma's metadata costs about 10 us per key and record); the metadata
of the k best is read afterwards.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

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


def rank(terms: Sequence[str], candidates: Sequence[tuple[str, str]], scope_size: int,
         k: int) -> list[tuple[str, float]]:
    """The k best of ``candidates`` (id, text) by BM25 as (id, score / best score), best first (ties by id);
    candidates holding no term as a word (the regex and Python may disagree on rare characters) are dropped."""
    wanted = set(terms)
    counted: list[tuple[str, Counter[str], int]] = []
    for key, text in candidates:
        tokens = _WORD.findall(text.lower())
        hits = Counter(t for t in tokens if t in wanted)
        if hits:
            counted.append((key, hits, len(tokens)))
    if not counted or k < 1:
        return []
    df = Counter(term for _, hits, _ in counted for term in hits)
    n = max(scope_size, len(counted))
    idf = {term: math.log(1.0 + (n - count + 0.5) / (count + 0.5)) for term, count in df.items()}
    avgdl = sum(length for _, _, length in counted) / len(counted)
    scored = []
    for key, hits, length in counted:
        norm = K1 * (1.0 - B + B * length / avgdl)
        scored.append((sum(idf[t] * tf * (K1 + 1.0) / (tf + norm) for t, tf in hits.items()), key))
    scored.sort(key=lambda item: (-item[0], item[1]))
    best = scored[0][0] or 1.0
    return [(key, score / best) for score, key in scored[:k]]

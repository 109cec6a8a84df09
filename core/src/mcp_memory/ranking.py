"""Relevance helpers of the service: query words for lexical search, fusion, time-window boost.

Pure functions over ``QueryResult`` lists; fusion, the curated-first rules and the floor also take ``Hit`` lists
(anything ``Ranked``: a hash, tags and a relevance). ``MemoryService`` decides when to use them. The constants
were chosen on the LoCoMo development set (see docs/retrieval.md), never on a test set.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from .models import Memory, QueryResult

if TYPE_CHECKING:
    from typing_extensions import Self

MODES = ("semantic", "lexical", "hybrid")
#: hybrid relevance = SEMANTIC_WEIGHT * cosine + (1 - SEMANTIC_WEIGHT) * BM25 / best BM25
SEMANTIC_WEIGHT = 0.7
#: candidates taken from each ranking before fusion
HYBRID_POOL = 200
#: the candidate pool grows up to this many when auto-captured memories crowd curated ones out of it
MAX_POOL = 3200
#: added (then rescaled to 0..1) to memories created inside a recalled time window
TIME_BOOST = 0.2
#: at most this many words go into one lexical query
MAX_TERMS = 64
#: the tag of memories captured automatically (Claude Code hooks, transcript import)
AUTO_CAPTURED_TAG = "auto-captured"
#: an auto-captured memory ranks as if its relevance were this much lower, so that curated memories come first
#: (its relevance, shown and compared with the floor, stays its own). On the LoCoMo dev set with 10x
#: auto-captured session notes (tests/quality/noise_locomo.py, candidate pools widened): curated recall@10
#: loses 0.007 at 0.5, 0.026 at 0.3
AUTO_CAPTURED_PENALTY = 0.5

_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")

STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be been before being below between both but
by can could did do does doing don down during each ever few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own s same she should so some such t than that
the their theirs them themselves then there these they this those through to too under until up very was
we were what when where which while who whom why will with would you your yours yourself yourselves
""".split())


def key_terms(text: str) -> str:
    """The words of ``text`` worth matching literally: lower-cased, de-duplicated, stop words removed
    (all words when only stop words remain). Plain words joined by spaces, never query syntax."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    kept = [w for w in words if w not in STOP_WORDS] or words
    return " ".join(kept[:MAX_TERMS])


class Ranked(Protocol):
    """What the ranking rules read of a result: ``QueryResult`` and ``Hit`` both are."""

    @property
    def content_hash(self) -> str: ...

    @property
    def tags(self) -> Sequence[str]: ...

    @property
    def relevance_score(self) -> float: ...

    def with_relevance(self, relevance: float) -> Self: ...


R = TypeVar("R", bound=Ranked)


def fuse(semantic: Sequence[R], lexical: Sequence[R], k: int, weight: float = SEMANTIC_WEIGHT) -> list[R]:
    """Mix a semantic and a lexical ranking into one, best first, relevance in 0..1.

    A memory found only lexically gets the lowest cosine of the semantic list (it ranked below all of
    them); one found only semantically gets a lexical score of 0.
    """
    cosine = {r.content_hash: r.relevance_score for r in semantic}
    words = {r.content_hash: r.relevance_score for r in lexical}
    floor = min(cosine.values(), default=0.0)
    first: dict[str, R] = {}
    for r in (*semantic, *lexical):
        first.setdefault(r.content_hash, r)
    score = {h: weight * cosine.get(h, floor) + (1.0 - weight) * words.get(h, 0.0) for h in first}
    best = sorted(first, key=lambda h: -score[h])[:k]  # stable: ties keep the incoming order
    return [first[h].with_relevance(score[h]) for h in best]


def boost_window(ranked: Sequence[QueryResult], in_window: Iterable[Memory], start: float | None,
                 end: float | None, k: int, boost: float = TIME_BOOST) -> list[QueryResult]:
    """Re-rank ``ranked`` preferring memories created in [start, end].

    In-window memories that ``ranked`` missed join with its lowest score (newest first among them).
    Scores are (relevance + boost if inside) / (1 + boost), so they stay in 0..1.
    """
    lo = float("-inf") if start is None else start
    hi = float("inf") if end is None else end
    floor = min((r.relevance_score for r in ranked), default=0.0)
    seen = {r.memory.content_hash for r in ranked}
    extra = [QueryResult(m, floor) for m in in_window if m.content_hash not in seen]
    scored = [QueryResult(r.memory, (r.relevance_score + (boost if lo <= r.memory.created_at <= hi else 0.0))
                          / (1.0 + boost)) for r in (*ranked, *extra)]
    scored.sort(key=lambda r: -r.relevance_score)  # stable: ties keep the incoming order
    return scored[:k]


#: a memory used or created this many days ago gets half the recency part of the usage boost
RECENCY_HALF_LIFE_DAYS = 30.0
#: use counts at or above this get the whole use part of the usage boost
USE_SATURATION = 20


def usage_boost(ranked: Sequence[QueryResult], weight: float, now: float) -> list[QueryResult]:
    """Re-rank adding ``weight * (recency + use) / 2`` to each relevance (then rescaled to 0..1).

    Recency halves every ``RECENCY_HALF_LIFE_DAYS`` since the memory was last returned (or created); use grows with
    the log of how often it was returned. ``weight`` 0 (the default) leaves the ranking as it is.
    """
    if weight <= 0 or not ranked:
        return list(ranked)

    def boost(memory: Memory) -> float:
        age_days = max(0.0, now - (memory.last_used_at or memory.created_at)) / 86_400.0
        recency = 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
        use = min(1.0, math.log1p(memory.use_count) / math.log1p(USE_SATURATION))
        return (recency + use) / 2.0

    scored = [QueryResult(r.memory, (r.relevance_score + weight * boost(r.memory)) / (1.0 + weight)) for r in ranked]
    scored.sort(key=lambda r: -r.relevance_score)
    return scored


def prefer_curated(ranked: Sequence[R], k: int, penalty: float = AUTO_CAPTURED_PENALTY) -> list[R]:
    """The top k, auto-captured memories ranked as if ``penalty`` less relevant (curated memories first unless a
    captured one is clearly more relevant); every result keeps its own relevance."""
    if not any(AUTO_CAPTURED_TAG in r.tags for r in ranked):
        return list(ranked[:k])

    def rank(r: R) -> float:
        return r.relevance_score - penalty if AUTO_CAPTURED_TAG in r.tags else r.relevance_score

    return sorted(ranked, key=lambda r: -rank(r))[:k]  # stable: ties keep the incoming order


def above_floor(ranked: Sequence[R], floor: float, semantic: Sequence[Ranked] = ()) -> list[R]:
    """The results whose relevance reaches ``floor``, or (hybrid: the cosines in ``semantic``) whose meaning
    alone does: a paraphrase that shares no word with the query is not dropped for that."""
    if floor <= 0.0:
        return list(ranked)
    cosine = {r.content_hash: r.relevance_score for r in semantic}
    return [r for r in ranked if r.relevance_score >= floor or cosine.get(r.content_hash, 0.0) >= floor]


def curated_count(ranked: Sequence[Ranked]) -> int:
    """How many of ``ranked`` are not auto-captured."""
    return sum(AUTO_CAPTURED_TAG not in r.tags for r in ranked)


def scaled_to_curated(lexical: Sequence[R]) -> list[R]:
    """Lexical relevance relative to the best curated match (capped at 1): long auto-captured notes that repeat
    many words of the query do not shrink the scores of curated memories."""
    best = max((r.relevance_score for r in lexical if AUTO_CAPTURED_TAG not in r.tags), default=0.0)
    if best <= 0.0 or best >= 1.0:
        return list(lexical)
    return [r.with_relevance(min(1.0, r.relevance_score / best)) for r in lexical]


def same_numbers(a: str, b: str) -> bool:
    """Whether two texts hold the same numbers (dates, versions, amounts, ports) in the same order ("from v2
    to v3" and "from v3 to v2" are two facts)."""
    return _NUMBER.findall(a) == _NUMBER.findall(b)

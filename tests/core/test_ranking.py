"""The ranking rules that are not a store's: curated memories first, the relevance floor, word scores."""

from mcp_memory.models import Memory, QueryResult
from mcp_memory.ranking import above_floor, prefer_curated, scaled_to_curated


def result(text: str, score: float, captured: bool = False) -> QueryResult:
    return QueryResult(Memory.create(text, tags=["auto-captured"] if captured else []), score)


def test_captured_memories_rank_lower_but_keep_their_relevance():
    ranked = [result("captured, very close", 0.9, True), result("curated", 0.6), result("captured, close", 0.7, True),
              result("curated, weaker", 0.35)]
    top = prefer_curated(ranked, 3, penalty=0.5)
    assert [r.memory.content for r in top] == ["curated", "captured, very close", "curated, weaker"]
    assert [r.relevance_score for r in top] == [0.6, 0.9, 0.35]  # shown as they are
    assert prefer_curated(ranked[1:2], 5) == ranked[1:2]


def test_the_floor_keeps_what_reaches_it_by_relevance_or_by_meaning():
    paraphrase, worded, weak = result("paraphrase", 0.23), result("shares words", 0.45), result("weak", 0.1)
    semantic = [QueryResult(paraphrase.memory, 0.33), QueryResult(worded.memory, 0.2), QueryResult(weak.memory, 0.14)]
    assert above_floor([worded, paraphrase, weak], 0.3, semantic) == [worded, paraphrase]
    assert above_floor([worded, paraphrase, weak], 0.3) == [worded]  # semantic or lexical mode: the score alone
    assert above_floor([weak], 0.0) == [weak]


def test_word_scores_are_relative_to_the_best_curated_match():
    lexical = [result("long captured note", 1.0, True), result("curated", 0.5), result("other", 0.25)]
    assert [r.relevance_score for r in scaled_to_curated(lexical)] == [1.0, 1.0, 0.5]
    only_captured = [result("a", 1.0, True), result("b", 0.5, True)]
    assert scaled_to_curated(only_captured) == only_captured

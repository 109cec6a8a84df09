"""Retrieval modes in the service (semantic | lexical | hybrid), fusion, fallback and time-aware recall,
with core-only parts: InMemoryStorage, the hash embedder and a tiny word-count lexical search."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

import pytest

from mcp_memory import ranking
from mcp_memory.config import Settings
from mcp_memory.errors import InvalidInputError
from mcp_memory.models import Memory, QueryResult
from mcp_memory.protocols import LIVE, LexicalSearch
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder, InMemoryStorage

pytestmark = pytest.mark.anyio


class LexicalMemoryStorage(InMemoryStorage):
    """InMemoryStorage plus a tiny IDF-weighted word match (the optional lexical capability)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.queries: list[str] = []
        self.unsupported = False

    async def search_lexical(self, query, k, where=LIVE):
        if self.unsupported:
            raise NotImplementedError("no full-text index here")
        self.queries.append(query)
        memories = self._selected(where)
        docs = {m.content_hash: set(re.findall(r"\w+", m.content.lower())) for m in memories}
        terms = query.split()
        df = {t: sum(t in words for words in docs.values()) for t in terms}
        scored = [(sum(math.log(1 + len(docs) / df[t]) for t in terms if t in docs[m.content_hash]), m)
                  for m in memories]
        scored = sorted((s for s in scored if s[0] > 0), key=lambda s: -s[0])[:k]
        return [QueryResult(m, s / scored[0][0]) for s, m in scored]


def make(storage=None, **settings) -> MemoryService:
    from mcp_memory.config import Settings

    return MemoryService(storage if storage is not None else LexicalMemoryStorage(), HashEmbedder(),
                         Settings(max_content_length=1000, max_results=50, duplicate_threshold=None, **settings))


def memory(text: str, created: float = 1000.0) -> Memory:
    return Memory.create(text, created_at=created)


# -- pure helpers ----------------------------------------------------------------------------
def test_key_terms_drop_stop_words_and_never_pass_syntax():
    assert ranking.key_terms("When did Caroline go to the LGBTQ support group?") == "caroline go lgbtq support group"
    assert ranking.key_terms("What is it?") == "what is it"  # only stop words: keep them all
    assert ranking.key_terms('"); DROP TABLE x;-- NEAR( "a') == "drop table x near"
    assert ranking.key_terms("?! ... ()") == ""
    assert len(ranking.key_terms(" ".join(f"w{i}" for i in range(500))).split()) == ranking.MAX_TERMS


def test_fuse_mixes_scores_and_gives_lexical_only_hits_the_semantic_floor():
    a, b, c, d = (memory(t) for t in ("alpha", "beta", "gamma", "delta"))
    semantic = [QueryResult(a, 0.9), QueryResult(b, 0.5), QueryResult(c, 0.4)]
    lexical = [QueryResult(d, 1.0), QueryResult(c, 0.5)]
    fused = ranking.fuse(semantic, lexical, k=10, weight=0.7)
    scores = {r.memory.content: round(r.relevance_score, 6) for r in fused}
    assert scores == {"alpha": 0.63, "beta": 0.35, "gamma": round(0.7 * 0.4 + 0.3 * 0.5, 6),
                      "delta": round(0.7 * 0.4 + 0.3 * 1.0, 6)}
    assert [r.memory.content for r in fused] == ["alpha", "delta", "gamma", "beta"]
    assert [r.memory.content for r in ranking.fuse(semantic, lexical, k=2)] == ["alpha", "delta"]
    assert ranking.fuse([], lexical, k=5)[0].memory.content == "delta"  # floor 0 without semantic hits
    assert ranking.fuse([], [], k=5) == []


def test_boost_window_prefers_the_window_but_keeps_a_much_better_match():
    inside, weak_inside, outside_strong, outside_weak, extra = (
        memory("in", 100.0), memory("weak in", 150.0), memory("out strong", 10.0),
        memory("out weak", 20.0), memory("only by time", 190.0))
    ranked = [QueryResult(outside_strong, 0.9), QueryResult(inside, 0.6), QueryResult(outside_weak, 0.55),
              QueryResult(weak_inside, 0.3)]
    out = ranking.boost_window(ranked, [extra, inside], 100.0, 200.0, k=10, boost=0.2)
    # 0.9/1.2, 0.8/1.2, 0.55/1.2, then 0.5/1.2 twice (the floor 0.3 + boost for the one found by time only)
    assert [r.memory.content for r in out] == ["out strong", "in", "out weak", "weak in", "only by time"]
    assert all(0.0 <= r.relevance_score <= 1.0 for r in out)
    assert out[1].relevance_score == pytest.approx((0.6 + 0.2) / 1.2)
    # a match only slightly better than an in-window one does not lead
    close = [QueryResult(outside_strong, 0.65), QueryResult(inside, 0.6)]
    assert ranking.boost_window(close, [], 100.0, 200.0, k=1)[0].memory.content == "in"


# -- the service -----------------------------------------------------------------------------
async def test_unknown_mode_is_rejected_and_mode_is_case_insensitive():
    service = make()
    await service.initialize()
    await service.store("the red fox")
    for bad in ("fuzzy", 3, ""):
        with pytest.raises(InvalidInputError, match="semantic, lexical, hybrid"):
            await service.retrieve("fox", mode=bad)
    assert (await service.retrieve("fox", mode=" Lexical "))[0].memory.content == "the red fox"


async def test_lexical_mode_ranks_by_words_and_passes_filters_and_plain_terms():
    storage = LexicalMemoryStorage()
    service = make(storage)
    await service.initialize()
    await service.store("invoice 4471 for the Hendricks order", tags=["billing"])
    await service.store("the order of the day is coffee", tags=["misc"])
    await service.store("Hendricks called about delivery", tags=["billing"], memory_type="call")
    found = await service.retrieve("What is invoice 4471 about?", n_results=5, mode="lexical")
    assert found[0].memory.content.startswith("invoice 4471") and found[0].relevance_score == 1.0
    assert storage.queries[-1] == "invoice 4471"
    typed = await service.retrieve("Hendricks order", mode="lexical", tags=["billing"], memory_type="call")
    assert [r.memory.content for r in typed] == ["Hendricks called about delivery"]
    assert await service.retrieve("?!", mode="lexical") == []  # no word at all: nothing to match


async def test_hybrid_finds_what_either_ranking_finds_and_is_the_default():
    storage = LexicalMemoryStorage()
    service = make(storage)
    await service.initialize()
    texts = [f"note number {i} about the weekly planning meeting" for i in range(30)]
    texts.append("zxq-77 is the code of the storage unit")
    for t in texts:
        await service.store(t)
    default = await service.retrieve("where is zxq-77 kept", n_results=3)
    assert default[0].memory.content == texts[-1]
    again = await service.retrieve("where is zxq-77 kept", n_results=3, mode="hybrid")
    assert [(r.memory.content_hash, r.relevance_score) for r in default] == \
        [(r.memory.content_hash, r.relevance_score) for r in again]
    assert all(0.0 <= r.relevance_score <= 1.0 for r in default)
    scores = [r.relevance_score for r in default]
    assert scores == sorted(scores, reverse=True)
    floor = await service.retrieve("where is zxq-77 kept", n_results=30, min_relevance=0.5)
    assert floor and all(r.relevance_score >= 0.5 for r in floor)
    assert service.search_modes == ["semantic", "lexical", "hybrid"]
    assert (await service.stats())["search_modes"] == ["semantic", "lexical", "hybrid"]


async def test_store_without_lexical_search_falls_back_to_semantic_and_says_so_once(capsys):
    service = make(InMemoryStorage())
    await service.initialize()
    await service.store("the red fox jumps")
    await service.store("a blue whale swims")
    assert not isinstance(service.storage, LexicalSearch)
    semantic = await service.retrieve("red fox", mode="semantic")
    for mode in ("lexical", "hybrid", None):
        assert [r.memory.content_hash for r in await service.retrieve("red fox", mode=mode)] == \
            [r.memory.content_hash for r in semantic]
    err = capsys.readouterr().err
    assert err.count("lexical search unavailable") == 1 and "backend='memory'" in err
    assert service.search_modes == ["semantic"]


async def test_store_whose_lexical_search_is_unsupported_falls_back(capsys):
    storage = LexicalMemoryStorage()
    storage.unsupported = True
    service = make(storage)
    await service.initialize()
    await service.store("the red fox jumps")
    assert isinstance(storage, LexicalSearch)
    assert (await service.retrieve("fox", mode="lexical"))[0].memory.content == "the red fox jumps"
    assert "no full-text index here" in capsys.readouterr().err
    assert service.search_modes == ["semantic"]


# -- time-aware recall -----------------------------------------------------------------------
DAY = 86400.0
NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


async def filled() -> MemoryService:
    service = make()
    await service.initialize()
    base = NOW.timestamp()
    await service.store("camping trip with the kids at the lake", created_at=base - 40 * DAY)
    await service.store("camping gear list: tent, stove, lamp", created_at=base - 3 * DAY)
    await service.store("dentist appointment moved", created_at=base - 2 * DAY)
    await service.store("camping in the mountains was cold", created_at=base - 400 * DAY)
    return service


async def test_recall_prefers_the_window_relative_to_the_reference_date():
    service = await filled()
    found = await service.recall("camping last week", n_results=4, now=NOW)
    assert found.time_expression == "last week" and found.semantic_query == "camping"
    contents = [r.memory.content for r in found.results]
    assert contents[0] == "camping gear list: tent, stove, lamp"
    assert set(contents) >= {"camping trip with the kids at the lake", "dentist appointment moved"}
    # the same words with another reference date favour that date's window
    earlier = await service.recall("camping last month", n_results=1, now=NOW)
    assert earlier.results[0].memory.content == "camping trip with the kids at the lake"
    last_year = await service.recall("camping last year", n_results=1, now=NOW)
    assert last_year.results[0].memory.content == "camping in the mountains was cold"


async def test_recall_with_only_time_lists_the_window_and_without_time_is_retrieve():
    service = await filled()
    only = await service.recall("last 5 days", n_results=10, now=NOW)
    assert [r.memory.content for r in only.results] == ["dentist appointment moved",
                                                         "camping gear list: tent, stove, lamp"]
    plain = await service.recall("camping trip lake", n_results=2, now=NOW, mode="lexical")
    assert plain.time_expression is None
    assert plain.results == await service.retrieve("camping trip lake", n_results=2, mode="lexical")
    with pytest.raises(InvalidInputError):
        await service.recall("camping last week", now=NOW, mode="nope")


# -- the MCP tool ----------------------------------------------------------------------------
async def test_retrieve_memory_tool_passes_the_mode():
    from mcp import Client

    from mcp_memory.mcp_server import build_server

    storage = LexicalMemoryStorage()
    service = make(storage)
    await service.initialize()
    await service.store("ticket PX-4471 is about the login page")
    await service.store("the login page loads slowly")

    async def get_service():
        return service

    async with Client(build_server(get_service, Settings())) as client:
        await client.list_tools()
        res = await client.call_tool("retrieve_memory", {"query": "PX-4471", "mode": "lexical"})
        assert not res.is_error and storage.queries == ["px 4471"]
        assert [r["memory"]["content"] for r in res.structured_content["results"]] == [
            "ticket PX-4471 is about the login page"]
        bad = await client.call_tool("retrieve_memory", {"query": "x", "mode": "fuzzy"})
        assert bad.is_error and "mode" in bad.content[0].text


def test_usage_boost_prefers_recent_and_used_memories_only_when_asked():
    now = 10_000_000.0
    old_unused = Memory.create("old", created_at=now - 400 * 86400)
    fresh_used = Memory.create("fresh", created_at=now - 400 * 86400).with_changes(last_used_at=now - 86400,
                                                                                     use_count=12)
    ranked = [QueryResult(old_unused, 0.62), QueryResult(fresh_used, 0.6)]
    assert ranking.usage_boost(ranked, 0.0, now) == ranked
    boosted = ranking.usage_boost(ranked, 0.1, now)
    assert [r.memory.content for r in boosted] == ["fresh", "old"]
    assert all(0.0 <= r.relevance_score <= 1.0 for r in boosted)
    assert [r.memory.content for r in ranking.usage_boost([QueryResult(old_unused, 0.9), ranked[1]], 0.1, now)] == \
        ["old", "fresh"]  # a small boost never beats a clearly better match

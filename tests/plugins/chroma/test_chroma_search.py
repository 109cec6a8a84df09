"""Read paths the conformance suite does not reach: each retrieve strategy, recent-first listings, and the BM25
lexical search."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from mcp_memory.config import Settings
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo, Filter
from mcp_memory.testing import InMemoryStorage
from mcp_memory_chroma import lexical, storage
from mcp_memory_chroma.storage import PROBE_EXTRA, ChromaLexicalStorage, ChromaStorage

pytestmark = pytest.mark.anyio
DIM = 8
INFO = EmbeddingInfo("random-test", DIM)


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
async def pair(tmp_path):
    """A Chroma store and the reference store, filled alike by ``fill``."""
    chroma, reference = ChromaStorage(Settings(), location=str(tmp_path)), InMemoryStorage()
    for store in (chroma, reference):
        await store.initialize(INFO)
    yield chroma, reference
    await chroma.close()


async def fill(stores, items) -> None:
    for store in stores:
        assert all(await store.store_batch(items))


async def same_top(stores, query, k: int, where: Filter) -> list[str]:
    chroma, reference = stores
    got = [r.memory.content for r in await chroma.retrieve(query, k, where)]
    assert got == [r.memory.content for r in await reference.retrieve(query, k, where)], where
    return got


async def test_every_retrieve_path_matches_the_reference(pair, monkeypatch):
    rng = np.random.default_rng(1)
    n = 400
    vectors = unit(rng, n)
    memories = [Memory.create(f"memory {i}", tags=["even" if i % 2 == 0 else "odd"], created_at=float(i),
                              project="big" if i % 50 else "small", metadata={"group": i % 7, "flag": i % 100 == 3})
                for i in range(n)]
    # near-duplicates of one memory in the trash crowd the nearest neighbours of a query
    memories = [replace(m, deleted_at=1.0, deleted_reason="edited") if 100 <= i < 100 + PROBE_EXTRA * 3 else m
                for i, m in enumerate(memories)]
    crowd = vectors[100] + 0.01 * unit(rng, PROBE_EXTRA * 3)
    vectors[100:100 + PROBE_EXTRA * 3] = crowd / np.linalg.norm(crowd, axis=1, keepdims=True)
    await fill(pair, list(zip(memories, vectors)))
    query = vectors[100]
    assert len(await same_top(pair, query, 5, Filter())) == 5  # trash crowds the probe: Chroma's where answers
    await same_top(pair, query, 5, Filter(projects=("big",)))  # the probe answers
    assert len(await same_top(pair, query, 5, Filter(projects=("small",)))) == 5  # 2%: Chroma's where
    assert len(await same_top(pair, query, 3, Filter(metadata=(("flag", True),)))) == 3  # ids of the candidates
    flagged = await same_top(pair, query, 10, Filter(metadata=(("flag", 1),)))  # Python's 1 == True, as the reference
    assert sorted(flagged) == ["memory 203", "memory 3", "memory 303"]
    await same_top(pair, query, 4, Filter(metadata=(("group", 3),), tags=("odd",)))
    assert len(await same_top(pair, query, 10, Filter(trashed=True, start=100.0, end=104.0))) == 5
    monkeypatch.setattr(storage, "CROWD_LIMIT", 10)  # a big trash: Chroma's where asks for trashed = 0
    assert len(await same_top(pair, query, 5, Filter())) == 5
    assert len(await same_top(pair, query, 5, Filter(tags=("even",)))) == 5


async def test_listings_from_recent_windows_match_the_reference(pair):
    now = time.time()
    rng = np.random.default_rng(3)
    ages = [i * 5 * 3600.0 for i in range(300)] + [-86_400.0, 400 * 86_400.0]  # one from the future, one old
    memories = [Memory.create(f"listed {i}", tags=["a" if i % 3 else "b"], created_at=now - age,
                              project=None if i % 4 == 0 else "x") for i, age in enumerate(ages)]
    memories = [replace(m, deleted_at=now, deleted_reason="deleted") if i % 10 == 5 else m
                for i, m in enumerate(memories)]
    await fill(pair, list(zip(memories, unit(rng, len(memories)))))
    chroma, reference = pair
    cases = [(Filter(), 0, 10), (Filter(), 5, 40), (Filter(), 0, 200), (Filter(projects=(None,)), 0, 10),
             (Filter(tags=("b",)), 3, 30), (Filter(end=now - 3 * 86_400.0), 0, 5),
             (Filter(start=now - 86_400.0 * 2, end=now), 0, 100), (Filter(projects=("x",), tags=("a",)), 0, 7),
             (Filter(trashed=True), 0, 5)]
    for where, offset, limit in cases:
        got = [m.content for m in await chroma.list_memories(where, offset, limit)]
        assert got == [m.content for m in await reference.list_memories(where, offset, limit)], (where, offset)
        assert got


async def test_lexical_search_is_bm25(tmp_path):
    store = ChromaLexicalStorage(Settings(), location=str(tmp_path))
    await store.initialize(INFO)
    rng = np.random.default_rng(2)
    texts = ["Zebra zebra zebra in the zoo", "a zebra crossing", "Rare okapi sighting near a zebra",
             "the zoo opens at nine", "ZEBRA stripes", "projection of the project", "Straße über alles",
             "a much longer memory that mentions a zebra once among very many other unrelated words indeed"]
    await store.store_batch([(Memory.create(t, created_at=float(i)), v)
                             for i, (t, v) in enumerate(zip(texts, unit(rng, len(texts))))])
    try:
        async def found(query: str, k: int = 10) -> list[str]:
            return [r.memory.content for r in await store.search_lexical(query, k)]

        zebra = await store.search_lexical("zebra", 10)
        assert zebra[0].memory.content == "Zebra zebra zebra in the zoo" and zebra[0].relevance_score == 1.0
        assert zebra[-1].memory.content.startswith("a much longer memory")  # long documents weigh less
        assert len(zebra) == 5 and all(0 < r.relevance_score <= 1 for r in zebra)
        assert (await found("okapi zebra"))[0] == "Rare okapi sighting near a zebra"  # the rare word counts more
        assert await found("proj") == [] and await found("project") == ["projection of the project"]
        assert await found("STRASSE") == [] and await found("straße ÜBER") == ["Straße über alles"]
        assert sorted(await found('zoo.* (?i) [z]+ \\b "OR"')) == ["Zebra zebra zebra in the zoo",
                                                                 "the zoo opens at nine"]  # words, never syntax
        assert await found("nothinghere") == [] and await found("") == [] and await found("zebra", 0) == []
        crossing = Memory.create("a zebra crossing").content_hash
        await store.trash([crossing], 1.0, "deleted")
        assert "a zebra crossing" not in await found("zebra")
        assert [r.memory.content_hash for r in await store.search_lexical("zebra", 5, Filter(trashed=True))] == \
            [crossing]
        await store.update_memory(replace(await store.get_by_hash(Memory.create("ZEBRA stripes").content_hash),
                                          metadata={"kind": "pattern"}))
        assert [r.memory.content for r in await store.search_lexical(
            "zebra", 5, Filter(metadata=(("kind", "pattern"),)))] == ["ZEBRA stripes"]
    finally:
        await store.close()


def test_rank_scores():
    texts = [("1", "cat cat"), ("2", "cat dog"), ("3", "dog")]
    ranked = lexical.rank(["cat"], texts, scope_size=100, k=10)
    assert [key for key, _ in ranked] == ["1", "2"]
    assert ranked[0][1] == 1.0 and 0 < ranked[1][1] < 1
    assert lexical.rank(["cow"], texts, 100, 10) == [] and lexical.rank(["cat"], texts, 100, 0) == []
    assert lexical.words("Hello, hello WORLD-42 (?i)") == ["hello", "world", "42", "i"]
    assert lexical.prefilter(["a", "b_2"]) == "(?i)\\b(?:a|b_2)\\b"

"""The storage conformance suite: every store plugin runs it against itself.

Usage in a plugin's tests::

    from mcp_memory.testing import StorageConformance

    class TestMyStore(StorageConformance):
        persistent = True  # data survives close() and re-open at the same location

        @pytest.fixture
        def make_storage(self, tmp_path):
            return lambda: MyStore(Settings(), location=str(tmp_path / "db"))

``make_storage()`` must return a new, uninitialised store each call, on the same location within
one test. Tests run on asyncio through anyio's pytest plugin (shipped with anyio, which mcp needs).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from ..errors import EmbeddingError
from ..models import Memory
from ..protocols import EmbeddingInfo
from .fakes import HashEmbedder

EMBEDDER = HashEmbedder(dimension=64)
INFO = EmbeddingInfo(EMBEDDER.model_name, EMBEDDER.dimension)


def vec(text: str) -> list[float]:
    return EMBEDDER.embed([text])[0]


def mem(content: str, tags: Any = None, memory_type: str | None = None, metadata: dict | None = None,
        created_at: float | None = None) -> Memory:
    return Memory.create(content, tags=tags, memory_type=memory_type, metadata=metadata, created_at=created_at)


async def put(storage: Any, *memories: Memory) -> None:
    for m in memories:
        assert await storage.store(m, vec(m.content)) is True


class StorageConformance:
    """Base class of the suite. Subclasses provide the ``make_storage`` fixture."""

    pytestmark = pytest.mark.anyio
    persistent: bool = True

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture
    def make_storage(self) -> Callable[[], Any]:  # pragma: no cover - subclasses override
        raise NotImplementedError("override the make_storage fixture")

    @pytest.fixture
    async def storage(self, make_storage: Callable[[], Any]) -> Any:
        store = make_storage()
        await store.initialize(INFO)
        yield store
        await store.close()

    # -- empty store -------------------------------------------------------------------------
    async def test_empty_store_answers_empty(self, storage: Any) -> None:
        assert await storage.count() == 0
        assert await storage.retrieve(vec("anything"), 5) == []
        assert await storage.search_by_tag(["x"]) == []
        assert await storage.search_by_tag(["x", "y"], match_all=True) == []
        assert await storage.search_by_time(None, None) == []
        assert await storage.list_memories(0, 10) == []
        assert await storage.get_by_hash("0" * 64) is None
        assert await storage.delete("0" * 64) is False
        assert await storage.delete_by_tag(["x"]) == 0
        assert await storage.update_memory_metadata("0" * 64, ["a"], None, {}, time.time()) is False
        assert await storage.all_tags() == []
        batches = [b async for b in storage.iter_memories()]
        assert sum(len(b) for b in batches) == 0
        stats = await storage.get_stats()
        for key in ("backend", "total_memories", "unique_tags", "database_size_mb",
                    "embedding_model", "embedding_dimension"):
            assert key in stats, key
        assert stats["total_memories"] == 0

    # -- store and read back -----------------------------------------------------------------
    async def test_round_trip_keeps_every_field(self, storage: Any) -> None:
        original = mem("Ünïcödé memory 🧠 with עברית and 中文", tags=["Émoji", "b"], memory_type="note",
                       metadata={"nested": {"list": [1, 2.5, None, True]}, "s": "x"}, created_at=1_700_000_000.25)
        await put(storage, original)
        got = await storage.get_by_hash(original.content_hash)
        assert got is not None
        assert got.content == original.content
        assert got.content_hash == original.content_hash
        assert got.tags == original.tags
        assert got.memory_type == "note"
        assert got.metadata == original.metadata
        assert abs(got.created_at - original.created_at) < 1e-3
        assert abs(got.updated_at - original.updated_at) < 1e-3

    async def test_none_type_and_empty_metadata(self, storage: Any) -> None:
        m = mem("plain memory")
        await put(storage, m)
        got = await storage.get_by_hash(m.content_hash)
        assert got.memory_type is None and got.metadata == {} and got.tags == []

    async def test_duplicate_hash_is_refused(self, storage: Any) -> None:
        m = mem("the same fact")
        assert await storage.store(m, vec(m.content)) is True
        assert await storage.store(m, vec(m.content)) is False
        assert await storage.count() == 1

    async def test_store_batch_reports_each_item(self, storage: Any) -> None:
        existing = mem("already here")
        await put(storage, existing)
        fresh = [mem(f"batch item {i}", tags=["batch"]) for i in range(20)]
        results = await storage.store_batch([(m, vec(m.content)) for m in [existing, *fresh]])
        assert results == [False] + [True] * 20
        assert await storage.count() == 21
        assert len(await storage.search_by_tag(["batch"])) == 20
        assert await storage.store_batch([]) == []

    # -- semantic retrieval ------------------------------------------------------------------
    async def test_retrieve_ranks_nearest_first(self, storage: Any) -> None:
        texts = ["the cat sat on the mat", "quarterly revenue grew strongly",
                 "my dog likes long walks", "python asyncio event loop details"]
        await put(storage, *(mem(t) for t in texts))
        results = await storage.retrieve(vec("revenue grew this quarter"), 4)
        assert results[0].memory.content == "quarterly revenue grew strongly"
        scores = [r.relevance_score for r in results]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
        exact = await storage.retrieve(vec("the cat sat on the mat"), 1)
        assert len(exact) == 1 and exact[0].relevance_score > 0.99
        assert len(await storage.retrieve(vec("x"), 2)) == 2

    async def test_retrieve_filters_by_tag_and_type(self, storage: Any) -> None:
        await put(storage,
                  mem("alpha apples", tags=["fruit"], memory_type="note"),
                  mem("alpha apricots", tags=["fruit", "orange"], memory_type="fact"),
                  mem("alpha anvils", tags=["tool"], memory_type="note"))
        by_tag = await storage.retrieve(vec("alpha"), 10, tags=["fruit"])
        assert {r.memory.content for r in by_tag} == {"alpha apples", "alpha apricots"}
        by_any = await storage.retrieve(vec("alpha"), 10, tags=["orange", "tool"])
        assert {r.memory.content for r in by_any} == {"alpha apricots", "alpha anvils"}
        by_type = await storage.retrieve(vec("alpha"), 10, memory_type="note")
        assert {r.memory.content for r in by_type} == {"alpha apples", "alpha anvils"}
        both = await storage.retrieve(vec("alpha"), 10, tags=["fruit"], memory_type="note")
        assert [r.memory.content for r in both] == ["alpha apples"]
        assert await storage.retrieve(vec("alpha"), 10, tags=["nope"]) == []

    async def test_retrieve_filter_finds_rare_matches_among_many(self, storage: Any) -> None:
        many = [(mem(f"common filler text number {i}", tags=["filler"]), None) for i in range(300)]
        await storage.store_batch([(m, vec(m.content)) for m, _ in many])
        rare = mem("zebra crossing near the station", tags=["rare"])
        await put(storage, rare)
        got = await storage.retrieve(vec("common filler text"), 3, tags=["rare"])
        assert [r.memory.content for r in got] == [rare.content]

    # -- tags --------------------------------------------------------------------------------
    async def test_search_by_tag_any_and_all(self, storage: Any) -> None:
        await put(storage,
                  mem("one", tags=["a", "b"], created_at=100.0),
                  mem("two", tags=["b", "c"], created_at=200.0),
                  mem("three", tags=["c"], created_at=300.0))
        assert [m.content for m in await storage.search_by_tag(["a", "c"])] == ["three", "two", "one"]
        assert [m.content for m in await storage.search_by_tag(["b", "c"], match_all=True)] == ["two"]
        assert await storage.search_by_tag(["a", "c"], match_all=True) == []
        assert [m.content for m in await storage.search_by_tag(["b"], limit=1)] == ["two"]
        assert await storage.all_tags() == [("b", 2), ("c", 2), ("a", 1)] or \
            sorted(await storage.all_tags()) == [("a", 1), ("b", 2), ("c", 2)]

    async def test_hostile_and_unicode_tags_are_plain_data(self, storage: Any) -> None:
        evil = "'); drop table memories;--"
        await put(storage, mem("tagged strangely", tags=[evil, "naïve", "日本", "100%", "a_b"]))
        assert len(await storage.search_by_tag([evil])) == 1
        assert len(await storage.search_by_tag(["日本", "naïve"], match_all=True)) == 1
        assert await storage.search_by_tag(["100"]) == []
        assert await storage.search_by_tag(["a%"]) == []
        assert await storage.count() == 1

    # -- time --------------------------------------------------------------------------------
    async def test_search_by_time_inclusive_and_open(self, storage: Any) -> None:
        await put(storage, *(mem(f"event {t}", created_at=float(t)) for t in (1000, 2000, 3000)))
        assert [m.content for m in await storage.search_by_time(1000.0, 2000.0)] == ["event 2000", "event 1000"]
        assert [m.content for m in await storage.search_by_time(2500.0, None)] == ["event 3000"]
        assert [m.content for m in await storage.search_by_time(None, 1500.0)] == ["event 1000"]
        assert len(await storage.search_by_time(None, None)) == 3
        assert await storage.search_by_time(4000.0, 5000.0) == []
        assert len(await storage.search_by_time(None, None, limit=2)) == 2

    # -- listing -----------------------------------------------------------------------------
    async def test_list_and_count_with_filters(self, storage: Any) -> None:
        await put(storage, *(mem(f"item {i}", tags=["even" if i % 2 == 0 else "odd"],
                                 memory_type="t" if i < 5 else None, created_at=float(i)) for i in range(10)))
        page1 = await storage.list_memories(0, 4)
        page3 = await storage.list_memories(8, 4)
        assert [m.content for m in page1] == ["item 9", "item 8", "item 7", "item 6"]
        assert [m.content for m in page3] == ["item 1", "item 0"]
        assert [m.content for m in await storage.list_memories(0, 10, tags=["odd"])][:2] == ["item 9", "item 7"]
        assert await storage.count() == 10
        assert await storage.count(tags=["even"]) == 5
        assert await storage.count(memory_type="t") == 5
        assert await storage.count(tags=["even"], memory_type="t") == 3
        assert len(await storage.list_memories(0, 10, tags=["even"], memory_type="t")) == 3

    # -- deletes and updates -----------------------------------------------------------------
    async def test_delete_removes_everywhere(self, storage: Any) -> None:
        keep, gone = mem("keep me", tags=["x"]), mem("delete me", tags=["x"])
        await put(storage, keep, gone)
        assert await storage.delete(gone.content_hash) is True
        assert await storage.get_by_hash(gone.content_hash) is None
        assert [m.content for m in await storage.search_by_tag(["x"])] == ["keep me"]
        assert all(r.memory.content != "delete me" for r in await storage.retrieve(vec("delete me"), 5))
        assert await storage.count() == 1
        assert await storage.delete(gone.content_hash) is False
        assert await storage.store(gone, vec(gone.content)) is True  # can be stored again

    async def test_delete_by_tag_deletes_any(self, storage: Any) -> None:
        await put(storage, mem("a1", tags=["a"]), mem("b1", tags=["b"]), mem("ab", tags=["a", "b"]),
                  mem("c1", tags=["c"]))
        assert await storage.delete_by_tag(["a", "b"]) == 3
        assert [m.content for m in await storage.list_memories(0, 10)] == ["c1"]
        assert await storage.all_tags() == [("c", 1)]

    async def test_update_metadata_keeps_content_and_vector(self, storage: Any) -> None:
        m = mem("the meeting moved to friday", tags=["old"], memory_type="note", metadata={"a": 1})
        await put(storage, m)
        later = m.created_at + 10
        assert await storage.update_memory_metadata(m.content_hash, ["new", "two"], "event", {"b": 2}, later)
        got = await storage.get_by_hash(m.content_hash)
        assert got.tags == ["new", "two"] and got.memory_type == "event" and got.metadata == {"b": 2}
        assert abs(got.updated_at - later) < 1e-3 and abs(got.created_at - m.created_at) < 1e-3
        assert got.content == m.content
        assert await storage.search_by_tag(["old"]) == []
        assert len(await storage.search_by_tag(["new"])) == 1
        top = await storage.retrieve(vec("the meeting moved to friday"), 1)
        assert top[0].memory.content_hash == m.content_hash and top[0].relevance_score > 0.99

    # -- bulk access -------------------------------------------------------------------------
    async def test_iter_memories_yields_all_with_vectors(self, storage: Any) -> None:
        items = [mem(f"iter {i}", tags=["it"], created_at=float(1000 + i)) for i in range(25)]
        await storage.store_batch([(m, vec(m.content)) for m in items])
        batches = [b async for b in storage.iter_memories(batch_size=10)]
        assert [len(b) for b in batches] == [10, 10, 5]
        flat = [pair for b in batches for pair in b]
        assert [m.content for m, _ in flat] == [m.content for m in items]
        for memory, vector in flat:
            if vector is not None:
                assert len(vector) == INFO.dimension
                expected = vec(memory.content)
                assert sum(a * b for a, b in zip(vector, expected)) > 0.999

    async def test_stats_count_memories_and_tags(self, storage: Any) -> None:
        await put(storage, mem("s1", tags=["a", "b"]), mem("s2", tags=["b"]))
        stats = await storage.get_stats()
        assert stats["total_memories"] == 2
        assert stats["unique_tags"] == 2
        assert stats["embedding_dimension"] in (INFO.dimension, None)
        assert stats["database_size_mb"] >= 0

    async def test_optimize_keeps_data(self, storage: Any) -> None:
        await put(storage, *(mem(f"opt {i}") for i in range(10)))
        for i in range(5):
            await storage.delete(mem(f"opt {i}").content_hash)
        report = await storage.optimize()
        assert isinstance(report, dict)
        assert await storage.count() == 5
        assert (await storage.retrieve(vec("opt 7"), 1))[0].memory.content == "opt 7"

    # -- lifecycle ---------------------------------------------------------------------------
    async def test_close_is_idempotent(self, make_storage: Callable[[], Any]) -> None:
        store = make_storage()
        await store.initialize(INFO)
        await store.close()
        await store.close()

    async def test_data_survives_reopen(self, make_storage: Callable[[], Any]) -> None:
        if not self.persistent:
            pytest.skip("store is not persistent")
        first = make_storage()
        await first.initialize(INFO)
        await put(first, mem("persist me", tags=["p"]))
        await first.close()
        second = make_storage()
        await second.initialize(INFO)
        try:
            assert [m.content for m in await second.search_by_tag(["p"])] == ["persist me"]
            assert (await second.retrieve(vec("persist me"), 1))[0].relevance_score > 0.99
        finally:
            await second.close()

    async def test_other_embedder_is_refused_on_reopen(self, make_storage: Callable[[], Any]) -> None:
        if not self.persistent:
            pytest.skip("store is not persistent")
        first = make_storage()
        await first.initialize(INFO)
        await put(first, mem("made by the hash embedder"))
        await first.close()
        second = make_storage()
        with pytest.raises(EmbeddingError):
            await second.initialize(EmbeddingInfo("another-model", 32))
        await second.close()

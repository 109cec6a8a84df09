"""The storage conformance suite: every store plugin runs it against itself.

Usage in a plugin's tests::

    from mcp_memory.testing import StorageConformance

    class TestMyStore(StorageConformance):
        persistent = True  # data survives close() and re-open at the same location

        @pytest.fixture
        def make_storage(self, tmp_path):
            return lambda: MyStore(Settings(), location=str(tmp_path / "db"))

``make_storage()`` must return a new, uninitialised store each call, on the same location within one test
and on a fresh, empty location for each test. A store on a server gets a fresh database per test the same
way: create a uniquely named database, schema or collection in the fixture (from ``tmp_path.name`` or a
uuid), pass it as the location, and drop it after the test (a fixture with ``yield``).

Optional capabilities are tested when the store has them: ``search_lexical`` (lexical and hybrid search
through a real ``MemoryService``), the ``SearchHits`` methods and the ``reembed_*`` methods.
``concurrent_clients = True`` (the default for persistent stores) runs two store objects on one location at
once, as two processes would.

Tests run on asyncio through anyio's pytest plugin (shipped with anyio, which mcp needs).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from ..errors import EmbeddingError
from ..models import Memory
from ..protocols import LIVE, TRASH, EmbeddingInfo, Filter, SearchHits
from .fakes import HashEmbedder

EMBEDDER = HashEmbedder(dimension=64)
INFO = EmbeddingInfo(EMBEDDER.model_name, EMBEDDER.dimension)
OTHER = HashEmbedder(dimension=48, model_name="another-hash-embedder")


def vec(text: str) -> list[float]:
    return EMBEDDER.embed([text])[0]


def mem(content: str, tags: Any = None, memory_type: str | None = None, metadata: dict | None = None,
        created_at: float | None = None, project: str | None = None) -> Memory:
    return Memory.create(content, tags=tags, memory_type=memory_type, metadata=metadata, created_at=created_at,
                         project=project)


async def put(storage: Any, *memories: Memory) -> None:
    assert await storage.store_batch([(m, vec(m.content)) for m in memories]) == [True] * len(memories)


async def found_exactly(storage: Any, embedder: Any, memory: Memory) -> bool:
    """The memory comes back with relevance ~1 for its own text's vector (ties of a hash embedder allowed)."""
    top = await storage.retrieve(embedder.embed([memory.content])[0], 3)
    return any(r.memory.content_hash == memory.content_hash and r.relevance_score > 0.99 for r in top)


def contents(memories: Any) -> list[str]:
    return [getattr(m, "memory", m).content for m in memories]


class StorageConformance:
    """Base class of the suite. Subclasses provide the ``make_storage`` fixture."""

    pytestmark = pytest.mark.anyio
    persistent: bool = True
    concurrent_clients: bool | None = None  # None: same as ``persistent``

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
        assert await storage.count(TRASH) == 0
        assert await storage.retrieve(vec("anything"), 5) == []
        assert await storage.list_memories(Filter(tags=("x",))) == []
        assert await storage.list_memories(LIVE, 0, None) == []
        assert await storage.get_by_hash("0" * 64) is None
        assert await storage.get_by_hash("0" * 64, trashed=None) is None
        assert await storage.trash(["0" * 64], time.time(), "deleted") == []
        assert await storage.restore(["0" * 64]) == []
        assert await storage.purge(["0" * 64]) == 0
        assert await storage.update_memory(mem("nothing")) is False
        assert await storage.find_hashes("00000000") == []
        assert await storage.all_tags() == []
        assert await storage.projects() == []
        batches = [b async for b in storage.iter_memories()]
        assert sum(len(b) for b in batches) == 0
        stats = await storage.get_stats()
        for key in ("backend", "total_memories", "trashed_memories", "unique_tags", "database_size_mb",
                    "embedding_model", "embedding_dimension"):
            assert key in stats, key
        assert stats["total_memories"] == 0

    # -- store and read back -----------------------------------------------------------------
    async def test_round_trip_keeps_every_field(self, storage: Any) -> None:
        original = mem("Ünïcödé memory 🧠 with עברית and 中文", tags=["Émoji", "b"], memory_type="note",
                       metadata={"nested": {"list": [1, 2.5, None, True]}, "s": "x"}, created_at=1_700_000_000.25,
                       project="Project Ω")
        await put(storage, original)
        got = await storage.get_by_hash(original.content_hash)
        assert got is not None
        assert got.content == original.content
        assert got.content_hash == original.content_hash
        assert got.tags == original.tags
        assert got.memory_type == "note"
        assert got.metadata == original.metadata
        assert got.project == "Project Ω"
        assert abs(got.created_at - original.created_at) < 1e-3
        assert abs(got.updated_at - original.updated_at) < 1e-3
        assert got.deleted_at is None and got.use_count == 0 and got.last_used_at is None

    async def test_none_type_empty_metadata_global(self, storage: Any) -> None:
        m = mem("plain memory")
        await put(storage, m)
        got = await storage.get_by_hash(m.content_hash)
        assert got.memory_type is None and got.metadata == {} and got.tags == [] and got.project is None

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
        assert len(await storage.list_memories(Filter(tags=("batch",)), 0, None)) == 20
        assert await storage.store_batch([]) == []

    async def test_find_hashes_by_prefix(self, storage: Any) -> None:
        memories = [mem(f"prefix test {i}") for i in range(40)]
        await put(storage, *memories)
        target = memories[7].content_hash
        assert await storage.find_hashes(target[:12]) == [target]
        assert await storage.find_hashes(target) == [target]
        first = sorted(m.content_hash for m in memories if m.content_hash[0] == target[0])
        assert await storage.find_hashes(target[0], limit=100) == first
        assert len(await storage.find_hashes(target[0], limit=1)) == 1
        await storage.trash([target], time.time(), "deleted")
        assert await storage.find_hashes(target[:12]) == [target]  # the trash counts too
        assert await storage.find_hashes("%") == [] and await storage.find_hashes("_") == []

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

    async def test_retrieve_filters(self, storage: Any) -> None:
        await put(storage,
                  mem("alpha apples", tags=["fruit"], memory_type="note", created_at=100.0, project="p1",
                      metadata={"source": "a.md", "page": 1}),
                  mem("alpha apricots", tags=["fruit", "orange"], memory_type="fact", created_at=200.0,
                      metadata={"source": "b.md", "page": 1}),
                  mem("alpha anvils", tags=["tool"], memory_type="note", created_at=300.0, project="p2",
                      metadata={"source": "a.md", "page": 2}))

        async def found(**where: Any) -> set[str]:
            return set(contents(await storage.retrieve(vec("alpha"), 10, Filter(**where))))

        assert await found(tags=("fruit",)) == {"alpha apples", "alpha apricots"}
        assert await found(tags=("orange", "tool")) == {"alpha apricots", "alpha anvils"}
        assert await found(tags=("fruit", "orange"), match_all=True) == {"alpha apricots"}
        assert await found(memory_type="note") == {"alpha apples", "alpha anvils"}
        assert await found(tags=("fruit",), memory_type="note") == {"alpha apples"}
        assert await found(tags=("nope",)) == set()
        assert await found(projects=("p1", None)) == {"alpha apples", "alpha apricots"}
        assert await found(projects=(None,)) == {"alpha apricots"}
        assert await found(projects=("p2",)) == {"alpha anvils"}
        assert await found(start=150.0, end=300.0) == {"alpha apricots", "alpha anvils"}
        assert await found(metadata=(("source", "a.md"),)) == {"alpha apples", "alpha anvils"}
        assert await found(metadata=(("source", "a.md"), ("page", 2))) == {"alpha anvils"}
        assert await found(metadata=(("missing", "x"),)) == set()

    async def test_retrieve_filter_finds_rare_matches_among_many(self, storage: Any) -> None:
        many = [mem(f"common filler text number {i}", tags=["filler"], project="big") for i in range(300)]
        await put(storage, *many)
        rare = mem("zebra crossing near the station", tags=["rare"])
        await put(storage, rare)
        assert contents(await storage.retrieve(vec("common filler text"), 3, Filter(tags=("rare",)))) == [rare.content]
        assert contents(await storage.retrieve(vec("common filler text"), 3, Filter(projects=(None,)))) == \
            [rare.content]

    # -- projects ----------------------------------------------------------------------------
    async def test_projects_are_isolated(self, storage: Any) -> None:
        await put(storage, mem("api uses postgres", project="api", tags=["db"], created_at=1.0),
                  mem("web uses react", project="web", tags=["ui"], created_at=2.0),
                  mem("the user prefers tabs", tags=["style"], created_at=3.0),
                  mem("api deploys on fridays", project="api", tags=["ops"], created_at=4.0))
        api = Filter(projects=("api", None))
        assert contents(await storage.list_memories(api, 0, None)) == \
            ["api deploys on fridays", "the user prefers tabs", "api uses postgres"]
        assert "web uses react" not in contents(await storage.retrieve(vec("web uses react"), 10, api))
        assert await storage.count(api) == 3
        assert await storage.count(Filter(projects=("web", None))) == 2
        assert await storage.count() == 4
        assert dict(await storage.all_tags(api)) == {"db": 1, "ops": 1, "style": 1}
        assert await storage.projects() == [("api", 2), (None, 1), ("web", 1)]  # most first, global first on ties

    # -- listing -----------------------------------------------------------------------------
    async def test_tags_any_all_and_newest_first(self, storage: Any) -> None:
        await put(storage,
                  mem("one", tags=["a", "b"], created_at=100.0),
                  mem("two", tags=["b", "c"], created_at=200.0),
                  mem("three", tags=["c"], created_at=300.0))
        assert contents(await storage.list_memories(Filter(tags=("a", "c")), 0, None)) == ["three", "two", "one"]
        assert contents(await storage.list_memories(Filter(tags=("b", "c"), match_all=True))) == ["two"]
        assert await storage.list_memories(Filter(tags=("a", "c"), match_all=True)) == []
        assert contents(await storage.list_memories(Filter(tags=("b",)), 0, 1)) == ["two"]
        assert await storage.all_tags() == [("b", 2), ("c", 2), ("a", 1)]
        assert await storage.all_tags(Filter(tags=("a",))) == [("a", 1), ("b", 1)]

    async def test_hostile_and_unicode_tags_are_plain_data(self, storage: Any) -> None:
        evil = "'); drop table memories;--"
        await put(storage, mem("tagged strangely", tags=[evil, "naïve", "日本", "100%", "a_b"]))
        assert await storage.count(Filter(tags=(evil,))) == 1
        assert await storage.count(Filter(tags=("日本", "naïve"), match_all=True)) == 1
        assert await storage.count(Filter(tags=("100",))) == 0
        assert await storage.count(Filter(tags=("a%",))) == 0
        assert await storage.count() == 1

    async def test_time_ranges_inclusive_and_open(self, storage: Any) -> None:
        await put(storage, *(mem(f"event {t}", created_at=float(t)) for t in (1000, 2000, 3000)))

        async def between(start: float | None, end: float | None, limit: int | None = None) -> list[str]:
            return contents(await storage.list_memories(Filter(start=start, end=end), 0, limit))

        assert await between(1000.0, 2000.0) == ["event 2000", "event 1000"]
        assert await between(2500.0, None) == ["event 3000"]
        assert await between(None, 1500.0) == ["event 1000"]
        assert len(await between(None, None)) == 3
        assert await between(4000.0, 5000.0) == []
        assert len(await between(None, None, 2)) == 2

    async def test_pages_and_counts(self, storage: Any) -> None:
        await put(storage, *(mem(f"item {i}", tags=["even" if i % 2 == 0 else "odd"],
                                 memory_type="t" if i < 5 else None, created_at=float(i)) for i in range(10)))
        assert contents(await storage.list_memories(LIVE, 0, 4)) == ["item 9", "item 8", "item 7", "item 6"]
        assert contents(await storage.list_memories(LIVE, 8, 4)) == ["item 1", "item 0"]
        assert contents(await storage.list_memories(Filter(tags=("odd",)), 0, 2)) == ["item 9", "item 7"]
        assert await storage.count() == 10
        assert await storage.count(Filter(tags=("even",))) == 5
        assert await storage.count(Filter(memory_type="t")) == 5
        assert await storage.count(Filter(tags=("even",), memory_type="t")) == 3
        assert len(await storage.list_memories(Filter(tags=("even",), memory_type="t"), 0, 10)) == 3

    async def test_metadata_filter_in_listing(self, storage: Any) -> None:
        await put(storage, mem("chunk 1", metadata={"source_path": "/docs/a.md", "chunk": 0}),
                  mem("chunk 2", metadata={"source_path": "/docs/a.md", "chunk": 1}),
                  mem("chunk 3", metadata={"source_path": "/docs/b.md", "chunk": 0}),
                  mem("other", metadata={"flag": True}))
        assert sorted(contents(await storage.list_memories(Filter(metadata=(("source_path", "/docs/a.md"),)),
                                                          0, None))) == ["chunk 1", "chunk 2"]
        assert contents(await storage.list_memories(Filter(metadata=(("flag", True),)))) == ["other"]
        assert await storage.count(Filter(metadata=(("chunk", 0),))) == 2

    # -- updates -----------------------------------------------------------------------------
    async def test_update_memory_keeps_content_and_vector(self, storage: Any) -> None:
        m = mem("the meeting moved to friday", tags=["old"], memory_type="note", metadata={"a": 1})
        await put(storage, m)
        later = m.created_at + 10
        changed = replace(m, tags=["new", "two"], memory_type="event", metadata={"b": 2}, updated_at=later,
                          project="team", content="ignored", created_at=0.0)
        assert await storage.update_memory(changed)
        got = await storage.get_by_hash(m.content_hash)
        assert got.tags == ["new", "two"] and got.memory_type == "event" and got.metadata == {"b": 2}
        assert got.project == "team"
        assert abs(got.updated_at - later) < 1e-3 and abs(got.created_at - m.created_at) < 1e-3
        assert got.content == m.content
        assert await storage.count(Filter(tags=("old",))) == 0
        assert await storage.count(Filter(tags=("new",))) == 1
        top = await storage.retrieve(vec("the meeting moved to friday"), 1, Filter(projects=("team",)))
        assert top[0].memory.content_hash == m.content_hash and top[0].relevance_score > 0.99

    async def test_mark_used_counts(self, storage: Any) -> None:
        a, b = mem("used twice"), mem("never used")
        await put(storage, a, b)
        await storage.mark_used([a.content_hash], 1000.0)
        await storage.mark_used([a.content_hash, "0" * 64], 2000.0)
        got = await storage.get_by_hash(a.content_hash)
        assert got.use_count == 2 and got.last_used_at == pytest.approx(2000.0)
        other = await storage.get_by_hash(b.content_hash)
        assert other.use_count == 0 and other.last_used_at is None

    # -- the trash ---------------------------------------------------------------------------
    async def test_trash_hides_and_restore_is_exact(self, storage: Any) -> None:
        keep = mem("keep me", tags=["x"], created_at=10.0)
        gone = mem("delete me please", tags=["x", "y"], memory_type="note", metadata={"k": [1, 2]},
                   created_at=20.0, project="p")
        await put(storage, keep, gone)
        await storage.mark_used([gone.content_hash], 15.0)
        before = await storage.get_by_hash(gone.content_hash)
        assert await storage.trash([gone.content_hash, "0" * 64], 100.0, "deleted") == [gone.content_hash]
        assert await storage.trash([gone.content_hash], 101.0, "deleted") == []  # already there
        assert await storage.get_by_hash(gone.content_hash) is None
        trashed = await storage.get_by_hash(gone.content_hash, trashed=True)
        assert trashed.deleted_at == pytest.approx(100.0) and trashed.deleted_reason == "deleted"
        assert (await storage.get_by_hash(gone.content_hash, trashed=None)).content == gone.content
        assert contents(await storage.list_memories(Filter(tags=("x",)))) == ["keep me"]
        assert all(r.memory.content != gone.content for r in await storage.retrieve(vec(gone.content), 5))
        assert await storage.count() == 1 and await storage.count(TRASH) == 1
        assert contents(await storage.list_memories(TRASH)) == [gone.content]
        assert await storage.all_tags() == [("x", 1)]
        assert await storage.all_tags(TRASH) == [("x", 1), ("y", 1)]
        assert await storage.projects() == [(None, 1)]
        assert await storage.store(gone, vec(gone.content)) is False  # one row per hash, live or trashed
        assert await storage.update_memory(gone) is False  # trashed memories are not updated

        assert await storage.restore([gone.content_hash, keep.content_hash]) == [gone.content_hash]
        back = await storage.get_by_hash(gone.content_hash)
        assert back == before
        top = await storage.retrieve(vec(gone.content), 1)
        assert top[0].memory.content_hash == gone.content_hash and top[0].relevance_score > 0.99
        assert await storage.count(TRASH) == 0

    async def test_trash_reasons_links_and_order(self, storage: Any) -> None:
        old, new, other = mem("version one"), mem("version two"), mem("merged away")
        await put(storage, old, new, other)
        await storage.trash([old.content_hash], 50.0, "edited", replaced_by=new.content_hash)
        await storage.trash([other.content_hash], 60.0, "merged", replaced_by=new.content_hash)
        assert contents(await storage.list_memories(TRASH)) == ["merged away", "version one"]  # latest first
        linked = await storage.list_memories(Filter(trashed=True, replaced_by=new.content_hash), 0, None)
        assert sorted(contents(linked)) == ["merged away", "version one"]
        got = await storage.get_by_hash(old.content_hash, trashed=True)
        assert got.deleted_reason == "edited" and got.replaced_by == new.content_hash

    async def test_purge_deletes_trashed_only(self, storage: Any) -> None:
        a, b = mem("purge me"), mem("live one")
        await put(storage, a, b)
        assert await storage.purge([b.content_hash]) == 0  # live memories are never purged
        await storage.trash([a.content_hash], 1.0, "deleted")
        assert await storage.purge([a.content_hash]) == 1
        assert await storage.get_by_hash(a.content_hash, trashed=None) is None
        assert await storage.count(TRASH) == 0 and await storage.count() == 1
        assert await storage.store(a, vec(a.content)) is True  # can be stored again

    async def test_trashed_memories_arrive_from_a_backup(self, storage: Any) -> None:
        trashed = replace(mem("from a backup", tags=["t"]), deleted_at=5.0, deleted_reason="deleted")
        await put(storage, trashed, mem("live from backup"))
        assert contents(await storage.list_memories()) == ["live from backup"]
        got = await storage.get_by_hash(trashed.content_hash, trashed=True)
        assert got.deleted_at == pytest.approx(5.0) and got.deleted_reason == "deleted"
        assert await storage.restore([trashed.content_hash]) == [trashed.content_hash]
        top = await storage.retrieve(vec("from a backup"), 1)
        assert top[0].memory.content_hash == trashed.content_hash and top[0].relevance_score > 0.99

    # -- bulk access -------------------------------------------------------------------------
    async def test_iter_memories_yields_all_with_vectors(self, storage: Any) -> None:
        items = [mem(f"iter {i}", tags=["it"], created_at=float(1000 + i)) for i in range(25)]
        await put(storage, *items)
        await storage.trash([items[3].content_hash], 2000.0, "deleted")
        batches = [b async for b in storage.iter_memories(batch_size=10)]
        assert [len(b) for b in batches] == [10, 10, 5]
        flat = [pair for b in batches for pair in b]
        assert [m.content for m, _ in flat] == [m.content for m in items]
        assert [m.trashed for m, _ in flat].count(True) == 1
        for memory, vector in flat:
            if vector is not None:
                assert len(vector) == INFO.dimension
                assert sum(a * b for a, b in zip(vector, vec(memory.content), strict=True)) > 0.999

    async def test_migration_round_trip_keeps_everything(self, make_storage: Callable[[], Any]) -> None:
        """What ``memory migrate`` does between two stores: every field survives, the trash included."""
        items = [mem(f"move {i}", tags=["m", f"t{i % 3}"], memory_type="note" if i % 2 else None,
                     metadata={"i": i}, created_at=float(500 + i), project="p" if i % 2 else None)
                 for i in range(12)]
        source = make_storage()
        await source.initialize(INFO)
        await put(source, *items)
        await source.trash([items[0].content_hash], 900.0, "edited", replaced_by=items[1].content_hash)
        await source.mark_used([items[2].content_hash], 800.0)
        copied = [pair async for batch in source.iter_memories(5) for pair in batch]
        hashes = [m.content_hash for m, _ in copied]
        await source.trash(hashes, 1.0, "deleted")  # empty the location (a persistent store reuses it)
        assert await source.purge(hashes) == len(copied)
        await source.close()
        target = make_storage()
        await target.initialize(INFO)
        try:
            assert await target.count() == 0 and await target.count(TRASH) == 0
            assert await target.store_batch([(m, v if v is not None else vec(m.content)) for m, v in copied]) == \
                [True] * len(copied)
            again = {m.content_hash: m for batch in [b async for b in target.iter_memories()] for m, _ in batch}
            assert len(again) == len(copied)
            for memory, _ in copied:
                assert again[memory.content_hash] == memory
        finally:
            await target.close()

    async def test_stats_count_memories_and_tags(self, storage: Any) -> None:
        await put(storage, mem("s1", tags=["a", "b"]), mem("s2", tags=["b"]), mem("s3", tags=["c"]))
        await storage.trash([mem("s3").content_hash], 1.0, "deleted")
        stats = await storage.get_stats()
        assert stats["total_memories"] == 2 and stats["trashed_memories"] == 1
        assert stats["unique_tags"] >= 2
        assert stats["embedding_dimension"] in (INFO.dimension, None)
        assert stats["database_size_mb"] is None or stats["database_size_mb"] >= 0

    async def test_optimize_keeps_data(self, storage: Any) -> None:
        await put(storage, *(mem(f"opt {i}") for i in range(10)))
        await storage.trash([mem(f"opt {i}").content_hash for i in range(5)], 1.0, "deleted")
        await storage.purge([mem(f"opt {i}").content_hash for i in range(3)])
        report = await storage.optimize()
        assert isinstance(report, dict)
        assert await storage.count() == 5 and await storage.count(TRASH) == 2
        assert (await storage.retrieve(vec("opt 7"), 1))[0].memory.content == "opt 7"

    # -- optional: lexical search ------------------------------------------------------------
    async def test_lexical_and_hybrid_search(self, storage: Any) -> None:
        if not hasattr(storage, "search_lexical"):
            pytest.skip("the store has no lexical search (optional)")
        from ..service import MemoryService

        await put(storage, mem("Invoice INV-20931 was paid by Zyxware", project="billing", created_at=1.0),
                  mem("Lunch with the design team about colours", created_at=2.0),
                  mem("The zyxware contract renews in May", tags=["contract"], created_at=3.0),
                  mem("gone zyxware note", created_at=4.0))
        await storage.trash([mem("gone zyxware note").content_hash], 5.0, "deleted")
        hits = await storage.search_lexical("zyxware", 10)
        assert sorted(contents(hits)) == ["Invoice INV-20931 was paid by Zyxware",
                                          "The zyxware contract renews in May"]
        assert hits[0].relevance_score == pytest.approx(1.0)
        assert contents(await storage.search_lexical("zyxware", 10, Filter(tags=("contract",)))) == \
            ["The zyxware contract renews in May"]
        assert contents(await storage.search_lexical("zyxware", 10, Filter(projects=(None,)))) == \
            ["The zyxware contract renews in May"]
        assert await storage.search_lexical("nothingmatchesthis", 10) == []
        assert isinstance(await storage.search_lexical('" OR ( NEAR * - ', 10), list)  # words, never syntax
        service = MemoryService(storage, EMBEDDER)
        for mode in ("lexical", "hybrid"):
            top = await service.retrieve("INV-20931", n_results=1, mode=mode, min_relevance=0.0)
            assert contents(top) == ["Invoice INV-20931 was paid by Zyxware"], mode
        assert service.search_modes == ["semantic", "lexical", "hybrid"]

    # -- optional: search hits ---------------------------------------------------------------
    async def test_search_hits_are_the_searches_of_whole_memories(self, storage: Any) -> None:
        gives_hits = isinstance(storage, SearchHits)
        if not gives_hits:
            pytest.skip("the store gives no search hits (optional)")
        from ..service import MemoryService

        kept = [mem("The zyxware contract renews in May", tags=["contract", "legal"], created_at=1.0),
                mem("Zyxware invoices go to billing", project="billing", created_at=2.0),
                mem("zyxware notes captured from a session", tags=["auto-captured"], created_at=3.0),
                mem("Lunch with the design team", created_at=4.0)]
        gone = mem("an old zyxware draft", created_at=5.0)
        await put(storage, *kept, gone)
        await storage.trash([gone.content_hash], 6.0, "deleted")

        def seen(results: Any) -> list[tuple[str, list[str], float]]:
            return [(r.content_hash, sorted(r.tags), round(r.relevance_score, 5)) for r in results]

        for where in (LIVE, Filter(projects=(None,)), Filter(tags=("contract",)), TRASH):
            assert seen(await storage.retrieve_hits(vec("zyxware contract"), 10, where)) == \
                seen(await storage.retrieve(vec("zyxware contract"), 10, where)), where
            assert seen(await storage.search_lexical_hits("zyxware contract", 10, where)) == \
                seen(await storage.search_lexical("zyxware contract", 10, where)), where
        assert await storage.search_lexical_hits("nothingmatchesthis", 10) == []
        got = await storage.get_many([kept[0].content_hash, gone.content_hash, "0" * 64])
        assert sorted(m.content_hash for m in got) == sorted([kept[0].content_hash, gone.content_hash])
        for memory in got:
            assert memory == await storage.get_by_hash(memory.content_hash, trashed=None)
        assert await storage.get_many([]) == []

        class WithoutHits:  # the same store, searched the way a store without the capability is
            def __getattr__(self, name: str) -> Any:
                if name in ("retrieve_hits", "search_lexical_hits", "get_many"):
                    raise AttributeError(name)
                return getattr(storage, name)

        with_hits, without = MemoryService(storage, EMBEDDER), MemoryService(WithoutHits(), EMBEDDER)
        for query in ("zyxware contract", "design lunch", "billing invoices", "session notes"):
            a = await with_hits.retrieve(query, n_results=3, min_relevance=0.0)
            b = await without.retrieve(query, n_results=3, min_relevance=0.0)
            assert [(r.content_hash, r.memory.content, round(r.relevance_score, 5)) for r in a] == \
                [(r.content_hash, r.memory.content, round(r.relevance_score, 5)) for r in b], query
            assert a, query

    # -- optional: re-embedding --------------------------------------------------------------
    async def test_reembed_stages_then_swaps(self, make_storage: Callable[[], Any]) -> None:
        store = make_storage()
        await store.initialize(INFO)
        if not hasattr(store, "reembed_begin"):
            await store.close()
            pytest.skip("the store cannot re-embed in place (optional)")
        target = EmbeddingInfo(OTHER.model_name, OTHER.dimension)
        try:
            items = [mem(f"reembed {i}") for i in range(30)]
            await put(store, *items)
            await store.trash([items[0].content_hash], 1.0, "deleted")
            assert await store.reembed_state() is None
            state = await store.reembed_begin(target)
            assert state.target == target and state.staged == 0 and state.total == 30
            pending = await store.reembed_pending(20)
            assert len(pending) == 20
            await store.reembed_stage([(m.content_hash, OTHER.embed([m.content])[0]) for m in pending])
            assert (await store.reembed_state()).staged == 20
            late = mem("stored during the re-embedding")
            await put(store, late)  # still served by the old model
            assert (await store.retrieve(vec(late.content), 1))[0].memory.content_hash == late.content_hash
            rest = await store.reembed_pending(100)
            staged = {m.content_hash for m in pending}
            assert {m.content_hash for m in rest} == {m.content_hash for m in items} - staged | {late.content_hash}
            await store.reembed_stage([(m.content_hash, OTHER.embed([m.content])[0]) for m in rest[:-1]])
            assert await store.reembed_commit() is False  # one still missing: nothing changed
            assert (await store.retrieve(vec(items[5].content), 1))[0].relevance_score > 0.99
            await store.reembed_stage([(rest[-1].content_hash, OTHER.embed([rest[-1].content])[0])])
            assert await store.reembed_commit() is True
            assert await store.reembed_state() is None
            assert await found_exactly(store, OTHER, items[5])
            assert await store.restore([items[0].content_hash]) == [items[0].content_hash]
            assert await found_exactly(store, OTHER, items[0])
            assert (await store.get_stats())["embedding_dimension"] in (OTHER.dimension, None)
        finally:
            await store.close()
        if self.persistent:
            reopened = make_storage()
            with pytest.raises(EmbeddingError):
                await reopened.initialize(INFO)
            await reopened.close()
            again = make_storage()
            await again.initialize(target)
            assert await again.count() == 31  # the 30 items (the trashed one restored) and the late one
            await again.close()

    async def test_reembed_abort_keeps_the_old_model(self, storage: Any) -> None:
        if not hasattr(storage, "reembed_begin"):
            pytest.skip("the store cannot re-embed in place (optional)")
        await put(storage, mem("stay on the old model"))
        await storage.reembed_begin(EmbeddingInfo(OTHER.model_name, OTHER.dimension))
        await storage.reembed_stage([(mem("stay on the old model").content_hash,
                                      OTHER.embed(["stay on the old model"])[0])])
        await storage.reembed_abort()
        assert await storage.reembed_state() is None
        top = await storage.retrieve(vec("stay on the old model"), 1)
        assert top[0].relevance_score > 0.99

    # -- lifecycle and several clients -------------------------------------------------------
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
        await put(first, mem("persist me", tags=["p"], project="x"), mem("trash me"))
        await first.trash([mem("trash me").content_hash], 3.0, "deleted")
        await first.close()
        second = make_storage()
        await second.initialize(INFO)
        try:
            assert contents(await second.list_memories(Filter(tags=("p",)))) == ["persist me"]
            assert (await second.retrieve(vec("persist me"), 1))[0].relevance_score > 0.99
            assert contents(await second.list_memories(TRASH)) == ["trash me"]
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
        with pytest.raises(EmbeddingError) as refused:
            await second.initialize(EmbeddingInfo("another-model", 32))
        await second.close()
        text = str(refused.value)
        assert INFO.model in text and "another-model" in text and "reembed" in text

    async def test_concurrent_clients_see_each_other(self, make_storage: Callable[[], Any]) -> None:
        if not (self.persistent if self.concurrent_clients is None else self.concurrent_clients):
            pytest.skip("store is not shared between clients")
        one, two = make_storage(), make_storage()
        await one.initialize(INFO)
        await two.initialize(INFO)
        try:
            async def write(store: Any, who: str) -> None:
                for i in range(20):
                    await put(store, mem(f"{who} wrote {i}", tags=[who]))

            await asyncio.gather(write(one, "one"), write(two, "two"))
            for store in (one, two):
                assert await store.count() == 40
                assert await store.count(Filter(tags=("one",))) == 20
                top = await store.retrieve(vec("two wrote 7"), 1)
                assert top[0].memory.content == "two wrote 7"
            await one.trash([mem("two wrote 7").content_hash], 1.0, "deleted")
            assert await two.get_by_hash(mem("two wrote 7").content_hash) is None
            assert all(r.memory.content != "two wrote 7" for r in await two.retrieve(vec("two wrote 7"), 3))
        finally:
            await one.close()
            await two.close()

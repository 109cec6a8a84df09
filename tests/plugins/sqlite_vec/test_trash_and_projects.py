"""Schema-5 behaviour beyond the conformance suite: the trash keeps vectors in vec0 but leaves the in-memory
index and the full-text index (and other processes follow), projects filtered inside the in-memory index,
``nearest_above`` exact against brute force, hash prefixes with LIKE wildcards, metadata equality like Python,
and a hybrid search read from hits that leaves out a memory trashed meanwhile."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sqlite_vec_helpers import open_store, raw

from mcp_memory.models import Memory
from mcp_memory.protocols import TRASH, EmbeddingInfo, Filter, NearDuplicates
from mcp_memory.testing import HashEmbedder
from mcp_memory_sqlite_vec import reads
from mcp_memory_sqlite_vec.prefilter import BITS, cutoff

pytestmark = pytest.mark.anyio

DIM = 16
INFO = EmbeddingInfo("trash-test", DIM)


def unit(seed: int, dim: int = DIM) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


async def contents(results) -> list[str]:
    return [getattr(r, "memory", r).content for r in results]


# -- the trash and the two indexes ----------------------------------------------------------------------
async def test_trash_keeps_the_vector_but_leaves_both_indexes(tmp_path):
    db = tmp_path / "m.db"
    store, other = await open_store(db, INFO), await open_store(db, INFO)
    try:
        items = [(Memory.create(f"kept memory {i}"), unit(i)) for i in range(5)]
        await store.store_batch(items)
        assert len(await other.retrieve(unit(0), 10)) == 5  # the other client loads its index now
        gone = items[2][0].content_hash
        assert await store.trash([gone], 10.0, "deleted") == [gone]
        conn = raw(db)
        assert conn.execute("SELECT count(*) FROM memory_vectors").fetchone()[0] == 5
        last = conn.execute("SELECT memory_id, added FROM vector_changes ORDER BY seq DESC LIMIT 1").fetchone()
        assert last == (3, 0)
        conn.close()
        for client in (store, other):
            assert gone not in [r.memory.content_hash for r in await client.retrieve(unit(2), 10)]
            assert await client.nearest_above(unit(2), 0.99) is None
            assert await client.search_lexical("kept", 10) and len(await client.search_lexical("kept", 10)) == 4
            assert len(client._index) == 4
        in_trash = await other.retrieve(unit(2), 3, TRASH)
        assert [r.memory.content_hash for r in in_trash] == [gone] and in_trash[0].relevance_score > 0.999
        assert await other.restore([gone]) == [gone]
        for client in (store, other):
            top = await client.retrieve(unit(2), 1)
            assert top[0].memory.content_hash == gone and top[0].relevance_score > 0.999
            assert (await client.nearest_above(unit(2), 0.99)).memory.content_hash == gone
            assert len(await client.search_lexical("kept", 10)) == 5
    finally:
        await store.close()
        await other.close()


TRASHER = textwrap.dedent("""
    import asyncio, sys
    from mcp_memory.config import Settings
    from mcp_memory.protocols import EmbeddingInfo, Filter
    from mcp_memory_sqlite_vec.storage import SqliteVecStorage

    async def main(path, action, project):
        store = SqliteVecStorage(Settings(), location=path)
        await store.initialize(EmbeddingInfo("trash-test", 16))
        found = await store.list_memories(Filter(projects=(project,)), 0, None)
        if action == "trash":
            await store.trash([m.content_hash for m in found], 1.0, "deleted")
        else:
            found = await store.list_memories(Filter(trashed=True), 0, None)
            await store.restore([m.content_hash for m in found])
        await store.close()

    asyncio.run(main(*sys.argv[1:]))
""")


async def test_another_process_trashing_and_restoring_is_followed(tmp_path):
    db = tmp_path / "m.db"
    store = await open_store(db, INFO)
    try:
        await store.store_batch([(Memory.create(f"memory {i}", project=("a", "b")[i % 2]), unit(i)) for i in range(20)])
        assert len(await store.retrieve(unit(0), 50)) == 20
        for action, expected in (("trash", 10), ("restore", 20)):
            done = subprocess.run([sys.executable, "-c", TRASHER, str(db), action, "a"], capture_output=True,
                                  text=True, timeout=120)
            assert done.returncode == 0, done.stderr[-2000:]
            found = await store.retrieve(unit(0), 50)
            assert len(found) == expected and len(store._index) == expected
            assert len(await store.retrieve(unit(0), 50, Filter(projects=("a",)))) == expected - 10
    finally:
        await store.close()


# -- projects in the in-memory index --------------------------------------------------------------------
async def test_project_filter_needs_no_sql_and_follows_project_changes(tmp_path, monkeypatch):
    db = tmp_path / "m.db"
    store, other = await open_store(db, INFO), await open_store(db, INFO)
    try:
        mems = [Memory.create(f"memory {i}", project=("api", "web", None)[i % 3]) for i in range(30)]
        await store.store_batch([(m, unit(i)) for i, m in enumerate(mems)])
        assert len(await other.retrieve(unit(0), 100)) == 30

        def no_sql(*args, **kwargs):
            raise AssertionError("a projects-only filter must not ask SQL for candidate ids")

        monkeypatch.setattr(reads, "matching_ids", no_sql)
        for projects, want in ((("api",), 10), (("api", None), 20), ((None,), 10), (("nowhere",), 0), ((), 0)):
            found = await other.retrieve(unit(3), 100, Filter(projects=projects))
            assert len(found) == want and all(r.memory.project in projects for r in found)
        moved = mems[3]  # api -> web, by the first client
        assert await store.update_memory(moved.with_changes(project="web"))
        assert moved.content_hash not in [r.memory.content_hash for r in
                                          await other.retrieve(unit(3), 100, Filter(projects=("api",)))]
        top = await other.retrieve(unit(3), 1, Filter(projects=("web",)))
        assert top[0].memory.content_hash == moved.content_hash and top[0].memory.project == "web"
        assert (await other.nearest_above(unit(3), 0.99, Filter(projects=("web",)))).memory.project == "web"
        assert await other.nearest_above(unit(3), 0.99, Filter(projects=("api",))) is None
    finally:
        await store.close()
        await other.close()


# -- nearest_above: exact for every memory at or above the threshold ----------------------------------
def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 20), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.uniform(0.02, 0.5, (n, 1)).astype(np.float32)
    spread = noise * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    x = centres[rng.integers(0, len(centres), n)] + spread
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["clustered", "texts"])
async def test_nearest_above_equals_brute_force(tmp_path, kind):
    dim, n = 384, 3000
    if kind == "texts":
        words = ["deploy", "database", "friday", "meeting", "alice", "bob", "postgres", "redis", "cache", "bug",
                 "login", "page", "slow", "fixed", "index", "review", "budget", "q3", "team", "design"]
        rng = np.random.default_rng(5)
        texts = [" ".join(rng.choice(words, size=rng.integers(4, 9))) + f" {i % 50}" for i in range(n + 80)]
        vectors = np.asarray(HashEmbedder(dimension=dim).embed(texts), dtype=np.float32)
    else:
        vectors = clustered(n + 80, dim, seed=11)
    stored, queries = vectors[:n], vectors[n:]
    projects = [("p", "q", None)[i % 3] for i in range(n)]
    store = await open_store(tmp_path / "m.db", EmbeddingInfo("near", dim))
    try:
        assert isinstance(store, NearDuplicates)
        mems = [Memory.create(f"{kind} memory {i}", project=projects[i]) for i in range(n)]
        await store.store_batch(list(zip(mems, stored)))
        await store.warm_up()
        assert store._index.codes.active
        found = 0
        masks = {scope: np.array([scope is None or p in scope for p in projects]) for scope in
                 (None, ("p",), ("q", None))}
        similarities = queries @ stored.T
        for threshold in (0.5, 0.8, 0.9, 0.95, 0.99):
            for q, query in enumerate(queries):
                for scope, mask in masks.items():
                    sims = np.where(mask, similarities[q], -2.0)
                    best = int(np.argmax(sims))
                    got = await store.nearest_above(query, threshold, Filter(projects=scope))
                    if sims[best] >= threshold + 1e-5:
                        found += 1
                        assert got is not None, (threshold, q, scope)
                        assert got.relevance_score == pytest.approx(float(sims[best]), abs=1e-5)
                    elif sims[best] < threshold - 1e-5:
                        assert got is None, (threshold, q, scope)
        assert found > 200  # the queries do have near neighbours
    finally:
        await store.close()


def test_cutoff_grows_as_the_threshold_falls_and_gives_up_when_useless():
    values = [cutoff(t) for t in (0.999, 0.99, 0.95, 0.9, 0.8)]
    assert values == sorted(values) and all(v is not None and 0 < v < 0.4 * BITS for v in values)
    assert cutoff(0.3) is None and cutoff(0.0) is None


async def test_sign_codes_follow_later_writes(tmp_path):
    """Codes computed, then stores, a trash, a restore and a purge: still exact against brute force."""
    vectors = clustered(1200, 64, seed=3)
    store = await open_store(tmp_path / "m.db", EmbeddingInfo("codes", 64))
    try:
        mems = [Memory.create(f"coded {i}") for i in range(1200)]
        await store.store_batch(list(zip(mems[:800], vectors[:800])))
        for _ in range(3):  # the third check computes the codes
            await store.nearest_above(vectors[0], 0.9)
        assert store._index.codes.active
        await store.store_batch(list(zip(mems[800:1000], vectors[800:1000])))
        gone = [m.content_hash for m in mems[::5]]
        await store.trash(gone, 1.0, "deleted")
        await store.restore(gone[:50])
        await store.purge(gone[50:100])
        await store.store_batch(list(zip(mems[1000:1100], vectors[1000:1100])))
        # trashed (or purged): every fifth of those stored before the trash (ids < 1000), except the 50 restored
        live = np.array([i < 1100 and not (i % 5 == 0 and 250 <= i < 1000) for i in range(1200)])
        for q in range(1100, 1200):
            sims = np.where(live, vectors @ vectors[q], -2.0)
            best = int(np.argmax(sims))
            got = await store.nearest_above(vectors[q], 0.9)
            if sims[best] >= 0.9 + 1e-5:
                assert got is not None and got.relevance_score == pytest.approx(float(sims[best]), abs=1e-5)
            elif sims[best] < 0.9 - 1e-5:
                assert got is None
    finally:
        await store.close()


async def test_nearest_above_with_other_filters_is_exact_too(tmp_path):
    store = await open_store(tmp_path / "m.db", INFO)
    try:
        await store.store_batch([(Memory.create("tagged", tags=["x"]), unit(1)),
                                 (Memory.create("untagged"), unit(1) * 0.999 + unit(2) * 0.001)])
        assert (await store.nearest_above(unit(1), 0.9, Filter(tags=("x",)))).memory.content == "tagged"
        assert await store.nearest_above(unit(1), 0.9, Filter(tags=("y",))) is None
        assert await store.nearest_above(np.zeros(DIM, dtype=np.float32), 0.1) is None
    finally:
        await store.close()


# -- hashes, metadata, usage, iteration ---------------------------------------------------------------
async def test_find_hashes_takes_wildcards_as_text_and_covers_the_trash(tmp_path):
    store = await open_store(tmp_path / "m.db", INFO)
    try:
        mems = [Memory.create(f"hash {i}") for i in range(200)]
        await store.store_batch([(m, unit(i)) for i, m in enumerate(mems)])
        await store.trash([mems[0].content_hash], 1.0, "deleted")
        everything = sorted(m.content_hash for m in mems)
        assert await store.find_hashes("", limit=500) == everything
        assert await store.find_hashes(mems[0].content_hash[:10]) == [mems[0].content_hash]
        for prefix in ("%", "_", "a%", "%a", "a_", "ÿ", "\U0010ffff"):
            assert await store.find_hashes(prefix) == []
        assert await store.find_hashes("f", limit=3) == [h for h in everything if h.startswith("f")][:3]
    finally:
        await store.close()


async def test_metadata_filters_compare_like_json(tmp_path):
    cases = {"true": {"v": True}, "one": {"v": 1}, "one-float": {"v": 1.0}, "text-one": {"v": "1"},
             "null": {"v": None}, "missing": {}, "nested": {"v": {"x": 1}}, "list": {"v": [1]}, "zero": {"v": 0},
             "quote key": {'we"ird.key': "x"}}
    mems = [Memory.create(name, metadata=metadata) for name, metadata in cases.items()]
    store = await open_store(tmp_path / "m.db", INFO)
    try:
        await store.store_batch([(m, unit(i)) for i, m in enumerate(mems)])
        for value in (True, 1, 1.0, "1", None, 0, False, "x", 2):
            where = Filter(metadata=(("v", value),))
            expected = sorted(m.content for m in mems if where.matches(m))
            assert sorted(await contents(await store.list_memories(where, 0, None))) == expected, value
            assert await store.count(where) == len(expected)
        assert await contents(await store.list_memories(Filter(metadata=(('we"ird.key', "x"),)))) == ["quote key"]
    finally:
        await store.close()


async def test_mark_used_counts_live_memories_once_per_call(tmp_path):
    store = await open_store(tmp_path / "m.db", INFO)
    try:
        a, b = Memory.create("used"), Memory.create("trashed")
        await store.store_batch([(a, unit(1)), (b, unit(2))])
        await store.trash([b.content_hash], 1.0, "deleted")
        await store.mark_used([a.content_hash, a.content_hash, b.content_hash], 50.0)
        assert (await store.get_by_hash(a.content_hash)).use_count == 1
        assert (await store.get_by_hash(b.content_hash, trashed=True)).use_count == 0
    finally:
        await store.close()


async def test_iteration_merges_live_and_trashed_memories_in_order(tmp_path):
    store = await open_store(tmp_path / "m.db", INFO)
    try:
        mems = [Memory.create(f"iter {i}", created_at=float(i // 3)) for i in range(40)]  # ties in created_at
        await store.store_batch([(m, unit(i)) for i, m in enumerate(mems)])
        await store.trash([m.content_hash for m in mems[1::4]], 9.0, "deleted")
        for size in (1, 3, 7, 100):
            seen = [m.content_hash for batch in [b async for b in store.iter_memories(size)] for m, _ in batch]
            assert seen == [m.content_hash for m in sorted(mems, key=lambda m: (m.created_at, m.content_hash))]
    finally:
        await store.close()


async def test_stats_report_the_trash_and_a_reembedding_in_progress(tmp_path):
    store = await open_store(tmp_path / "m.db", INFO)
    try:
        await store.store_batch([(Memory.create(f"s {i}", tags=["t"]), unit(i)) for i in range(4)])
        await store.trash([Memory.create("s 0").content_hash], 1.0, "deleted")
        await store.reembed_begin(EmbeddingInfo("next-model", 8))
        stats = await store.get_stats()
        assert stats["total_memories"] == 3 and stats["trashed_memories"] == 1 and stats["unique_tags"] == 1
        assert stats["reembedding"] == {"target_model": "next-model", "target_dimension": 8, "staged": 0, "total": 4}
        assert stats["schema_version"] == 5
    finally:
        await store.close()



# -- a hybrid search read from hits ----------------------------------------------------------------------
async def test_a_memory_trashed_between_the_hits_and_the_read_is_left_out(tmp_path):
    from mcp_memory.service import MemoryService

    embedder = HashEmbedder(dimension=DIM)
    store = await open_store(tmp_path / "m.db", EmbeddingInfo(embedder.model_name, DIM))
    service = MemoryService(store, embedder)
    try:
        kept = (await service.store("zyxware renewal is in May")).memory
        gone = (await service.store("zyxware invoices go to billing")).memory
        read_many = store.get_many

        async def trashed_meanwhile(hashes):  # another client trashes one after the search ranked it
            await store.trash([gone.content_hash], 1.0, "deleted")
            return await read_many(hashes)

        store.get_many = trashed_meanwhile
        found = await service.retrieve("zyxware", n_results=5, min_relevance=0.0)
        assert [r.memory.content_hash for r in found] == [kept.content_hash]
        assert all(r.memory.deleted_at is None for r in found)
    finally:
        await service.close()

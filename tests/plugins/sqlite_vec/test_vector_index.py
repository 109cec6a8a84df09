"""The in-memory vector index (exact, live memories only, in step with other processes), schema 2 and 3
upgrades, and the index-driven tag, project and time listings (same answers as the full ordering, query plans
that read only what the limit needs)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mcp_memory.config import Settings
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo, Filter
from mcp_memory_sqlite_vec import reads, rows, schema
from mcp_memory_sqlite_vec.index import VectorIndex
from mcp_memory_sqlite_vec.storage import SqliteVecStorage

from sqlite_vec_helpers import FTS_TRIGGERS, LOG_TRIGGERS, add_triggers, raw, schema_4_file, settings, triggers
from sqlite_vec_helpers import open_store as open_with

pytestmark = pytest.mark.anyio

DIM = 16
INFO = EmbeddingInfo("index-test", DIM)


async def open_store(path: Path) -> SqliteVecStorage:
    return await open_with(path, INFO)


def vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def memories(n: int, start: int = 0, same_time: bool = False) -> list[Memory]:
    tags = ["red", "green", "blue"]
    return [Memory.create(f"memory {i}", tags=[tags[i % 3], *(["rare"] if i % 17 == 0 else [])],
                          memory_type="note" if i % 2 else "fact", created_at=100.0 if same_time else float(i))
            for i in range(start, start + n)]


@pytest.fixture
def loads(monkeypatch) -> list[int]:
    """How many full loads of the vectors happened (one entry each)."""
    calls: list[int] = []
    original = VectorIndex._load

    def counting(self, conn):
        calls.append(1)
        return original(self, conn)

    monkeypatch.setattr(VectorIndex, "_load", counting)
    return calls


def brute_force(store_vectors: dict[str, np.ndarray], query: np.ndarray, k: int) -> list[str]:
    names = sorted(store_vectors)
    sims = {name: float(store_vectors[name] @ query) for name in names}
    return sorted(names, key=lambda name: -sims[name])[:k]


async def top(store: SqliteVecStorage, query: np.ndarray, k: int = 5, **where) -> list[str]:
    return [r.memory.content for r in await store.retrieve(query, k, Filter(**where))]


async def delete(store: SqliteVecStorage, *hashes: str) -> int:
    """Trash then purge: what deleting for good is now."""
    moved = await store.trash(list(hashes), 1.0, "deleted")
    return await store.purge(moved)


async def with_tag(store: SqliteVecStorage, tag: str) -> list[str]:
    return [m.content_hash for m in await store.list_memories(Filter(tags=(tag,)), 0, None)]


# -- the index itself ---------------------------------------------------------------------------
def test_search_is_exact_with_ties_by_id_and_candidates():
    index = VectorIndex(EmbeddingInfo("t", 3))
    given = [(1, [1, 0, 0]), (2, [0, 1, 0]), (3, [1, 0, 0]), (4, [2, 0, 0]), (5, [0, 0, 0])]
    index._append([(i, np.asarray(v, dtype=np.float32).tobytes(), None) for i, v in given])
    index.loaded = True
    hits = index.search(np.array([3, 0, 0], dtype=np.float32), 3)
    assert [h[0] for h in hits] == [1, 3, 4]  # equal distance (rows are normalised): lower id first
    assert hits[0][1] == pytest.approx(0.0, abs=1e-6)
    assert [h[0] for h in index.search(np.array([0, 1, 0], dtype=np.float32), 10)] == [2, 1, 3, 4, 5]
    assert [h[0] for h in index.search(np.array([1, 0, 0], dtype=np.float32), 2, candidates=[2, 4, 99])] == [4, 2]
    assert index.search(np.array([1, 0, 0], dtype=np.float32), 2, candidates=[42]) == []
    assert index.search(np.zeros(3, dtype=np.float32), 2) == []
    index._remove(np.array([1, 4]))
    assert [h[0] for h in index.search(np.array([1, 0, 0], dtype=np.float32), 2)] == [3, 2]


async def test_retrieve_matches_brute_force_and_reflects_own_writes(tmp_path, loads):
    store = await open_store(tmp_path / "m.db")
    try:
        mems, vecs = memories(300), vectors(300)
        await store.store_batch(list(zip(mems, vecs)))
        known = {m.content: v for m, v in zip(mems, vecs)}
        queries_ = vectors(5, seed=9)
        for q in queries_:
            assert await top(store, q, 7) == brute_force(known, q, 7)
        # writes after the index loaded: a store, a trash then purge, a trash of every "rare" memory
        extra, extra_vec = memories(1, start=1000)[0], queries_[0]
        await store.store(extra, extra_vec)
        known[extra.content] = extra_vec
        assert (await top(store, queries_[0], 1)) == [extra.content]
        assert await delete(store, extra.content_hash) == 1
        del known[extra.content]
        removed = len(await store.trash(await with_tag(store, "rare"), 2.0, "deleted"))
        for m in mems:
            if "rare" in m.tags:
                del known[m.content]
        assert removed == sum(1 for m in mems if "rare" in m.tags)
        for q in queries_:
            assert await top(store, q, 10) == brute_force(known, q, 10)
            assert len(await top(store, q, 1000)) == len(known)
        assert len(loads) == 1  # later writes were applied from the change log
    finally:
        await store.close()


WRITER = textwrap.dedent("""
    import asyncio, sys
    import numpy as np
    from mcp_memory.config import Settings
    from mcp_memory.models import Memory
    from mcp_memory.protocols import EmbeddingInfo, Filter
    from mcp_memory_sqlite_vec.storage import SqliteVecStorage

    async def main(path, action):
        store = SqliteVecStorage(Settings(), location=path)
        await store.initialize(EmbeddingInfo("index-test", 16))
        if action == "store":
            query = np.ones(16, dtype=np.float32) / 4
            await store.store(Memory.create("written by another process", created_at=5000.0), query)
        else:
            found = await store.list_memories(Filter(tags=("green",)), 0, None)
            for m in found:
                await store.trash([m.content_hash], 1.0, "deleted")
        await store.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


def other_process(path: Path, action: str) -> None:
    proc = subprocess.run([sys.executable, "-c", WRITER, str(path), action], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


async def test_writes_of_another_process_are_seen_by_the_next_search(tmp_path, loads):
    db = tmp_path / "m.db"
    store = await open_store(db)
    try:
        mems, vecs = memories(90), vectors(90)
        await store.store_batch(list(zip(mems, vecs)))
        query = np.ones(DIM, dtype=np.float32) / 4
        assert len(await top(store, query, 3)) == 3  # loads the index
        other_process(db, "store")
        assert (await top(store, query, 3))[0] == "written by another process"
        other_process(db, "delete-green")
        after = await top(store, query, 200)
        assert "written by another process" in after
        assert not [c for c in after if c.startswith("memory ") and int(c.split()[1]) % 3 == 1]
        assert len(after) == 61 and len(loads) == 1
    finally:
        await store.close()


async def test_reused_id_gets_its_new_vector(tmp_path):
    store = await open_store(tmp_path / "m.db")
    try:
        mems, vecs = memories(3), vectors(3)
        await store.store_batch(list(zip(mems, vecs)))
        assert await top(store, vecs[2], 1) == [mems[2].content]
        assert await delete(store, mems[2].content_hash) == 1  # the highest id: SQLite hands it out again
        await store.store(Memory.create("takes the freed id"), -vecs[2])
        known = {mems[0].content: vecs[0], mems[1].content: vecs[1], "takes the freed id": -vecs[2]}
        assert await top(store, -vecs[2], 3) == brute_force(known, -vecs[2], 3)
        assert await top(store, vecs[2], 3) == brute_force(known, vecs[2], 3)
    finally:
        await store.close()
    conn = raw(tmp_path / "m.db")
    assert conn.execute("SELECT id FROM memories WHERE content = 'takes the freed id'").fetchone()[0] == 3
    conn.close()


async def test_reader_further_behind_than_the_log_reloads(tmp_path, monkeypatch, loads):
    monkeypatch.setattr(schema, "VECTOR_LOG_KEEP", 5)
    db = tmp_path / "m.db"
    reader, writer = await open_store(db), await open_store(db)
    try:
        first = memories(10)
        await writer.store_batch(list(zip(first, vectors(10))))
        assert len(await top(reader, vectors(1)[0], 100)) == 10
        for m, v in zip(memories(20, start=100), vectors(20, seed=3)):
            await writer.store(m, v)  # every write prunes the log to its last 5 entries
        conn = raw(db)
        assert conn.execute("SELECT count(*) FROM vector_changes").fetchone()[0] <= 6
        conn.close()
        assert len(await top(reader, vectors(1)[0], 100)) == 30
        assert len(loads) == 2
    finally:
        await reader.close()
        await writer.close()


# -- schema 2 -> 5 and 3 -> 5 --------------------------------------------------------------------
def schema_4_db(db: Path, n: int, seed: int = 0) -> tuple[list[Memory], np.ndarray]:
    """A schema-4 file (the previous code's SQL) holding ``memories(n)`` and ``vectors(n, seed)``."""
    mems, vecs = memories(n), vectors(n, seed)
    schema_4_file(db, INFO.model, INFO.dimension, [
        {"content": m.content, "content_hash": m.content_hash, "tags": m.tags, "memory_type": m.memory_type,
         "metadata": "{}", "created_at": m.created_at, "updated_at": m.updated_at, "vector": v.tobytes()}
        for m, v in zip(mems, vecs)])
    return mems, vecs


def downgrade_to_schema_2(db: Path) -> None:
    """Turn a schema-4 file into the schema-2 layout: no memory_tags.created_at, old indexes, no vector log,
    FTS triggers."""
    conn = raw(db)
    add_triggers(conn, FTS_TRIGGERS)
    conn.executescript("""
        DROP TABLE vector_changes;
        DROP INDEX idx_memory_tags_tag_created; DROP INDEX idx_memories_created;
        ALTER TABLE memory_tags DROP COLUMN created_at;
        CREATE INDEX idx_memory_tags_tag ON memory_tags(tag);
        CREATE INDEX idx_memories_created_at ON memories(created_at);
        UPDATE meta SET value = '2' WHERE key = 'schema_version';
    """)
    conn.close()


async def test_schema_2_file_is_upgraded_in_place(tmp_path):
    db = tmp_path / "m.db"
    mems, vecs = schema_4_db(db, 30)
    downgrade_to_schema_2(db)
    store = await open_store(db)
    try:
        stats = await store.get_stats()
        assert stats["schema_version"] == schema.SCHEMA_VERSION == 5 and stats["total_memories"] == 30
        newest_red = [m.content for m in sorted(mems, key=lambda m: -m.created_at) if "red" in m.tags][:4]
        assert [m.content for m in await store.list_memories(Filter(tags=("red",)), 0, 4)] == newest_red
        assert await top(store, vecs[7], 1) == [mems[7].content]
        await store.store(Memory.create("after the upgrade", created_at=1000.0), -vecs[7])
        assert await top(store, -vecs[7], 1) == ["after the upgrade"]
    finally:
        await store.close()
    conn = raw(db)
    assert conn.execute("SELECT count(*) FROM memory_tags WHERE created_at IS NULL").fetchone()[0] == 0
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_memory_tags_tag_created", "idx_memories_live", "idx_memories_project", "idx_memories_trash"} <= indexes
    assert not {"idx_memory_tags_tag", "idx_memories_created_at", "idx_memories_created"} & indexes
    assert triggers(conn) == []
    conn.execute("INSERT INTO memory_fts (memory_fts, rank) VALUES ('integrity-check', 1)")
    conn.close()


async def test_schema_3_triggers_are_dropped_so_each_write_is_indexed_and_logged_once(tmp_path):
    db = tmp_path / "m.db"
    schema_4_db(db, 10)
    conn = raw(db)
    add_triggers(conn, FTS_TRIGGERS, LOG_TRIGGERS)
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    conn.close()
    store, other = await open_store(db), await open_store(db)
    try:
        assert len(await top(other, vectors(1)[0], 100)) == 10  # this process holds the vectors in memory
        await store.store_batch(list(zip(memories(5, start=10), vectors(5, seed=1))))
        assert await store.trash([memories(10)[3].content_hash], 1.0, "deleted")
        assert len(await store.trash(await with_tag(store, "rare"), 1.0, "deleted")) == 1  # memory 0 (id 1)
        conn = raw(db)
        assert triggers(conn) == [] and conn.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                                                     ).fetchone()[0] == "5"
        changes = conn.execute("SELECT memory_id, added FROM vector_changes WHERE seq > 10 ORDER BY seq").fetchall()
        conn.execute("INSERT INTO memory_fts (memory_fts, rank) VALUES ('integrity-check', 1)")
        assert conn.execute("SELECT count(*) FROM memory_fts_docsize").fetchone()[0] == 13  # live ones only
        assert conn.execute("SELECT count(*) FROM memory_vectors").fetchone()[0] == 15  # the trash keeps vectors
        conn.close()
        assert changes == [(11, 1), (12, 1), (13, 1), (14, 1), (15, 1), (4, 0), (1, 0)]
        assert sorted(await top(other, vectors(1)[0], 100)) == sorted(
            m.content for m in memories(15) if m.content not in ("memory 0", "memory 3"))
    finally:
        await store.close()
        await other.close()


# -- tag, project and time listings -------------------------------------------------------------
@pytest.mark.parametrize("same_time", [False, True])
async def test_limited_tag_search_equals_the_full_ordering(tmp_path, same_time):
    store = await open_store(tmp_path / "m.db")
    try:
        mems = memories(120, same_time=same_time)
        mems = [m.with_changes(project=("a", "b", None)[i % 3]) for i, m in enumerate(mems)]
        await store.store_batch(list(zip(mems, vectors(120))))
        await store.trash([m.content_hash for m in mems[::7]], 1.0, "deleted")
        mems = [m.with_changes(deleted_at=1.0) if i % 7 == 0 else m for i, m in enumerate(mems)]
        for tags, match_all in ((("red",), False), (("red", "rare"), False), (("red", "rare"), True),
                                (("rare", "blue", "green"), False), (("blue", "rare"), True), (("none",), False),
                                (("red", "blue"), True), ((), False)):
            for projects in (None, ("a",), ("a", None), (None,)):
                where = Filter(tags=tags, match_all=match_all, projects=projects)
                full = [m.content_hash for m in await store.list_memories(where, 0, None)]
                expected = [m.content_hash for m in sorted(mems, key=lambda m: (m.created_at, m.content_hash),
                                                           reverse=True) if where.matches(m)]
                assert full == expected, where
                for offset, limit in ((0, 1), (0, 3), (2, 3), (0, 10), (5, 200)):
                    got = await store.list_memories(where, offset, limit)
                    assert [m.content_hash for m in got] == full[offset:offset + limit], (where, offset, limit)
    finally:
        await store.close()


async def test_listings_read_only_an_index_range(tmp_path):
    db = tmp_path / "m.db"
    store = await open_store(db)
    await store.store_batch(list(zip(memories(50), vectors(50))))
    await store.close()
    conn = raw(db)
    conn.execute("ANALYZE")

    def plan(sql: str, params: list) -> str:
        return " | ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    newest = plan("SELECT t.created_at FROM memory_tags t JOIN memories m ON m.id = t.memory_id WHERE t.tag = ? "
                  "AND m.deleted_at IS NULL ORDER BY t.created_at DESC LIMIT 1 OFFSET ?", ["red", 9])
    assert "idx_memory_tags_tag_created" in newest and "TEMP B-TREE" not in newest
    # the content_hash of created_at ties is sorted while the page streams, never the whole range
    whole_sort = "TEMP B-TREE FOR ORDER BY"
    for where, params, index in (
            ("m.deleted_at IS NULL AND m.created_at >= ? AND m.created_at <= ?", [1.0, 40.0], "idx_memories_live"),
            ("m.project = ? AND m.deleted_at IS NULL", ["a"], "idx_memories_project"),
            ("m.project IS NULL AND m.deleted_at IS NULL", [], "idx_memories_project")):
        found = plan(f"SELECT {rows.COLUMNS} FROM memories m WHERE {where} {rows.NEWEST_FIRST} LIMIT ?", [*params, 10])
        assert index in found and whole_sort not in found, found
    trash = plan(f"SELECT {rows.COLUMNS} FROM memories m WHERE m.deleted_at IS NOT NULL {rows.LATEST_DELETED_FIRST} "
                 "LIMIT 10", [])
    assert "idx_memories_trash" in trash and "TEMP B-TREE" not in trash
    keyset = plan(f"SELECT {rows.COLUMNS} FROM memories m INDEXED BY {reads.LIVE_INDEX} WHERE m.deleted_at IS NULL "
                  "AND (m.created_at, m.content_hash) > (?, ?) ORDER BY m.created_at, m.content_hash LIMIT 10",
                  [5.0, "a"])
    assert "idx_memories_live" in keyset and whole_sort not in keyset
    conn.close()


async def test_warm_up_loads_the_vectors_before_the_first_search(tmp_path, loads):
    db = tmp_path / "m.db"
    store = await open_store(db)
    await store.store_batch(list(zip(memories(20), vectors(20))))
    await store.close()
    store = await open_store(db)
    try:
        assert not store._index.loaded
        await store.warm_up()
        assert store._index.loaded and len(store._index) == 20 and len(loads) == 1
        assert len(await top(store, vectors(1)[0], 50)) == 20 and len(loads) == 1
    finally:
        await store.close()
    unrecorded = SqliteVecStorage(Settings(), location=str(tmp_path / "empty.db"))
    await unrecorded.initialize(None)  # no embedder recorded: nothing to load, no error
    await unrecorded.warm_up()
    await unrecorded.close()


async def test_page_cache_default_and_user_override(tmp_path):
    from mcp_memory_sqlite_vec.storage import CACHE_SIZE

    async def cache_size(store):
        return await store._call(lambda conn: conn.execute("PRAGMA cache_size").fetchone()[0])

    store = await open_store(tmp_path / "a.db")
    try:
        assert await cache_size(store) == CACHE_SIZE == -16000
    finally:
        await store.close()
    store = SqliteVecStorage(settings(MCP_MEMORY_SQLITE_PRAGMAS="cache_size=-4000"), location=str(tmp_path / "b.db"))
    await store.initialize(INFO)
    try:
        assert await cache_size(store) == -4000
    finally:
        await store.close()

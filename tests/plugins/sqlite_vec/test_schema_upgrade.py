"""A real schema-4 file (built with the previous code's SQL) upgrades to schema 5 in place, in one transaction:
every memory, tag, vector and full-text entry survives, and every memory reads as global, unused and live."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mcp_memory.errors import StorageError
from mcp_memory.models import Memory
from mcp_memory.protocols import TRASH, EmbeddingInfo, Filter
from mcp_memory.testing import HashEmbedder
from mcp_memory_sqlite_vec import schema

from sqlite_vec_helpers import open_store, raw, schema_4_file

pytestmark = pytest.mark.anyio

EMBEDDER = HashEmbedder(dimension=32, model_name="schema-4-model")
INFO = EmbeddingInfo(EMBEDDER.model_name, EMBEDDER.dimension)
TEXTS = [f"note {i}: the {word} report for {team}" for i, (word, team) in enumerate(
    (w, t) for w in ("budget", "incident", "roadmap", "hiring", "pricing") for t in ("design", "infra", "sales", "qa"))]


def old_rows() -> list[dict]:
    vectors = EMBEDDER.embed(TEXTS)
    return [{"content": text, "content_hash": Memory.create(text).content_hash,
             "tags": [f"t{i % 3}", "shared", "naïve tag"][: 1 + i % 3], "memory_type": ("note", None)[i % 2],
             "metadata": json.dumps({"i": i, "nested": {"ok": True}}), "created_at": 1_600_000_000.0 + i * 3600.5,
             "updated_at": 1_600_000_100.0 + i, "vector": np.asarray(v, dtype=np.float32).tobytes()}
            for i, (text, v) in enumerate(zip(TEXTS, vectors))]


@pytest.fixture
def v4(tmp_path: Path) -> Path:
    path = tmp_path / "v4.db"
    schema_4_file(path, INFO.model, INFO.dimension, old_rows())
    conn = raw(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "4"
    assert "deleted_at" not in [r[1] for r in conn.execute("PRAGMA table_info(memories)")]
    conn.close()
    return path


async def test_schema_4_file_upgrades_in_place_and_keeps_everything(v4, capsys):
    rows = old_rows()
    store = await open_store(v4, INFO)
    try:
        assert await store.count() == len(rows) and await store.count(TRASH) == 0
        assert await store.projects() == [(None, len(rows))]
        assert await store.count(Filter(projects=(None,))) == len(rows)
        for row in rows:
            got = await store.get_by_hash(row["content_hash"])
            assert got is not None and got.content == row["content"] and got.tags == row["tags"]
            assert got.memory_type == row["memory_type"] and got.metadata == json.loads(row["metadata"])
            assert got.created_at == row["created_at"] and got.updated_at == row["updated_at"]
            assert (got.project, got.last_used_at, got.use_count, got.deleted_at, got.deleted_reason,
                    got.replaced_by) == (None, None, 0, None, None, None)
            top = await store.retrieve(np.frombuffer(row["vector"], dtype=np.float32), 1, Filter(projects=(None,)))
            assert top[0].memory.content_hash == row["content_hash"] and top[0].relevance_score > 0.999
            hit = await store.nearest_above(np.frombuffer(row["vector"], dtype=np.float32), 0.95,
                                            Filter(projects=(None,)))
            assert hit is not None and hit.memory.content_hash == row["content_hash"]
        assert dict(await store.all_tags()) == {"t0": 7, "t1": 7, "t2": 6, "shared": 13, "naïve tag": 6}
        hits = await store.search_lexical("incident", 10)
        assert sorted(r.memory.content for r in hits) == sorted(t for t in TEXTS if "incident" in t)
        vectors = {m.content_hash: v for batch in [b async for b in store.iter_memories(7)] for m, v in batch}
        assert {h: np.asarray(v, dtype=np.float32).tobytes() for h, v in vectors.items()} == \
            {row["content_hash"]: row["vector"] for row in rows}
        # the new columns work on the upgraded rows
        first = await store.get_by_hash(rows[0]["content_hash"])
        assert await store.update_memory(first.with_changes(project="moved"))
        await store.trash([rows[1]["content_hash"]], 5.0, "deleted")
        assert await store.projects() == [(None, len(rows) - 2), ("moved", 1)]
    finally:
        await store.close()
    err = capsys.readouterr().err
    assert "version_from=4" in err and "version_to=5" in err and f"memories={len(rows)}" in err
    conn = raw(v4)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO memory_fts (memory_fts, rank) VALUES ('integrity-check', 1)")
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "5"
        assert conn.execute("SELECT count(*) FROM memory_vectors").fetchone()[0] == len(rows)
        assert conn.execute("SELECT count(*) FROM memory_fts_docsize").fetchone()[0] == len(rows) - 1
        assert "memories_live" in conn.execute("SELECT sql FROM sqlite_master WHERE name = 'memory_fts'").fetchone()[0]
    finally:
        conn.close()


async def test_a_failed_upgrade_leaves_the_schema_4_file_as_it_was(v4, monkeypatch):
    """The upgrade is one transaction: a failure in its last step rolls every earlier step back."""
    before = raw(v4)
    tables = before.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    before.close()

    def broken(*args):
        raise StorageError("simulated failure at the end of the upgrade")

    monkeypatch.setattr(schema, "_embedding", broken)
    with pytest.raises(StorageError, match="simulated"):
        await open_store(v4, INFO)
    after = raw(v4)
    try:
        assert after.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == tables
        assert after.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "4"
    finally:
        after.close()
    monkeypatch.undo()
    store = await open_store(v4, INFO)
    try:
        assert await store.count() == len(TEXTS)
    finally:
        await store.close()

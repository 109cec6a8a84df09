"""A store written by the previous plugin (layout 1) is read as is, and upgraded in place when opened to write."""

from __future__ import annotations

import pytest

from mcp_memory.config import Settings
from mcp_memory.models import Memory
from mcp_memory.protocols import TRASH, EmbeddingInfo, Filter
from mcp_memory.testing import HashEmbedder
from mcp_memory_chroma import layout
from mcp_memory_chroma.config import COLLECTION
from mcp_memory_chroma.storage import ChromaLexicalStorage, ChromaStorage

pytestmark = pytest.mark.anyio
EMB = HashEmbedder(dimension=16)
INFO = EmbeddingInfo(EMB.model_name, EMB.dimension)
OLD = [
    Memory.create("use ruff for linting", tags=["python", "tooling"], memory_type="decision",
                  metadata={"source": {"file": "notes.md", "lines": [1, 2]}, "n": 1.5}, created_at=100.25),
    Memory.create("the vpn needs a restart on mondays", created_at=200.0),
    Memory.create("ünïcödé tag memory", tags=["日本", "'); drop--"], metadata={"flag": True}, created_at=300.0),
]


@pytest.fixture
def old_store(tmp_path, legacy_v1):
    path = tmp_path / "chroma"
    legacy_v1.write_store(str(path), INFO.model, INFO.dimension, [(m, EMB.embed([m.content])[0]) for m in OLD])
    return path


def raw(path) -> tuple[dict, dict]:
    import chromadb

    client = chromadb.PersistentClient(path=str(path))
    try:
        collection = client.get_collection(COLLECTION)
        got = collection.get(include=["metadatas", "embeddings"])
        records = {i: (m, [round(float(x), 5) for x in e]) for i, m, e in
                   zip(got["ids"], got["metadatas"], got["embeddings"])}
        return dict(collection.metadata or {}), records
    finally:
        client.close()


async def test_read_only_open_reads_layout_1_and_changes_nothing(old_store):
    before = raw(old_store)
    store = ChromaLexicalStorage(Settings(), location=str(old_store))
    await store.initialize(None)
    try:
        assert (await store.get_stats())["layout_version"] == 1
        assert [m.content for m in await store.list_memories(Filter(projects=(None,)), 0, None)] == \
            [m.content for m in reversed(OLD)]
        assert await store.count(TRASH) == 0 and await store.count(Filter(projects=("x",))) == 0
        assert await store.count(Filter(tags=("tooling",), memory_type="decision")) == 1
        assert await store.list_memories(Filter(metadata=(("flag", True),))) == [await store.get_by_hash(
            OLD[2].content_hash)]
        top = await store.retrieve(EMB.embed([OLD[1].content])[0], 1, Filter(projects=("api", None)))
        assert top[0].memory.content == OLD[1].content and top[0].relevance_score > 0.99
        assert [r.memory.content for r in await store.search_lexical("ruff", 5)] == [OLD[0].content]
    finally:
        await store.close()
    assert raw(old_store) == before


async def test_open_to_write_upgrades_in_place_and_loses_nothing(old_store):
    _, before = raw(old_store)
    store = ChromaStorage(Settings(), location=str(old_store))
    await store.initialize(INFO)
    try:
        assert (await store.get_stats())["layout_version"] == 2
        for old in OLD:
            got = await store.get_by_hash(old.content_hash)
            assert got == old  # every field: the memory is live, global and unused, as before
        assert await store.projects() == [(None, 3)]
        assert await store.count(Filter(projects=(None,))) == 3 and await store.count(TRASH) == 0
        assert await store.count(Filter(tags=("日本",))) == 1
        top = await store.retrieve(EMB.embed([OLD[0].content])[0], 1, Filter(projects=("p", None)))
        assert top[0].memory.content_hash == OLD[0].content_hash and top[0].relevance_score > 0.99
        new = Memory.create("written after the upgrade", project="p")
        assert await store.store(new, EMB.embed([new.content])[0])
        assert await store.trash([OLD[1].content_hash], 5.0, "deleted") == [OLD[1].content_hash]
        assert await store.count(Filter(projects=("p", None))) == 3
    finally:
        await store.close()
    meta, after = raw(old_store)
    assert meta == {"layout_version": 2, "embedding_model": INFO.model, "embedding_dimension": INFO.dimension}
    for record_id, (_, vector) in before.items():
        assert after[record_id][1] == vector  # vectors untouched
        assert not {"tags_json", "metadata_json", "updated_at"} & set(after[record_id][0])


async def test_an_upgrade_cut_short_is_finished_by_the_next_open(old_store):
    import chromadb

    client = chromadb.PersistentClient(path=str(old_store))
    collection = client.get_collection(COLLECTION)
    first = collection.get(ids=[OLD[0].content_hash], include=["metadatas"])["metadatas"][0]
    collection.update(ids=[OLD[0].content_hash], metadatas=[layout.upgrade_patch(first)])  # one record done
    client.close()
    store = ChromaStorage(Settings(), location=str(old_store))
    await store.initialize(INFO)
    try:
        assert [await store.get_by_hash(m.content_hash) for m in OLD] == OLD
    finally:
        await store.close()
    _, records = raw(old_store)
    assert all(layout.upgrade_patch(meta) == {} for meta, _ in records.values())  # nothing left to do

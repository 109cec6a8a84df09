"""Chroma-specific behaviour: addressing, clear errors, the record layout, nothing created before a write."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import replace

import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, InvalidInputError, StorageError
from mcp_memory.models import Memory
from mcp_memory.protocols import TRASH, EmbeddingInfo, Filter
from mcp_memory.testing import HashEmbedder
from mcp_memory_chroma.config import COLLECTION, Remote, parse_remote
from mcp_memory_chroma.storage import ChromaStorage

pytestmark = pytest.mark.anyio
EMB = HashEmbedder(dimension=16)
INFO = EmbeddingInfo(EMB.model_name, EMB.dimension)


def vec(text: str) -> list[float]:
    return EMB.embed([text])[0]


def raw_collection(path):
    import chromadb

    client = chromadb.PersistentClient(path=str(path))
    return client, client.get_collection(COLLECTION)


def test_parse_remote_forms():
    local = Settings()
    assert parse_remote(None, local) is None
    assert parse_remote("/data/chroma", local) is None
    assert parse_remote("http://10.1.2.3:9000", local) == Remote("10.1.2.3", 9000)
    assert parse_remote("https://chroma.example.org", local) == Remote("chroma.example.org", 443, ssl=True)
    assert parse_remote("http://[::1]:8001/team-a/", local) == Remote("::1", 8001, collection="team-a")
    assert Remote("::1", 8001, collection="team-a").url == "http://[::1]:8001/team-a"
    assert Remote("h", 8000).url == "http://h:8000"
    remote = local.with_changes(MCP_MEMORY_CHROMA_HOST="db.local", MCP_MEMORY_CHROMA_PORT="8123")
    assert parse_remote(None, remote) == Remote("db.local", 8123)
    assert parse_remote("other:9001", remote) == Remote("other", 9001)
    assert parse_remote("/explicit/dir", remote) is None
    for bad in ("http://host:8000/a", "http://host:8000/bad name", "http://not a host"):
        with pytest.raises(InvalidInputError):
            parse_remote(bad, local)


async def test_unreachable_server_is_a_clear_storage_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings().with_changes(MCP_MEMORY_CHROMA_HOST="127.0.0.1", MCP_MEMORY_CHROMA_PORT=str(port))
    store = ChromaStorage(settings)
    with pytest.raises(StorageError, match="chroma run"):
        await store.initialize(INFO)
    await store.close()


async def test_a_file_is_not_a_store(tmp_path):
    (tmp_path / "file").write_text("x")
    store = ChromaStorage(Settings(), location=str(tmp_path / "file"))
    with pytest.raises(StorageError, match="is a file"):
        await store.initialize(INFO)
        await store.store(Memory.create("x"), vec("x"))
    await store.close()


async def test_records_model_and_refuses_another(tmp_path):
    store = ChromaStorage(Settings(), location=str(tmp_path))
    await store.initialize(INFO)
    await store.store(Memory.create("first"), vec("first"))
    stats = await store.get_stats()
    assert (stats["embedding_model"], stats["embedding_dimension"]) == (INFO.model, INFO.dimension)
    with pytest.raises(EmbeddingError, match="expects 16"):
        await store.store(Memory.create("short vector"), [1.0, 0.0])
    await store.close()
    other = ChromaStorage(Settings(), location=str(tmp_path))
    with pytest.raises(EmbeddingError, match="reembed.*memory migrate --from chroma --to chroma"):
        await other.initialize(EmbeddingInfo("all-MiniLM-L6-v2", 384))
    await other.close()


async def test_record_layout(tmp_path):
    store = ChromaStorage(Settings(), location=str(tmp_path))
    await store.initialize(INFO)
    m = Memory.create("tag layout", tags=["project", "proj", "a,b"], metadata={"x": [1, {"y": None}]},
                      project="api", created_at=5.0)
    old = Memory.create("old version", memory_type="note", created_at=4.0)
    await store.store_batch([(m, vec(m.content)), (old, vec(old.content))])
    assert [x.content for x in await store.list_memories(Filter(tags=("proj",)))] == ["tag layout"]
    assert await store.list_memories(Filter(tags=("pro",))) == []
    assert await store.list_memories(Filter(tags=("a",))) == []
    assert await store.count(Filter(tags=("a,b",))) == 1
    await store.mark_used([m.content_hash], 7.0)
    await store.trash([old.content_hash], 9.0, "edited", replaced_by=m.content_hash)
    await store.close()
    client, collection = raw_collection(tmp_path)
    try:
        got = collection.get(ids=[m.content_hash, old.content_hash], include=["metadatas"])
        live, gone = (dict(zip(got["ids"], got["metadatas"]))[h] for h in (m.content_hash, old.content_hash))
        assert live == {"trashed": 0, "project": "api", "created_at": 5.0, "tag:project": 1,
                        "tag:proj": 1, "tag:a,b": 1, "data": live["data"]}
        assert all(type(v) is int for k, v in live.items() if k == "trashed" or k.startswith("tag:"))
        assert json.loads(live["data"]) == {"tags": ["project", "proj", "a,b"], "metadata": {"x": [1, {"y": None}]},
                                            "updated_at": 5.0, "use_count": 1, "last_used_at": 7.0}
        assert {k: v for k, v in gone.items() if k != "data"} == {
            "trashed": 1, "project": "", "created_at": 4.0, "memory_type": "note", "replaced_by": m.content_hash}
        assert type(gone["trashed"]) is int
        assert json.loads(gone["data"])["deleted_at"] == 9.0 and json.loads(gone["data"])["deleted_reason"] == "edited"
        assert collection.metadata == {"layout_version": 2, "embedding_model": INFO.model,
                                       "embedding_dimension": INFO.dimension}
        assert collection.configuration["hnsw"]["space"] == "cosine"
        assert collection.configuration.get("embedding_function") is None
        assert len(collection.get(ids=[old.content_hash], include=["embeddings"])["embeddings"][0]) == 16
    finally:
        client.close()


async def test_reads_and_stats_create_nothing(tmp_path):
    where = tmp_path / "not" / "yet"
    store = ChromaStorage(Settings(), location=str(where))
    await store.initialize(INFO)
    h = "0" * 64
    assert await store.count() == 0 and await store.count(TRASH) == 0
    assert await store.list_memories() == [] and await store.retrieve(vec("x"), 3) == []
    assert await store.find_hashes("0") == []
    assert await store.get_by_hash(h, trashed=None) is None and await store.projects() == []
    assert [b async for b in store.iter_memories()] == []
    assert await store.trash([h], 1.0, "deleted") == [] and await store.restore([h]) == []
    assert await store.purge([h]) == 0 and await store.update_memory(Memory.create("x")) is False
    await store.mark_used([h], 1.0)
    stats = await store.get_stats()
    assert stats["total_memories"] == 0 and stats["database_size_mb"] == 0.0 and stats["layout_version"] is None
    assert not (tmp_path / "not").exists()
    assert await store.store(Memory.create("the first write"), vec("the first write"))
    assert (where / "chroma.sqlite3").exists()
    await store.close()


async def test_a_store_created_by_another_client_is_seen(tmp_path):
    reader, writer = ChromaStorage(Settings(), location=str(tmp_path)), ChromaStorage(Settings(), location=str(tmp_path))
    await reader.initialize(INFO)
    await writer.initialize(INFO)
    try:
        assert await reader.count() == 0
        await writer.store(Memory.create("written elsewhere"), vec("written elsewhere"))
        assert [m.content for m in await reader.list_memories()] == ["written elsewhere"]
    finally:
        await reader.close()
        await writer.close()


async def test_read_only_open_of_missing_collection_creates_nothing(tmp_path):
    import chromadb

    chromadb.PersistentClient(path=str(tmp_path)).close()  # a Chroma directory without our collection
    store = ChromaStorage(Settings(), location=str(tmp_path))
    await store.initialize(None)
    assert await store.count() == 0
    assert [b async for b in store.iter_memories()] == []
    await store.close()
    client = chromadb.PersistentClient(path=str(tmp_path))
    assert COLLECTION not in {getattr(c, "name", c) for c in client.list_collections()}
    client.close()


async def test_newer_layout_is_refused(tmp_path):
    store = ChromaStorage(Settings(), location=str(tmp_path))
    await store.initialize(INFO)
    await store.store(Memory.create("x"), vec("x"))
    await store.close()
    client, collection = raw_collection(tmp_path)
    collection.modify(metadata={**collection.metadata, "layout_version": 3})
    client.close()
    again = ChromaStorage(Settings(), location=str(tmp_path))
    with pytest.raises(StorageError, match="layout 3, newer"):
        await again.initialize(INFO)
    await again.close()


async def test_usage_and_trash_round_trip_through_update(tmp_path):
    store = ChromaStorage(Settings(), location=str(tmp_path))
    await store.initialize(INFO)
    try:
        m = Memory.create("edited often", tags=["a"], metadata={"k": 1})
        await store.store(m, vec(m.content))
        await store.mark_used([m.content_hash], 3.0)
        got = await store.get_by_hash(m.content_hash)
        assert (got.use_count, got.last_used_at) == (1, 3.0)
        changed = replace(got, tags=["b"], metadata={}, memory_type="t", project="p", updated_at=time.time())
        assert await store.update_memory(changed)
        assert await store.get_by_hash(m.content_hash) == replace(changed, content=m.content)
        assert await store.count(Filter(tags=("a",))) == 0 and await store.projects() == [("p", 1)]
    finally:
        await store.close()


async def test_server_by_url_location(server_url):
    store = ChromaStorage(Settings(), location=server_url)
    await store.initialize(INFO)
    try:
        stats = await store.get_stats()
        assert stats["remote"] is True and stats["location"] == server_url
        assert stats["collection"] == server_url.rsplit("/", 1)[1] and stats["database_size_mb"] is None
        await store.store(Memory.create("on the server"), vec("on the server"))
        assert await store.count() == 1
    finally:
        await store.close()

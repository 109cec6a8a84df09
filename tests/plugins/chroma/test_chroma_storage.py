"""Chroma-specific behaviour: addressing, clear errors, exact tag keys, no default embedding function."""

from __future__ import annotations

import pytest
from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, StorageError
from mcp_memory.models import Memory
from mcp_memory.plugins import PluginManager
from mcp_memory.protocols import EmbeddingInfo
from mcp_memory.testing import HashEmbedder
from mcp_memory_chroma.storage import COLLECTION, ChromaStorage, parse_remote

pytestmark = pytest.mark.anyio
EMB = HashEmbedder(dimension=16)
INFO = EmbeddingInfo(EMB.model_name, EMB.dimension)


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_parse_remote_forms():
    local = Settings()
    assert parse_remote(None, local) is None
    assert parse_remote("/data/chroma", local) is None
    assert parse_remote("http://10.1.2.3:9000", local) == ("10.1.2.3", 9000, False)
    assert parse_remote("https://chroma.example.org", local) == ("chroma.example.org", 443, True)
    remote = Settings(chroma_host="db.local", chroma_port=8123)
    assert parse_remote(None, remote) == ("db.local", 8123, False)
    assert parse_remote("other:9001", remote) == ("other", 9001, False)
    assert parse_remote("/explicit/dir", remote) is None


def test_plugin_registers_chroma_store():
    pm = PluginManager(Settings())
    factory = pm.storage_factory("chroma")
    store = factory(Settings(), location="/nonexistent/never/created")
    assert isinstance(store, ChromaStorage)


async def test_unreachable_server_is_a_clear_storage_error():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = ChromaStorage(Settings(chroma_host="127.0.0.1", chroma_port=port))
    with pytest.raises(StorageError, match="chroma run"):
        await store.initialize(INFO)
    await store.close()


async def test_records_model_and_refuses_another(tmp_path):
    store = ChromaStorage(Settings(), location=str(tmp_path))
    await store.initialize(INFO)
    stats = await store.get_stats()
    assert (stats["embedding_model"], stats["embedding_dimension"]) == (INFO.model, INFO.dimension)
    await store.close()
    other = ChromaStorage(Settings(), location=str(tmp_path))
    with pytest.raises(EmbeddingError, match="memory migrate"):
        await other.initialize(EmbeddingInfo("all-MiniLM-L6-v2", 384))
    await other.close()


async def test_tags_are_exact_keys_and_json(tmp_path):
    import chromadb

    store = ChromaStorage(Settings(), location=str(tmp_path))
    await store.initialize(INFO)
    m = Memory.create("tag layout", tags=["project", "proj", "a,b"])
    assert await store.store(m, EMB.embed([m.content])[0])
    assert [x.content for x in await store.search_by_tag(["proj"])] == ["tag layout"]
    assert await store.search_by_tag(["pro"]) == []
    assert await store.search_by_tag(["a"]) == []
    assert len(await store.search_by_tag(["a,b"])) == 1
    await store.close()
    client = chromadb.PersistentClient(path=str(tmp_path))
    collection = client.get_collection(COLLECTION)
    meta = collection.get(ids=[m.content_hash], include=["metadatas"])["metadatas"][0]
    assert meta["tag:project"] is True and meta["tag:a,b"] is True
    assert meta["tags_json"] == '["project", "proj", "a,b"]'
    assert collection.configuration["hnsw"]["space"] == "cosine"
    assert collection.configuration.get("embedding_function") is None
    client.close()


async def test_read_only_open_of_missing_collection_creates_nothing(tmp_path):
    store = ChromaStorage(Settings(), location=str(tmp_path))
    await store.initialize(None)
    assert await store.count() == 0
    assert [b async for b in store.iter_memories()] == []
    await store.close()
    import chromadb

    client = chromadb.PersistentClient(path=str(tmp_path))
    assert COLLECTION not in {getattr(c, "name", c) for c in client.list_collections()}
    client.close()


async def test_server_by_url_location(chroma_server):
    host, port = chroma_server
    store = ChromaStorage(Settings(), location=f"http://{host}:{port}")
    await store.initialize(None)
    assert store.remote == (host, port, False)
    assert (await store.get_stats())["remote"] is True
    await store.close()

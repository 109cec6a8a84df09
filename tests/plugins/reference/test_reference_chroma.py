"""Importing the reference service's ChromaDB directory (collection ``memory_collection``), never touching it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import InvalidInputError
from mcp_memory.models import content_hash
from mcp_memory.plugins import PluginManager
from mcp_memory.protocols import EmbeddingInfo, Filter
from mcp_memory.testing import HashEmbedder, InMemoryStorage
from mcp_memory_reference.chroma_source import open_source, record_to_memory

pytestmark = pytest.mark.anyio

RECORDS = [
    ("Use ruff for linting", {"tags": '["python", "Tooling"]', "memory_type": "decision", "timestamp": 1700000000,
                              "project": "x", "priority": 2}),
    ("The VPN needs a restart on Mondays", {"tags": "[]", "type": "note", "created_at": 1700000100.5,
                                            "updated_at": 1700000200.25, "created_at_iso": "ignored"}),
    ("Untyped memory", {"tags": '["misc"]', "memory_type": "", "timestamp": 1700000300}),
]


def make_reference_chroma(path: Path) -> None:
    """The reference layout, written with the installed chromadb and 768-dim vectors (its default model's size)."""
    import chromadb

    client = chromadb.PersistentClient(path=str(path))
    collection = client.get_or_create_collection("memory_collection", metadata={"hnsw:space": "cosine"},
                                                 embedding_function=None)
    ids = [content_hash(text) for text, _ in RECORDS]
    collection.add(ids=ids, documents=[t for t, _ in RECORDS], embeddings=[[0.1] * 768 for _ in RECORDS],
                   metadatas=[{"content_hash": h, **meta} for h, (_, meta) in zip(ids, RECORDS)])
    client.close()


def tree_digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_record_mapping():
    m = record_to_memory("id1", RECORDS[0][0], {"content_hash": "abc", **RECORDS[0][1]})
    assert (m.content_hash, m.tags, m.memory_type) == ("abc", ["python", "tooling"], "decision")
    assert m.metadata == {"project": "x", "priority": 2} and m.created_at == m.updated_at == 1_700_000_000.0
    m = record_to_memory("id2", RECORDS[1][0], RECORDS[1][1])
    assert (m.content_hash, m.memory_type, m.created_at, m.updated_at) == ("id2", "note", 1700000100.5, 1700000200.25)
    assert m.metadata == {}


async def test_reference_directory_imports_and_stays_untouched(tmp_path):
    """The registered source reads a copy of the directory; its memories arrive as they were."""
    source = tmp_path / "chroma_db"
    make_reference_chroma(source)
    before = tree_digest(source)
    pm = PluginManager(Settings(plugins_allowed=frozenset({"reference"})))
    reader = pm.registry.migrators["mcp-memory-service-chroma"].open(str(source))
    assert reader.count == 3
    batches = [batch async for batch in reader]
    assert reader.skipped == [] and sum(len(b) for b in batches) == 3
    assert all(vector is None for batch in batches for _, vector in batch)  # the model is unknown: re-embed
    embedder = HashEmbedder(64)
    ours = InMemoryStorage()
    await ours.initialize(EmbeddingInfo(embedder.model_name, embedder.dimension))
    try:
        for batch in batches:
            vectors = embedder.embed([m.content for m, _ in batch])
            assert await ours.store_batch(list(zip([m for m, _ in batch], vectors))) == [True] * len(batch)
        first = await ours.get_by_hash(content_hash(RECORDS[0][0]))
        assert first.tags == ["python", "tooling"] and first.metadata == {"project": "x", "priority": 2}
        assert first.project == "x"  # the reference's own "project" key becomes the memory's project
        assert [m.content for m in await ours.list_memories(Filter(tags=("misc",)))] == ["Untyped memory"]
        assert (await ours.get_by_hash(content_hash("Untyped memory"))).memory_type is None
    finally:
        await ours.close()
    assert tree_digest(source) == before


def test_bad_reference_directories(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        open_source(str(tmp_path / "nope"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(InvalidInputError, match="not a Chroma directory"):
        open_source(str(tmp_path / "plain"))
    ours = tmp_path / "ours"
    import chromadb

    client = chromadb.PersistentClient(path=str(ours))
    client.get_or_create_collection("mcp_memory", embedding_function=None)
    client.close()
    before = tree_digest(ours)
    with pytest.raises(InvalidInputError, match="no 'memory_collection' collection.*--from chroma"):
        open_source(str(ours))
    assert tree_digest(ours) == before

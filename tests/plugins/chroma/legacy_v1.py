"""A Chroma store written the way the previous plugin wrote it (layout 1), to test the in-place upgrade.

``to_record_metadata`` and ``tag_key`` are copied verbatim from ``plugins/chroma/src/mcp_memory_chroma/layout.py``
at commit 1a8bdab~1; ``write_store`` does what that commit's ``ChromaStorage.initialize`` and ``store_batch`` did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from mcp_memory.models import Memory

TAG_PREFIX = "tag:"


def tag_key(tag: str) -> str:
    return TAG_PREFIX + tag


def to_record_metadata(memory: Memory) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "created_at": float(memory.created_at),
        "updated_at": float(memory.updated_at),
        "tags_json": json.dumps(list(memory.tags), ensure_ascii=False),
        "metadata_json": json.dumps(memory.metadata, ensure_ascii=False),
    }
    if memory.memory_type is not None:
        meta["memory_type"] = memory.memory_type
    for tag in memory.tags:
        meta[tag_key(tag)] = True
    return meta


def write_store(path: str, model: str, dimension: int, items: Sequence[tuple[Memory, Sequence[float]]]) -> None:
    """A layout-1 collection ``mcp_memory`` at ``path`` holding ``items``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_or_create_collection(
        "mcp_memory", configuration={"hnsw": {"space": "cosine"}},
        metadata={"embedding_model": model, "embedding_dimension": dimension}, embedding_function=None)
    collection.add(ids=[m.content_hash for m, _ in items],
                   embeddings=np.asarray([np.asarray(v, dtype=np.float32) for _, v in items], dtype=np.float32),
                   documents=[m.content for m, _ in items], metadatas=[to_record_metadata(m) for m, _ in items])
    client.close()

"""Stores filled with the benchmark corpus, for the scripts of this folder (not a test).

The corpus (corpus.py) comes with its all-MiniLM-L6-v2 vectors, computed once with the onnx embedder and cached
as a .npy file (the cache of test_sqlite_vec_perf.py: the same file serves both). A store is filled through
``MemoryService.store_prepared`` in batches of 1,000 with those vectors, as ``memory import`` would store them
after embedding.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

from mcp_memory.config import Settings  # noqa: E402
from mcp_memory.plugins import get_plugin_manager  # noqa: E402
from mcp_memory.service import MemoryService, NewMemory  # noqa: E402

BATCH = 1000


def offline_env(**extra: str) -> dict[str, str]:
    """This process's environment without MCP_* variables, offline, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    return env


def onnx_embedder(settings: Settings | None = None) -> Any:
    settings = settings or Settings.from_env(offline_env())
    return get_plugin_manager(settings).embedder_backend("onnx").factory(settings)


def corpus_with_vectors(n: int, cache_dir: Path) -> tuple[list[corpus.Item], np.ndarray]:
    """The first n corpus items and their vectors (from the cache, or embedded once and cached)."""
    import test_sqlite_vec_perf as perf

    items = corpus.corpus(n)
    notes: list[str] = []
    vectors = perf.corpus_vectors(items, onnx_embedder(), cache_dir, notes)
    return items, np.asarray(vectors[:n], dtype=np.float32)


async def fill(env: dict[str, str], items: list[corpus.Item], vectors: np.ndarray, log: Any = None) -> None:
    """Store ``items`` with their vectors into the store that ``env`` configures (it must be empty)."""
    settings = Settings.from_env(env)
    pm = get_plugin_manager(settings)
    storage = pm.storage_backend(settings.storage_backend).factory(settings, None)
    service = MemoryService(storage, onnx_embedder(settings), settings)
    await service.initialize()
    try:
        memories = [service.prepare(NewMemory(it.content, it.tags, it.memory_type, None, it.created_at))
                    for it in items]
        for start in range(0, len(memories), BATCH):
            await service.store_prepared(memories[start:start + BATCH], list(vectors[start:start + BATCH]))
            if log is not None and (start // BATCH) % 20 == 19:
                log(f"  stored {start + BATCH:,}/{len(memories):,}")
    finally:
        await service.close()


def fill_sqlite(path: Path, n: int, cache_dir: Path, log: Any = None) -> Path:
    """A sqlite_vec file at ``path`` holding the first n corpus memories (kept if it already holds them)."""
    marker = path.with_name(path.name + f".{n}.done")
    if path.exists() and marker.exists():
        return path
    for old in path.parent.glob(path.name + "*"):
        old.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    items, vectors = corpus_with_vectors(n, cache_dir)
    if log is not None:
        log(f"filling {path} with {n:,} memories")
    asyncio.run(fill(offline_env(MCP_MEMORY_STORAGE_BACKEND="sqlite_vec", MCP_MEMORY_SQLITE_PATH=str(path)),
                     items, vectors, log))
    marker.touch()
    return path

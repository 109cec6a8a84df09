"""Past 32k records: every listing still works (Chroma's local get() of metadata fails past 32,766 records)."""

from __future__ import annotations

import numpy as np
import pytest

from mcp_memory.config import Settings
from mcp_memory.models import Memory
from mcp_memory.protocols import TRASH, EmbeddingInfo, Filter
from mcp_memory_chroma.connection import READ_CHUNK
from mcp_memory_chroma.storage import ChromaStorage

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
N = 33_000


async def test_listings_past_the_chroma_get_limit(tmp_path):
    assert N > 32_766 > READ_CHUNK
    store = ChromaStorage(Settings(), location=str(tmp_path / "chroma"))
    await store.initialize(EmbeddingInfo("large-test", 4))
    try:
        vectors = np.random.default_rng(0).standard_normal((N, 4)).astype(np.float32)
        memories = [Memory.create(f"memory {i}", tags=["all", "even" if i % 2 == 0 else "odd"], created_at=float(i),
                                  project="p" if i % 3 else None) for i in range(N)]
        for start in range(0, N, 5000):
            await store.store_batch(list(zip(memories[start:start + 5000], vectors[start:start + 5000])))
        assert await store.count() == N and await store.count(Filter(tags=("all",))) == N
        assert len(await store.list_memories(Filter(tags=("all",)), 0, None)) == N
        newest = await store.list_memories(Filter(tags=("even",)), 0, 3)
        assert [m.content for m in newest] == [f"memory {N - 2}", f"memory {N - 4}", f"memory {N - 6}"]
        assert len(await store.list_memories(Filter(start=0.0, end=float(N)), 0, None)) == N
        assert dict(await store.all_tags()) == {"all": N, "even": N // 2 + N % 2, "odd": N // 2}
        assert await store.projects() == [("p", N - (N + 2) // 3), (None, (N + 2) // 3)]
        assert [m.content for m in await store.list_memories(Filter(tags=("odd",)), 0, 2)] == [
            f"memory {N - 1}", f"memory {N - 3}"]
        seen = [m.content_hash for batch in [b async for b in store.iter_memories(5000)] for m, _ in batch]
        assert len(seen) == len(set(seen)) == N
        odd = [m.content_hash for m in await store.list_memories(Filter(tags=("odd",)), 0, None)]
        assert len(await store.trash(odd, 1.0, "deleted")) == N // 2
        assert await store.count() == N - N // 2 and await store.count(TRASH) == N // 2
        assert len(await store.find_hashes("a", limit=N)) == sum(h.startswith("a") for h in seen)
        assert await store.purge(odd) == N // 2 and await store.count(TRASH) == 0
    finally:
        await store.close()

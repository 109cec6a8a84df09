"""Past 32k records: every listing still works (Chroma's local get() fails above about 32k results)."""

from __future__ import annotations

import numpy as np
import pytest
from mcp_memory.config import Settings
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo
from mcp_memory_chroma.storage import GET_PAGE, ChromaStorage

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
N = 33_000


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_listings_past_the_chroma_get_limit(tmp_path):
    assert N > 3 * GET_PAGE
    store = ChromaStorage(Settings(), location=str(tmp_path / "chroma"))
    await store.initialize(EmbeddingInfo("large-test", 4))
    try:
        vectors = np.random.default_rng(0).standard_normal((N, 4)).astype(np.float32)
        memories = [Memory.create(f"memory {i}", tags=["all", "even" if i % 2 == 0 else "odd"], created_at=float(i))
                    for i in range(N)]
        for start in range(0, N, 5000):
            await store.store_batch(list(zip(memories[start:start + 5000], vectors[start:start + 5000])))
        assert await store.count() == N and await store.count(tags=["all"]) == N
        assert len(await store.search_by_tag(["all"])) == N
        newest = await store.search_by_tag(["even"], limit=3)
        assert [m.content for m in newest] == [f"memory {N - 2}", f"memory {N - 4}", f"memory {N - 6}"]
        assert len(await store.search_by_time(0.0, float(N))) == N
        assert dict(await store.all_tags()) == {"all": N, "even": N // 2 + N % 2, "odd": N // 2}
        assert [m.content for m in await store.list_memories(0, 2, tags=["odd"])] == [f"memory {N - 1}",
                                                                                      f"memory {N - 3}"]
        seen = [m.content_hash for batch in [b async for b in store.iter_memories(5000)] for m, _ in batch]
        assert len(seen) == len(set(seen)) == N
        assert await store.delete_by_tag(["odd"]) == N // 2 and await store.count() == N - N // 2
    finally:
        await store.close()

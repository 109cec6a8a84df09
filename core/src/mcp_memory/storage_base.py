"""``BaseStorage``: derive what a store can derive, so that a new store writes only what is its own.

The methods a subclass must write: ``initialize``, ``store_batch``, ``update_memory``, ``trash``, ``restore``,
``purge``, ``get_by_hash``, ``retrieve``, ``list_memories`` and ``iter_memories``. Everything else has a
working default here, built on those (correct, but reading more than a store's own query would: override
``count``, ``all_tags``, ``projects``, ``find_hashes`` and ``mark_used`` when the backend can do better).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

from .models import Memory, QueryResult, Vector
from .protocols import LIVE, TRASH, EmbeddingInfo, Filter


class BaseStorage:
    """Base class of a ``MemoryStorage``: set ``backend_name`` and write the required methods."""

    backend_name = "?"

    # -- required ----------------------------------------------------------------------------
    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        raise NotImplementedError

    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        raise NotImplementedError

    async def update_memory(self, memory: Memory) -> bool:
        raise NotImplementedError

    async def trash(self, hashes: Sequence[str], at: float, reason: str,
                    replaced_by: str | None = None) -> list[str]:
        raise NotImplementedError

    async def restore(self, hashes: Sequence[str]) -> list[str]:
        raise NotImplementedError

    async def purge(self, hashes: Sequence[str]) -> int:
        raise NotImplementedError

    async def get_by_hash(self, content_hash: str, trashed: bool | None = False) -> Memory | None:
        raise NotImplementedError

    async def retrieve(self, embedding: Vector, k: int, where: Filter = LIVE) -> list[QueryResult]:
        raise NotImplementedError

    async def list_memories(self, where: Filter = LIVE, offset: int = 0, limit: int | None = 10) -> list[Memory]:
        raise NotImplementedError

    def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        raise NotImplementedError

    # -- derived -----------------------------------------------------------------------------
    async def close(self) -> None:
        return None

    async def store(self, memory: Memory, embedding: Vector) -> bool:
        [stored] = await self.store_batch([(memory, embedding)])
        return stored

    async def count(self, where: Filter = LIVE) -> int:
        return len(await self.list_memories(where, 0, None))

    async def all_tags(self, where: Filter = LIVE) -> list[tuple[str, int]]:
        counts = Counter(tag for m in await self.list_memories(where, 0, None) for tag in m.tags)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    async def projects(self) -> list[tuple[str | None, int]]:
        counts = Counter(m.project for m in await self.list_memories(LIVE, 0, None))
        return sorted(counts.items(), key=lambda item: (-item[1], item[0] or ""))

    async def find_hashes(self, prefix: str, limit: int = 10) -> list[str]:
        found: list[str] = []
        async for batch in self.iter_memories():
            found.extend(m.content_hash for m, _ in batch if m.content_hash.startswith(prefix))
        return sorted(found)[:limit]

    async def mark_used(self, hashes: Sequence[str], at: float) -> None:
        for content_hash in hashes:
            memory = await self.get_by_hash(content_hash)
            if memory is not None:
                await self.update_memory(replace(memory, last_used_at=at, use_count=memory.use_count + 1))

    async def get_stats(self) -> dict[str, Any]:
        return {"backend": self.backend_name, "total_memories": await self.count(LIVE),
                "trashed_memories": await self.count(TRASH), "unique_tags": len(await self.all_tags(LIVE)),
                "database_size_mb": None, "embedding_model": None, "embedding_dimension": None}

    async def optimize(self) -> dict[str, Any]:
        return {"actions": [], "note": f"the {self.backend_name} store has no upkeep to run"}

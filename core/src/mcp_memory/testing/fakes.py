"""Small, dependency-free test doubles: a deterministic embedder and an in-memory store.

The in-memory store is the reference implementation of the storage protocol (and is itself run
through the conformance suite); the embedder is for fast unit tests only, never as the only proof.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any, AsyncIterator, Sequence

from ..errors import EmbeddingError
from ..models import Memory, QueryResult, Vector, relevance_from_cosine_distance
from ..protocols import EmbeddingInfo


class HashEmbedder:
    """Bag-of-words hashing embedder: texts sharing words get similar vectors. Deterministic."""

    def __init__(self, dimension: int = 64, model_name: str = "test-hash-embedder"):
        self.dimension = dimension
        self.model_name = model_name
        self.loaded = True
        self.calls = 0

    def warm_up(self) -> None:
        pass

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        out = []
        for text in texts:
            vec = [0.0] * self.dimension
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                vec[int.from_bytes(digest[:4], "little") % self.dimension] += 1.0 if digest[4] & 1 else -1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out


def _cosine_distance(a: Vector, b: Vector) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return 1.0 - dot / (na * nb)


class InMemoryStorage:
    """A dict-backed MemoryStorage: the reference semantics for every store plugin."""

    backend_name = "memory"

    def __init__(self, settings: Any = None, location: str | None = None):
        self._rows: dict[str, tuple[Memory, list[float]]] = {}
        self._embedding: EmbeddingInfo | None = None
        self.closed = False

    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        if embedding is None:
            return
        if self._embedding is not None and self._embedding != embedding:
            raise EmbeddingError(
                f"store holds {self._embedding.model} ({self._embedding.dimension} dims), "
                f"embedder is {embedding.model} ({embedding.dimension} dims)"
            )
        self._embedding = embedding

    async def store(self, memory: Memory, embedding: Vector) -> bool:
        if memory.content_hash in self._rows:
            return False
        self._rows[memory.content_hash] = (memory, list(embedding))
        return True

    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        return [await self.store(m, v) for m, v in items]

    def _filtered(self, tags: Sequence[str] | None, memory_type: str | None) -> list[Memory]:
        out = [m for m, _ in self._rows.values()]
        if tags:
            out = [m for m in out if set(tags) & set(m.tags)]
        if memory_type is not None:
            out = [m for m in out if m.memory_type == memory_type]
        return sorted(out, key=lambda m: (m.created_at, m.content_hash), reverse=True)

    async def retrieve(self, embedding: Vector, k: int, tags: Sequence[str] | None = None,
                       memory_type: str | None = None) -> list[QueryResult]:
        scored = [
            QueryResult(m, relevance_from_cosine_distance(_cosine_distance(embedding, self._rows[m.content_hash][1])))
            for m in self._filtered(tags, memory_type)
        ]
        scored.sort(key=lambda r: r.relevance_score, reverse=True)
        return scored[:k]

    async def search_by_tag(self, tags: Sequence[str], match_all: bool = False, limit: int | None = None) -> list[Memory]:
        want = set(tags)
        hits = [m for m in self._filtered(None, None) if (want <= set(m.tags) if match_all else want & set(m.tags))]
        return hits[:limit] if limit else hits

    async def search_by_time(self, start: float | None, end: float | None, limit: int | None = None) -> list[Memory]:
        hits = [m for m in self._filtered(None, None)
                if (start is None or m.created_at >= start) and (end is None or m.created_at <= end)]
        return hits[:limit] if limit else hits

    async def list_memories(self, offset: int = 0, limit: int = 10, tags: Sequence[str] | None = None,
                            memory_type: str | None = None) -> list[Memory]:
        return self._filtered(tags, memory_type)[offset:offset + limit]

    async def count(self, tags: Sequence[str] | None = None, memory_type: str | None = None) -> int:
        return len(self._filtered(tags, memory_type))

    async def get_by_hash(self, content_hash: str) -> Memory | None:
        row = self._rows.get(content_hash)
        return row[0] if row else None

    async def delete(self, content_hash: str) -> bool:
        return self._rows.pop(content_hash, None) is not None

    async def delete_by_tag(self, tags: Sequence[str]) -> int:
        doomed = [m.content_hash for m in await self.search_by_tag(tags)]
        for h in doomed:
            del self._rows[h]
        return len(doomed)

    async def update_memory_metadata(self, content_hash: str, tags: Sequence[str], memory_type: str | None,
                                     metadata: dict[str, Any], updated_at: float) -> bool:
        row = self._rows.get(content_hash)
        if row is None:
            return False
        memory = row[0].with_changes(tags=list(tags), memory_type=memory_type, metadata=dict(metadata),
                                     updated_at=updated_at)
        self._rows[content_hash] = (memory, row[1])
        return True

    async def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        rows = sorted(self._rows.values(), key=lambda r: (r[0].created_at, r[0].content_hash))
        for i in range(0, len(rows), batch_size):
            yield [(m, list(v)) for m, v in rows[i:i + batch_size]]

    async def all_tags(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for m, _ in self._rows.values():
            for t in m.tags:
                counts[t] = counts.get(t, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    async def get_stats(self) -> dict[str, Any]:
        return {
            "backend": self.backend_name,
            "total_memories": len(self._rows),
            "unique_tags": len(await self.all_tags()),
            "database_size_mb": 0.0,
            "embedding_model": self._embedding.model if self._embedding else None,
            "embedding_dimension": self._embedding.dimension if self._embedding else None,
        }

    async def optimize(self) -> dict[str, Any]:
        return {"size_before_mb": 0.0, "size_after_mb": 0.0}

    async def close(self) -> None:
        self.closed = True

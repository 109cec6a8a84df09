"""Small, dependency-free test doubles: a deterministic embedder and an in-memory store.

The in-memory store is the reference implementation of the storage protocol (and is itself run
through the conformance suite); the embedder is for fast unit tests only, never as the only proof.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

from ..errors import EmbeddingError, StorageError
from ..models import Memory, QueryResult, Vector, relevance_from_cosine_distance
from ..protocols import LIVE, EmbeddingInfo, Filter, ReembedState
from ..storage_base import BaseStorage


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
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return 1.0 - dot / (na * nb)


class InMemoryStorage(BaseStorage):
    """A dict-backed store on ``BaseStorage``: the reference semantics for every store plugin, and the example of
    a store that writes only the required methods (plus re-embedding; ``LexicalInMemoryStorage`` adds words)."""

    backend_name = "memory"

    def __init__(self, settings: Any = None, location: str | None = None):
        self._rows: dict[str, tuple[Memory, list[float]]] = {}
        self._embedding: EmbeddingInfo | None = None
        self._staging: tuple[EmbeddingInfo, dict[str, list[float]]] | None = None
        self.closed = False

    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        if embedding is None:
            return
        if self._embedding is not None and self._embedding != embedding:
            raise EmbeddingError(
                f"store holds {self._embedding.model} ({self._embedding.dimension} dims), "
                f"embedder is {embedding.model} ({embedding.dimension} dims); use the same model, or switch "
                "the store with `memory reembed`")
        self._embedding = embedding

    async def store_batch(self, items: Sequence[tuple[Memory, Vector]]) -> list[bool]:
        done = []
        for memory, vector in items:
            fresh = memory.content_hash not in self._rows
            if fresh:
                self._rows[memory.content_hash] = (memory, list(vector))
            done.append(fresh)
        return done

    async def update_memory(self, memory: Memory) -> bool:
        row = self._rows.get(memory.content_hash)
        if row is None or row[0].trashed:
            return False
        old = row[0]
        self._rows[memory.content_hash] = (replace(old, tags=list(memory.tags), memory_type=memory.memory_type,
                                                   metadata=dict(memory.metadata), project=memory.project,
                                                   updated_at=memory.updated_at, last_used_at=memory.last_used_at,
                                                   use_count=memory.use_count), row[1])
        return True

    def _set(self, hashes: Sequence[str], trashed: bool, **changes: Any) -> list[str]:
        """Apply ``changes`` to the memories whose trashed state is ``trashed``; their hashes."""
        done = []
        for h in dict.fromkeys(hashes):
            row = self._rows.get(h)
            if row is not None and row[0].trashed == trashed:
                self._rows[h] = (replace(row[0], **changes), row[1])
                done.append(h)
        return done

    async def trash(self, hashes: Sequence[str], at: float, reason: str,
                    replaced_by: str | None = None) -> list[str]:
        return self._set(hashes, False, deleted_at=at, deleted_reason=reason, replaced_by=replaced_by)

    async def restore(self, hashes: Sequence[str]) -> list[str]:
        return self._set(hashes, True, deleted_at=None, deleted_reason=None, replaced_by=None)

    async def purge(self, hashes: Sequence[str]) -> int:
        doomed = [h for h in dict.fromkeys(hashes) if h in self._rows and self._rows[h][0].trashed]
        for h in doomed:
            del self._rows[h]
            if self._staging is not None:
                self._staging[1].pop(h, None)
        return len(doomed)

    async def get_by_hash(self, content_hash: str, trashed: bool | None = False) -> Memory | None:
        row = self._rows.get(content_hash)
        if row is None or (trashed is not None and row[0].trashed != trashed):
            return None
        return row[0]

    def _selected(self, where: Filter) -> list[Memory]:
        found = [m for m, _ in self._rows.values() if where.matches(m)]
        if where.trashed:
            return sorted(found, key=lambda m: (m.deleted_at or 0.0, m.content_hash), reverse=True)
        return sorted(found, key=lambda m: (m.created_at, m.content_hash), reverse=True)

    async def list_memories(self, where: Filter = LIVE, offset: int = 0, limit: int | None = 10) -> list[Memory]:
        found = self._selected(where)
        return found[offset:] if limit is None else found[offset:offset + limit]

    async def retrieve(self, embedding: Vector, k: int, where: Filter = LIVE) -> list[QueryResult]:
        scored = [QueryResult(m, relevance_from_cosine_distance(_cosine_distance(embedding,
                                                                                 self._rows[m.content_hash][1])))
                  for m in self._selected(where)]
        scored.sort(key=lambda r: r.relevance_score, reverse=True)
        return scored[:k]

    async def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        rows = sorted(self._rows.values(), key=lambda r: (r[0].created_at, r[0].content_hash))
        for i in range(0, len(rows), batch_size):
            yield [(m, list(v)) for m, v in rows[i:i + batch_size]]

    async def get_stats(self) -> dict[str, Any]:
        stats = await super().get_stats()
        stats.update(database_size_mb=0.0, embedding_model=self._embedding.model if self._embedding else None,
                     embedding_dimension=self._embedding.dimension if self._embedding else None)
        return stats

    async def close(self) -> None:
        self.closed = True

    # -- re-embedding ------------------------------------------------------------------------
    async def reembed_state(self) -> ReembedState | None:
        if self._staging is None:
            return None
        return ReembedState(self._staging[0], len(self._staging[1]), len(self._rows))

    async def reembed_begin(self, target: EmbeddingInfo) -> ReembedState:
        if self._staging is None or self._staging[0] != target:
            self._staging = (target, {})
        state = await self.reembed_state()
        assert state is not None
        return state

    async def reembed_pending(self, limit: int) -> list[Memory]:
        staged = self._staging[1] if self._staging else {}
        return [m for m, _ in self._rows.values() if m.content_hash not in staged][:limit]

    async def reembed_stage(self, items: Sequence[tuple[str, Vector]]) -> None:
        if self._staging is None:
            raise StorageError("no re-embedding was begun")
        for h, vector in items:
            if h in self._rows:
                self._staging[1][h] = list(vector)

    async def reembed_commit(self) -> bool:
        if self._staging is None or await self.reembed_pending(1):
            return False
        target, staged = self._staging
        self._rows = {h: (m, staged[h]) for h, (m, _) in self._rows.items()}
        self._embedding, self._staging = target, None
        return True

    async def reembed_abort(self) -> None:
        self._staging = None


class LexicalInMemoryStorage(InMemoryStorage):
    """``InMemoryStorage`` with the optional lexical search (query words found in each memory)."""

    async def search_lexical(self, query: str, k: int, where: Filter = LIVE) -> list[QueryResult]:
        """Words of the query found in each memory (a stand-in for BM25), best first."""
        words = set(re.findall(r"\w+", query.lower()))
        scored = []
        for memory in self._selected(where):
            hits = len(words & set(re.findall(r"\w+", memory.content.lower())))
            if hits:
                scored.append((hits, memory))
        scored.sort(key=lambda item: -item[0])
        best = scored[0][0] if scored else 1
        return [QueryResult(m, hits / best) for hits, m in scored[:k]]


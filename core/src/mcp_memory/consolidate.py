"""``memory consolidate``: find clusters of near-duplicate memories, and merge them only when asked, reversibly.

A cluster is a group of live memories of one project linked by cosine similarity at or above a threshold (the
near-duplicate threshold by default). Merging keeps the newest memory of the cluster, gives it every tag of the
others and the date range they cover, and moves the others to the trash (reason ``merged``, linked to it by
``replaced_by``). What the kept memory looked like before its first merge is recorded in its metadata, so
``undo`` restores everything exactly, also after a run that was stopped halfway and run again. Nothing runs
unless called: there is no schedule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InvalidInputError, NotFoundError
from .inputs import Scope
from .logging import get_logger
from .models import Memory, Vector, iso, parse_timestamp
from .protocols import Filter
from .results import MERGED
from .service import MemoryService

log = get_logger(__name__)

#: how many neighbours of each memory are looked at (a cluster can grow further through its members)
NEIGHBOURS = 10
#: metadata key of a merged memory: what it was before, and which memories it absorbed
RECORD = "consolidation"


@dataclass
class Cluster:
    """Memories to merge into ``keep`` (the newest), with the lowest similarity that links them."""

    keep: Memory
    others: list[Memory]
    similarity: float

    @property
    def members(self) -> list[Memory]:
        return [self.keep, *self.others]

    def to_dict(self) -> dict[str, Any]:
        return {"keep": self.keep.content_hash, "merge": [m.content_hash for m in self.others],
                "similarity": round(self.similarity, 4), "project": self.keep.project,
                "contents": [m.content for m in self.members]}


@dataclass
class ConsolidationReport:
    threshold: float
    scanned: int = 0
    clusters: list[Cluster] = field(default_factory=list)
    applied: bool = False
    merged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "scanned": self.scanned, "applied": self.applied,
                "merged": self.merged, "clusters": [c.to_dict() for c in self.clusters]}


async def find_clusters(service: MemoryService, threshold: float, scope: Scope | None = None) -> ConsolidationReport:
    """Group the live memories of ``scope`` whose similarity reaches ``threshold`` (within one project)."""
    if not 0.0 < threshold <= 1.0:
        raise InvalidInputError(f"the threshold must be in (0, 1], got {threshold}")
    projects = (scope or Scope(everything=True)).projects
    report = ConsolidationReport(threshold)
    parent: dict[str, str] = {}
    weakest: dict[frozenset[str], float] = {}
    members: dict[str, Memory] = {}

    def root(h: str) -> str:
        while parent[h] != h:
            parent[h] = parent[parent[h]]
            h = parent[h]
        return h

    async for batch in service.storage.iter_memories():
        for memory, vector in batch:
            if memory.trashed or (projects is not None and memory.project not in projects):
                continue
            report.scanned += 1
            members[memory.content_hash] = memory
            parent.setdefault(memory.content_hash, memory.content_hash)
            for near in await _neighbours(service, memory, vector):
                if near.relevance_score < threshold or near.memory.content_hash == memory.content_hash:
                    continue
                other = near.memory.content_hash
                parent.setdefault(other, other)
                members.setdefault(other, near.memory)
                a, b = root(memory.content_hash), root(other)
                if a != b:
                    parent[a] = b
                pair = frozenset((memory.content_hash, other))
                weakest[pair] = min(weakest.get(pair, 1.0), near.relevance_score)
    groups: dict[str, list[Memory]] = {}
    for h in parent:
        groups.setdefault(root(h), []).append(members[h])
    for group in groups.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda m: (m.created_at, m.content_hash), reverse=True)
        hashes = {m.content_hash for m in group}
        links = [s for pair, s in weakest.items() if pair <= hashes]
        report.clusters.append(Cluster(group[0], group[1:], min(links) if links else threshold))
    report.clusters.sort(key=lambda c: (-len(c.others), -c.similarity))
    return report


async def _neighbours(service: MemoryService, memory: Memory, vector: Vector | None) -> list[Any]:
    if vector is None:
        [vector] = await service.embed([memory.content])
    return await service.storage.retrieve(vector, NEIGHBOURS, Filter(projects=(memory.project,)))


async def apply(service: MemoryService, report: ConsolidationReport) -> ConsolidationReport:
    """Merge every cluster of ``report``: the kept memory gains the others' tags and dates, they go to the trash."""
    for cluster in report.clusters:
        current = await service.storage.get_by_hash(cluster.keep.content_hash)
        others = [m for m in cluster.others if await service.storage.get_by_hash(m.content_hash) is not None]
        if current is None or not others:
            continue  # changed since the report (or merged by an earlier run): leave it
        merged = _merged(current, others)
        # the kept memory first, then the others to the trash: a run stopped between the two leaves every memory
        # live, and the next run merges them again onto the same record (undo still restores the original)
        await service.storage.update_memory(merged)
        await service.storage.trash([m.content_hash for m in others], time.time(), MERGED,
                                    replaced_by=current.content_hash)
        report.merged += len(others)
        log.info("memories merged", keep=current.content_hash, merged=len(others))
    report.applied = True
    return report


def _merged(current: Memory, others: list[Memory]) -> Memory:
    """``current`` with the tags and date range of ``others``, recording what it was before its first merge."""
    prior = current.metadata.get(RECORD)
    prior = prior if isinstance(prior, dict) and isinstance(prior.get("before"), dict) else None
    everything = [current, *others]
    created = [m.created_at for m in everything]
    if prior:
        created += [parse_timestamp(prior[k]) for k in ("first_created_at", "last_created_at") if prior.get(k)]
    record = {"before": prior["before"] if prior else {"tags": current.tags, "metadata": current.metadata,
                                                      "updated_at": current.updated_at},
              "merged": list(dict.fromkeys([*(prior.get("merged") or [] if prior else []),
                                            *(m.content_hash for m in others)])),
              "first_created_at": iso(min(created)), "last_created_at": iso(max(created))}
    tags = list(dict.fromkeys(t for m in everything for t in m.tags))
    return replace(current, tags=tags, metadata={**current.metadata, RECORD: record}, updated_at=time.time())


async def undo(service: MemoryService, content_hash: Any) -> list[Memory]:
    """Reverse a merge: the merged-away memories come back and the kept one gets its tags and metadata back."""
    kept = await service.get(content_hash)
    record = kept.metadata.get(RECORD)
    if not isinstance(record, dict) or not isinstance(record.get("before"), dict):
        raise NotFoundError(f"memory {kept.content_hash[:12]} is not the result of a merge")
    before = record["before"]
    merged = await service.storage.list_memories(Filter(replaced_by=kept.content_hash, trashed=True), 0, None)
    restored = await service.storage.restore([m.content_hash for m in merged if m.deleted_reason == MERGED])
    await service.storage.update_memory(replace(kept, tags=list(before.get("tags") or []),
                                                metadata=dict(before.get("metadata") or {}),
                                                updated_at=float(before.get("updated_at") or kept.updated_at)))
    return [m for m in [await service.storage.get_by_hash(h) for h in restored] if m is not None]

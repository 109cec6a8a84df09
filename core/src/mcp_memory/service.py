"""MemoryService: the one place where memory logic lives (validation, dedup, projects, tags, time, relevance,
trash and history).

Every surface (CLI, MCP tools, REST API, hooks, migration) calls this class; stores only hold data. Reads take
a ``Scope`` (which projects); nothing is ever deleted outright: deletes move memories to the trash, edits keep
the previous version there, and only ``purge`` (on demand, or after ``MCP_MEMORY_TRASH_DAYS``) removes rows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal, overload

from . import ranking
from .config import Settings
from .documents import DocumentReader
from .errors import EmbeddingError, InvalidInputError, NotFoundError
from .inputs import (
    Scope,
    check_bool,
    check_content,
    check_hash_text,
    check_limit,
    check_metadata_size,
    check_mode,
    check_query,
    check_relevance,
    check_type,
)
from .logging import get_logger
from .models import Hit, Memory, QueryResult, Vector, normalize_tags, parse_timestamp
from .models import content_hash as hash_of
from .protocols import TRASH, Embedder, EmbeddingInfo, Filter, MemoryStorage, SearchHits
from .ranking import R
from .results import (
    DELETED,
    DUPLICATE,
    EDITED,
    EXPIRED,
    MERGED,
    OUTDATED,
    FileResult,
    NewMemory,
    Page,
    RecallResult,
    StoreResult,
    TrashResult,
    UpdateResult,
)
from .timeparse import parse_time_expression
from .usage import UsageLog

__all__ = ["MemoryService", "NewMemory", "Page", "RecallResult", "StoreResult", "TrashResult", "UpdateResult",
           "open_service"]

log = get_logger(__name__)

#: memories looked at when the nearest near-duplicate states other numbers than the new memory
NEAR_CANDIDATES = 10
_MISSING: Any = object()
#: the largest row offset a store is asked for (SQLite integers are 64-bit)
MAX_OFFSET = 2**62
#: retrieval mode when the caller gives none (hybrid won on the LoCoMo dev set: docs/retrieval.md)
DEFAULT_MODE = "hybrid"
#: trash reasons that ``purge_expired`` removes after MCP_MEMORY_TRASH_DAYS (earlier versions are history)
PURGEABLE = (DELETED, MERGED, DUPLICATE, EXPIRED, OUTDATED)
DAY = 86_400.0


class MemoryService:
    """Memory operations over one store and one embedder."""

    def __init__(
        self,
        storage: MemoryStorage,
        embedder: Embedder | None,
        settings: Settings | None = None,
        coordination_mode: str = "direct",
        readers: Sequence[DocumentReader] = (),
    ) -> None:
        self.storage = storage
        self.embedder = embedder
        self.settings = settings or Settings()
        self.coordination_mode = coordination_mode
        self.readers = tuple(readers)
        self._closed = False
        self._no_lexical = False
        self._usage = UsageLog(self.storage.mark_used)

    # -- lifecycle ---------------------------------------------------------------------------
    async def initialize(self) -> None:
        info = EmbeddingInfo(self.embedder.model_name, self.embedder.dimension) if self.embedder else None
        await self.storage.initialize(info)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._usage.close()
            await self.storage.close()

    async def __aenter__(self) -> MemoryService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- validation --------------------------------------------------------------------------
    def _limit(self, n: Any, name: str = "n_results") -> int:
        return check_limit(n, name, self.settings.max_results)

    def prepare(self, item: NewMemory) -> Memory:
        """Validate caller input and build the Memory to store (raises InvalidInputError)."""
        content = check_content(item.content, self.settings.max_content_length)
        created = None if item.created_at is None else parse_timestamp(item.created_at)
        return Memory.create(
            content,
            tags=normalize_tags(item.tags),
            memory_type=check_type(item.memory_type),
            metadata=check_metadata_size(item.metadata, self.settings.max_content_length),
            created_at=created,
            project=Scope.of(project=item.project).write_project,
        )

    def _require_embedder(self) -> Embedder:
        if self.embedder is None:
            raise EmbeddingError("no embedder is installed: pip install mcp-memory-onnx")
        return self.embedder

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        """Vectors of ``texts`` with the service's embedder, computed in a worker thread."""
        embedder = self._require_embedder()
        return list(await asyncio.to_thread(embedder.embed, list(texts)))

    async def resolve_hash(self, value: Any) -> str:
        """A full content hash from a hash or a unique prefix of 8+ characters (live or trashed memories).

        NotFoundError when nothing matches; InvalidInputError listing the candidates when several do.
        """
        text = check_hash_text(value)
        if len(text) == 64:
            return text
        found = await self.storage.find_hashes(text, limit=6)
        if not found:
            raise NotFoundError(f"no memory has a content_hash starting with {text!r}")
        if len(found) > 1:
            shown = ", ".join(h[:16] for h in found[:5]) + (", ..." if len(found) > 5 else "")
            raise InvalidInputError(f"hash prefix {text!r} is ambiguous: it starts {len(found)}"
                                    f"{'+' if len(found) > 5 else ''} hashes ({shown}); give more characters")
        return found[0]

    # -- writes ------------------------------------------------------------------------------
    async def store(self, content: Any, tags: Any = None, memory_type: Any = None, metadata: Any = None,
                    created_at: Any = None, project: Any = None, allow_near_duplicate: Any = False,
                    dry_run: Any = False) -> StoreResult:
        """Store one memory in ``project`` (None = global). The same text is stored once (a text stored again from
        another project becomes global: both share it); a memory of the same project closer in meaning than the
        duplicate threshold is not stored either, unless
        ``allow_near_duplicate``: the answer names the memory already there. ``dry_run`` checks all that and
        writes nothing (the result's memory is the one that would be stored)."""
        memory = self.prepare(NewMemory(content, tags, memory_type, metadata, created_at, project))
        return await self.store_memory(memory, allow_near_duplicate, dry_run)

    async def store_memory(self, memory: Memory, allow_near_duplicate: Any = False, dry_run: Any = False
                           ) -> StoreResult:
        """``store`` for a memory already built (``prepare``, an importer's record): same checks, same answer."""
        check_bool(allow_near_duplicate, "allow_near_duplicate")
        check_bool(dry_run, "dry_run")
        existing = await self.storage.get_by_hash(memory.content_hash, trashed=None)
        if existing is not None:
            if dry_run or not existing.trashed:
                if not dry_run and existing.project is not None and existing.project != memory.project:
                    existing = await self._promote(existing)
                return StoreResult(existing, duplicate=not existing.trashed, restored=existing.trashed)
            return await self._existing(existing, memory)
        [vector] = await self.embed([memory.content])
        if not allow_near_duplicate:
            near = await self._near_duplicate(vector, memory)
            if near is not None:
                return StoreResult(near.memory, duplicate=False, near_duplicate=True,
                                   similarity=round(near.relevance_score, 4))
        if dry_run:
            return StoreResult(memory, duplicate=False)
        if await self.storage.store(memory, vector):
            log.debug("stored", content_hash=memory.content_hash)
            return StoreResult(memory, duplicate=False)
        raced = await self.storage.get_by_hash(memory.content_hash, trashed=None)
        return StoreResult(raced or memory, duplicate=True)

    async def _promote(self, memory: Memory) -> Memory:
        """The same text stored from another project (or as global) is knowledge they share: make it global."""
        promoted = replace(memory, project=None, updated_at=max(time.time(), memory.created_at))
        await self.storage.update_memory(promoted)
        log.info("memory made global: another project stored the same text", content_hash=memory.content_hash,
                 was=memory.project)
        return promoted

    async def _existing(self, existing: Memory, new: Memory) -> StoreResult:
        """The same text again, in the trash: it comes back with the new tags added."""
        await self.storage.restore([existing.content_hash])
        back = await self.storage.get_by_hash(existing.content_hash) or existing
        extra = [t for t in new.tags if t not in back.tags]
        if extra:
            back = replace(back, tags=[*back.tags, *extra], updated_at=time.time())
            await self.storage.update_memory(back)
        log.info("stored text was in the trash: restored", content_hash=back.content_hash)
        return StoreResult(back, duplicate=False, restored=True)

    async def _near_duplicate(self, vector: Vector, memory: Memory) -> QueryResult | None:
        """The memory of the same project this one nearly repeats: cosine at or above the threshold and the same
        numbers (embeddings barely tell "port 5432" from "port 5433", which are two facts)."""
        threshold = self.settings.duplicate_threshold
        if threshold is None:
            return None
        where = Filter(projects=(memory.project,))
        nearest_above = getattr(self.storage, "nearest_above", None)
        if nearest_above is not None:
            near = await nearest_above(vector, threshold, where)
        else:
            found = await self.storage.retrieve(vector, 1, where)
            near = found[0] if found and found[0].relevance_score >= threshold else None
        if near is None or ranking.same_numbers(near.memory.content, memory.content):
            return near
        # the nearest states other numbers: a close one with the same numbers may still be there
        close = await self.storage.retrieve(vector, NEAR_CANDIDATES, where)
        return next((r for r in close if r.relevance_score >= threshold
                     and ranking.same_numbers(r.memory.content, memory.content)), None)

    async def store_batch(self, items: Iterable[NewMemory]) -> list[StoreResult]:
        """Store many memories with one embedding pass and one transaction (exact duplicates only: a batch is
        an import). Validation happens first for all items: one invalid item rejects the batch."""
        memories = [self.prepare(item) for item in items]
        return await self.store_prepared(memories)

    async def store_prepared(self, memories: Sequence[Memory],
                             vectors: Sequence[Vector | None] | None = None) -> list[StoreResult]:
        """Store already-built memories (import, migration); vectors of None are embedded here. Trashed
        memories (``deleted_at`` set, from a backup) go to the trash."""
        results: list[StoreResult | None] = [None] * len(memories)
        first_index: dict[str, int] = {}
        for i, memory in enumerate(memories):
            first_index.setdefault(memory.content_hash, i)
        # nothing to embed for given vectors: the store itself reports a hash it already has
        to_check = [memories[i].content_hash for i in first_index.values() if vectors is None or vectors[i] is None]
        stored_already = await self._stored(to_check)
        todo: list[int] = []
        for i in first_index.values():
            existing = stored_already.get(memories[i].content_hash)
            if existing is not None:
                results[i] = StoreResult(existing, duplicate=True)
            else:
                todo.append(i)
        if todo:
            given = [vectors[i] if vectors is not None else None for i in todo]
            missing = [j for j, v in enumerate(given) if v is None]
            if missing:
                embedded = await self.embed([memories[todo[j]].content for j in missing])
                for j, vector in zip(missing, embedded, strict=True):
                    given[j] = vector
            stored = await self.storage.store_batch([(memories[i], v) for i, v in zip(todo, given, strict=True)])  # type: ignore[misc]
            for i, ok in zip(todo, stored, strict=True):
                existing = None if ok else await self.storage.get_by_hash(memories[i].content_hash, trashed=None)
                results[i] = StoreResult(existing or memories[i], duplicate=not ok)
        for i, memory in enumerate(memories):
            if results[i] is None:  # repeated inside the batch
                first = results[first_index[memory.content_hash]]
                assert first is not None
                results[i] = StoreResult(first.memory, duplicate=True)
        return [r for r in results if r is not None]

    async def _stored(self, hashes: Sequence[str]) -> dict[str, Memory]:
        """The stored memories (live or trashed) of these hashes: one read with ``get_many`` where the store has
        it (SearchHits), else one ``get_by_hash`` each."""
        get_many = getattr(self.storage, "get_many", None)
        if get_many is not None:
            return {m.content_hash: m for m in await get_many(hashes)} if hashes else {}
        found = [await self.storage.get_by_hash(h, trashed=None) for h in hashes]
        return {m.content_hash: m for m in found if m is not None}

    async def update(self, content_hash: Any, content: Any = _MISSING, tags: Any = _MISSING,
                     memory_type: Any = _MISSING, metadata: Any = _MISSING, merge_metadata: Any = True,
                     project: Any = _MISSING) -> UpdateResult:
        """Change a memory. Tags, type, metadata and project change in place. New content makes a new memory
        (new hash, embedded again) and moves the previous version to the trash as history (``history``)."""
        current = await self.get(content_hash)
        check_bool(merge_metadata, "merge_metadata")
        changes: dict[str, Any] = {"updated_at": max(time.time(), current.created_at)}
        if tags is not _MISSING:
            changes["tags"] = normalize_tags(tags)
        if memory_type is not _MISSING:
            changes["memory_type"] = check_type(memory_type)
        if metadata is not _MISSING:
            checked = check_metadata_size(metadata, self.settings.max_content_length)
            changes["metadata"] = {**current.metadata, **checked} if merge_metadata else checked
        if project is not _MISSING:
            changes["project"] = Scope.of(project=project).write_project
        text = None if content is _MISSING else check_content(content, self.settings.max_content_length)
        if text is None or hash_of(text) == current.content_hash:
            updated = replace(current, **changes)
            if not await self.storage.update_memory(updated):
                raise NotFoundError(f"no memory with content_hash {current.content_hash!r}")
            return UpdateResult(updated)
        new = replace(current, content=text, content_hash=hash_of(text), use_count=0, last_used_at=None,
                      **changes)
        clash = await self.storage.get_by_hash(new.content_hash, trashed=None)
        if clash is not None and not clash.trashed:
            raise InvalidInputError(f"this text is already stored as memory {clash.content_hash}; delete one "
                                    "of the two instead")
        if clash is not None:  # an earlier version with this very text: bring it back with the new fields
            await self.storage.restore([clash.content_hash])
            await self.storage.update_memory(new)
        else:
            [vector] = await self.embed([text])
            await self.storage.store(new, vector)
        await self.storage.trash([current.content_hash], time.time(), EDITED, replaced_by=new.content_hash)
        log.info("memory edited", previous=current.content_hash, current=new.content_hash)
        return UpdateResult(new, previous=current.content_hash)

    async def update_metadata(self, content_hash: Any, tags: Any = _MISSING, memory_type: Any = _MISSING,
                              metadata: Any = _MISSING, merge_metadata: Any = True) -> Memory:
        """Change tags, type and/or metadata without re-embedding (the classic tool's operation)."""
        return (await self.update(content_hash, tags=tags, memory_type=memory_type, metadata=metadata,
                                  merge_metadata=merge_metadata)).memory

    async def delete(self, content_hash: Any) -> TrashResult:
        """Move one memory to the trash (``restore`` brings it back); NotFoundError when it is not live."""
        h = await self.resolve_hash(content_hash)
        moved = await self.storage.trash([h], time.time(), DELETED)
        if not moved:
            raise NotFoundError(f"no memory with content_hash {h!r}")
        return TrashResult(moved)

    async def expire(self, hashes: Any) -> TrashResult:
        """Move live memories to the trash with the reason ``expired`` (automatic hygiene, such as auto-captured
        memories nobody recalled); they are purged with the rest of the trash after MCP_MEMORY_TRASH_DAYS."""
        if isinstance(hashes, str):
            hashes = [hashes]
        resolved = [await self.resolve_hash(h) for h in hashes or ()]
        moved = await self.storage.trash(resolved, time.time(), EXPIRED) if resolved else []
        return TrashResult(moved, EXPIRED)

    async def delete_by_tag(self, tags: Any, scope: Scope | None = None) -> TrashResult:
        """Move every memory carrying any of the tags (within ``scope``) to the trash."""
        if not normalize_tags(tags):
            raise InvalidInputError("give at least one tag")
        return await self.delete_matching(tags=tags, scope=scope)

    async def delete_matching(self, tags: Any = None, match_all: Any = False, start: Any = None, end: Any = None,
                              scope: Scope | None = None, dry_run: Any = False) -> TrashResult:
        """Move every memory matching the tags (any, or all) and/or created between start and end to the trash;
        with ``dry_run``, only say which. At least one of tags, start and end is required."""
        clean = normalize_tags(tags)
        lo, hi = self._time_range(start, end)
        if not clean and lo is None and hi is None:
            raise InvalidInputError("give tags and/or a time range: deleting everything is not offered")
        where = Filter(projects=(scope or Scope()).projects, tags=tuple(clean),
                       match_all=check_bool(match_all, "match_all"), start=lo, end=hi)
        hashes = [m.content_hash for m in await self.storage.list_memories(where, 0, None)]
        if check_bool(dry_run, "dry_run") or not hashes:
            return TrashResult(hashes, "dry run" if dry_run else DELETED)
        return TrashResult(await self.storage.trash(hashes, time.time(), DELETED))

    @staticmethod
    def _time_range(start: Any, end: Any) -> tuple[float | None, float | None]:
        lo = None if start is None else parse_timestamp(start)
        hi = None if end is None else parse_timestamp(end)
        if lo is not None and hi is not None and hi < lo:
            raise InvalidInputError("end is before start")
        return lo, hi

    async def cleanup_duplicates(self) -> TrashResult:
        """Move memories whose normalised content repeats one stored earlier to the trash (the oldest copy
        stays). Only imports that kept a foreign hash can create such duplicates."""
        keep: dict[str, str] = {}
        doomed: list[str] = []
        async for batch in self.storage.iter_memories():
            for memory, _ in batch:
                if memory.trashed:
                    continue
                key = hash_of(memory.content)
                if key in keep:
                    doomed.append(memory.content_hash)
                else:
                    keep[key] = memory.content_hash
        return TrashResult(await self.storage.trash(doomed, time.time(), DUPLICATE) if doomed else [], DUPLICATE)

    # -- documents ---------------------------------------------------------------------------
    async def ingest_document(self, data: Any, name: Any, source: Any = None, tags: Any = None, project: Any = None,
                              dry_run: Any = False, encoding: Any = None, chunk_chars: Any = None,
                              overlap: Any = None) -> FileResult:
        """Read, chunk and store one document (``data``: its bytes; ``name``: its file name, which picks the
        reader). ``source`` identifies it for re-ingesting (default ``upload:NAME``): an unchanged document is
        skipped, a changed one's chunks are replaced. A document that fails stores nothing."""
        from .chunking import OVERLAP_CHARS, TARGET_CHARS
        from .ingest import UPLOAD_PREFIX, Ingester, Options

        if not isinstance(data, (bytes, bytearray)):
            raise InvalidInputError(f"a document is bytes, got {type(data).__name__}")
        if len(data) > self.settings.max_document_bytes:
            raise InvalidInputError(f"{name}: {len(data):,} bytes, more than the limit of "
                                    f"{self.settings.max_document_bytes:,} (MCP_MEMORY_MAX_DOCUMENT_BYTES)")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError("a document needs a file name (its suffix picks the reader)")
        if source is not None and (not isinstance(source, str) or not source.strip()):
            raise InvalidInputError("source must be a non-empty string")
        if encoding is not None and not isinstance(encoding, str):
            raise InvalidInputError("encoding must be a string such as latin-1")
        target = TARGET_CHARS if chunk_chars is None else check_limit(chunk_chars, "chunk_chars", 20_000)
        if overlap is not None and (isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0):
            raise InvalidInputError(f"overlap must be an integer >= 0, got {overlap!r}")
        options = Options(normalize_tags(tags), Scope.of(project=project).write_project, target,
                          OVERLAP_CHARS if overlap is None else overlap, encoding, check_bool(dry_run, "dry_run"))
        return await Ingester(self, self.readers).ingest_bytes(bytes(data), name.strip(),
                                                               source or UPLOAD_PREFIX + name.strip(), options)

    async def prune_documents(self, folders: Any, dry_run: Any = False) -> list[FileResult]:
        """Move the chunks of documents that were under these folders (absolute paths) and no longer exist to the
        trash."""
        from .ingest import Ingester

        if isinstance(folders, str) or not isinstance(folders, (list, tuple)):
            raise InvalidInputError("folders must be a list of absolute paths")
        return await Ingester(self, self.readers).prune([str(f) for f in folders], check_bool(dry_run, "dry_run"))

    # -- trash and history -------------------------------------------------------------------
    async def trash_list(self, page: Any = 1, page_size: Any = 10, reason: Any = None) -> Page:
        """The trash, most recently deleted first (earlier versions of edited memories are in ``history``)."""
        if reason is not None and not isinstance(reason, str):
            raise InvalidInputError("reason must be a string")
        listed = await self._page(TRASH, page, page_size)
        if reason is not None:
            listed.memories = [m for m in listed.memories if m.deleted_reason == reason]
        return listed

    async def restore(self, hashes: Any) -> list[Memory]:
        """Bring trashed memories back exactly as they were. An earlier version of an edited memory replaces
        the current version (which goes to the trash as history)."""
        if isinstance(hashes, str):
            hashes = [hashes]
        if not isinstance(hashes, (list, tuple)) or not hashes:
            raise InvalidInputError("give one or more content hashes to restore")
        restored: list[Memory] = []
        for value in hashes:
            h = await self.resolve_hash(value)
            memory = await self.storage.get_by_hash(h, trashed=None)
            if memory is None:
                raise NotFoundError(f"no memory with content_hash {h!r}")
            if not memory.trashed:
                raise InvalidInputError(f"memory {h[:16]} is not in the trash")
            if memory.deleted_reason == EDITED:
                await self._swap_version(memory)
            else:
                await self.storage.restore([h])
            restored.append(await self.get(h))
        return restored

    async def _swap_version(self, old: Memory) -> None:
        """Make an earlier version live again; the version live now goes to the trash as history."""
        now = time.time()
        current = await self._live_successor(old)
        await self.storage.restore([old.content_hash])
        if current is not None:
            await self.storage.trash([current.content_hash], now, EDITED, replaced_by=old.content_hash)

    async def _live_successor(self, memory: Memory) -> Memory | None:
        """Follow ``replaced_by`` from a trashed version to the live memory that superseded it, if any."""
        seen = {memory.content_hash}
        h = memory.replaced_by
        while h is not None and h not in seen:
            seen.add(h)
            found = await self.storage.get_by_hash(h, trashed=None)
            if found is None:
                return None
            if not found.trashed:
                return found
            h = found.replaced_by
        return None

    async def history(self, content_hash: Any) -> list[Memory]:
        """Every version of a memory, newest first: the current one, then the versions it replaced."""
        h = await self.resolve_hash(content_hash)
        memory = await self.storage.get_by_hash(h, trashed=None)
        if memory is None:
            raise NotFoundError(f"no memory with content_hash {h!r}")
        if memory.trashed and memory.deleted_reason == EDITED:
            memory = await self._live_successor(memory) or memory
        versions, frontier, seen = [memory], [memory.content_hash], {memory.content_hash}
        while frontier:
            parents = await self.storage.list_memories(Filter(replaced_by=frontier.pop(), trashed=True), 0, None)
            for parent in parents:
                if parent.content_hash not in seen and parent.deleted_reason in (EDITED, MERGED):
                    seen.add(parent.content_hash)
                    versions.append(parent)
                    frontier.append(parent.content_hash)
        return versions

    async def purge(self, hashes: Any = None, older_than_days: Any = None) -> int:
        """Delete trashed memories for good: the given hashes, or every trashed memory deleted more than
        ``older_than_days`` ago (0 = the whole trash; earlier versions of edited memories are kept unless
        named)."""
        if hashes:
            if isinstance(hashes, str):
                hashes = [hashes]
            resolved = [await self.resolve_hash(h) for h in hashes]
            return await self.storage.purge(resolved)
        if isinstance(older_than_days, bool) or not isinstance(older_than_days, (int, float)) or older_than_days < 0:
            raise InvalidInputError("give hashes to purge, or older_than_days (a number >= 0)")
        cutoff = time.time() - float(older_than_days) * DAY
        doomed = [m.content_hash for m in await self.storage.list_memories(TRASH, 0, None)
                  if m.deleted_reason in PURGEABLE and (m.deleted_at or 0.0) <= cutoff]
        return await self.storage.purge(doomed) if doomed else 0

    async def purge_expired(self) -> int:
        """Purge what has been in the trash longer than ``MCP_MEMORY_TRASH_DAYS`` (``memory optimize`` runs it)."""
        days = self.settings.trash_days
        purged = await self.purge(older_than_days=days) if days else 0
        if purged:
            log.info("trash emptied of old memories", purged=purged, days=days)
        return purged

    # -- reads -------------------------------------------------------------------------------
    async def get(self, content_hash: Any) -> Memory:
        h = await self.resolve_hash(content_hash)
        memory = await self.storage.get_by_hash(h)
        if memory is None:
            trashed = await self.storage.get_by_hash(h, trashed=True)
            if trashed is not None:
                raise NotFoundError(f"memory {h[:16]} is in the trash ({trashed.deleted_reason}); restore it "
                                    f"first (memory trash restore {h[:12]})")
            raise NotFoundError(f"no memory with content_hash {h!r}")
        return memory

    async def exact_match(self, content: Any) -> Memory | None:
        """The live memory whose content equals this text (same normalisation as the hash), or None."""
        text = check_content(content, self.settings.max_content_length)
        return await self.storage.get_by_hash(hash_of(text))

    async def retrieve(self, query: Any, n_results: Any = 5, tags: Any = None, memory_type: Any = None,
                       min_relevance: Any = None, mode: Any = None, scope: Scope | None = None,
                       start: Any = None, end: Any = None) -> list[QueryResult]:
        """Search, best first, within ``scope`` and optionally by any-tag and type. Results under the relevance
        floor (``min_relevance``, default ``MCP_MEMORY_MIN_RELEVANCE``) are dropped, never padded.

        ``mode``: "semantic" (by meaning), "lexical" (BM25 over words) or "hybrid" (both mixed; the default).
        A store without lexical search answers semantically and the service logs it once.
        """
        text = check_query(query, self.settings.max_content_length)
        k = self._limit(n_results)
        floor = self._floor(min_relevance)
        lo, hi = self._time_range(start, end)
        where = Filter(projects=(scope or Scope()).projects, tags=tuple(normalize_tags(tags)),
                       memory_type=check_type(memory_type), start=lo, end=hi)
        return self._used(await self._search(text, k, where, check_mode(mode, DEFAULT_MODE), floor))

    def _floor(self, value: Any) -> float:
        given = check_relevance(value)
        return self.settings.min_relevance if given is None else given

    def _used(self, results: list[QueryResult]) -> list[QueryResult]:
        """Record that these memories were returned (recency and use; written in the background, usage.py)."""
        if results:
            self._usage.record(r.content_hash for r in results)
        return results

    async def _search(self, text: str, k: int, where: Filter, mode: str, floor: float = 0.0) -> list[QueryResult]:
        """The top ``k`` of one mode at or above the relevance ``floor`` (lexical and hybrid fall back to semantic
        without lexical search)."""
        if mode == "lexical":
            found = await self._candidates(lambda n: self._lexical(text, n, where), k)
            if found is not None:
                return ranking.above_floor(self._rerank(ranking.scaled_to_curated(found), k), floor)
            mode = "semantic"
        if mode == "semantic":
            [vector] = await self.embed([text])
            semantic = await self._candidates(lambda n: self.storage.retrieve(vector, n, where), k)
            return ranking.above_floor(self._rerank(semantic or [], k), floor)
        store = self.storage
        if not isinstance(store, SearchHits) or self.settings.usage_boost > 0:  # the boost reads whole memories
            return await self._hybrid(text, k, floor, lambda v, n: store.retrieve(v, n, where),
                                      lambda n: self._lexical(text, n, where), self._rerank)
        # ranked from hits: only the k memories returned are read
        top = await self._hybrid(text, k, floor, lambda v, n: store.retrieve_hits(v, n, where),
                                 lambda n: self._lexical(text, n, where, hits=True), ranking.prefer_curated)
        # a memory trashed (or restored) by another client since the search is left out, as if it had not matched
        read = {m.content_hash: m for m in await store.get_many([hit.content_hash for hit in top])
                if m.trashed == where.trashed}
        return [QueryResult(read[hit.content_hash], hit.relevance_score) for hit in top if hit.content_hash in read]

    async def _hybrid(self, text: str, k: int, floor: float,
                      semantic_search: Callable[[Vector, int], Awaitable[list[R]]],
                      lexical_search: Callable[[int], Awaitable[list[R] | None]],
                      rerank: Callable[[list[R], int], list[R]]) -> list[R]:
        """The top k of both halves fused (HYBRID_POOL candidates each), at or above the floor; semantic alone when
        the store has no lexical search."""
        pool = max(k, ranking.HYBRID_POOL)
        # the lexical half runs on the store while the query is embedded (in another thread)
        [vector], lexical = await asyncio.gather(self.embed([text]), self._candidates(lexical_search, pool))
        semantic = await self._candidates(lambda n: semantic_search(vector, n), pool)
        if semantic is None or lexical is None:
            return ranking.above_floor(rerank(semantic or [], k), floor)
        fused = ranking.fuse(semantic, ranking.scaled_to_curated(lexical), len(semantic) + len(lexical))
        return ranking.above_floor(rerank(fused, k), floor, semantic)

    @staticmethod
    async def _candidates(fetch: Callable[[int], Awaitable[Sequence[R] | None]], pool: int) -> list[R] | None:
        """``fetch(pool)``, asked again for more while auto-captured memories take the places of curated ones:
        the curated candidates stay those a store without auto-captured memories gives, so that captured notes
        never push curated memories out of a ranking (they rank below them anyway)."""
        size = pool
        found = await fetch(size)
        while (found is not None and len(found) >= size and size < ranking.MAX_POOL
               and ranking.curated_count(found) < pool):
            size = min(size * 4, ranking.MAX_POOL)
            found = await fetch(size)
        return None if found is None else list(found)

    def _rerank(self, ranked: list[QueryResult], k: int) -> list[QueryResult]:
        """The usage boost (off by default), then curated memories before auto-captured ones, top k."""
        boosted = ranking.usage_boost(ranked, self.settings.usage_boost, time.time())
        return ranking.prefer_curated(boosted, k)

    @overload
    async def _lexical(self, text: str, k: int, where: Filter,
                       hits: Literal[False] = False) -> list[QueryResult] | None: ...

    @overload
    async def _lexical(self, text: str, k: int, where: Filter, hits: Literal[True]) -> list[Hit] | None: ...

    async def _lexical(self, text: str, k: int, where: Filter,
                       hits: bool = False) -> list[QueryResult] | list[Hit] | None:
        """BM25 results of the store (as hits: ``SearchHits`` stores), or None when it has no lexical search
        (logged once)."""
        search = getattr(self.storage, "search_lexical_hits" if hits else "search_lexical", None)
        if search is not None and not self._no_lexical:
            terms = ranking.key_terms(text)
            if not terms:
                return []
            try:
                return list(await search(terms, k, where))
            except NotImplementedError as exc:
                reason = str(exc) or "not supported by this store"
        else:
            reason = "not supported by this store"
        if not self._no_lexical:
            self._no_lexical = True
            log.warning("lexical search unavailable; lexical and hybrid retrieval fall back to semantic",
                        backend=getattr(self.storage, "backend_name", type(self.storage).__name__), reason=reason)
        return None

    @property
    def search_modes(self) -> list[str]:
        """The retrieval modes this store really serves (others fall back to semantic)."""
        lexical = getattr(self.storage, "search_lexical", None) is not None and not self._no_lexical
        return list(ranking.MODES) if lexical else ["semantic"]

    async def recall(self, query: Any, n_results: Any = 5, now: datetime | None = None, mode: Any = None,
                     scope: Scope | None = None) -> RecallResult:
        """Time-aware recall: the query ranks memories (``mode`` as in retrieve) and those created in its time
        expression's window are preferred (``ranking.TIME_BOOST``), so a strong match from just outside the
        window can still follow the in-window ones.

        With no time expression it is a plain retrieve; with only a time expression it lists that period
        newest first. ``now`` is the reference time for relative expressions (default: now).
        """
        text = check_query(query, self.settings.max_content_length)
        k = self._limit(n_results)
        chosen = check_mode(mode, DEFAULT_MODE)
        projects = (scope or Scope()).projects
        window = parse_time_expression(text, now)
        if window is None:
            found = await self._search(text, k, Filter(projects=projects), chosen, self._floor(None))
            return RecallResult(self._used(found),
                                None, None, None, text)
        in_window = Filter(projects=projects, start=window.start, end=window.end)
        if not window.rest:
            in_range = await self.storage.list_memories(in_window, 0, k)
            return RecallResult(self._used([QueryResult(m, 1.0) for m in in_range]), window.start, window.end,
                                window.expression, window.rest)
        pool = max(k, ranking.HYBRID_POOL)
        # the whole query ranks: words of the time expression ("camping trip last year") are evidence too
        ranked = await self._search(text, pool, Filter(projects=projects), chosen)
        in_range = await self.storage.list_memories(in_window, 0, pool)
        results = ranking.boost_window(ranked, in_range, window.start, window.end, k)
        return RecallResult(self._used(results), window.start, window.end, window.expression, window.rest)

    async def search_by_tag(self, tags: Any, match_all: Any = False, limit: Any = None,
                            scope: Scope | None = None, start: Any = None, end: Any = None) -> list[Memory]:
        """Memories carrying any (or every) of the tags, newest first, optionally created between start and end."""
        clean = normalize_tags(tags)
        if not clean:
            raise InvalidInputError("give at least one tag")
        lo, hi = self._time_range(start, end)
        where = Filter(projects=(scope or Scope()).projects, tags=tuple(clean),
                       match_all=check_bool(match_all, "match_all"), start=lo, end=hi)
        cap = self.settings.max_results if limit is None else self._limit(limit, "limit")
        return await self.storage.list_memories(where, 0, cap)

    async def search_by_time(self, start: Any = None, end: Any = None, limit: Any = None,
                             scope: Scope | None = None) -> list[Memory]:
        """Memories created between start and end (either open), newest first."""
        lo, hi = self._time_range(start, end)
        cap = self.settings.max_results if limit is None else self._limit(limit, "limit")
        return await self.storage.list_memories(Filter(projects=(scope or Scope()).projects, start=lo, end=hi),
                                                0, cap)

    async def list_memories(self, page: Any = 1, page_size: Any = 10, tag: Any = None, memory_type: Any = None,
                            scope: Scope | None = None, match_all: Any = False) -> Page:
        """A page of memories, newest first, optionally by tags (any, or all) and type."""
        where = Filter(projects=(scope or Scope()).projects, tags=tuple(normalize_tags(tag)),
                       match_all=check_bool(match_all, "match_all"), memory_type=check_type(memory_type))
        return await self._page(where, page, page_size)

    async def _page(self, where: Filter, page: Any, page_size: Any) -> Page:
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise InvalidInputError(f"page must be an integer >= 1, got {page!r}")
        size = self._limit(page_size, "page_size")
        offset = min((page - 1) * size, MAX_OFFSET)  # a page far past the end is empty, not an overflow
        memories = await self.storage.list_memories(where, offset, size)
        return Page(memories, page, size, await self.storage.count(where))

    async def all_tags(self, scope: Scope | None = None) -> list[tuple[str, int]]:
        return await self.storage.all_tags(Filter(projects=(scope or Scope()).projects))

    async def count(self, scope: Scope | None = None) -> int:
        return await self.storage.count(Filter(projects=(scope or Scope()).projects))

    async def projects(self) -> list[tuple[str | None, int]]:
        """Every project with its number of live memories (None = global), most memories first."""
        return await self.storage.projects()

    async def iter_memories(self, batch_size: int = 500) -> AsyncIterator[list[tuple[Memory, Vector | None]]]:
        """Every memory (trash included) with its stored vector, oldest first, in batches (export, backup,
        migration)."""
        async for batch in self.storage.iter_memories(batch_size):
            yield batch

    async def stats(self) -> dict[str, Any]:
        stats = dict(await self.storage.get_stats())
        stats["coordination_mode"] = self.coordination_mode
        stats["search_modes"] = self.search_modes
        if self.embedder is not None:
            stats.setdefault("embedding_model", self.embedder.model_name)
            stats.setdefault("embedding_dimension", self.embedder.dimension)
        return stats

    async def health(self) -> dict[str, Any]:
        """Store, embedder and coordination status; never raises for a sick store."""
        report: dict[str, Any] = {"status": "healthy", "coordination_mode": self.coordination_mode}
        try:
            report["storage"] = await self.stats()
        except Exception as exc:
            report["status"] = "unhealthy"
            report["storage"] = {"error": f"{type(exc).__name__}: {exc}"}
        embedder = self.embedder
        report["embedder"] = (
            {"model": embedder.model_name, "dimension": embedder.dimension,
             "loaded": bool(getattr(embedder, "loaded", False))}
            if embedder is not None else {"error": "no embedder installed"}
        )
        return report


async def open_service(
    settings: Settings | None = None,
    *,
    backend: str | None = None,
    location: str | None = None,
    with_embedder: bool = True,
    coordination_mode: str = "direct",
) -> MemoryService:
    """Open the configured store (and embedder) in this process and return an initialised service."""
    from .plugins import get_plugin_manager

    settings = settings or Settings.from_env()
    pm = get_plugin_manager(settings)
    storage = pm.storage_backend(backend or settings.storage_backend).factory(settings, location)
    embedder = pm.embedder_backend(settings.embedder).factory(settings) if with_embedder else None
    service = MemoryService(storage, embedder, settings, coordination_mode=coordination_mode,
                            readers=list(pm.registry.readers.values()))
    await service.initialize()
    return service

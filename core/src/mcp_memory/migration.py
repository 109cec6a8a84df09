"""Generic copy between any two stores, JSON backups and restores, with a progress bar and a verification.

A source is a store (any registered backend, opened with ``initialize(None)``, read only) or a migration
source: the built-in ``json`` (our backup format), or one registered by a plugin through
``memory_register_migrators`` (such as the reference service's files). A target is a store, or ``json`` (a
backup). Every memory moves, the trash included, with its project, dates and usage. Writes go through
``MemoryService.store_prepared`` so the service stays the one place of logic.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import backup as backup_format
from .config import Settings, default_data_dir
from .errors import InvalidInputError
from .logging import get_logger
from .models import Memory, Vector
from .progress import Progress

if TYPE_CHECKING:
    from .service import MemoryService

log = get_logger(__name__)

Batch = list[tuple[Memory, "Vector | None"]]
JSON = "json"


class _BackupSource:
    """The ``json`` migrator: our backup format as a source."""

    def __init__(self, location: str | None):
        if not location:
            raise InvalidInputError("give the backup file with --source-path (or: memory restore FILE.json)")
        header, self.memories = backup_format.read_backup(Path(location).expanduser())
        self.count = len(self.memories)
        self.embedding_model = header.get("embedding_model")
        self.embedding_dimension = header.get("embedding_dimension")

    async def _batches(self, size: int = 256) -> AsyncIterator[Batch]:
        for start in range(0, len(self.memories), size):
            yield [(m, None) for m in self.memories[start:start + size]]

    def __aiter__(self) -> AsyncIterator[Batch]:
        return self._batches()


#: Migration sources the core ships: name -> open(location).
BUILTIN_MIGRATORS: dict[str, Callable[[str | None], Any]] = {JSON: _BackupSource}


@dataclass
class Source:
    """An opened source: how many memories, which model made its vectors, and fresh batch iterators."""

    name: str
    location: str | None
    count: int | None
    embedding_model: str | None
    embedding_dimension: int | None
    batches: Callable[[], AsyncIterator[Batch]]
    close: Callable[[], Any]
    skipped: Callable[[], list[str]] = list


def default_location(settings: Settings, backend: str) -> str | None:
    """The path or address a backend uses when no location is given (its plugin says), or None."""
    from .maintenance import store_location
    from .plugins import get_plugin_manager

    found = store_location(get_plugin_manager(settings), backend, settings)
    return found.text if found is not None else None


def _place(settings: Settings, backend: str, location: str | None) -> str | None:
    """A comparable form of where a store lives: its resolved local path, else the location text."""
    from .maintenance import store_location
    from .plugins import get_plugin_manager

    found = store_location(get_plugin_manager(settings), backend, settings, location)
    if found is None:
        return location
    return str(found.path.expanduser().resolve()) if found.path is not None else found.text


def _check_store_exists(settings: Settings, backend: str, location: str | None) -> None:
    """Refuse a local source store that does not exist (opening it would create an empty one). The store's plugin
    says whether a location is local (a URL or DSN is the server's to check)."""
    from .maintenance import store_location
    from .plugins import get_plugin_manager

    found = store_location(get_plugin_manager(settings), backend, settings, location)
    path = found.path if found is not None else None
    if path is None:
        return
    if not path.exists():
        raise InvalidInputError(f"the {backend} source {path} does not exist: nothing to migrate (check --source-path)")
    if path.is_file() and path.stat().st_size == 0:
        raise InvalidInputError(f"the {backend} source {path} is an empty file: nothing to migrate")


async def open_source(settings: Settings, name: str, location: str | None) -> Source:
    """Open a store or a migrator as a read-only source. Raises InvalidInputError / PluginError."""
    from .plugins import get_plugin_manager

    pm = get_plugin_manager(settings)
    migrators = {**{n: m.open for n, m in pm.registry.migrators.items()}, **BUILTIN_MIGRATORS}
    if name in pm.registry.storages:
        _check_store_exists(settings, name, location)
        storage = pm.storage_backend(name).factory(settings, location)
        try:
            await storage.initialize(None)
            stats = await storage.get_stats()
        except BaseException:
            await storage.close()
            raise
        total = int(stats.get("total_memories") or 0) + int(stats.get("trashed_memories") or 0)
        return Source(name, location or default_location(settings, name), total,
                      stats.get("embedding_model"), stats.get("embedding_dimension"),
                      lambda: storage.iter_memories(), storage.close)
    if name in migrators:
        opener = migrators[name]
        first = opener(location)
        pending, used = [first], [first]

        def batches() -> AsyncIterator[Batch]:
            used.append(pending.pop() if pending else opener(location))
            return used[-1].__aiter__()

        async def nothing() -> None:
            return None

        return Source(name, location, getattr(first, "count", None), getattr(first, "embedding_model", None),
                      getattr(first, "embedding_dimension", None), batches, nothing,
                      lambda: list(getattr(used[-1], "skipped", [])))
    known = sorted({*pm.registry.storages, *migrators})
    raise InvalidInputError(f"unknown migration source {name!r}; known: {', '.join(known)}")


@dataclass
class MigrationReport:
    source: str
    source_location: str | None
    target: str
    target_location: str | None
    source_count: int | None = None
    records_read: int = 0
    copied: int = 0
    already_present: int = 0
    embedded: int = 0
    vectors_reused: bool = False
    dry_run: bool = False
    backup_path: str | None = None
    backup_count: int | None = None
    target_count: int | None = None
    missing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    verified: bool | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def write_backup_from(source: Source, path: Path, quiet: bool = False) -> int:
    """Write a JSON backup of ``source`` to ``path`` (atomically)."""
    with Progress(f"backup {path.name}", source.count, enabled=not quiet) as bar:
        return await backup_format.write_backup(
            path, source.batches(), embedding_model=source.embedding_model,
            embedding_dimension=source.embedding_dimension,
            source={"backend": source.name, "location": source.location}, on_batch=bar.advance)


def default_backup_path(settings: Settings, source: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return default_data_dir() / "backups" / f"{source}-{stamp}.json"


def _same_place(settings: Settings, a: str, a_loc: str | None, b: str, b_loc: str | None) -> bool:
    return a == b and _place(settings, a, a_loc) == _place(settings, b, b_loc)


async def migrate(
    settings: Settings,
    source: str,
    target: str,
    source_path: str | None = None,
    target_path: str | None = None,
    *,
    backup: bool = False,
    backup_path: str | None = None,
    dry_run: bool = False,
    batch_size: int = 256,
    quiet: bool = False,
) -> MigrationReport:
    """Copy every memory of ``source`` into ``target``; skip hashes already there; verify at the end."""
    from .service import open_service

    started = time.monotonic()
    if _same_place(settings, source, source_path, target, target_path):
        raise InvalidInputError("source and target are the same store: give another --target-path")
    report = MigrationReport(source, source_path, target, target_path, dry_run=dry_run)
    src = await open_source(settings, source, source_path)
    try:
        report.source_location = src.location
        report.source_count = src.count
        if src.count == 0 or (src.count is None and not await _has_memories(src)):
            raise InvalidInputError(f"the source {source} ({src.location}) holds no memories: nothing to migrate, "
                                    "nothing was written")
        if dry_run:
            return report
        if target == JSON and not target_path:
            raise InvalidInputError("--to json needs --target-path FILE.json")
        if backup:
            path = Path(backup_path).expanduser() if backup_path else default_backup_path(settings, source)
            report.backup_count = await write_backup_from(src, path, quiet)
            report.backup_path = str(path)
        if target == JSON:
            assert target_path is not None  # checked above
            report.copied = report.target_count = await write_backup_from(src, Path(target_path).expanduser(), quiet)
            report.records_read = report.copied
            report.skipped = src.skipped()
            report.verified = src.count is None or report.copied + len(report.skipped) == src.count
            return report
        service = await open_service(settings, backend=target, location=target_path)
        try:
            seen = await _copy(src, service, report, batch_size, quiet)
            report.skipped = src.skipped()
            await _verify(service, report, seen)
        finally:
            await service.close()
    finally:
        await src.close()
        report.seconds = round(time.monotonic() - started, 3)
    return report


async def _copy(src: Source, service: MemoryService, report: MigrationReport, batch_size: int, quiet: bool) -> set[str]:
    """Store every source batch through the service; returns the set of source hashes seen."""
    embedder = service.embedder
    report.vectors_reused = bool(
        embedder is not None and src.embedding_model == embedder.model_name
        and src.embedding_dimension in (None, embedder.dimension)
    )
    seen: set[str] = set()
    with Progress(f"migrate {report.source} -> {report.target}", src.count, enabled=not quiet) as bar:
        async for batch in src.batches():
            for start in range(0, len(batch), batch_size):
                chunk = batch[start:start + batch_size]
                memories = [m for m, _ in chunk]
                dimension = embedder.dimension if embedder is not None else -1
                vectors = [v if report.vectors_reused and v is not None and len(v) == dimension else None
                           for _, v in chunk]
                results = await service.store_prepared(memories, vectors)
                report.records_read += len(chunk)
                for memory, vector, result in zip(memories, vectors, results, strict=True):
                    if memory.content_hash in seen:
                        continue
                    seen.add(memory.content_hash)
                    if result.duplicate:
                        report.already_present += 1
                    else:
                        report.copied += 1
                        report.embedded += vector is None
                bar.advance(len(chunk))
    return seen


async def _verify(service: MemoryService, report: MigrationReport, source_hashes: set[str]) -> None:
    """Compare the set of source hashes with the target's, and the counts."""
    target_hashes: set[str] = set()
    async for batch in service.iter_memories():
        target_hashes.update(m.content_hash for m, _ in batch)
    report.target_count = len(target_hashes)
    report.missing = sorted(source_hashes - target_hashes)
    expected = None if report.source_count is None else report.source_count - len(report.skipped)
    counts_agree = expected is None or expected == report.records_read
    report.verified = not report.missing and counts_agree
    log.info("migration verified" if report.verified else "migration verification failed",
             source_count=report.source_count, read=report.records_read, distinct=len(source_hashes),
             target_count=report.target_count, missing=len(report.missing))


async def _has_memories(src: Source) -> bool:
    """Peek at a source whose size is unknown (a plugin's migrator)."""
    async for batch in src.batches():
        if batch:
            return True
    return False


async def backup_store(settings: Settings, path: str, backend: str | None = None,
                       location: str | None = None, quiet: bool = False) -> MigrationReport:
    """``memory backup``: the configured (or given) store to a JSON backup file."""
    return await migrate(settings, backend or settings.storage_backend, JSON, location, path, quiet=quiet)


async def restore(settings: Settings, path: str, backend: str | None = None,
                  location: str | None = None, quiet: bool = False) -> MigrationReport:
    """``memory restore``: a JSON backup into the configured (or given) store."""
    return await migrate(settings, JSON, backend or settings.storage_backend, path, location, quiet=quiet)

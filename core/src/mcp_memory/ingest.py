"""Documents into memory: files and folders (or uploaded bytes) read, chunked and stored, idempotently.

Each chunk is a memory of type ``document`` tagged with the file name (plus ``document`` and the caller's tags),
whose metadata records its source (``source``: the absolute path, or ``upload:NAME``), title, heading path,
page, chunk index and the file's SHA-256. Ingesting a file again skips it when its hash is unchanged; a changed
file's new chunks are stored first, then its chunks that no longer exist go to the trash (reason ``outdated``).
With ``prune``, chunks of files removed from an ingested folder go to the trash too. A file's chunks are stored
in one batch (one transaction): a file that fails stores nothing.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .chunking import OVERLAP_CHARS, TARGET_CHARS, chunk
from .documents import BUILTIN_READERS, DocumentReader
from .errors import InvalidInputError, MemoryServiceError
from .gitignore import Ignorer
from .inputs import check_content
from .logging import get_logger
from .models import Memory, normalize_tags
from .protocols import Filter
from .results import OUTDATED, FileResult

if TYPE_CHECKING:
    from .service import MemoryService

log = get_logger(__name__)

DOCUMENT_TYPE = "document"
DOCUMENT_TAG = "document"
UPLOAD_PREFIX = "upload:"


@dataclass
class Options:
    """How to ingest: tags and project of the chunks, chunk size and overlap, text encoding, dry run."""

    tags: Sequence[str] = ()
    project: str | None = None
    target: int = TARGET_CHARS
    overlap: int = OVERLAP_CHARS
    encoding: str | None = None
    dry_run: bool = False


class Ingester:
    """Reads and stores documents through a service, with the readers the core and plugins provide."""

    def __init__(self, service: MemoryService, readers: Iterable[DocumentReader] = ()):
        self.service = service
        self.readers: dict[str, DocumentReader] = {}
        for reader in (*BUILTIN_READERS, *readers):
            for suffix in reader.suffixes:
                self.readers[suffix.lower()] = reader

    def reader_for(self, name: str) -> DocumentReader:
        suffix = Path(name).suffix.lower()
        reader = self.readers.get(suffix)
        if reader is None:
            known = ", ".join(sorted(self.readers))
            hint = "" if ".pdf" in self.readers else "; the pdf plugin adds .pdf"
            raise InvalidInputError(f"{name}: no reader for {suffix or 'files without a suffix'} (known: {known}"
                                    f"{hint})")
        return reader

    # -- one document --------------------------------------------------------------------------
    async def ingest_bytes(self, data: bytes, name: str, source: str, options: Options) -> FileResult:
        """Read, chunk and store one document; its previous chunks (same ``source``) are replaced."""
        try:
            return await self._ingest(data, name, source, options)
        except MemoryServiceError as exc:
            return FileResult(source, "error", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a reader's bug is this file's error, not the whole run's
            log.exception("document reader failed", source=source)
            return FileResult(source, "error", error=f"{type(exc).__name__}: {exc}")

    async def _ingest(self, data: bytes, name: str, source: str, options: Options) -> FileResult:
        file_hash = hashlib.sha256(data).hexdigest()
        storage = self.service.storage
        previous = await storage.list_memories(Filter(metadata=(("source", source),)), 0, None)
        if previous and all(m.metadata.get("file_hash") == file_hash for m in previous):
            return FileResult(source, "unchanged", chunks=len(previous))
        reader = self.reader_for(name)
        document = reader.read(data, name, options.encoding)
        chunks = chunk(document, options.target, options.overlap)
        if not chunks:
            raise InvalidInputError(f"{name} holds no text to ingest")
        tags = normalize_tags([Path(name).name, DOCUMENT_TAG, *options.tags])
        now = time.time()
        memories = []
        for piece in chunks:
            below_title = piece.headings[1:] if piece.headings[:1] == (document.title,) else piece.headings
            heading = " > ".join(below_title)  # the title is said once, first
            text = check_content(piece.text, self.service.settings.max_content_length, f"chunk {piece.index}")
            metadata: dict[str, Any] = {"source": source, "title": document.title, "headings": list(piece.headings),
                                        "chunk": piece.index, "chunks": len(chunks), "file_hash": file_hash,
                                        "reader": reader.name}
            if piece.page is not None:
                metadata["page"] = piece.page
            content = f"{document.title} — {heading}\n{text}" if heading else f"{document.title}\n{text}"
            memories.append(Memory.create(content, tags=tags, memory_type=DOCUMENT_TYPE, metadata=metadata,
                                          created_at=now, project=options.project))
        if options.dry_run:
            return FileResult(source, "would store", chunks=len(memories), pages=document.pages)
        results = await self.service.store_prepared(memories)
        kept = {r.memory.content_hash for r in results}
        outdated = [m.content_hash for m in previous if m.content_hash not in kept]
        for memory, result in zip(memories, results, strict=True):  # a chunk unchanged since last time: new place
            if result.duplicate and result.memory.metadata.get("source") == source:
                await storage.update_memory(replace(result.memory, metadata=memory.metadata, updated_at=now))
        if outdated:
            await storage.trash(outdated, now, OUTDATED)
        new = sum(1 for r in results if not r.duplicate)
        log.info("document ingested", source=source, chunks=len(memories), new=new, outdated=len(outdated))
        return FileResult(source, "updated" if previous else "stored", chunks=len(memories), new_chunks=new,
                          outdated=len(outdated), pages=document.pages)

    async def prune(self, folders: Sequence[str], dry_run: bool = False) -> list[FileResult]:
        """Chunks of files that were under ``folders`` (absolute paths) and are gone: to the trash."""
        return await self._prune([Path(f) for f in folders], dry_run)

    async def _prune(self, folders: list[Path], dry_run: bool) -> list[FileResult]:
        """Chunks of files that were under ``folders`` and are gone: to the trash."""
        gone: dict[str, list[str]] = {}
        for memory in await self.service.storage.list_memories(Filter(tags=(DOCUMENT_TAG,)), 0, None):
            source = str(memory.metadata.get("source", ""))
            if any(source.startswith(str(folder) + os.sep) for folder in folders) and not Path(source).exists():
                gone.setdefault(source, []).append(memory.content_hash)
        results = []
        for source, hashes in sorted(gone.items()):
            if not dry_run:
                await self.service.storage.trash(hashes, time.time(), OUTDATED)
            results.append(FileResult(source, "would prune" if dry_run else "pruned", outdated=len(hashes)))
        return results


def known_suffixes(readers: Iterable[DocumentReader]) -> list[str]:
    """The file suffixes the core's readers and these plugin readers read."""
    return sorted({s.lower() for reader in (*BUILTIN_READERS, *readers) for s in reader.suffixes})


def find_files(paths: Sequence[Path], suffixes: Iterable[str], include: Sequence[str] = (),
               exclude: Sequence[str] = ()) -> list[Path]:
    """The files to ingest: given files as they are; in folders, files with a known suffix (or matching
    ``include``), minus ``exclude`` and what ``.gitignore`` files ignore."""
    known = {s.lower() for s in suffixes}
    found: list[Path] = []
    for path in paths:
        path = path.expanduser().resolve()
        if not path.exists():
            raise InvalidInputError(f"{path} does not exist")
        if path.is_file():
            found.append(path)
            continue
        ignorer = Ignorer(path)
        for folder, dirs, names in os.walk(path):
            here = Path(folder)
            if here != path:
                ignorer.load(here)
            dirs[:] = sorted(d for d in dirs if not ignorer.ignored(here / d, True))
            for name in sorted(names):
                file = here / name
                relative = file.relative_to(path).as_posix()

                def matches(globs: Sequence[str], relative: str = relative, name: str = name) -> bool:
                    return any(fnmatch.fnmatch(relative, g) or fnmatch.fnmatch(name, g) for g in globs)

                wanted = matches(include) if include else file.suffix.lower() in known
                if wanted and not matches(exclude) and name != ".gitignore" and not ignorer.ignored(file, False):
                    found.append(file)
    return found


def source_text(memory: Memory) -> str | None:
    """Where a document chunk comes from, for display: ``path > heading > heading (page N)``, else None."""
    meta = memory.metadata
    source = meta.get("source")
    if memory.memory_type != DOCUMENT_TYPE or not isinstance(source, str):
        return None
    parts = [source[len(UPLOAD_PREFIX):] if source.startswith(UPLOAD_PREFIX) else source]
    headings = meta.get("headings")
    if isinstance(headings, list) and headings:
        parts.append(" > ".join(str(h) for h in headings))
    text = " > ".join(parts)
    page = meta.get("page")
    return f"{text} (page {page})" if isinstance(page, int) else text


def allowed(path: Path, roots: Sequence[Path]) -> bool:
    """True when ``path`` lies inside one of ``roots`` (after resolving links and ``..``)."""
    resolved = path.expanduser().resolve()
    return any(resolved == root or root in resolved.parents for root in (r.expanduser().resolve() for r in roots))

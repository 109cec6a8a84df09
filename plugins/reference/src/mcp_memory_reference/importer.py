"""Migration source ``mcp-memory-service``: the reference service's own files, read-only.

Two kinds of file are accepted (told apart by their first bytes):
- its sqlite_vec database: table ``memories`` with ``content_hash``, ``content``, ``tags`` (comma-separated
  text), ``memory_type``, ``metadata`` (JSON text), ``created_at``/``updated_at`` (Unix seconds) and, in
  newer versions, ``deleted_at`` (non-null = soft-deleted: such memories arrive in our trash). Missing
  optional columns are tolerated. The file is opened with ``mode=ro`` (and ``immutable=1`` when it has no
  ``-wal`` file): it is never modified.
- its JSON export: ``{"export_metadata": {...}, "memories": [...]}`` or a bare list of memory objects.

Vectors are not read (the reference records no model): the target embeds the content again. Projects: the
reference has none; a ``project`` key in a memory's metadata, or a ``project:NAME`` tag, becomes its project
(every other memory is global).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from mcp_memory.backup import load_json
from mcp_memory.errors import InvalidInputError, MemoryServiceError
from mcp_memory.logging import get_logger
from mcp_memory.models import (
    Memory,
    check_metadata,
    check_project,
    content_hash,
    normalize_tags,
    parse_timestamp,
)

log = get_logger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
OPTIONAL_COLUMNS = ("content_hash", "tags", "memory_type", "metadata", "created_at", "updated_at",
                    "created_at_iso", "updated_at_iso", "deleted_at")


class ReferenceSource:
    """An async-iterable of batches ``[(Memory, None)]`` with ``count`` known up front."""

    def __init__(self, path: Path, kind: str, count: int, rows: Any):
        self.path = path
        self.kind = kind
        self.count = count
        self.embedding_model: str | None = None
        self.embedding_dimension: int | None = None
        self.skipped: list[str] = []
        self._rows = rows

    async def _batches(self, batch_size: int = 256) -> AsyncIterator[list[tuple[Memory, None]]]:
        batch: list[tuple[Memory, None]] = []
        for n, row in enumerate(self._rows()):
            try:
                batch.append((to_memory(row), None))
            except (MemoryServiceError, ValueError, TypeError) as exc:
                self.skipped.append(f"{self.kind} record #{n}: {exc}")
                log.warning("skipping unreadable memory", source=str(self.path), record=n, error=str(exc))
                continue
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def __aiter__(self) -> AsyncIterator[list[tuple[Memory, None]]]:
        return self._batches()


def _timestamp(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return parse_timestamp(value)
    return parse_timestamp(value)


def _tags(value: Any) -> list[str]:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    return normalize_tags(value)


def _metadata(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {"legacy_metadata": value}  # keep what we cannot parse rather than drop it
    if not isinstance(value, dict):
        return {"legacy_metadata": value}
    return check_metadata(value)


def to_memory(row: dict[str, Any]) -> Memory:
    """One reference record (a DB row or an export object) as a Memory, keeping its hash and times."""
    content = row.get("content")
    if not isinstance(content, str) or not content.strip():
        raise InvalidInputError("empty or missing content")
    created = _timestamp(row.get("created_at"))
    if created is None:
        created = _timestamp(row.get("created_at_iso")) or _timestamp(row.get("timestamp"))
    if created is None:
        created = time.time()
    updated = _timestamp(row.get("updated_at"))
    if updated is None:
        updated = _timestamp(row.get("updated_at_iso")) or created
    memory_type = row.get("memory_type", row.get("type"))
    tags = _tags(row.get("tags"))
    metadata = _metadata(row.get("metadata"))
    deleted = _timestamp(row.get("deleted_at"))
    return Memory(
        content=content,
        content_hash=(row.get("content_hash") or content_hash(content)).strip().lower(),
        tags=tags,
        memory_type=memory_type.strip() or None if isinstance(memory_type, str) else None,
        metadata=metadata,
        created_at=created,
        updated_at=updated,
        project=_project(metadata, tags),
        deleted_at=deleted,
        deleted_reason="deleted" if deleted is not None else None,
    )


def _project(metadata: dict[str, Any], tags: list[str]) -> str | None:
    """The project the reference recorded, if any: metadata ``project``, else a ``project:NAME`` tag."""
    named = metadata.get("project")
    if isinstance(named, str) and named.strip():
        return check_project(named)
    for tag in tags:
        if tag.startswith("project:") and tag[8:].strip():
            return check_project(tag[8:])
    return None


# -- the sqlite database -----------------------------------------------------------------------
def _connect_ro(path: Path) -> sqlite3.Connection:
    """Open read-only. With no ``-wal`` file beside it the database is complete on disk: open it as
    immutable so that SQLite creates no ``-wal``/``-shm`` files next to the user's database."""
    wal = path.with_name(path.name + "-wal")
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("" if wal.exists() else "&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.Error as exc:
        raise InvalidInputError(f"cannot read the SQLite database {path}: {exc}") from None


def _columns(conn: sqlite3.Connection, path: Path) -> list[str]:
    cols = [row[1] for row in conn.execute("PRAGMA table_info(memories)")]
    if not cols:
        raise InvalidInputError(
            f"{path} has no 'memories' table: it is not an mcp-memory-service database (nothing was imported)"
        )
    if "content" not in cols:
        raise InvalidInputError(f"{path}: table 'memories' has no 'content' column; not an mcp-memory-service database")
    return ["content"] + [c for c in OPTIONAL_COLUMNS if c in cols]


def open_database(path: Path) -> ReferenceSource:
    conn = _connect_ro(path)
    try:
        cols = _columns(conn, path)
        count = conn.execute("SELECT COUNT(*) FROM memories").fetchone()[0]
    except sqlite3.Error as exc:
        raise InvalidInputError(f"cannot read the SQLite database {path}: {exc}") from None
    finally:
        conn.close()
    order = "created_at, rowid" if "created_at" in cols else "rowid"
    sql = f"SELECT {', '.join(cols)} FROM memories ORDER BY {order}"

    def rows() -> Iterator[dict[str, Any]]:
        reader = _connect_ro(path)
        try:
            for values in reader.execute(sql):
                yield dict(zip(cols, values, strict=True))
        except sqlite3.Error as exc:
            raise InvalidInputError(f"cannot read the SQLite database {path}: {exc}") from None
        finally:
            reader.close()

    return ReferenceSource(path, "database", count, rows)


# -- the JSON export ---------------------------------------------------------------------------
def open_export(path: Path) -> ReferenceSource:
    data = load_json(path, "mcp-memory-service export")
    records = data.get("memories") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise InvalidInputError(
            f"{path} is JSON but not an mcp-memory-service export (expected a list of memories or "
            "{\"memories\": [...]})"
        )
    if any(not isinstance(r, dict) for r in records):
        raise InvalidInputError(f"{path}: every entry of the export must be a JSON object")
    return ReferenceSource(path, "export", len(records), lambda: iter(records))


def open_source(location: str | None) -> ReferenceSource:
    """The ``mcp-memory-service`` migrator: a .db file or a JSON export, decided by content."""
    if not location:
        raise InvalidInputError("give the reference service's database or JSON export with --source-path")
    path = Path(location).expanduser()
    if not path.exists():
        raise InvalidInputError(f"source {path} does not exist; check --source-path")
    if path.is_dir():
        raise InvalidInputError(
            f"source {path} is a directory; for the reference service's ChromaDB directory use "
            "--from mcp-memory-service-chroma (pip install mcp-memory-chroma)"
        )
    if not path.is_file():
        raise InvalidInputError(f"source {path} is not a file")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"source {path} is an empty file: nothing to migrate")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return open_database(path)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") or path.suffix.lower() == ".json":
        return open_export(path)
    raise InvalidInputError(
        f"{path} is neither a SQLite database nor a JSON export of mcp-memory-service (nothing was imported)"
    )

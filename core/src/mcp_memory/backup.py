"""The JSON backup format (``mcp-memory-backup``, version 2): writing it atomically and reading it back.

A backup is one JSON object::

    {"format": "mcp-memory-backup", "version": 2, "created_at": "2025-01-01T12:00:00Z",
     "embedding_model": "all-MiniLM-L6-v2", "embedding_dimension": 384,
     "source": {"backend": "sqlite_vec", "location": "/path/sqlite_vec.db"},
     "memories": [{"content": ..., "content_hash": ..., "tags": [...], "memory_type": ... or null,
                   "metadata": {...}, "project": ... or null, "created_at": 1700000000.25,
                   "updated_at": 1700000000.25, "last_used_at": ... or null, "use_count": 0,
                   "deleted_at": ... or null, "deleted_reason": ... or null, "replaced_by": ... or null}, ...],
     "count": 1}

Timestamps of memories are Unix seconds (floats, exact); vectors are not stored (a restore embeds again).
The trash is part of the backup (memories with ``deleted_at``). Version 1 (no project, usage or trash: every
memory global and live) is still read. Readers refuse another ``format`` and a newer ``version``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, MemoryServiceError
from .models import Memory, Vector, iso

FORMAT = "mcp-memory-backup"
VERSION = 2

Batch = list[tuple[Memory, "Vector | None"]]


def memory_record(memory: Memory) -> dict[str, Any]:
    """One memory as it appears in a backup."""
    return {
        "content": memory.content,
        "content_hash": memory.content_hash,
        "tags": list(memory.tags),
        "memory_type": memory.memory_type,
        "metadata": memory.metadata,
        "project": memory.project,
        "created_at": memory.created_at,
        "updated_at": memory.updated_at,
        "last_used_at": memory.last_used_at,
        "use_count": memory.use_count,
        "deleted_at": memory.deleted_at,
        "deleted_reason": memory.deleted_reason,
        "replaced_by": memory.replaced_by,
    }


async def write_backup(
    path: Path,
    batches: AsyncIterator[Batch],
    *,
    embedding_model: str | None = None,
    embedding_dimension: int | None = None,
    source: dict[str, Any] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Stream every memory of ``batches`` into ``path`` (temp file + rename); return how many.

    Nothing is left at ``path`` when writing fails or when there is nothing to write.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create the directory {path.parent}: {exc.strerror or exc}") from None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    try:
        with tmp.open("w", encoding="utf-8") as out:
            header = {"format": FORMAT, "version": VERSION, "created_at": iso(time.time()),
                      "embedding_model": embedding_model, "embedding_dimension": embedding_dimension,
                      "source": source or {}}
            out.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "memories": [\n')
            async for batch in batches:
                for memory, _vector in batch:
                    out.write(("" if count == 0 else ",\n") + json.dumps(memory_record(memory), ensure_ascii=False))
                    count += 1
                if on_batch:
                    on_batch(len(batch))
            out.write(f'\n], "count": {count}}}\n')
            out.flush()
            os.fsync(out.fileno())
        if count == 0:
            raise InvalidInputError("the source holds no memories: no backup was written")
        os.replace(tmp, path)
    except OSError as exc:
        raise InvalidInputError(f"cannot write the backup {path}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return count


def load_json(path: Path, what: str) -> Any:
    """Parse a JSON file with errors that name the file, the line and the column."""
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"{what} {path} does not exist")
    if not path.is_file():
        raise InvalidInputError(f"{what} {path} is not a file")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"{what} {path} is empty: nothing to read")
    try:
        with path.open(encoding="utf-8-sig") as handle:
            return json.load(handle)
    except UnicodeDecodeError:
        raise InvalidInputError(f"{what} {path} is not a UTF-8 JSON file") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "is the file complete?"
        ) from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def read_backup(path: Path) -> tuple[dict[str, Any], list[Memory]]:
    """Read and check a backup; returns (header without memories, memories). Raises InvalidInputError."""
    data = load_json(path, "backup")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInputError(
            f"{path} is not an mcp-memory backup (no \"format\": \"{FORMAT}\"); for a JSON export of "
            "mcp-memory-service use: memory migrate --from mcp-memory-service --source-path FILE"
        )
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise InvalidInputError(f"{path}: bad backup version {version!r}")
    if version > VERSION:
        raise InvalidInputError(
            f"{path} is a version {version} backup, newer than this mcp-memory reads ({VERSION}); upgrade mcp-memory"
        )
    records = data.get("memories")
    if not isinstance(records, list):
        raise InvalidInputError(f"{path}: \"memories\" must be a list")
    if isinstance(data.get("count"), int) and data["count"] != len(records):
        raise InvalidInputError(f"{path} says it holds {data['count']} memories but has {len(records)}; "
                                "the file is damaged")
    memories = []
    for n, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidInputError(f"{path}: memory #{n} is not a JSON object")
        try:
            memories.append(Memory.from_dict(record))
        except (MemoryServiceError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"{path}: memory #{n} is invalid: {exc}") from None
    header = {k: v for k, v in data.items() if k != "memories"}
    return header, memories

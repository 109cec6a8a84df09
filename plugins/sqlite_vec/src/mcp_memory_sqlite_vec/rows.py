"""Rows of ``memories`` as ``Memory`` objects, transactions and vectors as blobs (shared by every query module).
Everything here runs on the store's worker thread; values are always bound, never formatted into SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from mcp_memory.errors import EmbeddingError
from mcp_memory.models import Memory, Vector
from mcp_memory.protocols import EmbeddingInfo

COLUMNS = ("m.id, m.content_hash, m.content, m.memory_type, m.metadata, m.created_at, m.updated_at, m.project, "
           "m.last_used_at, m.use_count, m.deleted_at, m.deleted_reason, m.replaced_by")
NEWEST_FIRST = "ORDER BY m.created_at DESC, m.content_hash DESC"
LATEST_DELETED_FIRST = "ORDER BY m.deleted_at DESC, m.content_hash DESC"
CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-variable limit


@contextmanager
def transaction(conn: Any, kind: str = "IMMEDIATE") -> Iterator[None]:
    """BEGIN IMMEDIATE (or DEFERRED for a read snapshot) ... COMMIT, rolled back on any error."""
    conn.execute(f"BEGIN {kind}")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def marks(n: int) -> str:
    return ",".join("?" * n)


def chunks(values: Sequence[Any]) -> Iterator[tuple[list[Any], str]]:
    """Slices of at most CHUNK values with their ``?,?,...`` placeholders."""
    for i in range(0, len(values), CHUNK):
        part = list(values[i:i + CHUNK])
        yield part, marks(len(part))


def to_blob(vector: Vector, info: EmbeddingInfo) -> bytes:
    """A vector as float32 bytes, checked against the dimension of ``info``."""
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.shape[0] != info.dimension:
        raise EmbeddingError(
            f"vector has {array.shape[0]} dimensions but this store holds {info.dimension}-dimension "
            f"vectors of {info.model!r}; embed with the same model"
        )
    if not np.isfinite(array).all():
        raise EmbeddingError("vector contains NaN or infinite values")
    return array.tobytes()


def memories(conn: Any, rows: Sequence[tuple]) -> list[Memory]:
    """Turn memory rows (COLUMNS order) into Memory objects, with their tags, keeping row order."""
    tags: dict[int, list[str]] = {row[0]: [] for row in rows}
    for part, q in chunks(list(tags)):
        for memory_id, tag in conn.execute(
                f"SELECT memory_id, tag FROM memory_tags WHERE memory_id IN ({q}) ORDER BY memory_id, position", part):
            tags[memory_id].append(tag)
    return [
        Memory(content=content, content_hash=h, tags=tags[mid], memory_type=mtype,
               metadata=json.loads(meta) if meta else {}, created_at=created, updated_at=updated, project=project,
               last_used_at=used_at, use_count=uses, deleted_at=deleted_at, deleted_reason=reason,
               replaced_by=replaced_by)
        for (mid, h, content, mtype, meta, created, updated, project, used_at, uses, deleted_at, reason,
             replaced_by) in rows
    ]


def select(conn: Any, where: str = "", params: Sequence[Any] = (), tail: str = "", index: str = "") -> list[Memory]:
    """Memories of ``where`` (a `` WHERE ...`` clause over alias ``m``), read through ``index`` if named."""
    source = f"memories m INDEXED BY {index}" if index else "memories m"
    rows = conn.execute(f"SELECT {COLUMNS} FROM {source}{where} {tail}", list(params)).fetchall()
    return memories(conn, rows)


def by_ids(conn: Any, ids: Sequence[int]) -> dict[int, Memory]:
    out: dict[int, Memory] = {}
    for part, q in chunks(list(ids)):
        rows = conn.execute(f"SELECT {COLUMNS} FROM memories m WHERE m.id IN ({q})", part).fetchall()
        out.update(zip((r[0] for r in rows), memories(conn, rows), strict=True))
    return out


def briefs(conn: Any, ids: Sequence[int]) -> dict[int, tuple[str, tuple[str, ...]]]:
    """The hash and tags (what ranking reads) of each memory of ``ids``: a third of the cost of ``by_ids``
    (0.5 ms against 1.5 ms for 200 memories at 10k)."""
    out: dict[int, tuple[str, tuple[str, ...]]] = {}
    for part, q in chunks(list(ids)):
        # a tag never holds char(31): normalize_tags folds every whitespace run, and str.split() counts it as one
        for memory_id, content_hash, tags in conn.execute(
                "SELECT m.id, m.content_hash, (SELECT group_concat(t.tag, char(31)) FROM memory_tags t "
                f"WHERE t.memory_id = m.id) FROM memories m WHERE m.id IN ({q})", part):
            out[memory_id] = (content_hash, tuple(tags.split("\x1f")) if tags else ())
    return out


def by_hashes(conn: Any, hashes: Sequence[str]) -> list[Memory]:
    """The memories (live or trashed) of these hashes, in no particular order."""
    found: list[Memory] = []
    for part, q in chunks(list(hashes)):
        found += select(conn, f" WHERE m.content_hash IN ({q})", part)
    return found


def in_order(conn: Any, ids: Sequence[int]) -> list[Memory]:
    """The memories of ``ids``, in that order (ids that vanished are left out)."""
    found = by_ids(conn, ids)
    return [found[i] for i in ids if i in found]

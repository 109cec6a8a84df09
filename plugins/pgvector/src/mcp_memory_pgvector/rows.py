"""Rows of the ``memories`` table <-> ``Memory``."""

from __future__ import annotations

from typing import Any, Sequence

from psycopg.types.json import Jsonb

from mcp_memory.models import Memory

#: the columns of a Memory, in the order ``to_memory`` reads them
COLUMNS = ("content, content_hash, tags, memory_type, metadata, created_at, updated_at, project, last_used_at, "
           "use_count, deleted_at, deleted_reason, replaced_by")
WIDTH = 13

INSERT = ("INSERT INTO memories (" + COLUMNS + ", embedding) VALUES (" + ", ".join(["%s"] * (WIDTH + 1)) + ") "
          "ON CONFLICT (content_hash) DO NOTHING RETURNING id")


def to_memory(row: Sequence[Any]) -> Memory:
    """A Memory from the first ``WIDTH`` values of a row selected with ``COLUMNS``."""
    (content, content_hash, tags, memory_type, metadata, created_at, updated_at, project, last_used_at, use_count,
     deleted_at, deleted_reason, replaced_by) = row[:WIDTH]
    return Memory(content=content, content_hash=content_hash, tags=list(tags or []), memory_type=memory_type,
                  metadata=dict(metadata or {}), created_at=created_at, updated_at=updated_at, project=project,
                  last_used_at=last_used_at, use_count=use_count, deleted_at=deleted_at,
                  deleted_reason=deleted_reason, replaced_by=replaced_by)


def insert_params(memory: Memory, vector: Any) -> tuple[Any, ...]:
    """Parameters of ``INSERT`` for one memory; the trash fields only for a trashed memory."""
    trashed = memory.deleted_at is not None
    return (memory.content, memory.content_hash, list(memory.tags), memory.memory_type, Jsonb(dict(memory.metadata)),
            float(memory.created_at), float(memory.updated_at), memory.project,
            None if memory.last_used_at is None else float(memory.last_used_at), int(memory.use_count),
            float(memory.deleted_at) if trashed else None, memory.deleted_reason if trashed else None,
            memory.replaced_by if trashed else None, vector)

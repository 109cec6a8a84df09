"""``Filter`` -> a SQL condition with its parameters (every value a bound parameter, never spliced in)."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from mcp_memory.protocols import Filter


def condition(where: Filter) -> tuple[sql.Composable, list[Any]]:
    """The WHERE condition selecting the rows of ``where`` in the ``memories`` table, and its parameters."""
    parts: list[str] = ["deleted_at IS NOT NULL" if where.trashed else "deleted_at IS NULL"]
    params: list[Any] = []
    if where.projects is not None:
        names = [p for p in where.projects if p is not None]
        with_global = len(names) != len(where.projects)
        if names and with_global:
            parts.append("(project = ANY(%s::text[]) OR project IS NULL)")
            params.append(names)
        elif names:
            parts.append("project = ANY(%s::text[])")
            params.append(names)
        elif with_global:
            parts.append("project IS NULL")
        else:
            parts.append("FALSE")  # an empty tuple of projects selects nothing
    if where.tags:
        parts.append("tags @> %s::text[]" if where.match_all else "tags && %s::text[]")
        params.append(list(where.tags))
    if where.memory_type is not None:
        parts.append("memory_type = %s")
        params.append(where.memory_type)
    if where.start is not None:
        parts.append("created_at >= %s")
        params.append(float(where.start))
    if where.end is not None:
        parts.append("created_at <= %s")
        params.append(float(where.end))
    for key, value in where.metadata:
        # containment of {key: scalar} is equality of a top-level scalar (jsonb_path_ops GIN index)
        parts.append("metadata @> %s")
        params.append(Jsonb({key: value}))
    if where.replaced_by is not None:
        parts.append("replaced_by = %s")
        params.append(where.replaced_by)
    return sql.SQL(" AND ".join(parts)), params


def order(where: Filter) -> sql.Composable:
    """Listing order: live memories newest first, the trash most recently deleted first (hash breaks ties)."""
    if where.trashed:
        return sql.SQL("deleted_at DESC, content_hash DESC")
    return sql.SQL("created_at DESC, content_hash DESC")

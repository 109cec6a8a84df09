"""``Filter`` -> SQL: one WHERE clause over the alias ``m`` (memories), with its parameters.

The same semantics as ``Filter.matches``: live or trashed, projects (None = global), tags any/all, type, an
inclusive time range, top-level metadata equality, and the replaced_by link. Live reads name
``m.deleted_at IS NULL`` so that SQLite can use the partial indexes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mcp_memory.errors import InvalidInputError
from mcp_memory.protocols import LIVE, Filter

from .rows import marks

LIVE_ONLY = "m.deleted_at IS NULL"
TRASHED_ONLY = "m.deleted_at IS NOT NULL"
_NUMBERS = "('integer', 'real')"


def projects_clause(projects: tuple[str | None, ...]) -> tuple[str, list[Any]]:
    """``m.project`` among ``projects``, where None stands for global memories."""
    names = [p for p in dict.fromkeys(projects) if p is not None]
    parts = [f"m.project IN ({marks(len(names))})"] if names else []
    if None in projects:
        parts.append("m.project IS NULL")
    if not parts:
        return "0", []
    return ("(" + " OR ".join(parts) + ")") if len(parts) > 1 else parts[0], names


def tags_clause(tags: tuple[str, ...], match_all: bool) -> tuple[str, list[Any]]:
    wanted = list(dict.fromkeys(tags))
    sub = f"SELECT memory_id FROM memory_tags WHERE tag IN ({marks(len(wanted))})"
    if match_all and len(wanted) > 1:
        return f"m.id IN ({sub} GROUP BY memory_id HAVING COUNT(*) = ?)", [*wanted, len(wanted)]
    return f"m.id IN ({sub})", wanted


def metadata_clause(key: str, value: Any) -> tuple[str, list[Any]]:
    """The top-level ``key`` of the memory's metadata equals ``value`` as JSON compares them: ``true`` is not ``1``,
    while ``1`` equals ``1.0`` (``mcp_memory.protocols.same_value``)."""
    head = "EXISTS (SELECT 1 FROM json_each(m.metadata) j WHERE j.key = ? AND "
    if value is None:
        return head + "j.type = 'null')", [key]
    if isinstance(value, str):
        return head + "j.type = 'text' AND j.value = ?)", [key, value]
    if isinstance(value, bool):
        return head + "j.type = ?)", [key, "true" if value else "false"]
    if isinstance(value, (int, float)):
        return head + f"j.type IN {_NUMBERS} AND j.value = ?)", [key, value]
    raise InvalidInputError(f"a metadata filter compares a string, number, boolean or null, got "
                            f"{type(value).__name__} for {key!r}")


def conditions(where: Filter) -> tuple[list[str], list[Any]]:
    """The clauses (joined by AND) and parameters of ``where``."""
    clauses = [TRASHED_ONLY if where.trashed else LIVE_ONLY]
    params: list[Any] = []

    def add(clause: str, values: list[Any]) -> None:
        clauses.append(clause)
        params.extend(values)

    if where.projects is not None:
        add(*projects_clause(where.projects))
    if where.tags:
        add(*tags_clause(where.tags, where.match_all))
    if where.memory_type is not None:
        add("m.memory_type = ?", [where.memory_type])
    if where.start is not None:
        add("m.created_at >= ?", [where.start])
    if where.end is not None:
        add("m.created_at <= ?", [where.end])
    for key, value in where.metadata:
        add(*metadata_clause(key, value))
    if where.replaced_by is not None:
        add("m.replaced_by = ?", [where.replaced_by])
    return clauses, params


def sql(where: Filter) -> tuple[str, list[Any]]:
    """`` WHERE ...`` of ``where`` with its parameters."""
    clauses, params = conditions(where)
    return " WHERE " + " AND ".join(clauses), params


def projects_only(where: Filter) -> bool:
    """True when ``where`` selects live memories by project at most (the in-memory index answers alone)."""
    return replace(where, projects=None) == LIVE

"""A ``Filter`` as a Chroma ``where`` clause, for the parts a ``where`` expresses exactly.

Exact in a ``where``: trashed or live, projects, tags any/all (``tag:<tag>`` keys), memory type, the time
range and ``replaced_by``. Not exact: metadata equality, because the user's metadata is stored as JSON text and
Python's ``==`` (``1 == 1.0 == True``) is not Chroma's; those are checked in Python with ``Filter.matches``,
which the store applies to every record it reads anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp_memory.protocols import Filter

from .layout import GLOBAL, tag_key


@dataclass(frozen=True)
class Where:
    """The Chroma side of a filter: ``clause`` (None: every record), ``exact`` (no Python check needed
    beyond it), ``empty`` (nothing can match: skip the query)."""

    clause: dict[str, Any] | None
    exact: bool
    empty: bool = False


def _all(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _one_of(key: str, values: list[Any]) -> dict[str, Any]:
    return {key: values[0]} if len(values) == 1 else {key: {"$in": values}}


def translate(where: Filter, native: bool = True) -> Where:
    """The ``where`` of ``where``; ``native=False`` (records of layout 1, read-only) leaves everything to
    Python, since those records have no project or trash keys."""
    if where.projects is not None and not where.projects:
        return Where(None, True, empty=True)
    if not native:
        return Where(None, False)
    clauses: list[dict[str, Any]] = [{"trashed": where.trashed}]
    if where.projects is not None:
        clauses.append(_one_of("project", sorted({GLOBAL if p is None else p for p in where.projects})))
    if where.tags:
        tags = [{tag_key(t): True} for t in dict.fromkeys(where.tags)]
        clauses.append(tags[0] if len(tags) == 1 else {("$and" if where.match_all else "$or"): tags})
    if where.memory_type is not None:
        clauses.append({"memory_type": where.memory_type})
    if where.start is not None:
        clauses.append({"created_at": {"$gte": float(where.start)}})
    if where.end is not None:
        clauses.append({"created_at": {"$lte": float(where.end)}})
    if where.replaced_by is not None:
        clauses.append({"replaced_by": where.replaced_by})
    return Where(_all(clauses), exact=not where.metadata)


def live_only(where: Filter) -> bool:
    """True when the filter asks for nothing but live memories (the fast paths of counting and search)."""
    return where == Filter()


def trash_only(where: Filter) -> bool:
    return where == Filter(trashed=True)

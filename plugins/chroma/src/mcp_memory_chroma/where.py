"""A ``Filter`` as Chroma ``where`` clauses, for the parts a ``where`` expresses exactly.

Exact in a ``where``: projects, tags any/all (``tag:<tag>`` keys), memory type, the time range, ``replaced_by``
and the trash. Not exact: metadata equality, because the user's metadata is stored as JSON text and Python's
``==`` (``1 == 1.0 == True``) is not Chroma's; the store checks it in Python with ``Filter.matches``, which it
applies to every record it reads anyway.

Chroma's cost of a clause grows with the records it matches (a conjunction costs the sum of its parts), so
``trashed = 0`` (nearly every record) never goes into a ``where``: live reads take the records of the other
clauses and drop the trashed ones in Python, which ``trashed = 1`` alone finds cheaply (the trash is small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp_memory.protocols import Filter

from .layout import GLOBAL, tag_key

TRASHED = {"trashed": 1}


def both(*clauses: dict[str, Any] | None) -> dict[str, Any] | None:
    """The conjunction of the clauses that are not None (None: every record)."""
    present = [c for c in clauses if c]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"$and": present}


@dataclass(frozen=True)
class Where:
    """The Chroma side of a filter. ``clause``: the conditions other than the trash (None: every record);
    ``trashed``: the filter reads the trash; ``exact``: no condition is left to Python beyond the trash;
    ``empty``: nothing can match (skip the query); ``narrow``: the clauses that usually select few records
    (tags, type, ``replaced_by``)."""

    clause: dict[str, Any] | None
    trashed: bool
    exact: bool
    empty: bool = False
    narrow: dict[str, Any] | None = None  # the clauses that usually select few records: tags, type, replaced_by

    @property
    def candidates(self) -> dict[str, Any] | None:
        """The ``where`` of a read: the trash exactly; for live memories a superset holding the few trashed
        ones that match the other conditions."""
        return both(self.clause, TRASHED) if self.trashed else self.clause



def _one_of(key: str, values: list[Any]) -> dict[str, Any]:
    return {key: values[0]} if len(values) == 1 else {key: {"$in": values}}


def translate(where: Filter, native: bool = True) -> Where:
    """The clauses of ``where``; ``native=False`` (records of layout 1, read-only) leaves everything to Python,
    since those records have no project or trash keys."""
    if where.projects is not None and not where.projects:
        return Where(None, where.trashed, True, empty=True)
    if not native:
        return Where(None, False, False, empty=where.trashed or where.replaced_by is not None)
    narrow: list[dict[str, Any]] = []
    if where.tags:
        tags = [{tag_key(t): 1} for t in dict.fromkeys(where.tags)]
        narrow.append(tags[0] if len(tags) == 1 else {("$and" if where.match_all else "$or"): tags})
    if where.memory_type is not None:
        narrow.append({"memory_type": where.memory_type})
    if where.replaced_by is not None:
        narrow.append({"replaced_by": where.replaced_by})
    clauses = list(narrow)
    if where.projects is not None:
        clauses.append(_one_of("project", sorted({GLOBAL if p is None else p for p in where.projects})))
    if where.start is not None:
        clauses.append({"created_at": {"$gte": float(where.start)}})
    if where.end is not None:
        clauses.append({"created_at": {"$lte": float(where.end)}})
    return Where(both(*clauses), where.trashed, exact=not where.metadata, narrow=both(*narrow))

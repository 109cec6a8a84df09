"""Checks of caller input shared by every service method: each bad value is an InvalidInputError that says why.

``Scope`` turns what a caller says about projects (a project name, "global", all projects) into the
``Filter.projects`` of a read and the project of a write, given the caller's current project.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from . import ranking
from .errors import InvalidInputError
from .models import check_metadata, check_project, check_text

#: the project name that means "global memories" (no project) on every surface
GLOBAL = "global"
#: the shortest hash prefix accepted where a hash is expected
MIN_HASH_PREFIX = 8
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class Scope:
    """Which projects a read covers, and where a write goes.

    ``current`` is the caller's project (None when it has none). ``project`` is a project the caller named
    (``"global"`` for global memories only); ``everything`` reads every project.
    """

    current: str | None = None
    project: str | None = None
    everything: bool = False

    @classmethod
    def of(cls, current: Any = None, project: Any = None, all_projects: Any = False) -> Scope:
        if not isinstance(all_projects, bool):
            raise InvalidInputError(f"all_projects must be true or false, got {all_projects!r}")
        return cls(check_project(current), check_project(project), all_projects)

    @property
    def projects(self) -> tuple[str | None, ...] | None:
        """``Filter.projects`` of a read: the named project, else the current one, plus global memories;
        every project when asked, or when the caller has no project at all."""
        if self.everything:
            return None
        named = self.project if self.project is not None else self.current
        if named is None:
            return None
        if named.lower() == GLOBAL:
            return (None,)
        return (named, None)

    @property
    def write_project(self) -> str | None:
        """The project a new memory belongs to: the named one, else the current one (None = global)."""
        named = self.project if self.project is not None else self.current
        return None if named is None or named.lower() == GLOBAL else named

    def describe(self) -> str:
        projects = self.projects
        if projects is None:
            return "all projects"
        if projects == (None,):
            return "global memories"
        return f"project {projects[0]} and global memories"


def check_content(content: Any, max_length: int, name: str = "content") -> str:
    if not isinstance(content, str):
        raise InvalidInputError(f"{name} must be a string, got {type(content).__name__}")
    if not check_text(content, name).strip():
        raise InvalidInputError(f"{name} is empty")
    if len(content) > max_length:
        raise InvalidInputError(f"{name} has {len(content):,} characters, more than the limit of {max_length:,} "
                                "(MCP_MEMORY_MAX_CONTENT_LENGTH); split it into several memories")
    return content


def check_type(memory_type: Any) -> str | None:
    if memory_type is None:
        return None
    if not isinstance(memory_type, str):
        raise InvalidInputError(f"memory_type must be a string, got {type(memory_type).__name__}")
    return check_text(memory_type, "memory_type").strip() or None


def check_metadata_size(metadata: Any, max_length: int) -> dict[str, Any]:
    checked = check_metadata(metadata)
    size = len(json.dumps(checked, ensure_ascii=False)) if checked else 0
    if size > max_length:
        raise InvalidInputError(f"metadata has {size:,} characters as JSON, more than the limit of {max_length:,} "
                                "(MCP_MEMORY_MAX_CONTENT_LENGTH)")
    return checked


def check_hash_text(value: Any) -> str:
    """A full hash or a prefix, lower-cased; refuses non-hex text and prefixes shorter than 8 characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("content_hash must be a non-empty string")
    text = check_text(value, "content_hash").strip().lower()
    if not _HEX.match(text) or len(text) > 64:
        raise InvalidInputError(f"{value.strip()[:70]!r} is not a content hash (64 hexadecimal characters, "
                                f"or a unique prefix of at least {MIN_HASH_PREFIX})")
    if len(text) < MIN_HASH_PREFIX:
        raise InvalidInputError(f"hash prefix {text!r} is too short: give at least {MIN_HASH_PREFIX} characters")
    return text


def check_limit(n: Any, name: str, cap: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidInputError(f"{name} must be an integer, got {n!r}")
    if n < 1:
        raise InvalidInputError(f"{name} must be at least 1, got {n}")
    return min(n, cap)


def check_query(query: Any, max_length: int) -> str:
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a string, got {type(query).__name__}")
    if not check_text(query, "query").strip():
        raise InvalidInputError("query is empty")
    if len(query) > max_length:
        raise InvalidInputError("query is longer than MCP_MEMORY_MAX_CONTENT_LENGTH")
    return query.strip()


def check_mode(mode: Any, default: str) -> str:
    if mode is None:
        return default
    if not isinstance(mode, str) or mode.strip().lower() not in ranking.MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(ranking.MODES)}, got {mode!r}")
    return mode.strip().lower()


def check_relevance(value: Any, name: str = "min_relevance") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise InvalidInputError(f"{name} must be a number between 0 and 1, got {value!r}")
    return float(value)


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be true or false, got {value!r}")
    return value

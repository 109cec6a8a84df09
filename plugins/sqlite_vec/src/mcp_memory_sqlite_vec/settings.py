"""The settings of the sqlite_vec store: the database file and the pragmas a user may add.

``MCP_MEMORY_SQLITE_PRAGMAS`` is validated here against a short allow list, so that only known pragmas with
well-formed values ever reach a connection (the ``wal`` plugin applies them on top of its WAL defaults).
"""

from __future__ import annotations

import re
from pathlib import Path

from mcp_memory.config import Setting, as_path, default_data_dir, list_items

_INT = re.compile(r"^-?\d+$")

#: Pragmas a user may set through MCP_MEMORY_SQLITE_PRAGMAS, with the values each accepts.
ALLOWED_PRAGMAS: dict[str, re.Pattern[str] | set[str]] = {
    "busy_timeout": _INT,
    "cache_size": _INT,
    "mmap_size": _INT,
    "wal_autocheckpoint": _INT,
    "journal_size_limit": _INT,
    "page_size": _INT,
    "synchronous": {"off", "normal", "full", "extra", "0", "1", "2", "3"},
    "journal_mode": {"wal", "delete", "truncate", "persist", "memory", "off"},
    "temp_store": {"default", "file", "memory", "0", "1", "2"},
    "foreign_keys": {"on", "off", "true", "false", "0", "1"},
    "locking_mode": {"normal", "exclusive"},
    "auto_vacuum": {"none", "full", "incremental", "0", "1", "2"},
}

Pragmas = tuple[tuple[str, str], ...]


def parse_pragmas(text: str) -> Pragmas:
    """``name=value,name=value`` as validated pairs; ValueError says which item is wrong and why."""
    pairs: list[tuple[str, str]] = []
    for raw in list_items(text):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name or not value:
            raise ValueError(f"{item!r} is not name=value (example: busy_timeout=10000,cache_size=20000)")
        rule = ALLOWED_PRAGMAS.get(name)
        if rule is None:
            raise ValueError(f"unknown or unsupported pragma {name!r}; allowed: {', '.join(sorted(ALLOWED_PRAGMAS))}")
        if not (rule.match(value) if isinstance(rule, re.Pattern) else value.lower() in rule):
            raise ValueError(f"bad value {value!r} for pragma {name!r}")
        pairs.append((name, value))
    return tuple(pairs)


def default_path() -> Path:
    return default_data_dir() / "sqlite_vec.db"


SQLITE_SETTINGS: tuple[Setting, ...] = (
    Setting("MCP_MEMORY_SQLITE_PATH", "the sqlite_vec database file (its directory is created)", default_path,
            as_path),
    Setting("MCP_MEMORY_SQLITE_PRAGMAS", "extra SQLite pragmas applied to every connection, e.g. "
            "busy_timeout=15000,cache_size=20000 (validated; applied after the wal plugin's WAL defaults)", (),
            parse_pragmas),
)

"""The SQLite connection policy: WAL pragmas and a bounded, jittered retry of busy writes."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from mcp_memory.errors import StorageError
from mcp_memory.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")
_NAME = re.compile(r"^[a-z_]+$")
_VALUE = re.compile(r"^-?[A-Za-z0-9_]+$")

#: Applied to every connection of the sqlite_vec store, before the user's MCP_MEMORY_SQLITE_PRAGMAS.
WAL_DEFAULT_PRAGMAS: tuple[tuple[str, str], ...] = (
    ("journal_mode", "WAL"),
    ("busy_timeout", "5000"),
    ("synchronous", "NORMAL"),
)


def effective_pragmas(user: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """WAL defaults overridden by the user's pragmas, busy_timeout first so that later ones can wait."""
    merged = dict(WAL_DEFAULT_PRAGMAS)
    for name, value in user:
        merged.pop(name, None)
        merged[name] = value
    return sorted(merged.items(), key=lambda item: item[0] != "busy_timeout")


def apply_pragmas(conn: Any, user: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Apply the policy to one connection; returns what SQLite reports for each pragma."""
    applied: dict[str, str] = {}
    for name, value in effective_pragmas(user):
        if not _NAME.match(name) or not _VALUE.match(value):
            raise StorageError(f"refusing malformed pragma {name}={value}; check MCP_MEMORY_SQLITE_PRAGMAS")
        row = conn.execute(f"PRAGMA {name}={value}").fetchone()
        applied[name] = str(row[0]) if row else value
        if name == "journal_mode" and row and str(row[0]).lower() != value.lower():
            log.warning("journal mode not applied: the file system may not support it (network drive?)",
                        wanted=value, got=str(row[0]))
    return applied


class BusyRetry:
    """Run a write again while SQLite says it is locked: jittered exponential backoff, bounded."""

    def __init__(self, attempts: int = 6, base_delay: float = 0.05, max_delay: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep

    def delay(self, retry: int) -> float:
        """Full jitter: a random wait up to base * 2**retry, capped."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2 ** retry)))

    def __call__(self, attempt: Callable[[], T], is_busy: Callable[[BaseException], bool]) -> T:
        started = time.monotonic()
        for number in range(1, self.attempts + 1):
            try:
                return attempt()
            except Exception as exc:
                if not is_busy(exc):
                    raise
                if number == self.attempts:
                    waited = time.monotonic() - started
                    raise StorageError(
                        f"database is locked: another process held the write lock through {self.attempts} "
                        f"attempts over {waited:.1f} s. Stop the process that keeps it (a stuck 'memory' or a "
                        "tool holding the file open), or wait longer with "
                        "MCP_MEMORY_SQLITE_PRAGMAS=busy_timeout=15000"
                    ) from exc
                pause = self.delay(number - 1)
                log.debug("database busy, retrying write", attempt=number, sleep_s=round(pause, 3))
                self._sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

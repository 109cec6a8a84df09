"""The hook specifications the sqlite_vec store adds (through ``memory_add_hookspecs``) for connection policy
plugins such as ``wal``. Implementations are called one at a time: one that raises is recorded as a failure of
its plugin and the store goes on without it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_memory.hookspecs import hookspec


@hookspec
def memory_configure_sqlite(connection: Any, pragmas: tuple[tuple[str, str], ...]) -> None:
    """Connection policy: called on every new SQLite connection the store opens, before it writes.

    ``pragmas`` are the user's validated ``MCP_MEMORY_SQLITE_PRAGMAS`` pairs; an implementation applies its own
    defaults and then these on top (a user value replaces a default). When no implementation runs, the store
    applies ``pragmas`` alone on SQLite's defaults (rollback journal) and its stats say that WAL is off.
    """


@hookspec(firstresult=True)
def memory_sqlite_write_retry() -> Callable[..., Any] | None:
    """Write retry policy: return a callable ``retry(attempt, is_busy)``, or None.

    The store calls ``retry(attempt, is_busy)`` around each write transaction. ``attempt()`` runs the whole
    transaction once and has rolled it back when it raises, so running it again is safe; ``is_busy(exc)`` tells
    whether an exception means "database is locked / busy". The policy runs ``attempt`` again on busy errors
    with its own backoff and bound, re-raises any other exception at once, returns ``attempt()``'s value, and
    after the bound raises ``mcp_memory.errors.StorageError`` saying how long it waited and how to fix it.
    With no answer the store runs each write once.
    """

"""Entry point of the ``wal`` plugin: connection policy and write retries for the ``sqlite_vec`` store (its hook
specs ``memory_configure_sqlite`` and ``memory_sqlite_write_retry``), and the ``direct`` coordination answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_memory import hookimpl
from mcp_memory.coordination import DIRECT, Coordination
from mcp_memory_sqlite_vec.settings import SQLITE_SETTINGS

from .policy import BusyRetry, apply_pragmas, effective_pragmas

BACKEND = "sqlite_vec"


# optionalhook: the specs come from the sqlite_vec plugin; with it disabled these are simply never called
@hookimpl(optionalhook=True)
def memory_configure_sqlite(connection: Any, pragmas: tuple[tuple[str, str], ...]) -> None:
    apply_pragmas(connection, pragmas)


@hookimpl(optionalhook=True)
def memory_sqlite_write_retry() -> BusyRetry:
    return BusyRetry()


@hookimpl(trylast=True)
def memory_coordinate(settings: Any, open_direct: Callable[[], Any]) -> Coordination | None:
    if settings.storage_backend != BACKEND:
        return None
    user = settings.section(SQLITE_SETTINGS).sqlite_pragmas
    pragmas = ", ".join(f"{k}={v}" for k, v in effective_pragmas(user))
    return Coordination(DIRECT, f"each process opens the SQLite file itself in WAL mode ({pragmas}), "
                                "busy writes are retried", open_direct)

"""Entry point of the ``wal`` plugin: connection policy, write retries, and the ``direct`` mode answer."""

from __future__ import annotations

from typing import Any, Callable

from mcp_memory import hookimpl
from mcp_memory.coordination import DIRECT, Coordination

from .policy import BusyRetry, apply_pragmas, effective_pragmas


@hookimpl
def memory_configure_sqlite(connection: Any, settings: Any) -> None:
    apply_pragmas(connection, getattr(settings, "sqlite_pragmas", ()) or ())


@hookimpl
def memory_sqlite_write_retry(settings: Any) -> BusyRetry:
    return BusyRetry()


@hookimpl(trylast=True)
def memory_coordinate(settings: Any, open_direct: Callable[[], Any]) -> Coordination:
    pragmas = ", ".join(f"{k}={v}" for k, v in effective_pragmas(getattr(settings, "sqlite_pragmas", ()) or ()))
    return Coordination(DIRECT, f"each process opens the SQLite file itself in WAL mode ({pragmas}), "
                                "busy writes are retried", open_direct)

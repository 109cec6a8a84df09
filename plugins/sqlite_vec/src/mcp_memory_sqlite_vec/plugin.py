"""Entry point of the ``sqlite_vec`` store. Imports nothing heavy: the store loads on first use."""

from __future__ import annotations

from typing import Any, Callable

from mcp_memory import hookimpl


def create_storage(settings: Any = None, location: str | None = None) -> Any:
    """Factory registered under ``sqlite_vec``: builds an uninitialised ``SqliteVecStorage`` (no I/O)."""
    from .storage import SqliteVecStorage

    return SqliteVecStorage(settings, location=location)


@hookimpl
def memory_register_storage(register: Callable[..., None]) -> None:
    register("sqlite_vec", create_storage)

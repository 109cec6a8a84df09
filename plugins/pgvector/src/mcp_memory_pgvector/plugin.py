"""Entry point of the ``pgvector`` store (group ``mcp_memory``). Light: psycopg loads when a store opens."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from mcp_memory import hookimpl
from mcp_memory.config import Setting, Settings
from mcp_memory.errors import ConfigError
from mcp_memory.registration import Check, StorageBackend, StoreLocation

from .settings import DSN_VARIABLE, SETTINGS, load_config

NAME = "pgvector"


def create_storage(settings: Settings | None = None, location: str | None = None) -> Any:
    """Factory of the ``pgvector`` store: an uninitialised ``PgvectorStorage`` (no I/O). ``location`` is a DSN."""
    from .storage import PgvectorStorage

    return PgvectorStorage(settings if settings is not None else Settings(), location=location)


@hookimpl
def memory_register_storage(register: Callable[[StorageBackend], None]) -> None:
    register(StorageBackend(name=NAME, factory=create_storage,
                            description="PostgreSQL + pgvector: one database shared by many processes and machines"))


@hookimpl
def memory_settings() -> Sequence[Setting]:
    return SETTINGS


@hookimpl
def memory_storage_location(backend: str, settings: Settings, location: str | None) -> StoreLocation | None:
    """The DSN (password masked) and schema; never a local path."""
    if backend != NAME:
        return None
    try:
        return StoreLocation(text=load_config(settings, location).shown)
    except ConfigError as exc:
        if DSN_VARIABLE in str(exc) and "needs a database" in str(exc):
            return StoreLocation(text=f"PostgreSQL ({DSN_VARIABLE} is not set)")
        return StoreLocation(text=f"PostgreSQL (invalid settings: {exc})")


@hookimpl
def memory_store_checks(backend: str, settings: Settings, location: str | None, deep: bool) -> list[Check] | None:
    if backend != NAME:
        return None
    from .checks import store_checks

    return store_checks(settings, location, deep)

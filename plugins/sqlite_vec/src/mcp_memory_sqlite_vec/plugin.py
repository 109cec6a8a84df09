"""Entry point of the ``sqlite_vec`` store. Imports nothing heavy: the store and its checks load on first use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pluggy

from mcp_memory import hookimpl
from mcp_memory.config import Setting, Settings
from mcp_memory.registration import Check, StorageBackend, StoreLocation

from .settings import SQLITE_SETTINGS

NAME = "sqlite_vec"


def create_storage(settings: Settings | None = None, location: str | None = None) -> Any:
    """Factory registered under ``sqlite_vec``: builds an uninitialised ``SqliteVecStorage`` (no I/O)."""
    from .storage import SqliteVecStorage

    return SqliteVecStorage(settings, location=location)


@hookimpl
def memory_register_storage(register: Callable[[StorageBackend], None]) -> None:
    register(StorageBackend(name=NAME, factory=create_storage,
                            description="one SQLite file: memories, tags, FTS5 full-text index and sqlite-vec "
                                        "vectors (searched exactly in memory)"))


@hookimpl
def memory_settings() -> Sequence[Setting]:
    return SQLITE_SETTINGS


@hookimpl
def memory_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def memory_storage_location(backend: str, settings: Settings, location: str | None) -> StoreLocation | None:
    """The database file: ``location`` when given, else ``MCP_MEMORY_SQLITE_PATH``."""
    if backend != NAME:
        return None
    path = Path(location).expanduser() if location else settings.section(SQLITE_SETTINGS).sqlite_path
    return StoreLocation(text=str(path), path=path)


@hookimpl
def memory_store_checks(backend: str, settings: Settings, location: str | None, deep: bool) -> list[Check] | None:
    if backend != NAME:
        return None
    from .checks import store_checks

    return store_checks(settings, location, deep)

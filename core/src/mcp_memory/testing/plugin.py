"""A test plugin and a way to install plugins in process, for tests of commands that open stores by name.

``StoresPlugin`` registers the store ``mem`` (one ``InMemoryStorage`` per location, which outlives ``close`` like
a file would) and the embedders ``hash`` (64 dims) and ``hash2`` (32 dims, another model); its ``migrators``
dict registers extra migration sources. ``install(settings, *plugins)`` makes a plugin manager of just these
(plus the given modules) the one every ``get_plugin_manager`` call returns; undo it with ``uninstall()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import plugins
from ..config import Settings
from ..hookspecs import hookimpl
from ..registration import EmbedderBackend, MigrationSource, StorageBackend, StoreLocation
from .fakes import HashEmbedder, InMemoryStorage


class StoresPlugin:
    """Store ``mem`` per location, embedders ``hash`` and ``hash2``, and the migration sources in ``migrators``."""

    def __init__(self) -> None:
        self.stores: dict[str, InMemoryStorage] = {}
        self.embedders = {"hash": HashEmbedder(64), "hash2": HashEmbedder(32, model_name="other-model")}
        self.migrators: dict[str, Callable[[str | None], Any]] = {}

    def store(self, location: str | None) -> InMemoryStorage:
        return self.stores.setdefault(location or "default", InMemoryStorage())

    @hookimpl
    def memory_register_storage(self, register: Callable[[StorageBackend], None]) -> None:
        register(StorageBackend(name="mem", factory=lambda settings, location: self.store(location)))

    @hookimpl
    def memory_register_embedder(self, register: Callable[[EmbedderBackend], None]) -> None:
        for name, embedder in self.embedders.items():
            register(EmbedderBackend(name=name, factory=_returning(embedder)))

    @hookimpl
    def memory_register_migrators(self, register: Callable[[MigrationSource], None]) -> None:
        for name, opener in self.migrators.items():
            register(MigrationSource(name=name, open=opener))

    @hookimpl
    def memory_storage_location(self, backend: str, settings: Settings, location: str | None) -> StoreLocation | None:
        return StoreLocation(text=f"mem:{location or 'default'}") if backend == "mem" else None


def _returning(embedder: HashEmbedder) -> Callable[[Settings], Any]:
    return lambda settings: embedder


def install(settings: Settings, *objects: object) -> plugins.PluginManager:
    """A plugin manager with no entry points and these plugins (objects or modules), used everywhere from now."""
    pm = plugins.PluginManager(settings, entry_points_source=list)
    for i, plugin in enumerate(objects):
        pm.register_object(plugin, getattr(plugin, "__name__", f"{type(plugin).__name__.lower()}{i}"))
    plugins._override = pm
    return pm


def uninstall() -> None:
    plugins._override = None

"""Migration tests: in-memory stores kept per location, two hash embedders, optional plugin migrators."""

from __future__ import annotations

import pytest

from mcp_memory import plugins
from mcp_memory.config import Settings
from mcp_memory.hookspecs import hookimpl
from mcp_memory.registration import EmbedderBackend, MigrationSource, StorageBackend, StoreLocation
from mcp_memory.testing import HashEmbedder, InMemoryStorage


class StoresPlugin:
    """Store ``mem``: one InMemoryStorage per location (it outlives close, like a file would)."""

    def __init__(self):
        self.stores: dict[str, InMemoryStorage] = {}
        self.embedders = {"hash": HashEmbedder(64), "hash2": HashEmbedder(32, model_name="other-model")}
        self.migrators = {}

    def store(self, location):
        return self.stores.setdefault(location or "default", InMemoryStorage())

    @hookimpl
    def memory_register_storage(self, register):
        register(StorageBackend(name="mem", factory=lambda settings, location: self.store(location)))

    @hookimpl
    def memory_register_embedder(self, register):
        for name, embedder in self.embedders.items():
            register(EmbedderBackend(name=name, factory=lambda settings, e=embedder: e))

    @hookimpl
    def memory_register_migrators(self, register):
        for name, opener in self.migrators.items():
            register(MigrationSource(name=name, open=opener))

    @hookimpl
    def memory_storage_location(self, backend, settings, location):
        return StoreLocation(text=f"mem:{location or 'default'}") if backend == "mem" else None


@pytest.fixture
def stores(monkeypatch, tmp_path):
    settings = Settings(storage_backend="mem", embedder="hash")
    pm = plugins.PluginManager(settings, entry_points_source=list)
    plugin = StoresPlugin()
    pm.register_object(plugin, "stores")
    monkeypatch.setattr(plugins, "_override", pm)
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "mem")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    monkeypatch.setenv("MCP_MEMORY_DUPLICATE_THRESHOLD", "off")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return plugin

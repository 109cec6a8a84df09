"""Migration tests: in-memory stores kept per location, two hash embedders, optional plugin migrators."""

from __future__ import annotations

import pytest
from mcp_memory import plugins
from mcp_memory.config import Settings
from mcp_memory.hookspecs import hookimpl
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
        register("mem", lambda settings, location=None: self.store(location))

    @hookimpl
    def memory_register_embedder(self, register):
        for name, embedder in self.embedders.items():
            register(name, lambda settings, e=embedder: e)

    @hookimpl
    def memory_register_migrators(self, register):
        for name, opener in self.migrators.items():
            register(name, opener)


@pytest.fixture
def stores(monkeypatch):
    settings = Settings(storage_backend="mem", embedder="hash")
    pm = plugins.PluginManager(settings, entry_points_source=list)
    plugin = StoresPlugin()
    pm.register_object(plugin, "stores")
    monkeypatch.setattr(plugins, "_default", pm)
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "mem")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    return plugin

"""Core tests run with only the core installed: stores and embedders come from mcp_memory.testing."""

import pytest

from mcp_memory import plugins
from mcp_memory.config import Settings
from mcp_memory.hookspecs import hookimpl
from mcp_memory.registration import EmbedderBackend, StorageBackend
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder, InMemoryStorage


class TestPlugin:
    """An in-process plugin giving a shared in-memory store ("memory") and the hash embedder ("hash")."""

    def __init__(self):
        self.storage = InMemoryStorage()
        self.embedder = HashEmbedder()

    @hookimpl
    def memory_register_storage(self, register):
        register(StorageBackend(name="memory", factory=lambda settings, location: self.storage))

    @hookimpl
    def memory_register_embedder(self, register):
        register(EmbedderBackend(name="hash", factory=lambda settings: self.embedder))


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def settings():
    return Settings(storage_backend="memory", embedder="hash", max_content_length=1000, max_results=50,
                    duplicate_threshold=None)


@pytest.fixture
def service(settings):
    return MemoryService(InMemoryStorage(), HashEmbedder(), settings)


def install(settings, *objects, monkeypatch):
    """A plugin manager with no entry points and these in-process plugins, used by get_plugin_manager()."""
    pm = plugins.PluginManager(settings, entry_points_source=lambda: [])
    for i, plugin in enumerate(objects):
        pm.register_object(plugin, getattr(plugin, "name", f"test{i}"))
    monkeypatch.setattr(plugins, "_override", pm)
    return pm


@pytest.fixture
def test_plugin(settings, monkeypatch):
    """Install a plugin manager with no entry points and the in-process test plugin."""
    plugin = TestPlugin()
    install(settings, plugin, monkeypatch=monkeypatch)
    return plugin

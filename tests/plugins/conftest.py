"""Fixtures shared by the plugin tests."""

import pytest

from mcp_memory import plugins
from mcp_memory.config import Settings


@pytest.fixture
def only_plugins(monkeypatch):
    """Make the process-wide plugin manager load only the named plugins (restored after the test)."""
    def use(*names: str) -> plugins.PluginManager:
        pm = plugins.PluginManager(Settings(plugins_allowed=frozenset(names)))
        monkeypatch.setattr(plugins, "get_plugin_manager", lambda settings=None: pm)
        return pm
    return use

"""Migration tests: in-memory stores kept per location, two hash embedders, optional plugin migrators."""

from __future__ import annotations

import pytest

from mcp_memory.config import Settings
from mcp_memory.testing.plugin import StoresPlugin, install, uninstall


@pytest.fixture
def stores(monkeypatch, tmp_path):
    plugin = StoresPlugin()
    install(Settings(storage_backend="mem", embedder="hash"), plugin)
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "mem")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    monkeypatch.setenv("MCP_MEMORY_DUPLICATE_THRESHOLD", "off")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    yield plugin
    uninstall()

"""The reference plugin's sources with in-memory target stores (``mem``) and hash embedders."""

from __future__ import annotations

import pytest

import mcp_memory_reference.plugin
from mcp_memory.config import Settings
from mcp_memory.testing.plugin import StoresPlugin, install, uninstall


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def stores(monkeypatch, tmp_path):
    plugin = StoresPlugin()
    install(Settings(storage_backend="mem", embedder="hash"), plugin, mcp_memory_reference.plugin)
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "mem")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    monkeypatch.setenv("MCP_MEMORY_DUPLICATE_THRESHOLD", "off")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    yield plugin
    uninstall()

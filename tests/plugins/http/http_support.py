"""Helpers of the http plugin tests (importable by the test modules; conftest puts this folder on sys.path)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from processes import HttpServer, base_env, free_port

from mcp_memory.config import Settings

#: the store of the servers started here: the in-memory test store (tests/scripts/memory_store_plugin.py) lives in
#: its server process; the plugin is tested against the service contract, whatever the store
STORE = "memory"

needs_sqlite_vec = pytest.mark.skipif(importlib.util.find_spec("mcp_memory_sqlite_vec") is None,
                                      reason="needs a store shared by processes: the sqlite_vec plugin")


def settings_for(port: int, store: Path, backend: str = STORE, **variables: str) -> Settings:
    """Settings of a process of these tests: its store, its HTTP port, the hash embedder."""
    return Settings().with_changes(MCP_MEMORY_STORAGE_BACKEND=backend, MCP_MEMORY_TEST_STORE=str(store),
                                   MCP_MEMORY_SQLITE_PATH=str(store), MCP_MEMORY_EMBEDDER="hash",
                                   MCP_HTTP_PORT=str(port), **variables)


def start_server(tmp: Path, store: str = STORE, **extra: str) -> HttpServer:
    """A ``memory http`` process on a free port, its store in ``tmp``. Near-duplicates are stored (the hash
    embedder finds short texts sharing words alike) unless MCP_MEMORY_DUPLICATE_THRESHOLD is given."""
    extra.setdefault("MCP_MEMORY_DUPLICATE_THRESHOLD", "off")
    tmp.mkdir(parents=True, exist_ok=True)
    return HttpServer(base_env(tmp / "store", free_port(), store=store, **extra), tmp / "server.log").wait_ready()

"""Fixtures of the http plugin tests: real ``memory http`` servers on free loopback ports.

The servers use the in-memory test store and the HashEmbedder (see http_support.py). Tests that need one store
shared by several processes use sqlite_vec and are skipped while it is not installed (``needs_sqlite_vec``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))
sys.path.insert(0, str(Path(__file__).parent))

from hash_embedder_plugin import HashEmbedderPlugin  # noqa: E402
from http_support import settings_for, start_server  # noqa: E402
from memory_store_plugin import MemoryStorePlugin  # noqa: E402
from processes import API_KEY, free_port  # noqa: E402

from mcp_memory import plugins  # noqa: E402
from mcp_memory.config import Settings  # noqa: E402


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def json_server():
    """Start a plain HTTP server on a loopback port that answers every GET with ``payload`` as JSON after
    ``delay`` seconds (another program, or a busy server); returns the port. Stopped after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(payload: dict, delay: float = 0.0) -> int:
        body = json.dumps(payload).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_port

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server (no API key) shared by a module's tests."""
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    """A server that requires MCP_API_KEY."""
    srv = start_server(tmp_path_factory.mktemp("keyed"), MCP_API_KEY=API_KEY)
    yield srv
    srv.stop()


@pytest.fixture
def local_plugins(monkeypatch):
    """This process's plugin manager: the installed http plugin (and sqlite_vec, wal when installed), the in-memory
    test store and the hash embedder."""
    pm = plugins.PluginManager(Settings(plugins_allowed=frozenset({"http", "sqlite_vec", "wal"})))
    pm.register_object(HashEmbedderPlugin(), "test-hash-embedder")
    pm.register_object(MemoryStorePlugin(), "test-memory-store")
    monkeypatch.setattr(plugins, "_override", pm)
    return pm


@pytest.fixture
def local_settings(tmp_path):
    return settings_for(free_port(), tmp_path / "local")

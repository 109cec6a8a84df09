"""Fixtures of the http plugin tests: real ``memory http`` servers on free loopback ports."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))

from hash_embedder_plugin import HashEmbedderPlugin  # noqa: E402
from processes import API_KEY, HttpServer, base_env, free_port  # noqa: E402

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
    """One server (HashEmbedder, no API key) shared by a module's tests."""
    tmp = tmp_path_factory.mktemp("server")
    srv = HttpServer(base_env(tmp / "m.db", free_port()), tmp / "server.log").wait_ready()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    """A server that requires MCP_API_KEY."""
    tmp = tmp_path_factory.mktemp("keyed")
    srv = HttpServer(base_env(tmp / "m.db", free_port(), MCP_API_KEY=API_KEY), tmp / "server.log").wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def local_plugins(monkeypatch):
    """This process's plugin manager: the installed sqlite_vec, wal and http plugins plus the hash embedder."""
    pm = plugins.PluginManager(Settings(plugins_allowed=frozenset({"sqlite_vec", "wal", "http"})))
    pm.register_object(HashEmbedderPlugin(), "test-hash-embedder")
    monkeypatch.setattr(plugins, "_default", pm)
    return pm


@pytest.fixture
def local_settings(tmp_path):
    return Settings(sqlite_path=tmp_path / "local.db", embedder="hash", http_port=free_port())

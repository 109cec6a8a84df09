"""A server that is slow to answer /api/health (busy machine, model loading) is still found."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mcp_memory_http.coordinate import PROBE_TIMEOUT, probe
from processes import free_port

from mcp_memory.config import Settings


class SlowHealth(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        time.sleep(PROBE_TIMEOUT + 0.5)
        body = json.dumps({"service": "mcp-memory", "version": "test", "coordination_mode": "http_server"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_slow_server_is_ours_not_none():
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), SlowHealth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        found = probe(Settings(http_port=port))
    finally:
        server.shutdown()
        server.server_close()
    assert found.state == "ours", found.detail


def test_nothing_listening_is_none_without_the_long_retry():
    found = probe(Settings(http_port=free_port()))
    assert found.state == "none" and "did not answer" not in found.detail

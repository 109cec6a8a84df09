"""A server that is slow to answer /api/health (busy machine, model loading) is still found."""

from __future__ import annotations

from processes import free_port

from mcp_memory.config import Settings
from mcp_memory_http.coordinate import PROBE_TIMEOUT, probe
from mcp_memory_http.identity import StoreIdentity


def test_slow_server_is_ours_not_none(json_server):
    port = json_server({"service": "mcp-memory", "version": "test", "coordination_mode": "http_server",
                        "store": {"backend": "memory", "location": "memory:x", "path": None}},
                       delay=PROBE_TIMEOUT + 0.5)
    found = probe(Settings().with_changes(MCP_HTTP_PORT=str(port)))
    assert found.state == "ours", found.detail
    assert found.store == StoreIdentity("memory", "memory:x")


def test_nothing_listening_is_none_without_the_long_retry():
    found = probe(Settings().with_changes(MCP_HTTP_PORT=str(free_port())))
    assert found.state == "none" and "did not answer" not in found.detail

"""/mcp is made on its first request: a server that only answers REST and the dashboard never imports the MCP SDK;
concurrent first requests share one MCP server, and its session manager stops with the app."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap

import anyio
import pytest

from mcp_memory.config import Settings
from mcp_memory_http.mcp_endpoint import McpEndpoint
from mcp_memory_http.settings import HttpSettings

SCRIPT = textwrap.dedent("""
    import json, sys
    from starlette.testclient import TestClient
    from mcp_memory.config import Settings
    from mcp_memory_http.app import create_app

    def sdk():
        return sorted(m for m in sys.modules if m == "mcp" or m.startswith(("mcp.", "mcp_types")))

    app = create_app(object(), Settings())  # the service is never called here
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        before = sdk()
        docs = client.get("/openapi.json").status_code
        answer = client.post("/mcp", json=init, headers={"accept": "application/json, text/event-stream"})
        print(json.dumps({"before": before, "docs": docs, "status": answer.status_code, "body": answer.text,
                          "after": "mcp.server.mcpserver" in sys.modules}))
""")


def test_the_sdk_is_imported_on_the_first_mcp_request_only():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["before"] == [] and report["docs"] == 200
    assert report["status"] == 200 and '"serverInfo"' in report["body"] and report["after"] is True


class FakeServer:
    def __init__(self, events: list[str]):
        self.events = events

    @property
    def session_manager(self):
        events = self.events

        class Manager:
            @contextlib.asynccontextmanager
            async def run(self):
                events.append("started")
                try:
                    yield
                finally:
                    events.append("stopped")

        return Manager()


@pytest.mark.anyio
async def test_concurrent_first_requests_build_one_server_and_shutdown_stops_it(monkeypatch):
    events: list[str] = []
    answered: list[str] = []

    async def app(scope, receive, send):
        answered.append(scope["path"])

    def build(self):
        events.append("built")
        return FakeServer(events), app

    monkeypatch.setattr(McpEndpoint, "_build", build)
    endpoint = McpEndpoint(object(), Settings(), HttpSettings.of(Settings()))
    async with endpoint.running():
        async with anyio.create_task_group() as tasks:
            for _ in range(5):
                tasks.start_soon(endpoint, {"type": "http", "path": "/mcp"}, None, None)
        assert events == ["built", "started"] and answered == ["/mcp"] * 5
    assert events == ["built", "started", "stopped"]


@pytest.mark.anyio
async def test_a_request_outside_the_lifespan_is_refused():
    endpoint = McpEndpoint(object(), Settings(), HttpSettings.of(Settings()))
    with pytest.raises(RuntimeError, match="lifespan"):
        await endpoint({"type": "http", "path": "/mcp"}, None, None)

"""Server-sent events after writes, and the MCP tools over streamable HTTP at /mcp (the SDK's own client)."""

from __future__ import annotations

import json

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from processes import API_KEY

pytestmark = pytest.mark.anyio


async def next_event(lines, wanted: str) -> dict:
    """Read SSE lines until an event named ``wanted``; return its data."""
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: ") and event == wanted:
            return json.loads(line[len("data: "):])
    raise AssertionError(f"stream ended before a {wanted!r} event")


async def test_sse_delivers_stored_updated_and_deleted_events(server):
    async with httpx2.AsyncClient(base_url=server.url, timeout=30) as client:
        async with client.stream("GET", "/api/events") as stream:
            assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            with anyio.fail_after(30):
                await next_event(lines, "ready")
                created = (await client.post("/api/memories", json={"content": "an event-worthy memory",
                                                                    "tags": ["sse"]})).json()
                stored = await next_event(lines, "stored")
                assert stored["content_hash"] == created["content_hash"]
                assert stored["memory"]["content"] == "an event-worthy memory"

                await client.post("/api/memories", json={"content": "an event-worthy memory"})  # duplicate: no event
                await client.patch(f"/api/memories/{created['content_hash']}", json={"tags": ["sse", "edited"]})
                updated = await next_event(lines, "updated")
                assert updated["content_hash"] == created["content_hash"] and updated["memory"]["tags"] == [
                    "sse", "edited"]
                await client.delete(f"/api/memories/{created['content_hash']}")
                assert await next_event(lines, "deleted") == {"content_hash": created["content_hash"]}


async def call(client: Client, name: str, **arguments):
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_mcp_tools_over_streamable_http(server):
    async with Client(f"{server.url}/mcp", read_timeout_seconds=60) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"store_memory", "retrieve_memory", "check_database_health"} <= tools
        stored = await call(client, "store_memory", content="MCP over HTTP stores memories too", tags=["mcp-http"])
        assert stored["duplicate"] is False
        found = await call(client, "retrieve_memory", query="MCP over HTTP stores memories", n_results=1)
        assert found["results"][0]["memory"]["content_hash"] == stored["content_hash"]
        health = await call(client, "check_database_health")
        assert health["coordination_mode"] == "http_server" and health["status"] == "healthy"
        bad = await client.call_tool("retrieve_memory", {"query": "x", "n_results": "lots"})
        assert bad.is_error and "n_results" in bad.content[0].text
    listed = httpx2.get(f"{server.url}/api/memories", params={"tag": "mcp-http"}, timeout=10).json()
    assert listed["total"] == 1  # the same service behind REST and MCP


async def test_mcp_over_http_with_the_api_key(keyed_server):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60) as http:
        async with Client(streamable_http_client(f"{keyed_server.url}/mcp", http_client=http),
                          read_timeout_seconds=60) as client:
            stored = await call(client, "store_memory", content="stored with a key over MCP")
            assert stored["duplicate"] is False
    refused = httpx2.post(f"{keyed_server.url}/mcp", json={}, timeout=10)
    assert refused.status_code == 401

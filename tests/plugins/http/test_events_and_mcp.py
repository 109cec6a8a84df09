"""Server-sent events after every kind of write, and the MCP tools over streamable HTTP at /mcp (the SDK's own
client), where a session's project comes from its roots, never from the server's working directory."""

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
    """Read SSE lines until an event named ``wanted``; return its data (other events are skipped)."""
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: ") and event == wanted:
            return json.loads(line[len("data: "):])
    raise AssertionError(f"stream ended before a {wanted!r} event")


async def test_sse_delivers_an_event_for_every_write(server):
    async with httpx2.AsyncClient(base_url=server.url, timeout=30) as client:
        async with client.stream("GET", "/api/events") as stream:
            assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            with anyio.fail_after(30):
                await next_event(lines, "ready")
                created = (await client.post("/api/memories", json={"content": "an event-worthy memory",
                                                                    "tags": ["sse"]})).json()
                h = created["content_hash"]
                stored = await next_event(lines, "stored")
                assert stored["content_hash"] == h and stored["memory"]["content"] == "an event-worthy memory"

                await client.post("/api/memories", json={"content": "an event-worthy memory"})  # duplicate: no event
                await client.patch(f"/api/memories/{h}", json={"tags": ["sse", "edited"]})
                updated = await next_event(lines, "updated")
                assert updated["content_hash"] == h and updated["memory"]["tags"] == ["sse", "edited"]
                assert updated["previous_hash"] is None

                await client.patch(f"/api/memories/{h[:8]}", json={"content": "an event-worthy memory, rewritten"})
                rewritten = await next_event(lines, "updated")
                assert rewritten["previous_hash"] == h and rewritten["content_changed"] is True
                h2 = rewritten["content_hash"]

                await client.delete(f"/api/memories/{h2[:8]}")
                deleted = await next_event(lines, "deleted")
                assert deleted == {"trashed": 1, "content_hashes": [h2], "reason": "deleted"}

                await client.post("/api/trash/restore", json={"content_hashes": [h2]})
                restored = await next_event(lines, "restored")
                assert restored["content_hashes"] == [h2] and restored["memories"][0]["content_hash"] == h2

                pair = [{"content": f"sse batch {x}", "tags": ["sse-batch"]} for x in "ab"]
                batch = await client.post("/api/memories/batch", json={"memories": pair})
                assert batch.status_code == 200
                first, second = await next_event(lines, "stored"), await next_event(lines, "stored")
                assert {first["memory"]["content"], second["memory"]["content"]} == {"sse batch a", "sse batch b"}

                dry = await client.post("/api/memories/delete-matching", json={"tags": ["sse-batch"], "dry_run": True})
                assert dry.json()["trashed"] == 2  # a dry run publishes nothing: the next event is the real one
                await client.post("/api/memories/delete-matching", json={"tags": ["sse-batch"]})
                matching = await next_event(lines, "deleted")
                assert matching["trashed"] == 2

                await client.post("/api/memories/delete-by-tag", json={"tags": ["sse"]})
                assert (await next_event(lines, "deleted"))["content_hashes"] == [h2]

                await client.post("/api/trash/purge", json={"content_hashes": [h2]})
                assert await next_event(lines, "purged") == {"purged": 1}

                await client.post("/api/documents", params={"name": "sse.md", "source": "/gone-sse/sse.md"},
                                  content=b"# Events\n\nA document for the event stream.")
                ingested = await next_event(lines, "ingested")
                assert ingested["status"] == "stored" and ingested["source"] == "/gone-sse/sse.md"
                await client.post("/api/documents/prune", json={"folders": ["/gone-sse"]})
                pruned = await next_event(lines, "pruned")
                assert [r["source"] for r in pruned["results"]] == ["/gone-sse/sse.md"]


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
    assert listed["memories"][0]["project"] is None  # no roots: no project (the server's own folder is not one)


async def test_a_session_takes_its_project_from_its_roots(server, tmp_path):
    from mcp_types import ListRootsResult, Root

    project = tmp_path / "billing-api"
    project.mkdir()

    async def roots(_context):
        return ListRootsResult(roots=[Root(uri=project.as_uri(), name="billing-api")])

    # roots are a capability of the protocol versions before 2026-07-28 (what clients speak today)
    async with Client(f"{server.url}/mcp", read_timeout_seconds=60, list_roots_callback=roots,
                      mode="legacy") as client:
        stored = await call(client, "store_memory", content="roots decide the project over HTTP", tags=["roots"])
        assert stored["memory"]["project"] == "billing-api"
        found = await call(client, "search_by_tag", tags=["roots"])
        assert found["scope"] == "project billing-api and global memories"
    listed = httpx2.get(f"{server.url}/api/memories", params={"tag": "roots", "project": "billing-api"}).json()
    assert [m["project"] for m in listed["memories"]] == ["billing-api"]


async def test_mcp_over_http_with_the_api_key(keyed_server):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60) as http:
        async with Client(streamable_http_client(f"{keyed_server.url}/mcp", http_client=http),
                          read_timeout_seconds=60) as client:
            stored = await call(client, "store_memory", content="stored with a key over MCP")
            assert stored["duplicate"] is False
    refused = httpx2.post(f"{keyed_server.url}/mcp", json={}, timeout=10)
    assert refused.status_code == 401

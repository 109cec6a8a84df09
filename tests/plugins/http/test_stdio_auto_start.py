"""Two stdio ``memory`` processes with auto-start and no server: the first serves, the second is its client;
when the first exits, the second takes over on its next call (with a store both can open)."""

from __future__ import annotations

import pytest
from http_support import STORE, needs_sqlite_vec
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from processes import base_env, free_port, memory_command

pytestmark = pytest.mark.anyio


async def call(client: Client, name: str, **arguments) -> dict:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content


def stdio(env: dict[str, str], errlog) -> Client:
    cmd = memory_command(hash_embedder=True)
    return Client(stdio_client(StdioServerParameters(command=cmd[0], args=cmd[1:], env=env), errlog=errlog),
                  read_timeout_seconds=120)


@pytest.mark.parametrize("store", [pytest.param(STORE, id=STORE),
                                   pytest.param("sqlite_vec", id="sqlite_vec", marks=needs_sqlite_vec)])
async def test_first_client_serves_the_next_one(tmp_path, store):
    env = base_env(tmp_path / "m.db", free_port(), store=store, MCP_MEMORY_HTTP_AUTO_START="true")
    with open(tmp_path / "first.log", "w") as log1, open(tmp_path / "second.log", "w") as log2:
        async with stdio(env, log2) as second:
            async with stdio(env, log1) as first:
                assert (await call(first, "check_database_health"))["coordination_mode"] == "http_server"
                assert (await call(second, "check_database_health"))["coordination_mode"] == "http_client"
                stored = await call(second, "store_memory", content="sent by the client, stored by the server")
                found = await call(first, "exact_match_retrieve", content="sent by the client, stored by the server")
                assert found["memory"]["content_hash"] == stored["content_hash"]
            # the first process exited and its HTTP server with it
            again = await call(second, "store_memory", content="stored after the server left")
            assert again["duplicate"] is False
            assert (await call(second, "check_database_health"))["coordination_mode"] == "http_server"
            if store != STORE:  # the in-memory store of the first process left with it
                listed = await call(second, "list_memories", page_size=10)
                assert listed["total"] == 2

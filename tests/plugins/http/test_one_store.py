"""A process only ever uses the store it is configured for: a ``memory http`` server serves store A; a CLI command
and a stdio MCP server configured for store B do not use it (one warning names both stores) and write to B."""

from __future__ import annotations

import json
import subprocess

import httpx2
import pytest
from http_support import needs_sqlite_vec, start_server
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from processes import base_env, memory_command

pytestmark = pytest.mark.anyio

STORES = [pytest.param("memory", id="memory"), pytest.param("sqlite_vec", id="sqlite_vec", marks=needs_sqlite_vec)]


def count_on(server) -> int:
    return httpx2.get(f"{server.url}/api/count", timeout=10).json()["count"]


def store_names(server, client_env) -> tuple[str, str]:
    """How the warning names the server's store (A) and the client's (B)."""
    if client_env["MCP_MEMORY_STORAGE_BACKEND"] == "memory":
        return (f"memory at memory:{server.env['MCP_MEMORY_TEST_STORE']}",
                f"memory at memory:{client_env['MCP_MEMORY_TEST_STORE']}")
    return (f"sqlite_vec at {server.env['MCP_MEMORY_SQLITE_PATH']}",
            f"sqlite_vec at {client_env['MCP_MEMORY_SQLITE_PATH']}")


async def count_in_b(env) -> int:
    """The memories in store B, read by a CLI command opened on it directly (HTTP off)."""
    done = subprocess.run([*memory_command(True), "stats", "--json"], env={**env, "MCP_HTTP_ENABLED": "false"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["total_memories"]


@pytest.mark.parametrize("store", STORES)
async def test_a_cli_configured_for_b_writes_b_not_the_server_of_a(tmp_path, store):
    server = start_server(tmp_path / "a", store=store)
    try:
        before = count_on(server)
        env = base_env(tmp_path / "B.db", server.port, store=store)
        env.pop("LOG_LEVEL")
        done = subprocess.run([*memory_command(True), "store", "written by a client of store B", "--json"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["duplicate"] is False
        theirs, ours = store_names(server, env)
        warnings = [line for line in done.stderr.splitlines() if "not using that server" in line]
        assert len(warnings) == 1 and theirs in warnings[0] and ours in warnings[0], done.stderr
        assert count_on(server) == before  # A untouched
        printed = subprocess.run([*memory_command(True), "coordination"], env=env, capture_output=True, text=True,
                                 timeout=120)
        assert printed.stdout.startswith("direct:") and ours in printed.stdout and theirs in printed.stdout
        if store != "memory":  # an in-memory B ends with its process
            assert await count_in_b(env) == 1
    finally:
        server.stop()


@pytest.mark.parametrize("store", STORES)
async def test_an_mcp_stdio_process_configured_for_b_writes_b(tmp_path, store):
    server = start_server(tmp_path / "a", store=store)
    try:
        before = count_on(server)
        env = base_env(tmp_path / "B.db", server.port, store=store)
        cmd = memory_command(True)
        log = tmp_path / "client.log"
        with open(log, "w") as errlog:
            async with Client(stdio_client(StdioServerParameters(command=cmd[0], args=cmd[1:], env=env),
                                           errlog=errlog), read_timeout_seconds=120) as client:
                stored = await client.call_tool("store_memory", {"content": "stored by an MCP client of store B"})
                assert not stored.is_error, stored.content[0].text
                health = await client.call_tool("check_database_health", {})
                assert health.structured_content["coordination_mode"] == "direct"
                listed = await client.call_tool("list_memories", {"page_size": 10})
                assert listed.structured_content["total"] == 1
        theirs, ours = store_names(server, env)
        warnings = [line for line in log.read_text().splitlines() if "level='warning'" in line]
        assert len(warnings) == 1 and theirs in warnings[0] and ours in warnings[0], log.read_text()[-3000:]
        assert count_on(server) == before  # A untouched
        if store != "memory":
            assert await count_in_b(env) == 1
    finally:
        server.stop()

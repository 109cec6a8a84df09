"""One ``memory http`` server and three stdio ``memory`` clients in auto mode, all real processes and the
real model: the clients use the server, see each other's writes, and lose nothing when it is killed."""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))

from processes import HttpServer, base_env, free_port, memory_command  # noqa: E402

from mcp_memory.config import Settings  # noqa: E402
from mcp_memory.service import open_service  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.anyio, pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("mcp_memory_sqlite_vec", "mcp_memory_onnx")),
    reason="the real stack (sqlite_vec store, onnx embedder) is not installed")]

CLIENTS, WRITES = 3, 30


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def call(client: Client, name: str, **arguments) -> dict:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def mode_of(client: Client) -> str:
    return (await call(client, "check_database_health"))["coordination_mode"]


def stdio_params(env: dict[str, str]) -> StdioServerParameters:
    cmd = memory_command(hash_embedder=False)
    return StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)


@pytest.mark.parametrize("auto_start", [True, False], ids=["auto-start", "no-auto-start"])
async def test_stdio_clients_share_one_http_server_and_survive_its_death(tmp_path, auto_start):
    """With auto-start one client becomes the new server; without it every client goes direct."""
    db, port = tmp_path / "shared.db", free_port()
    env = base_env(db, port, hash_embedder=False, MCP_MEMORY_HTTP_AUTO_START=str(auto_start).lower(),
                   MCP_MEMORY_WARMUP="true")
    server = HttpServer(env, tmp_path / "server.log", hash_embedder=False).wait_ready()
    acked: dict[int, list[str]] = {i: [] for i in range(CLIENTS)}
    try:
        async with contextlib.AsyncExitStack() as stack:
            logs = [stack.enter_context(open(tmp_path / f"client{i}.log", "w")) for i in range(CLIENTS)]
            clients = [await stack.enter_async_context(
                Client(stdio_client(stdio_params(env), errlog=logs[i]), read_timeout_seconds=300))
                for i in range(CLIENTS)]

            # 1. every client detected the server
            assert [await mode_of(c) for c in clients] == ["http_client"] * CLIENTS
            printed = subprocess.run([*memory_command(False), "coordination"], env=env, capture_output=True,
                                     text=True, timeout=120)
            assert printed.stdout.startswith("http_client:"), printed.stderr
            assert "serves the configured store" in printed.stdout

            # 2. writes from each are visible to the others (by tag, by meaning)
            topics = ["the staging database moved to PostgreSQL 16", "the team lunch is on Fridays at noon",
                      "the VPN certificate expires in March"]
            for i, client in enumerate(clients):
                await call(client, "store_memory", content=f"Client {i} noted that {topics[i]}", tags=[f"c{i}"])
            for i, client in enumerate(clients):
                other = (i + 1) % CLIENTS
                found = await call(client, "search_by_tag", tags=[f"c{other}"])
                assert [m["content"] for m in found["memories"]] == [f"Client {other} noted that {topics[other]}"]
                hits = await call(client, "retrieve_memory", query="when does the VPN certificate expire",
                                  n_results=1)
                assert hits["results"][0]["memory"]["content"].endswith(topics[2])

            # 3. kill the server while all three write; every acknowledged write must survive
            async def writer(i: int) -> None:
                for j in range(WRITES):
                    stored = await call(clients[i], "store_memory", tags=["run", f"run{i}"],
                                        content=f"run write {j} of client {i}: measurement {i * 1000 + j}")
                    assert stored["duplicate"] is False
                    acked[i].append(stored["content_hash"])

            async def killer() -> None:
                while sum(map(len, acked.values())) < CLIENTS * WRITES // 3:
                    await anyio.sleep(0.01)
                server.kill()

            with anyio.fail_after(600):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(killer)
                    for i in range(CLIENTS):
                        tg.start_soon(writer, i)

            modes = sorted([await mode_of(c) for c in clients])
            expected = ["http_client", "http_client", "http_server"] if auto_start else ["direct"] * CLIENTS
            assert modes == expected
            for client in clients:
                listed = await call(client, "list_memories", tag="run", page_size=100)
                assert listed["total"] == CLIENTS * WRITES
    finally:
        server.stop()

    service = await open_service(Settings().with_changes(MCP_MEMORY_SQLITE_PATH=str(db)), with_embedder=False)
    try:
        assert await service.count() == CLIENTS + CLIENTS * WRITES  # nothing lost, nothing twice
        for hashes in acked.values():
            assert len(hashes) == WRITES
            for h in hashes:
                await service.get(h)
    finally:
        await service.close()

"""Detection by the http plugin: client of a server of ours, server by auto-start, or direct (and why)."""

from __future__ import annotations

import socket

import anyio
import httpx2
import pytest

from mcp_memory.config import Settings
from mcp_memory.coordination import detect, direct_opener
from mcp_memory_http.coordinate import decide, port_free
from mcp_memory_http.failover import FailoverService
from mcp_memory_http.server import ServingService
from processes import API_KEY

pytestmark = pytest.mark.anyio


def choose(settings: Settings):
    return decide(settings, direct_opener(settings))


async def test_disabled_means_direct(local_plugins, local_settings):
    chosen = detect(local_settings.with_changes(http_enabled=False))  # the http plugin answers before wal
    assert chosen.mode == "direct" and "MCP_HTTP_ENABLED=false" in chosen.reason


async def test_nothing_listening_and_no_auto_start_means_direct(local_settings):
    chosen = choose(local_settings)
    assert chosen.mode == "direct" and "MCP_MEMORY_HTTP_AUTO_START is off" in chosen.reason


async def test_a_server_of_ours_makes_a_client(server, local_plugins, tmp_path):
    chosen = detect(Settings(http_port=server.port, sqlite_path=tmp_path / "unused.db"))
    assert chosen.mode == "http_client" and "mcp-memory server 0.1.0" in chosen.reason
    service = await chosen.open()
    try:
        assert isinstance(service, FailoverService) and service.coordination_mode == "http_client"
        assert not (await service.store("written through detection")).duplicate
        assert (await service.health())["coordination_mode"] == "http_client"
    finally:
        await service.close()
    assert not (tmp_path / "unused.db").exists()  # a client opens no store


async def test_another_http_service_on_the_port_means_direct(local_settings, json_server):
    port = json_server({"status": "ok"})
    chosen = choose(local_settings.with_changes(http_port=port, http_auto_start=True))
    assert chosen.mode == "direct" and "not an mcp-memory server" in chosen.reason


async def test_a_silent_program_holding_the_port_means_direct(local_settings):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        assert not port_free("127.0.0.1", port)
        chosen = choose(local_settings.with_changes(http_port=port, http_auto_start=True))
        assert chosen.mode == "direct" and "taken by another program" in chosen.reason


async def test_a_server_that_wants_a_key_we_lack_means_direct(keyed_server, local_settings):
    chosen = choose(local_settings.with_changes(http_port=keyed_server.port))
    assert chosen.mode == "direct" and "requires an API key" in chosen.reason
    chosen = choose(local_settings.with_changes(http_port=keyed_server.port, api_key=API_KEY))
    assert chosen.mode == "http_client"


async def test_auto_start_refuses_an_open_bind_without_key(local_settings):
    chosen = choose(local_settings.with_changes(http_auto_start=True, http_host="0.0.0.0"))
    assert chosen.mode == "direct" and "auto-start refused" in chosen.reason


async def test_auto_start_serves_http_from_this_process(local_plugins, local_settings):
    settings = local_settings.with_changes(http_auto_start=True)
    chosen = choose(settings)
    assert chosen.mode == "http_server" and "auto_start".upper() in chosen.reason.upper()
    service = await chosen.open()
    url = f"http://127.0.0.1:{settings.http_port}"
    try:
        assert isinstance(service, ServingService) and service.coordination_mode == "http_server"
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            assert (await http.get("/api/health")).json()["coordination_mode"] == "http_server"
            created = (await http.post("/api/memories", json={"content": "stored by a client of the server"})).json()
        assert (await service.get(created["content_hash"])).content == "stored by a client of the server"
        assert (await service.store("stored by the serving process itself")).duplicate is False
        # what the next process decides (probing from a thread: this event loop serves the answer)
        assert (await anyio.to_thread.run_sync(choose, settings)).mode == "http_client"
    finally:
        await service.close()
    assert port_free("127.0.0.1", settings.http_port)  # closing the service stopped the server


async def test_two_processes_racing_for_the_port_make_one_server(local_plugins, local_settings):
    settings = local_settings.with_changes(http_auto_start=True)
    first, second = choose(settings), choose(settings)
    assert first.mode == second.mode == "http_server"  # both saw a free port
    opened: list = []

    async def open_one(chosen) -> None:
        opened.append(await chosen.open())

    async with anyio.create_task_group() as tg:
        tg.start_soon(open_one, first)
        tg.start_soon(open_one, second)
    try:
        assert sorted(s.coordination_mode for s in opened) == ["http_client", "http_server"]
        client = next(s for s in opened if s.coordination_mode == "http_client")
        assert not (await client.store("the loser of the race is a client")).duplicate
    finally:
        for service in sorted(opened, key=lambda s: s.coordination_mode):  # the client first
            await service.close()

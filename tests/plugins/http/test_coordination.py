"""Detection by the http plugin: client of a server of ours that serves the configured store, server by auto-start,
or direct (and why)."""

from __future__ import annotations

import socket

import anyio
import httpx2
import pytest
from http_support import settings_for
from processes import API_KEY, free_port

from mcp_memory.coordination import detect, direct_opener
from mcp_memory_http.coordinate import decide, port_free
from mcp_memory_http.failover import FailoverService
from mcp_memory_http.identity import StoreIdentity, configured_store
from mcp_memory_http.server import ServingService

pytestmark = pytest.mark.anyio


def choose(settings):
    return decide(settings, direct_opener(settings))


def same_store_as(server, **variables):
    """Settings of a client configured for the server's own store."""
    return settings_for(server.port, server.env["MCP_MEMORY_TEST_STORE"], **variables)


async def test_disabled_means_direct(local_plugins, local_settings):
    chosen = detect(local_settings.with_changes(MCP_HTTP_ENABLED="false"))  # the http plugin answers first
    assert chosen.mode == "direct" and "MCP_HTTP_ENABLED=false" in chosen.reason


async def test_nothing_listening_and_no_auto_start_means_direct(local_plugins, local_settings):
    chosen = choose(local_settings)
    assert chosen.mode == "direct" and "MCP_MEMORY_HTTP_AUTO_START is off" in chosen.reason


async def test_a_server_of_ours_serving_our_store_makes_a_client(server, local_plugins):
    chosen = detect(same_store_as(server))
    assert chosen.mode == "http_client" and "mcp-memory server 0.1.0" in chosen.reason
    assert "serves the configured store" in chosen.reason
    service = await chosen.open()
    try:
        assert isinstance(service, FailoverService) and service.coordination_mode == "http_client"
        assert not (await service.store("written through detection")).duplicate
        assert (await service.health())["coordination_mode"] == "http_client"
    finally:
        await service.close()
    local = local_plugins.registry.storages["memory"].factory(same_store_as(server), None)
    assert await local.count() == 0  # the same store name in this process got nothing: the server did the write


async def test_a_server_of_another_store_is_not_used(server, local_plugins, tmp_path, capsys):
    """A process only ever uses the store it is configured for: one warning names both stores."""
    settings = settings_for(server.port, tmp_path / "B")
    capsys.readouterr()
    chosen = choose(settings)
    ours = f"memory at memory:{tmp_path / 'B'}"
    theirs = f"memory at memory:{server.env['MCP_MEMORY_TEST_STORE']}"
    assert chosen.mode == "direct" and ours in chosen.reason and theirs in chosen.reason
    warnings = [line for line in capsys.readouterr().err.splitlines() if "level='warning'" in line]
    assert len(warnings) == 1 and ours in warnings[0] and theirs in warnings[0], warnings
    service = await chosen.open()
    try:
        assert service.coordination_mode == "direct"
        await service.store("written to B, never to the server's A")
    finally:
        await service.close()
    found = httpx2.post(f"{server.url}/api/search/exact", json={"content": "written to B, never to the server's A"})
    assert found.json() == {"memory": None}


async def test_another_backend_is_another_store(server, local_plugins, tmp_path):
    """The client's store plugin is not installed here: the backend names alone are compared."""
    settings = settings_for(server.port, tmp_path / "B", backend="pgvector")
    assert configured_store(settings) == StoreIdentity("pgvector")
    chosen = choose(settings)
    assert chosen.mode == "direct" and "this process is configured for pgvector (location not known)" in chosen.reason


def test_store_identities_compare_what_both_sides_know():
    a = StoreIdentity("sqlite_vec", "/data/a.db", "/data/a.db")
    assert a.same_store(StoreIdentity("sqlite_vec", "a.db", "/data/a.db"))  # resolved paths decide
    assert not a.same_store(StoreIdentity("sqlite_vec", "/data/b.db", "/data/b.db"))
    assert a.same_store(StoreIdentity("sqlite_vec"))  # a side that cannot locate its store: backends only
    assert not a.same_store(StoreIdentity("chroma"))
    dsn = StoreIdentity("pgvector", "postgresql://ana:***@db:5432/memory")
    assert dsn.same_store(StoreIdentity("pgvector", "postgresql://ana:***@db:5432/memory"))
    assert not dsn.same_store(StoreIdentity("pgvector", "postgresql://ana:***@db:5432/other"))
    assert StoreIdentity.from_dict(a.to_dict()) == a and StoreIdentity.from_dict({"location": "x"}) is None


async def test_another_http_service_on_the_port_means_direct(local_plugins, local_settings, json_server):
    port = json_server({"status": "ok"})
    chosen = choose(local_settings.with_changes(MCP_HTTP_PORT=str(port), MCP_MEMORY_HTTP_AUTO_START="true"))
    assert chosen.mode == "direct" and "not an mcp-memory server" in chosen.reason


async def test_a_server_that_names_no_store_is_not_used(local_plugins, local_settings, json_server):
    port = json_server({"service": "mcp-memory", "version": "0.0.9", "coordination_mode": "http_server"})
    chosen = choose(local_settings.with_changes(MCP_HTTP_PORT=str(port)))
    assert chosen.mode == "direct" and "serves a store it does not name" in chosen.reason


async def test_a_silent_program_holding_the_port_means_direct(local_plugins, local_settings):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        assert not port_free("127.0.0.1", port)
        chosen = choose(local_settings.with_changes(MCP_HTTP_PORT=str(port), MCP_MEMORY_HTTP_AUTO_START="true"))
        assert chosen.mode == "direct" and "taken by another program" in chosen.reason


async def test_a_server_that_wants_a_key_we_lack_means_direct(keyed_server, local_plugins):
    chosen = choose(same_store_as(keyed_server))
    assert chosen.mode == "direct" and "requires an API key" in chosen.reason
    chosen = choose(same_store_as(keyed_server, MCP_API_KEY=API_KEY))
    assert chosen.mode == "http_client"


async def test_auto_start_refuses_an_open_bind_without_key(local_plugins, local_settings):
    chosen = choose(local_settings.with_changes(MCP_MEMORY_HTTP_AUTO_START="true", MCP_HTTP_HOST="0.0.0.0"))
    assert chosen.mode == "direct" and "auto-start refused" in chosen.reason


async def test_auto_start_serves_http_from_this_process(local_plugins, local_settings):
    settings = local_settings.with_changes(MCP_MEMORY_HTTP_AUTO_START="true")
    port = int(settings.values["MCP_HTTP_PORT"])
    chosen = choose(settings)
    assert chosen.mode == "http_server" and "MCP_MEMORY_HTTP_AUTO_START is on" in chosen.reason
    service = await chosen.open()
    url = f"http://127.0.0.1:{port}"
    try:
        assert isinstance(service, ServingService) and service.coordination_mode == "http_server"
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            health = (await http.get("/api/health")).json()
            assert health["coordination_mode"] == "http_server" and health["store"] == configured_store(
                settings).to_dict()
            created = (await http.post("/api/memories", json={"content": "stored by a client of the server"})).json()
        assert (await service.get(created["content_hash"])).content == "stored by a client of the server"
        assert (await service.store("stored by the serving process itself")).duplicate is False
        # what the next process decides (probing from a thread: this event loop serves the answer)
        assert (await anyio.to_thread.run_sync(choose, settings)).mode == "http_client"
    finally:
        await service.close()
    assert port_free("127.0.0.1", port)  # closing the service stopped the server


async def test_two_processes_racing_for_the_port_make_one_server(local_plugins, local_settings):
    settings = local_settings.with_changes(MCP_MEMORY_HTTP_AUTO_START="true")
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


async def test_the_loser_of_a_race_against_another_store_goes_direct(local_plugins, tmp_path):
    port = free_port()
    mine, theirs = settings_for(port, tmp_path / "mine"), settings_for(port, tmp_path / "theirs")
    auto = {"MCP_MEMORY_HTTP_AUTO_START": "true"}
    server_side = await choose(theirs.with_changes(**auto)).open()
    try:
        assert server_side.coordination_mode == "http_server"
        late = await anyio.to_thread.run_sync(choose, mine.with_changes(**auto))
        assert late.mode == "direct" and "not using that server" in late.reason
    finally:
        await server_side.close()


async def test_a_server_that_took_the_port_just_after_the_probe_is_used(local_plugins, local_settings, monkeypatch):
    """The race of several clients when the server dies: one binds the port between another's probe and its own
    bind check; the other waits for it to answer and becomes its client instead of going direct."""
    from mcp_memory_http import coordinate

    settings = local_settings.with_changes(MCP_MEMORY_HTTP_AUTO_START="true")
    answers = iter([coordinate.Probe("none", "nothing answers (ConnectError)"),
                    coordinate.Probe("ours", "an mcp-memory server answers", "http://x", configured_store(settings))])
    monkeypatch.setattr(coordinate, "probe", lambda *_args, **_kw: next(answers))
    monkeypatch.setattr(coordinate, "port_free", lambda *_args: False)
    chosen = decide(settings, direct_opener(settings))
    assert chosen.mode == "http_client" and "serves the configured store" in chosen.reason

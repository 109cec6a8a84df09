"""Resource limits: MCP_MEMORY_MAX_RESULTS caps every result list (service, MCP tool, REST) and
MCP_MEMORY_MAX_CONTENT_LENGTH bounds what one memory may hold; a million results asked is not a million."""

from __future__ import annotations

import subprocess

import httpx2
import pytest
from anyio.from_thread import start_blocking_portal
from fuzzing import open_sqlite_service
from mcp import Client
from processes import HttpServer, base_env, free_port, memory_command

from mcp_memory.config import Settings
from mcp_memory.errors import ConfigError, InvalidInputError
from mcp_memory.mcp_server import build_server

CAP, LIMIT, STORED, ASKED = 25, 2000, 60, 1_000_000


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A sqlite_vec service holding more memories than the cap, with a spy on what the store is asked."""
    with start_blocking_portal() as portal:
        service = open_sqlite_service(portal, tmp_path_factory.mktemp("limits") / "m.db", max_results=CAP,
                                      max_content_length=LIMIT)
        for i in range(STORED):
            portal.call(lambda i=i: service.store(f"capped memory number {i} about limits", tags=["many"]))
        asked: list[int] = []
        retrieve = service.storage.retrieve

        async def spy(vector, k, *args, **kwargs):
            asked.append(k)
            return await retrieve(vector, k, *args, **kwargs)

        service.storage.retrieve = spy
        yield portal, service, asked
        portal.call(service.close)


def test_service_caps_every_list(filled, figure):
    portal, service, asked = filled
    for mode in ("semantic", "lexical", "hybrid"):
        found = portal.call(lambda m=mode: service.retrieve("capped memory limits", n_results=ASKED, mode=m))
        assert 0 < len(found) <= CAP
    assert asked and max(asked) < 1000, f"the store was asked for {max(asked)} neighbours"
    recalled = portal.call(lambda: service.recall("capped memory this week", n_results=ASKED))
    assert len(recalled.results) <= CAP
    assert len(portal.call(lambda: service.search_by_tag(["many"], limit=ASKED))) == CAP
    assert len(portal.call(lambda: service.search_by_tag(["many"]))) == CAP
    assert len(portal.call(lambda: service.search_by_time(None, None, limit=ASKED))) == CAP
    page = portal.call(lambda: service.list_memories(page=1, page_size=ASKED))
    assert len(page.memories) == CAP and page.page_size == CAP and page.total == STORED and page.has_more
    with pytest.raises(InvalidInputError, match="MCP_MEMORY_MAX_CONTENT_LENGTH"):
        portal.call(lambda: service.store("y" * (LIMIT + 1)))
    with pytest.raises(InvalidInputError, match="MCP_MEMORY_MAX_CONTENT_LENGTH"):
        portal.call(lambda: service.store("fine", metadata={"blob": "z" * LIMIT}))
    figure(f"limits service asked={ASKED:,} got<={CAP} (retrieve x3 modes, recall, by-tag, by-time, list) "
           f"largest_store_k={max(asked)} content_limit={LIMIT} enforced")


def test_mcp_tools_cap_results(filled):
    portal, service, _ = filled

    async def get_service():
        return service

    with portal.wrap_async_context_manager(Client(build_server(get_service, service.settings))) as client:
        for name, arguments, key in [
            ("retrieve_memory", {"query": "capped memory", "n_results": ASKED}, "results"),
            ("recall_memory", {"query": "capped memory this week", "n_results": ASKED}, "results"),
            ("list_memories", {"page_size": ASKED}, "memories"),
            ("search_by_tag", {"tags": ["many"]}, "memories"),
        ]:
            result = portal.call(client.call_tool, name, arguments)
            assert not result.is_error, result.content[0].text
            assert 0 < len(result.structured_content[key]) <= CAP, name
        result = portal.call(client.call_tool, "store_memory", {"content": "q" * (LIMIT + 1)})
        assert result.is_error and "MCP_MEMORY_MAX_CONTENT_LENGTH" in result.content[0].text


def test_rest_api_caps_results_and_content(tmp_path, figure):
    env = base_env(tmp_path / "m.db", free_port(), store="memory", MCP_MEMORY_MAX_RESULTS=str(CAP),
                   MCP_MEMORY_MAX_CONTENT_LENGTH=str(LIMIT), MCP_MEMORY_DUPLICATE_THRESHOLD="off")
    server = HttpServer(env, tmp_path / "server.log").wait_ready()
    try:
        with httpx2.Client(base_url=server.url, timeout=60) as http:
            batch = [{"content": f"rest capped memory {i}", "tags": ["many"]} for i in range(STORED)]
            assert http.post("/api/memories/batch", json={"memories": batch}).status_code == 200
            answers = {
                "search": http.post("/api/search", json={"query": "rest capped memory", "n_results": ASKED}),
                "recall": http.post("/api/recall", json={"query": "rest capped this week", "n_results": ASKED}),
                "by-tag": http.post("/api/search/by-tag", json={"tags": ["many"], "limit": ASKED}),
                "by-time": http.post("/api/search/by-time", json={"limit": ASKED}),
                "list": http.get("/api/memories", params={"page_size": ASKED}),
            }
            for name, response in answers.items():
                assert response.status_code == 200, (name, response.text)
                body = response.json()
                items = body.get("results", body.get("memories"))
                assert 0 < len(items) <= CAP, name
            too_big = http.post("/api/memories", json={"content": "w" * (LIMIT + 1)})
            assert too_big.status_code == 400 and "MCP_MEMORY_MAX_CONTENT_LENGTH" in too_big.json()["detail"]
            huge_batch = http.post("/api/memories/batch", json={"memories": [{"content": str(i)} for i in range(1001)]})
            assert huge_batch.status_code == 422
    finally:
        assert server.stop() == 0
    figure(f"limits rest asked={ASKED:,} got<={CAP} on 5 routes; content>{LIMIT} -> 400; batch>1000 -> 422")


@pytest.mark.parametrize("name,value", [("MCP_MEMORY_MAX_RESULTS", "0"), ("MCP_MEMORY_MAX_RESULTS", "lots"),
                                        ("MCP_MEMORY_MAX_CONTENT_LENGTH", "-5")])
def test_bad_limit_settings_are_clear_errors(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
    done = subprocess.run([*memory_command(False), "stats"], env=base_env(tmp_path / "m.db", free_port(), False,
                          **{name: value}), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and f"configuration error: {name}" in done.stderr
    assert not (tmp_path / "m.db").exists()

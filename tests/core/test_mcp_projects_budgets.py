"""Projects from the MCP client's roots, answer budgets, and the ``current`` tool set, through the SDK client."""

import json
from pathlib import Path

import pytest
from mcp import Client, types

from mcp_memory.config import Settings
from mcp_memory.mcp_server import build_server
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder, LexicalInMemoryStorage

pytestmark = pytest.mark.anyio

#: the size of tools/list in bytes (reported in docs/retrieval.md); a guard against schema bloat
TOOLS_LIST_LIMIT = {"classic": 27_000, "current": 18_500}


@pytest.fixture(autouse=True)
def outside_git(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MCP_MEMORY_PROJECT", raising=False)


@pytest.fixture
async def service(settings):
    svc = MemoryService(LexicalInMemoryStorage(), HashEmbedder(), settings)
    await svc.initialize()
    return svc


def roots(*folders: Path):
    async def list_roots(context):
        return types.ListRootsResult(roots=[types.Root(uri=folder.as_uri(), name=folder.name) for folder in folders])
    return list_roots


def server_for(service, settings, **changes):
    async def get_service():
        return service
    return build_server(get_service, settings.with_changes(**changes))


async def call(client, name, **arguments):
    res = await client.call_tool(name, arguments)
    assert not res.is_error, res.content[0].text
    return res.structured_content, res.content[0].text


async def test_the_project_comes_from_the_clients_roots(service, settings, tmp_path):
    """Roots travel in handshake-era protocol versions (2024-11-05 to 2025-11-25, what clients speak today); the
    2026-07-28 version deprecates them and has no server-to-client request, so those sessions fall back to the
    git folder of the working directory."""
    billing, web = tmp_path / "billing-api", tmp_path / "web"
    (billing / "src").mkdir(parents=True)
    (billing / ".git").mkdir()
    web.mkdir()
    server = server_for(service, settings)
    async with Client(server, list_roots_callback=roots(billing / "src"), mode="legacy") as a:
        stored, text = await call(a, "store_memory", content="invoices are sent on the first monday")
        assert stored["memory"].get("project") == "billing-api" and "in project billing-api" in text
        await call(a, "store_memory", content="the user writes British English", project="global")
    async with Client(server, list_roots_callback=roots(web), mode="legacy") as b:
        await call(b, "store_memory", content="the web app is built with vite")
        data, _ = await call(b, "retrieve_memory", query="invoices monday british vite", min_relevance=0.0)
        assert {r["memory"]["content"] for r in data["results"]} == {"the web app is built with vite",
                                                                    "the user writes British English"}
        assert data["scope"] == "project web and global memories"
        data, _ = await call(b, "retrieve_memory", query="invoices", project="billing-api", min_relevance=0.0)
        assert "invoices are sent on the first monday" in {r["memory"]["content"] for r in data["results"]}
        data, _ = await call(b, "list_memories", all_projects=True)
        assert data["total"] == 3
    async with Client(server) as no_roots:  # no roots, no git folder here: every project
        data, _ = await call(no_roots, "list_memories")
        assert data["total"] == 3 and data["scope"] == "all projects"
    async with Client(server_for(service, settings, project="web"), list_roots_callback=roots(billing),
                      mode="legacy") as c:
        data, _ = await call(c, "list_memories")  # MCP_MEMORY_PROJECT wins over the roots
        assert data["total"] == 2


async def test_the_roots_are_asked_once_per_connection(service, settings, tmp_path):
    """The SDK builds a new session object for every request: the project is cached per client connection, so a
    client is not asked for its roots again on every tool call."""
    asked: list[str] = []
    answer = roots(tmp_path / "billing-api")

    async def counting(context):
        asked.append("roots/list")
        return await answer(context)

    (tmp_path / "billing-api").mkdir()
    server = server_for(service, settings)
    for _ in range(2):  # a second client connection asks again
        async with Client(server, list_roots_callback=counting, mode="legacy") as client:
            for _ in range(3):
                data, _ = await call(client, "list_memories")
                assert data["scope"] == "project billing-api and global memories"
    assert asked == ["roots/list"] * 2


async def test_every_memory_listing_tool_respects_its_budget(settings):
    # the hash embedder's scores are low: no floor, so that every tool has more than its budget to fit
    settings = settings.with_changes(min_relevance=0.0)
    service = MemoryService(LexicalInMemoryStorage(), HashEmbedder(), settings)
    await service.initialize()
    long_text = "The deployment checklist says " + " ".join(f"step{i} must pass" for i in range(50))
    await service.store(long_text, tags=["ops"])
    for i in range(40):
        await service.store(f"ops note {i}: rotate the key number {i} " + "padding words " * 25, tags=["ops"])
    async with Client(server_for(service, settings)) as client:
        for name, arguments in (("retrieve_memory", {"query": "deployment checklist steps", "n_results": 30}),
                                ("recall_memory", {"query": "deployment checklist", "n_results": 30}),
                                ("search_by_tag", {"tags": "ops", "limit": 41}),
                                ("list_memories", {"page_size": 41, "compact": False})):
            for budget in (150, 600):
                data, text = await call(client, name, max_tokens=budget, min_relevance=0.0, **arguments) \
                    if name == "retrieve_memory" else await call(client, name, max_tokens=budget, **arguments)
                assert len(text) <= budget * 4 + 600, (name, budget, len(text))
                memories = data.get("memories") or [r["memory"] for r in data.get("results", [])]
                assert memories and sum(len(m["content"]) for m in memories) <= budget * 4, (name, budget)
                assert "more not shown" in data["note"] or "cut to fit" in data["note"], (name, data["note"])
        data, text = await call(client, "retrieve_memory", query="deployment checklist", n_results=1,
                                min_relevance=0.0, max_tokens=100)
        cut = data["results"][0]["memory"]["content"]
        assert "more characters: get_memory" in cut and len(cut) < len(long_text)
        full, _ = await call(client, "get_memory", content_hash=data["results"][0]["memory"]["content_hash"][:12])
        assert full["memory"]["content"] == long_text
        data, text = await call(client, "search_by_tag", tags="ops", compact=True)
        assert data["total_results"] == 10  # the default limit
        assert all("\n" not in m["content"] and len(m["content"]) <= 142 for m in data["memories"])


async def test_a_typical_answer_stays_under_about_1500_tokens(service, settings):
    for i in range(30):
        await service.store(f"decision {i}: " + "we agreed on the reasons listed here " * 20)
    async with Client(server_for(service, settings)) as client:
        res = await client.call_tool("retrieve_memory", {"query": "decision reasons", "n_results": 10})
        size = len(res.content[0].text) + len(json.dumps(res.structured_content))
        assert size / 4 / 2 < 1500  # text and structured content each under ~1,500 tokens


@pytest.mark.parametrize("tool_set", ["classic", "current"])
async def test_tools_list_stays_small(service, settings, tool_set):
    async with Client(server_for(service, settings, tool_set=tool_set)) as client:
        listed = await client.list_tools()
        size = len(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]))
        assert size < TOOLS_LIST_LIMIT[tool_set], size
        for tool in listed.tools:
            assert "title" not in json.dumps(tool.input_schema), tool.name


async def test_the_current_tool_set_speaks_the_reference_names(service, settings):
    async with Client(server_for(service, settings, tool_set="current")) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"memory_store", "memory_search", "memory_list", "memory_get", "memory_delete",
                         "memory_update", "memory_cleanup", "memory_trash", "memory_health", "memory_stats",
                         "memory_ingest"}
        stored, text = await call(client, "memory_store", content="Redis runs on port 6380",
                                  metadata={"tags": "infra,redis", "type": "fact", "owner": "ops"})
        h = stored["content_hash"]
        assert stored["memory"]["tags"] == ["infra", "redis"] and stored["memory"]["memory_type"] == "fact"
        await call(client, "memory_store", content="Postgres runs on port 5433", tags=["infra"])
        data, _ = await call(client, "memory_search", query="which port does redis use", limit=1)
        assert data["results"][0]["memory"]["content_hash"] == h
        data, _ = await call(client, "memory_search", query="6380", mode="exact")
        assert data["results"][0]["memory"]["content_hash"] == h
        data, _ = await call(client, "memory_search", query="port", time_expr="today")
        assert data["time_expression"] == "today" and len(data["results"]) == 2
        data, _ = await call(client, "memory_search", tags=["infra", "redis"], tag_match="all")
        assert [r["memory"]["content"] for r in data["results"]] == ["Redis runs on port 6380"]
        data, _ = await call(client, "memory_search", after="2000-01-01")
        assert data["total_results"] == 2
        data, _ = await call(client, "memory_list", tags=["redis"])
        assert data["total"] == 1
        data, text = await call(client, "memory_update", content_hash=h, updates={"tags": ["redis"], "env": "prod"})
        assert data["memory"]["tags"] == ["redis"] and data["memory"]["metadata"]["env"] == "prod"
        data, text = await call(client, "memory_delete", tags=["infra"], dry_run=True)
        assert data["trashed_count"] == 0 and "Dry run: 1 memory" in text
        data, _ = await call(client, "memory_delete", content_hash=h[:12])
        assert data["trashed_count"] == 1
        data, _ = await call(client, "memory_trash", action="list")
        assert data["count"] == 1
        data, text = await call(client, "memory_stats")
        assert data["stats"]["total_memories"] == 1 and data["projects"] == [{"project": None, "count": 1}]
        data, _ = await call(client, "memory_health")
        assert data["status"] == "healthy"
        data, _ = await call(client, "memory_cleanup")
        assert data["trashed_count"] == 0
        res = await client.call_tool("memory_search", {})
        assert res.is_error and "give a query" in res.content[0].text
        res = await client.call_tool("memory_delete", {})
        assert res.is_error and "tags and/or a time range" in res.content[0].text


async def test_near_duplicates_are_named_and_can_be_stored_anyway(settings):
    service = MemoryService(LexicalInMemoryStorage(), HashEmbedder(), settings.with_changes(duplicate_threshold=0.9))
    await service.initialize()
    async with Client(server_for(service, settings.with_changes(duplicate_threshold=0.9))) as client:
        first, _ = await call(client, "store_memory", content="the API rate limit is 100 requests per minute")
        near, text = await call(client, "store_memory", content="The API rate limit is 100 requests per minute!")
        assert near["near_duplicate"] and not near["success"] and first["content_hash"][:12] in text
        assert "store_anyway" in text
        forced, _ = await call(client, "store_memory", content="The API rate limit is 100 requests per minute!",
                               store_anyway=True)
        assert forced["success"] and not forced["near_duplicate"]


def test_settings_choose_the_tool_set():
    assert Settings.from_env({"MCP_MEMORY_TOOL_SET": "current"}).tool_set == "current"

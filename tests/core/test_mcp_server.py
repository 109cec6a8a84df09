"""The MCP tools and resources, in process through the SDK client, over the in-memory store and hash embedder."""

import json
import time

import anyio
import pytest
from mcp import Client

from mcp_memory.config import Settings
from mcp_memory.errors import StorageError
from mcp_memory.mcp_server import LazyService, build_server
from mcp_memory.models import Memory
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder, InMemoryStorage

pytestmark = pytest.mark.anyio

DAY = 86400.0
READ_ONLY = {"retrieve_memory", "recall_memory", "search_by_tag", "exact_match_retrieve", "list_memories",
             "get_memory", "check_database_health"}
DESTRUCTIVE = {"delete_memory", "delete_by_tag", "update_memory", "update_memory_metadata", "cleanup_duplicates",
               "memory_trash"}
ALL_TOOLS = READ_ONLY | DESTRUCTIVE | {"store_memory", "ingest_document"}


@pytest.fixture
async def service(settings):
    svc = MemoryService(InMemoryStorage(), HashEmbedder(), settings)
    await svc.initialize()
    return svc


@pytest.fixture(autouse=True)
def outside_git(tmp_path, monkeypatch):
    """Sessions without roots take their project from the working directory: use one outside any git folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def client(service, settings):
    async def get_service():
        return service

    async with Client(build_server(get_service, settings)) as c:
        await c.list_tools()  # the client caches output schemas and validates every result against them
        yield c


async def call(client, name, **arguments):
    res = await client.call_tool(name, arguments)
    assert not res.is_error, res.content[0].text
    assert res.content[0].type == "text" and res.content[0].text
    return res.structured_content, res.content[0].text


async def call_error(client, name, **arguments):
    res = await client.call_tool(name, arguments)
    assert res.is_error, res.structured_content
    return res.content[0].text


# -- listing ---------------------------------------------------------------------------------------
async def test_tools_are_listed_with_schemas_annotations_and_descriptions(client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == ALL_TOOLS
    for name, tool in tools.items():
        assert tool.output_schema and tool.output_schema["type"] == "object", name
        assert 40 < len(tool.description) < 600, name
        assert tool.annotations.read_only_hint is (name in READ_ONLY), name
        assert tool.annotations.destructive_hint is (name in DESTRUCTIVE), name
        assert tool.description == tool.description.strip() and "\n    " not in tool.description, name
    assert set(tools["store_memory"].input_schema["required"]) == {"content"}
    assert set(tools["store_memory"].input_schema["properties"]) == {"content", "tags", "memory_type", "metadata",
                                                                      "project", "store_anyway"}
    assert set(tools["retrieve_memory"].input_schema["properties"]) == {
        "query", "n_results", "min_relevance", "tags", "memory_type", "mode", "project", "all_projects",
        "max_tokens", "compact"}
    assert set(tools["list_memories"].input_schema["properties"]) == {
        "page", "page_size", "tag", "memory_type", "project", "all_projects", "max_tokens", "compact"}
    assert "last week" in tools["recall_memory"].description + json.dumps(tools["recall_memory"].input_schema)
    assert tools["retrieve_memory"].description.startswith("Before answering anything about the user's past")
    assert "Semantic search" not in tools["retrieve_memory"].description


async def test_initialize_and_list_do_not_open_the_service():
    opened = []

    async def get_service():
        opened.append(1)
        raise StorageError("store unavailable: fix the path")

    async with Client(build_server(get_service, Settings())) as c:
        assert len((await c.list_tools()).tools) == 15
        assert len((await c.list_resources()).resources) == 3
        assert opened == []
        res = await c.call_tool("list_memories", {})
        assert res.is_error and "store unavailable: fix the path" in res.content[0].text


# -- each tool -------------------------------------------------------------------------------------
async def test_store_then_duplicate(client):
    data, text = await call(client, "store_memory", content="The user prefers green tea", tags=["Drink", "pref"],
                            memory_type="preference", metadata={"source": "chat"})
    assert data["duplicate"] is False and "Stored" in text
    assert data["memory"]["tags"] == ["drink", "pref"] and data["memory"]["metadata"] == {"source": "chat"}
    again, text = await call(client, "store_memory", content="  the user prefers GREEN tea ")
    assert again["duplicate"] is True and again["content_hash"] == data["content_hash"]
    assert "Duplicate" in text and data["content_hash"][:12] in text


async def test_store_accepts_comma_separated_tags_and_legacy_metadata_tags(client):
    data, _ = await call(client, "store_memory", content="one", tags="a, b,a")
    assert data["memory"]["tags"] == ["a", "b"]
    data, _ = await call(client, "store_memory", content="two", metadata={"tags": "x,y", "type": "note", "k": 1})
    assert data["memory"]["tags"] == ["x", "y"]
    assert data["memory"]["memory_type"] == "note" and data["memory"]["metadata"] == {"k": 1}


async def test_retrieve_filters_and_scores(client):
    await call(client, "store_memory", content="green tea in the morning", tags="drink")
    await call(client, "store_memory", content="green tea with the team", tags="work", memory_type="event")
    await call(client, "store_memory", content="the deploy script lives in ops")
    data, text = await call(client, "retrieve_memory", query="green tea", n_results=2)
    assert data["total_results"] == 2 and all("green tea" in r["memory"]["content"] for r in data["results"])
    scores = [r["relevance_score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True) and "green tea" in text
    data, _ = await call(client, "retrieve_memory", query="green tea", tags="work")
    assert [r["memory"]["content"] for r in data["results"]] == ["green tea with the team"]
    data, _ = await call(client, "retrieve_memory", query="green tea", memory_type="event")
    assert [r["memory"]["tags"] for r in data["results"]] == [["work"]]
    data, text = await call(client, "retrieve_memory", query="green tea", min_relevance=1.0)
    assert data["results"] == [] and "No memory is relevant" in text


async def test_recall_by_time_expression(client, service):
    now = time.time()
    noon_two_days_ago = now - now % DAY - 2 * DAY + DAY / 2  # "2 days ago" is that calendar day (UTC)
    await service.store("we chose postgres for the api", created_at=noon_two_days_ago)
    await service.store("lunch was pizza", created_at=noon_two_days_ago + 60)
    await service.store("old note about postgres", created_at=1579046400.0)  # 2020-01-15
    await service.store("postgres upgrade today", created_at=now)
    data, text = await call(client, "recall_memory", query="2 days ago")
    assert {r["memory"]["content"] for r in data["results"]} == {"we chose postgres for the api", "lunch was pizza"}
    assert data["time_expression"] == "2 days ago" and data["semantic_query"] == ""
    data, _ = await call(client, "recall_memory", query="postgres 2 days ago", n_results=1)
    assert [r["memory"]["content"] for r in data["results"]] == ["we chose postgres for the api"]
    data, text = await call(client, "recall_memory", query="between 2020-01-01 and 2020-02-01")
    assert [r["memory"]["content"] for r in data["results"]] == ["old note about postgres"]
    assert data["start_iso"].startswith("2020-01-01") and "2020-01-01" in text
    data, text = await call(client, "recall_memory", query="between 2019-01-01 and 2019-02-01")
    assert data["results"] == [] and "No memories from 2019-01-01" in text
    data, _ = await call(client, "recall_memory", query="postgres", n_results=3)  # no time: semantic search
    assert data.get("time_expression") is None
    assert all("postgres" in r["memory"]["content"] for r in data["results"]) and data["total_results"] == 3


async def test_search_by_tag_any_and_all(client):
    await call(client, "store_memory", content="a and b", tags=["a", "b"])
    await call(client, "store_memory", content="only a", tags=["a"])
    await call(client, "store_memory", content="only c", tags=["c"])
    data, _ = await call(client, "search_by_tag", tags=["a", "c"])
    assert {m["content"] for m in data["memories"]} == {"a and b", "only a", "only c"}
    data, text = await call(client, "search_by_tag", tags="a,b", match_all=True)
    assert [m["content"] for m in data["memories"]] == ["a and b"] and data["match_all"] is True
    data, text = await call(client, "search_by_tag", tags=["nothing"])
    assert data["total_results"] == 0 and "No memories" in text


async def test_exact_match(client):
    stored, _ = await call(client, "store_memory", content="Exact Words Here")
    data, _ = await call(client, "exact_match_retrieve", content="exact words here ")
    assert data["found"] is True and data["memory"]["content_hash"] == stored["content_hash"]
    data, text = await call(client, "exact_match_retrieve", content="other words")
    assert data == {"found": False} and "No memory" in text


async def test_list_memories_pages_newest_first(client, service):
    for i in range(5):
        await service.store(f"memory number {i}", tags="even" if i % 2 == 0 else "odd", created_at=1.0e9 + i)
    data, text = await call(client, "list_memories", page=1, page_size=2)
    assert [m["content"] for m in data["memories"]] == ["memory number 4", "memory number 3"]
    assert (data["total"], data["total_pages"], data["has_more"]) == (5, 3, True) and "Page 1 of 3" in text
    data, _ = await call(client, "list_memories", page=3, page_size=2)
    assert [m["content"] for m in data["memories"]] == ["memory number 0"] and data["has_more"] is False
    data, _ = await call(client, "list_memories", tag="odd")
    assert [m["content"] for m in data["memories"]] == ["memory number 3", "memory number 1"]
    data, text = await call(client, "list_memories", page=9)
    assert data["memories"] == [] and "empty" in text


async def test_delete_memory_and_unknown_hash(client):
    stored, _ = await call(client, "store_memory", content="to be deleted")
    data, text = await call(client, "delete_memory", content_hash=stored["content_hash"][:10])
    assert data["success"] is True and data["trashed_count"] == 1 and "trash" in text and "restore" in text
    text = await call_error(client, "delete_memory", content_hash=stored["content_hash"])
    assert "no memory with content_hash" in text
    data, _ = await call(client, "exact_match_retrieve", content="to be deleted")
    assert data["found"] is False
    data, text = await call(client, "memory_trash", action="list")
    assert data["count"] == 1 and "to be deleted" in text
    data, _ = await call(client, "memory_trash", action="restore", content_hashes=[stored["content_hash"][:12]])
    assert data["count"] == 1
    data, _ = await call(client, "exact_match_retrieve", content="to be deleted")
    assert data["found"] is True


async def test_delete_by_tag_counts(client):
    await call(client, "store_memory", content="t1", tags="temp")
    await call(client, "store_memory", content="t2", tags="temp,x")
    await call(client, "store_memory", content="keep", tags="x")
    data, text = await call(client, "delete_by_tag", tags="temp")
    assert data["trashed_count"] == 2 and "2 memories" in text and "trash" in text
    data, _ = await call(client, "list_memories")
    assert [m["content"] for m in data["memories"]] == ["keep"]


async def test_update_memory_metadata(client):
    stored, _ = await call(client, "store_memory", content="project kickoff", tags="a",
                           metadata={"owner": "ann"})
    h = stored["content_hash"]
    data, text = await call(client, "update_memory_metadata", content_hash=h,
                            updates={"tags": "b,c", "memory_type": "event", "metadata": {"status": "done"},
                                     "priority": 2})
    m = data["memory"]
    assert m["tags"] == ["b", "c"] and m["memory_type"] == "event"
    assert m["metadata"] == {"owner": "ann", "status": "done", "priority": 2}
    assert m["content"] == "project kickoff" and m["created_at"] == stored["memory"]["created_at"]
    assert data["updated_fields"] == ["memory_type", "metadata", "tags"] and h[:12] in text
    assert "content_hash" in await call_error(client, "update_memory_metadata", content_hash=h,
                                              updates={"content_hash": "x"})
    assert "updates is empty" in await call_error(client, "update_memory_metadata", content_hash=h, updates={})
    assert "no memory" in await call_error(client, "update_memory_metadata", content_hash="0" * 64,
                                           updates={"tags": "x"})


async def test_cleanup_duplicates(client, service):
    await service.storage.store(Memory.create("Same text"), [1.0] + [0.0] * 63)
    foreign = Memory("same text", "f" * 64, created_at=time.time() + 5)  # an import that kept a foreign hash
    await service.storage.store(foreign, [1.0] + [0.0] * 63)
    data, text = await call(client, "cleanup_duplicates")
    assert data["trashed_count"] == 1 and "1 duplicate" in text
    data, text = await call(client, "cleanup_duplicates")
    assert data["trashed_count"] == 0 and "No duplicates" in text


async def test_check_database_health(client):
    await call(client, "store_memory", content="x", tags="t")
    data, text = await call(client, "check_database_health")
    assert data["status"] == "healthy" and data["coordination_mode"] == "direct"
    assert data["storage"]["total_memories"] == 1 and data["embedder"]["model"] == "test-hash-embedder"
    assert "healthy" in text and "1 memory (+0 in the trash)" in text


async def test_resources(client, service):
    await service.store("older", tags="a,b", created_at=1.0e9)
    await service.store("newer", tags="a", created_at=1.1e9)
    listed = {str(r.uri) for r in (await client.list_resources()).resources}
    assert listed == {"memory://stats", "memory://tags", "memory://recent"}

    async def read(uri):
        res = await client.read_resource(uri)
        assert res.contents[0].mime_type == "application/json"
        return json.loads(res.contents[0].text)

    assert (await read("memory://stats"))["total_memories"] == 2
    assert await read("memory://tags") == [{"tag": "a", "count": 2}, {"tag": "b", "count": 1}]
    assert [m["content"] for m in await read("memory://recent")] == ["newer", "older"]


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, arguments, expected", [
    ("store_memory", {}, "invalid arguments for store_memory: content: Field required"),
    ("store_memory", {"content": 5}, "content: Input should be a valid string (got 5)"),
    ("store_memory", {"content": "   "}, "content is empty"),
    ("store_memory", {"content": "x" * 1001}, "MCP_MEMORY_MAX_CONTENT_LENGTH"),
    ("store_memory", {"content": "ok", "tags": 7}, "tags"),
    ("store_memory", {"content": "ok", "metadata": "not an object"}, "metadata"),
    ("retrieve_memory", {}, "query"),
    ("retrieve_memory", {"query": "x", "n_results": "many"}, "n_results: Input should be a valid integer"),
    ("retrieve_memory", {"query": "x", "n_results": 0}, "n_results"),
    ("retrieve_memory", {"query": ""}, "query is empty"),
    ("retrieve_memory", {"query": "x", "min_relevance": 3}, "min_relevance"),
    ("recall_memory", {"query": "between 2026-13-45 and x"}, "not a valid date"),
    ("recall_memory", {"query": "between 2026-02-01 and 2026-01-01"}, "ends before it starts"),
    ("search_by_tag", {"tags": []}, "at least one tag"),
    ("search_by_tag", {"tags": "a", "match_all": "perhaps"}, "match_all"),
    ("exact_match_retrieve", {"content": ""}, "content is empty"),
    ("list_memories", {"page": 0}, "page"),
    ("delete_memory", {"content_hash": "deadbeef"}, "no memory has a content_hash starting with 'deadbeef'"),
    ("delete_memory", {"content_hash": "dead"}, "too short"),
    ("delete_memory", {"content_hash": ""}, "content_hash"),
    ("delete_by_tag", {"tags": " , "}, "at least one tag"),
    ("update_memory_metadata", {"content_hash": "abc"}, "updates"),
    ("update_memory_metadata", {"content_hash": "abc", "updates": "tags"}, "updates"),
    ("update_memory", {"content_hash": "0" * 64}, "nothing to change"),
    ("memory_trash", {"action": "restore"}, "give one or more content hashes"),
    ("memory_trash", {"action": "empty"}, "action"),
    ("get_memory", {"content_hash": "0" * 64}, "no memory with content_hash"),
    ("no_such_tool", {}, "Unknown tool"),
])
async def test_bad_input_is_a_tool_error_and_the_server_keeps_serving(client, name, arguments, expected):
    text = await call_error(client, name, **arguments)
    assert expected in text
    data, _ = await call(client, "store_memory", content="still works")
    assert data["content_hash"]


async def test_unexpected_exception_is_a_tool_error_with_a_logged_traceback(client, service, monkeypatch, capsys):
    async def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(service.storage, "get_by_hash", broken)
    text = await call_error(client, "store_memory", content="anything")
    assert "internal error (KeyError" in text
    err = capsys.readouterr().err
    assert "tool failed unexpectedly" in err and "Traceback" in err
    monkeypatch.undo()
    data, _ = await call(client, "check_database_health")
    assert data["status"] == "healthy"


# -- the lazy provider ---------------------------------------------------------------------------------
async def test_lazy_service_opens_once_retries_a_failed_open_and_closes():
    calls = []
    storage = InMemoryStorage()

    async def opener():
        calls.append(1)
        await anyio.sleep(0.01)
        if len(calls) == 1:
            raise StorageError("first open fails")
        return MemoryService(storage, HashEmbedder(), Settings())

    lazy = LazyService(Settings(), opener=opener)
    with pytest.raises(StorageError):
        await lazy.get()
    results = []
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(lambda: _append(results, lazy.get()))
    assert len(calls) == 2 and len({id(s) for s in results}) == 1 and lazy.opened
    await lazy.close()
    assert storage.closed and not lazy.opened
    with pytest.raises(StorageError, match="shutting down"):
        await lazy.get()


async def _append(results, awaitable):
    results.append(await awaitable)

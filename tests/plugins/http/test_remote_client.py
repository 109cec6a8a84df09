"""RemoteMemoryService against a real server: same answers and the same error classes as MemoryService."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import ConfigError, InvalidInputError, NotFoundError
from mcp_memory.models import Memory, QueryResult
from mcp_memory.service import NewMemory, Page, RecallResult
from mcp_memory_http.client import RemoteMemoryService, ServerUnavailable
from processes import API_KEY, free_port

pytestmark = pytest.mark.anyio


def remote_for(server, **changes) -> RemoteMemoryService:
    return RemoteMemoryService(Settings(http_port=server.port, **changes))


async def test_every_method_round_trips(server):
    async with remote_for(server) as remote:
        assert remote.coordination_mode == "http_client" and remote.embedder is None
        first = await remote.store("Remote clients embed nothing locally", tags="remote,client",
                                   memory_type="note", metadata={"k": 1})
        assert not first.duplicate and isinstance(first.memory, Memory) and first.memory.tags == ["remote", "client"]
        assert (await remote.store("remote clients embed nothing locally")).duplicate
        batch = await remote.store_batch([NewMemory("remote batch a", ["rb"]), NewMemory("remote batch b", ["rb"])])
        assert [r.duplicate for r in batch] == [False, False]

        found = await remote.retrieve("embed nothing locally", n_results=1, mode="semantic")
        assert isinstance(found[0], QueryResult) and found[0].memory.content_hash == first.memory.content_hash
        assert 0 < found[0].relevance_score <= 1
        assert [m.content for m in await remote.search_by_tag(["rb"])] == ["remote batch b", "remote batch a"]
        assert await remote.search_by_tag("remote,rb", match_all=True) == []
        now = datetime.now(timezone.utc)
        assert {m.content for m in await remote.search_by_time(start=now.timestamp() - 60)} >= {"remote batch a"}
        recalled = await remote.recall("today", n_results=10, now=now)
        assert isinstance(recalled, RecallResult) and recalled.time_expression == "today"
        assert (await remote.exact_match("REMOTE batch a")).content == "remote batch a"
        assert await remote.exact_match("absent") is None
        page = await remote.list_memories(page=1, page_size=2, tag=["rb"])
        assert isinstance(page, Page) and page.total == 2 and page.has_more is False
        assert (await remote.get(first.memory.content_hash)).metadata == {"k": 1}

        updated = await remote.update_metadata(first.memory.content_hash, tags=["remote"], metadata={"j": 2})
        assert updated.tags == ["remote"] and updated.metadata == {"k": 1, "j": 2} and updated.memory_type == "note"
        assert (await remote.update_metadata(first.memory.content_hash, memory_type=None)).memory_type is None
        assert dict(await remote.all_tags())["rb"] == 2
        assert await remote.count() >= 3
        assert await remote.delete_by_tag("rb") == 2
        await remote.delete(first.memory.content_hash)
        assert await remote.cleanup_duplicates() == 0

        stats = await remote.stats()
        assert stats["coordination_mode"] == "http_client" and stats["backend"] == "sqlite_vec"
        health = await remote.health()
        assert health["coordination_mode"] == "http_client" and health["status"] == "healthy"
        assert health["storage"]["server_coordination_mode"] == "http_server"


async def test_server_errors_come_back_as_the_same_classes(server):
    async with remote_for(server) as remote:
        with pytest.raises(NotFoundError, match="no memory with content_hash"):
            await remote.get("0" * 64)
        with pytest.raises(NotFoundError):
            await remote.delete("0" * 64)
        with pytest.raises(InvalidInputError, match="content is empty"):
            await remote.store("   ")
        with pytest.raises(InvalidInputError, match="n_results"):
            await remote.retrieve("x", n_results=0)
        with pytest.raises(InvalidInputError, match="at least one tag"):
            await remote.search_by_tag([])
        with pytest.raises(InvalidInputError, match="not valid JSON"):
            await remote.store("x", metadata={"bad": {1, 2}})
        with pytest.raises(InvalidInputError, match="content_hash"):
            await remote.get(None)


async def test_wrong_key_is_a_clear_config_error(keyed_server):
    async with RemoteMemoryService(Settings(http_port=keyed_server.port, api_key="nope")) as remote:
        with pytest.raises(ConfigError, match="MCP_API_KEY"):
            await remote.count()
    async with RemoteMemoryService(Settings(http_port=keyed_server.port, api_key=API_KEY)) as remote:
        assert await remote.count() >= 0


async def test_no_server_is_server_unavailable_not_sent():
    async with RemoteMemoryService(Settings(http_port=free_port())) as remote:
        with pytest.raises(ServerUnavailable) as err:
            await remote.store("nobody listens")
    assert err.value.sent is False and "not reachable" in str(err.value)

"""RemoteMemoryService against a real server: every ``MemoryAPI`` method gives what ``MemoryService`` gives in this
process (the same scenario through both, answers compared), and the same error classes and messages."""

from __future__ import annotations

import inspect
from datetime import datetime, timezone
from typing import Any

import pytest
from http_support import settings_for, start_server
from processes import API_KEY, free_port

from mcp_memory.config import Settings
from mcp_memory.errors import ConfigError, InvalidInputError, MemoryServiceError, NotFoundError
from mcp_memory.inputs import Scope
from mcp_memory.models import Memory, QueryResult
from mcp_memory.plugins import get_plugin_manager
from mcp_memory.results import NewMemory, Page, RecallResult, StoreResult, TrashResult, UpdateResult
from mcp_memory.service import MemoryService
from mcp_memory.service_api import MemoryAPI
from mcp_memory.testing import HashEmbedder, LexicalInMemoryStorage
from mcp_memory_http.client import RemoteMemoryService, ServerUnavailable

pytestmark = pytest.mark.anyio

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
GONE = "/nonexistent-mcp-memory-test/docs"  # a folder of documents that are gone (for prune_documents)
API_METHODS = {name for name, _ in inspect.getmembers(MemoryAPI, inspect.isfunction) if not name.startswith("_")}
KEPT = ("content", "content_hash", "tags", "memory_type", "metadata", "project", "deleted_reason",
        "replaced_by")


def plain(value: Any) -> Any:
    """An answer in comparable form: memories without their clocks (use, update, deletion times)."""
    if isinstance(value, Memory):
        return {k: v for k, v in value.to_dict().items() if k in KEPT}
    if isinstance(value, QueryResult):
        return (plain(value.memory), round(value.relevance_score, 4))
    if isinstance(value, StoreResult):
        return ("stored", plain(value.memory), value.duplicate, value.near_duplicate, value.restored)
    if isinstance(value, UpdateResult):
        return ("updated", plain(value.memory), value.previous)
    if isinstance(value, TrashResult):
        return ("trashed", sorted(value.hashes), value.reason)
    if isinstance(value, Page):
        return ("page", plain(value.memories), value.page, value.page_size, value.total, value.has_more)
    if isinstance(value, RecallResult):
        return ("recall", plain(value.results), value.start, value.end, value.time_expression, value.semantic_query)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class Recorder:
    """Calls a service and records every answer (or error class and message), and which methods were called."""

    def __init__(self, service: Any):
        self.service, self.answers, self.called = service, [], set()

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.called.add(name)
        try:
            answer = await getattr(self.service, name)(*args, **kwargs)
        except MemoryServiceError as exc:
            self.answers.append((name, type(exc).__name__, str(exc)))
            return None
        self.answers.append((name, plain(answer)))
        return answer


async def scenario(call: Recorder) -> None:
    """Every MemoryAPI method, with projects, prefixes, trash and history, and some bad input."""
    billing, gateway = Scope(current="billing"), Scope(current="gateway")
    await call("store", "billing uses stripe webhooks for payments", tags=["pay", "stripe"], memory_type="decision",
               metadata={"by": "ana"}, created_at=T0 + 1, project="billing")
    await call("store", "invoices are sent on the first day of each month", tags="pay,invoice", created_at=T0 + 2,
               project="billing")
    await call("store", "the api gateway times out after 30 seconds", tags=["timeout"], created_at=T0 + 3,
               project="gateway")
    await call("store", "the team lunch is on fridays at noon", tags=["team"], created_at=T0 + 4, project="global")
    await call("store", "billing uses stripe webhooks for payments", project="billing")  # duplicate
    await call("store", "", project="billing")  # invalid
    await call("store_batch", [NewMemory("batch memory one about deploys", ["deploy"], created_at=T0 + 5),
                               NewMemory("batch memory two about deploys", ["deploy"], created_at=T0 + 6,
                                         project="gateway")])
    stripe = (await call("exact_match", "BILLING uses stripe webhooks for payments")).content_hash[:10]
    await call("exact_match", "never stored")
    await call("get", stripe)
    await call("get", "0" * 64)
    await call("get", "abc")
    for mode in ("semantic", "lexical", "hybrid"):
        await call("retrieve", "stripe webhooks payments", n_results=3, mode=mode, scope=billing)
    await call("retrieve", "deploys", n_results=5, tags=["deploy"], scope=Scope(everything=True), start=T0 + 5.5)
    await call("retrieve", "timeout", n_results=5, memory_type="decision", scope=gateway, min_relevance=0.0)
    await call("retrieve", "x", n_results=0)
    await call("recall", "what did we note last month", n_results=5, now=datetime(2026, 2, 3, tzinfo=timezone.utc),
               scope=Scope(everything=True))
    await call("recall", "gateway timeout", scope=gateway)
    await call("search_by_tag", ["pay", "team"], scope=billing)
    await call("search_by_tag", "pay,stripe", match_all=True, limit=5)
    await call("search_by_tag", [])
    await call("search_by_tag", ["pay", "deploy", "team"], start=T0 + 2, end="2026-01-01T00:00:05Z",
               scope=Scope(everything=True))
    await call("search_by_time", T0 + 2, T0 + 5, scope=Scope(current="billing", project="global"))
    await call("search_by_time", "2026-01-01T00:00:03Z", None, limit=2)
    await call("list_memories", page=1, page_size=2, scope=billing)
    await call("list_memories", page=2, page_size=2, tag=["pay", "deploy"], scope=Scope(everything=True))
    await call("list_memories", tag="pay,stripe", match_all=True, memory_type="decision")
    await call("list_memories", page=0)
    await call("all_tags", billing)
    await call("all_tags")
    await call("count", gateway)
    await call("count", Scope(current="gateway", project="global"))
    await call("count")
    await call("projects")

    await call("update", stripe, tags=["pay"], metadata={"checked": True})
    await call("update", stripe, metadata={"only": 1}, merge_metadata=False, memory_type=None)
    edited = await call("update", stripe, content="billing uses stripe webhooks and checkout for payments")
    await call("update", edited.memory.content_hash[:12], project="gateway")
    await call("update", "0" * 64, tags=["x"])
    await call("history", edited.memory.content_hash[:8])
    await call("delete", edited.memory.content_hash[:9])
    await call("delete", edited.memory.content_hash)
    await call("trash_list", page=1, page_size=10)
    await call("trash_list", reason="deleted")
    await call("restore", [edited.memory.content_hash[:8]])
    await call("restore", "0" * 64)
    await call("delete_matching", tags=["deploy"], dry_run=True)
    await call("delete_matching", tags=["deploy"], scope=gateway)
    await call("delete_matching")
    await call("delete_by_tag", ["team"], scope=Scope(everything=True))
    await call("delete_by_tag", [])
    await call("cleanup_duplicates")
    await call("trash_list", page=1, page_size=20)
    await call("purge", [edited.previous[:8]] if edited and edited.previous else None)
    await call("purge", None, 0)
    await call("purge")
    await call("trash_list")
    note = b"# Runbook\n\nRestart the gateway with make restart.\n\n## Escalation\n\nPage the on-call engineer."
    await call("ingest_document", note, "runbook.md", source=f"{GONE}/runbook.md", tags=["ops"], project="gateway",
               dry_run=True)
    await call("ingest_document", note, "runbook.md", source=f"{GONE}/runbook.md", tags=["ops"], project="gateway")
    await call("ingest_document", note, "runbook.md", source=f"{GONE}/runbook.md", tags="ops", project="gateway")
    await call("ingest_document", b"\xff\xfe not text", "blob.bin")
    await call("ingest_document", "text, not bytes", "x.md")
    await call("search_by_tag", ["ops"], scope=gateway)
    await call("prune_documents", [GONE], dry_run=True)
    await call("prune_documents", [GONE])
    await call("prune_documents", GONE)
    await call("projects")
    stats = await call("stats")
    call.answers[-1] = ("stats", {k: stats[k] for k in ("total_memories", "trashed_memories", "unique_tags")})
    health = await call("health")
    call.answers[-1] = ("health", health["status"], health["storage"]["total_memories"])


async def test_every_memory_api_method_answers_as_the_service_does(tmp_path):
    settings = Settings(duplicate_threshold=None)
    readers = tuple(get_plugin_manager(settings).registry.readers.values())  # the server's: the installed plugins'
    direct = Recorder(MemoryService(LexicalInMemoryStorage(), HashEmbedder(dimension=64), settings, readers=readers))
    await direct.service.initialize()
    await scenario(direct)
    await direct.service.close()

    server = start_server(tmp_path)
    try:
        async with RemoteMemoryService(settings_for(server.port, tmp_path / "unused")) as remote:
            assert isinstance(remote, MemoryAPI)
            remote_calls = Recorder(remote)
            await scenario(remote_calls)
    finally:
        server.stop()
    assert direct.called == remote_calls.called == API_METHODS - {"close"}
    assert len(direct.answers) == len(remote_calls.answers)
    for i, (want, got) in enumerate(zip(direct.answers, remote_calls.answers, strict=True)):
        assert got == want, f"answer {i}: {want[0]}"


async def test_a_wrong_key_is_a_clear_config_error(keyed_server, tmp_path):
    settings = settings_for(keyed_server.port, tmp_path / "unused")
    async with RemoteMemoryService(settings.with_changes(MCP_API_KEY="nope")) as remote:
        with pytest.raises(ConfigError, match="MCP_API_KEY"):
            await remote.count()
    async with RemoteMemoryService(settings.with_changes(MCP_API_KEY=API_KEY)) as remote:
        assert await remote.count() >= 0


async def test_client_side_errors_need_no_server(tmp_path):
    async with RemoteMemoryService(settings_for(free_port(), tmp_path / "unused")) as remote:
        with pytest.raises(InvalidInputError, match="not valid JSON"):
            await remote.store("x", metadata={"bad": {1, 2}})
        with pytest.raises(InvalidInputError, match="content_hash"):
            await remote.get(None)
        with pytest.raises(ServerUnavailable) as err:
            await remote.store("nobody listens")
    assert err.value.sent is False and "not reachable" in str(err.value)


async def test_stats_and_health_say_this_process_is_a_client(server, tmp_path):
    async with RemoteMemoryService(settings_for(server.port, tmp_path / "unused")) as remote:
        stats = await remote.stats()
        assert stats["coordination_mode"] == "http_client" and stats["http_server"] == server.url
        health = await remote.health()
        assert health["coordination_mode"] == "http_client" and health["status"] == "healthy"
        assert health["storage"]["server_coordination_mode"] == "http_server"
        with pytest.raises(NotFoundError):
            await remote.delete("f" * 64)

"""Capture, expiry and the brief in process, over the in-memory reference store and the hash embedder."""

from __future__ import annotations

import time
from typing import Any

import pytest
from claude_testing import BILLING

from mcp_memory import hookimpl, plugins
from mcp_memory.config import Settings
from mcp_memory.registration import EmbedderBackend, StorageBackend
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder, LexicalInMemoryStorage
from mcp_memory_claude.context import session_brief
from mcp_memory_claude.session import capture_session, expire_old

DAY = 86_400.0


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def service(monkeypatch) -> MemoryService:
    """A service over one in-memory store, which ``open_service`` in this process opens too."""
    storage, embedder = LexicalInMemoryStorage(), HashEmbedder()

    class Plugin:
        @hookimpl
        def memory_register_storage(self, register):
            register(StorageBackend(name="memory", factory=lambda settings, location: storage))

        @hookimpl
        def memory_register_embedder(self, register):
            register(EmbedderBackend(name="hash", factory=lambda settings: embedder))

    settings = Settings(storage_backend="memory", embedder="hash")
    pm = plugins.PluginManager(settings, entry_points_source=lambda: [])
    pm.register_object(Plugin(), "test-store")
    monkeypatch.setattr(plugins, "_override", pm)
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    return MemoryService(storage, embedder, settings)


class WithoutExpire:
    """A service of another version (a remote one) that has no ``expire``."""

    def __init__(self, inner: MemoryService):
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "expire":
            raise AttributeError(name)
        return getattr(self._inner, name)


@pytest.mark.anyio
@pytest.mark.parametrize("remote", [False, True])
async def test_expiry_counts_from_capture_or_last_use(service, remote):
    now = time.time()
    old = {"captured_at": now - 100 * DAY}
    await service.store("We used Fabric for deploys.", tags=["auto-captured", "fact"], metadata=old, project="p")
    await service.store("The old CI was Jenkins.", tags=["auto-captured", "fact"], metadata=old, project="p")
    await service.store("A curated note from long ago.", tags=["note"], created_at=now - 400 * DAY, project="p")
    await service.store("Fresh capture.", tags=["auto-captured", "fact"], metadata={"captured_at": now}, project="p")
    [jenkins] = [r.memory for r in await service.retrieve("old CI Jenkins", n_results=1, scope=None)]
    await service.storage.mark_used([jenkins.content_hash], now - 5 * DAY)
    target = WithoutExpire(service) if remote else service
    assert await expire_old(target, "p", 90, now=now) == 1
    [gone] = (await service.trash_list(page_size=10)).memories
    assert gone.content == "We used Fabric for deploys." and gone.deleted_reason == "expired"
    assert await expire_old(service, "p", 0, now=now + 1000 * DAY) == 0  # 0 days: kept forever


@pytest.mark.anyio
async def test_capture_twice_stores_once_and_keeps_one_record(service):
    first = await capture_session(service, BILLING, "billing-api", None, "pre-compact", 90)
    second = await capture_session(service, BILLING, "billing-api", None, "session-end", 90)
    assert first.startswith("stored 7, already known 0") and second.startswith("stored 0, already known 6")
    records = await service.search_by_tag(["session"])
    assert len(records) == 1 and records[0].metadata["captured_by"] == "pre-compact"


@pytest.mark.anyio
async def test_the_brief_puts_curated_decisions_before_auto_captured_ones(service):
    await capture_session(service, BILLING, "billing-api", None, "session-end", 90)
    await service.store("We picked Kubernetes for the batch jobs.", memory_type="decision", project="billing-api")
    text = await session_brief(service, "billing-api", 800)
    lines = text.splitlines()
    assert "Kubernetes" in lines[1] and "auto-captured" not in lines[1]
    assert lines[-1].startswith("- [session] Claude Code session in billing-api")
    assert sum("auto-captured" in line for line in lines) >= 4

"""Failover: a lost server makes the client run coordination again and retry once, applying nothing twice."""

from __future__ import annotations

import anyio
import pytest
from http_support import needs_sqlite_vec, settings_for, start_server
from processes import free_port

from mcp_memory.config import Settings
from mcp_memory.errors import NotFoundError
from mcp_memory.results import TrashResult
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder, InMemoryStorage
from mcp_memory_http.client import RemoteMemoryService, ServerUnavailable
from mcp_memory_http.coordinate import decide
from mcp_memory_http.failover import FailoverService

pytestmark = pytest.mark.anyio


class DyingServer:
    """A stand-in for a remote service whose server dies during each call, after (or before) applying it."""

    coordination_mode = "http_client"

    def __init__(self, backend: MemoryService, applied: bool):
        self.backend, self.applied, self.closed = backend, applied, False

    async def store(self, *args, **kwargs):
        if self.applied:
            await self.backend.store(*args, **kwargs)
        raise ServerUnavailable("connection dropped", sent=self.applied)

    async def delete(self, content_hash):
        if self.applied:
            await self.backend.delete(content_hash)
        raise ServerUnavailable("connection dropped", sent=self.applied)

    async def close(self):
        self.closed = True


def local_service() -> MemoryService:
    return MemoryService(InMemoryStorage(), HashEmbedder(), Settings(duplicate_threshold=None))


def nobody_listening(tmp_path) -> Settings:
    return settings_for(free_port(), tmp_path / "unused")


async def test_unreachable_server_fails_over_and_retries_once(tmp_path):
    local = local_service()
    reopened = []

    async def reopen(settings):
        reopened.append(settings)
        return local

    remote = RemoteMemoryService(nobody_listening(tmp_path))
    service = FailoverService(remote, Settings(), reopen)
    assert service.coordination_mode == "http_client"
    result = await service.store("kept across the failover")
    assert result.duplicate is False and len(reopened) == 1
    assert service.coordination_mode == "direct" and await local.count() == 1
    assert (await service.store("kept across the failover")).duplicate is True  # no second failover
    assert len(reopened) == 1


@pytest.mark.parametrize("applied", [True, False])
async def test_a_store_is_applied_once_and_reported_as_stored(applied):
    local = local_service()
    dying = DyingServer(local, applied)

    async def reopen(settings):
        return local

    service = FailoverService(dying, Settings(), reopen)
    result = await service.store("the write that raced the crash")
    assert result.duplicate is False and await local.count() == 1 and dying.closed


async def test_a_delete_that_reached_the_server_is_not_an_error():
    local = local_service()
    stored = await local.store("to be deleted")

    async def reopen(settings):
        return local

    answer = await FailoverService(DyingServer(local, True), Settings(), reopen).delete(stored.memory.content_hash[:8])
    assert answer == TrashResult([stored.memory.content_hash]) and await local.count() == 0
    with pytest.raises(NotFoundError):  # one that never reached it still reports a missing hash
        await FailoverService(DyingServer(local, False), Settings(), reopen).delete(stored.memory.content_hash)


async def test_concurrent_failures_reopen_once(tmp_path):
    local = local_service()
    reopened = []

    async def reopen(settings):
        reopened.append(1)
        await anyio.sleep(0.1)
        return local

    service = FailoverService(RemoteMemoryService(nobody_listening(tmp_path)), Settings(), reopen)
    async with anyio.create_task_group() as tg:
        for i in range(5):
            tg.start_soon(service.store, f"concurrent write {i}")
    assert len(reopened) == 1 and await local.count() == 5


@needs_sqlite_vec
async def test_killed_server_this_process_takes_over(tmp_path, local_plugins):
    """A real server process dies; with auto-start on, this client becomes the server of the same file."""
    server = start_server(tmp_path, store="sqlite_vec")
    settings = settings_for(server.port, tmp_path / "store", backend="sqlite_vec", MCP_MEMORY_HTTP_AUTO_START="true")
    chosen = await anyio.to_thread.run_sync(lambda: decide(settings, lambda: None))
    assert chosen.mode == "http_client"
    service = await chosen.open()
    try:
        before = await service.store("acknowledged before the crash")
        server.kill()
        after = await service.store("written after the crash")
        assert after.duplicate is False and service.coordination_mode == "http_server"
        assert (await service.get(before.memory.content_hash)).content == "acknowledged before the crash"
        assert await service.count() == 2
    finally:
        await service.close()

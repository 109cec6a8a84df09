"""The plugin's registration, settings, location hook and checks (which must never create anything)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mcp_memory.config import Settings
from mcp_memory.models import Memory
from mcp_memory.plugins import PluginManager
from mcp_memory.protocols import EmbeddingInfo, LexicalSearch
from mcp_memory.registration import StoreLocation
from mcp_memory.testing import HashEmbedder
from mcp_memory_chroma import plugin
from mcp_memory_chroma.config import CHROMA_SETTINGS
from mcp_memory_chroma.storage import ChromaLexicalStorage, ChromaStorage

EMB = HashEmbedder(dimension=16)


def manager() -> PluginManager:
    return PluginManager(Settings(plugins_allowed=frozenset({"chroma"})))


def by_name(checks) -> dict:
    return {c.name: c for c in checks}


def test_plugin_registers_store_and_importer():
    pm = manager()
    assert not pm.failed
    backend = pm.storage_backend("chroma")
    store = backend.factory(Settings(), "/nonexistent/never/created")
    assert isinstance(store, ChromaStorage) and not Path("/nonexistent").exists()
    assert "mcp-memory-service-chroma" in pm.registry.migrators
    assert pm.registry.migrators["mcp-memory-service-chroma"].description


def test_settings_keep_their_names_and_defaults(monkeypatch, tmp_path):
    groups = dict(manager().setting_groups())
    assert [s.env for s in groups["chroma"]] == ["MCP_MEMORY_CHROMA_PATH", "MCP_MEMORY_CHROMA_HOST",
                                                 "MCP_MEMORY_CHROMA_PORT", "MCP_MEMORY_CHROMA_LEXICAL"]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    values = Settings().section(CHROMA_SETTINGS)
    if not __import__("sys").platform.startswith(("win", "darwin")):
        assert values.chroma_path == tmp_path / "xdg" / "mcp-memory" / "chroma_db"
    assert values.chroma_host is None and values.chroma_port == 8000 and values.chroma_lexical is False
    changed = Settings().with_changes(MCP_MEMORY_CHROMA_PATH="~/c", MCP_MEMORY_CHROMA_PORT="9001").section(CHROMA_SETTINGS)
    assert changed.chroma_path == Path("~/c").expanduser() and changed.chroma_port == 9001


def test_word_search_is_opt_in(tmp_path):
    from mcp_memory.service import MemoryService

    factory = manager().storage_backend("chroma").factory
    plain = factory(Settings(), str(tmp_path))
    assert not isinstance(plain, LexicalSearch)
    assert MemoryService(plain, EMB).search_modes == ["semantic"]
    worded = factory(Settings().with_changes(MCP_MEMORY_CHROMA_LEXICAL="true"), str(tmp_path))
    assert isinstance(worded, ChromaLexicalStorage) and isinstance(worded, LexicalSearch)
    assert MemoryService(worded, EMB).search_modes == ["semantic", "lexical", "hybrid"]


def test_storage_location_hook(tmp_path):
    pm = manager()
    local = Settings().with_changes(MCP_MEMORY_CHROMA_PATH=str(tmp_path / "c"))
    assert pm.first_result("memory_storage_location", backend="chroma", settings=local) == \
        StoreLocation(text=str(tmp_path / "c"), path=tmp_path / "c")
    remote = local.with_changes(MCP_MEMORY_CHROMA_HOST="db.example", MCP_MEMORY_CHROMA_PORT="8123")
    assert plugin.memory_storage_location("chroma", remote) == StoreLocation(text="http://db.example:8123")
    assert plugin.memory_storage_location("sqlite_vec", remote) is None
    assert plugin.memory_store_checks("sqlite_vec", remote, None, True) is None
    assert not (tmp_path / "c").exists()


@pytest.mark.anyio
async def test_stats_of_the_default_store_create_no_folder(monkeypatch, tmp_path):
    """What `memory stats` does with the chroma backend: the default folder must not appear (it did before)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    store = manager().storage_backend("chroma").factory(Settings.from_env(env={}), None)
    await store.initialize(EmbeddingInfo(EMB.model_name, EMB.dimension))
    stats = await store.get_stats()
    await store.close()
    assert stats["total_memories"] == 0 and stats["location"].endswith("chroma_db")
    assert not (tmp_path / "home").exists()


def test_checks_of_a_missing_directory_create_nothing(tmp_path):
    settings = Settings().with_changes(MCP_MEMORY_CHROMA_PATH=str(tmp_path / "a" / "b"))
    for deep in (False, True):
        checks = by_name(plugin.memory_store_checks("chroma", settings, None, deep))
        assert checks["chromadb"].ok and checks["chroma directory"].ok
        assert "does not exist yet" in checks["chroma directory"].detail
        if deep:
            assert checks["chroma collection"].ok and "created on the first write" in checks["chroma collection"].detail
    assert not (tmp_path / "a").exists()
    (tmp_path / "file").write_text("x")
    bad = by_name(plugin.memory_store_checks("chroma", settings, str(tmp_path / "file"), False))
    assert not bad["chroma directory"].ok and bad["chroma directory"].fix


@pytest.mark.anyio
async def test_deep_checks_count_the_records(tmp_path):
    store = ChromaStorage(Settings(), location=str(tmp_path))
    await store.initialize(EmbeddingInfo(EMB.model_name, EMB.dimension))
    await store.store_batch([(Memory.create(t), EMB.embed([t])[0]) for t in ("one", "two")])
    await store.close()
    checks = by_name(plugin.memory_store_checks("chroma", Settings(), str(tmp_path), True))
    assert all(c.ok for c in checks.values()), checks
    assert "2 records, layout 2" in checks["chroma collection"].detail
    assert EMB.model_name in checks["chroma collection"].detail
    assert "chroma collection" not in by_name(plugin.memory_store_checks("chroma", Settings(), str(tmp_path), False))


@pytest.mark.anyio
async def test_server_checks(server_url):
    checks = by_name(plugin.memory_store_checks("chroma", Settings(), server_url, True))
    assert checks["chroma server"].ok and checks["chroma collection"].ok
    assert "no collection" in checks["chroma collection"].detail
    store = ChromaStorage(Settings(), location=server_url)
    await store.initialize(EmbeddingInfo(EMB.model_name, EMB.dimension))
    await store.store(Memory.create("one"), EMB.embed(["one"])[0])
    await store.close()
    assert "1 records" in by_name(plugin.memory_store_checks("chroma", Settings(), server_url, True))[
        "chroma collection"].detail
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = by_name(plugin.memory_store_checks("chroma", Settings(), f"http://127.0.0.1:{port}", True))
    assert not down["chroma server"].ok and "chroma run" in down["chroma server"].fix
    assert "chroma collection" not in down

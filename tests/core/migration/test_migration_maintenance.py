"""`memory verify` and `memory optimize` with the core alone (in-memory store, hash embedder)."""

from __future__ import annotations

import asyncio
import json

from mcp_memory.cli import main
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo


def test_verify_reports_each_check_and_fails_for_a_missing_backend(stores, capsys, monkeypatch):
    code = main(["verify", "--json"])
    report = json.loads(capsys.readouterr().out)
    names = [c["name"] for c in report["checks"]]
    assert code == 0 and report["ok"], report
    assert names == ["python", "plugins", "storage backend", "embedder", "store opens"]
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "postgres")
    code = main(["verify", "--no-model"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  storage backend      postgres (installed: mem)" in out
    assert "fix: install the plugin that provides it" in out and out.rstrip().endswith("1 check(s) failed")


def test_verify_flags_a_store_made_by_another_model(stores, capsys):
    asyncio.run(stores.store("default").initialize(EmbeddingInfo("some-other-model", 768)))
    code = main(["verify"])
    out = capsys.readouterr().out
    assert code == 1 and "FAIL  embedding model" in out and "MCP_MEMORY_EMBEDDING_MODEL=some-other-model" in out


def test_optimize_removes_foreign_hash_duplicates(stores, capsys):
    store = stores.store("default")
    embedder = stores.embedders["hash"]

    async def fill():
        await store.initialize(EmbeddingInfo(embedder.model_name, embedder.dimension))
        first = Memory.create("The same fact", created_at=100.0)
        twin = Memory(content="the same fact ", content_hash="f" * 64, created_at=200.0, updated_at=200.0)
        other = Memory.create("Another fact", created_at=150.0)
        for m in (first, twin, other):
            assert await store.store(m, embedder.embed([m.content])[0])

    asyncio.run(fill())
    code = main(["optimize"])
    out = capsys.readouterr().out
    assert code == 0 and "moved 1 duplicate memories to the trash" in out and "size: 0.0 MB -> 0.0 MB" in out
    assert asyncio.run(store.get_by_hash("f" * 64)) is None and asyncio.run(store.count()) == 2
    assert asyncio.run(store.get_by_hash("f" * 64, trashed=True)).deleted_reason == "duplicate"


def test_store_plugins_add_their_checks_to_verify_and_health(stores, capsys):
    from mcp_memory import plugins
    from mcp_memory.hookspecs import hookimpl
    from mcp_memory.registration import Check

    class StoreChecks:
        @hookimpl
        def memory_store_checks(self, backend, settings, location, deep):
            if backend != "mem":
                return None
            return [Check("mem driver", True, "in memory"), *([Check("mem integrity", True, "ok")] if deep else [])]

    plugins._override.register_object(StoreChecks(), "store-checks")
    assert main(["verify", "--no-model"]) == 0
    out = capsys.readouterr().out
    assert "OK    mem driver" in out and "OK    mem integrity" in out
    assert main(["health"]) == 0
    out = capsys.readouterr().out
    assert "mem driver" in out and "mem integrity" not in out

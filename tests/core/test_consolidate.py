"""memory consolidate: dry run changes nothing, apply merges clusters into the newest, undo restores exactly."""

import json

import pytest

from mcp_memory import consolidate
from mcp_memory.cli import main
from mcp_memory.inputs import Scope
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder, InMemoryStorage

pytestmark = pytest.mark.anyio


@pytest.fixture
async def filled(settings):
    service = MemoryService(InMemoryStorage(), HashEmbedder(), settings)
    await service.initialize()
    for i, (text, project) in enumerate([
            ("the staging database runs postgres 16", "api"),
            ("The staging database runs Postgres 16!", "api"),
            ("staging database runs postgres 16", "api"),
            ("the staging database runs postgres 16 too", "web"),  # close, but another project: never merged
            ("lunch is at noon on fridays", "api")]):
        await service.store(text, tags=[f"t{i}"], project=project, created_at=1000.0 + i, metadata={"n": i})
    return service


async def snapshot(service):
    return sorted((m.content_hash, m) for batch in [b async for b in service.storage.iter_memories()] for m, _ in batch)


async def test_dry_run_changes_nothing_and_apply_is_reversible(filled):
    before = await snapshot(filled)
    report = await consolidate.find_clusters(filled, 0.9, Scope(everything=True))
    assert report.scanned == 5 and len(report.clusters) == 1
    [cluster] = report.clusters
    assert cluster.keep.content == "staging database runs postgres 16" and len(cluster.others) == 2
    assert {m.project for m in cluster.members} == {"api"} and cluster.similarity >= 0.9
    assert await snapshot(filled) == before
    await consolidate.apply(filled, report)
    kept = await filled.get(cluster.keep.content_hash)
    assert kept.tags == ["t2", "t1", "t0"] and kept.metadata["consolidation"]["first_created_at"].startswith("1970")
    assert await filled.count() == 3
    trashed = (await filled.trash_list()).memories
    assert {m.deleted_reason for m in trashed} == {"merged"} and {m.replaced_by for m in trashed} == {kept.content_hash}
    assert len(await filled.history(kept.content_hash)) == 3
    again = await consolidate.find_clusters(filled, 0.9)
    assert again.clusters == []
    await consolidate.undo(filled, kept.content_hash[:12])
    assert await snapshot(filled) == before


def test_cli_consolidate(settings, test_plugin, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    monkeypatch.setenv("MCP_MEMORY_DUPLICATE_THRESHOLD", "off")
    for text in ("we deploy on fridays after lunch", "We deploy on Fridays after lunch!", "cats are great"):
        assert main(["store", text]) == 0
    capsys.readouterr()
    assert main(["consolidate", "--threshold", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "1 clusters" in out and "dry run: nothing changed" in out
    assert main(["consolidate", "--threshold", "0.9", "--apply", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["applied"] and report["merged"] == 1
    assert main(["consolidate", "--undo", report["clusters"][0]["keep"]]) == 0
    assert "1 memories are back" in capsys.readouterr().out
    assert main(["trash", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 0

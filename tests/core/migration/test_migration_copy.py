"""The generic store-to-store copy: fields kept, vectors reused or re-embedded, idempotence, verification."""

from __future__ import annotations

import json

import pytest

from mcp_memory import plugins
from mcp_memory.cli import main
from mcp_memory.config import Settings
from mcp_memory.errors import InvalidInputError
from mcp_memory.migration import migrate
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo
from mcp_memory.testing import HashEmbedder, InMemoryStorage

pytestmark = pytest.mark.anyio
SETTINGS = Settings(storage_backend="mem", embedder="hash")


def sample(n: int) -> list[Memory]:
    return [Memory.create(f"memory number {i} about topic {i % 7}", tags=[f"t{i % 3}", "all"],
                          memory_type="note" if i % 2 else None, metadata={"i": i, "nested": {"x": [i]}},
                          created_at=1_600_000_000.5 + i) for i in range(n)]


async def fill(store: InMemoryStorage, memories: list[Memory], embedder: HashEmbedder) -> None:
    await store.initialize(EmbeddingInfo(embedder.model_name, embedder.dimension))
    vectors = embedder.embed([m.content for m in memories])
    assert all(await store.store_batch(list(zip(memories, vectors))))


async def test_copy_keeps_every_field_and_reuses_vectors(stores):
    source_memories = sample(40)
    embedder = stores.embedders["hash"]
    await fill(stores.store("a"), source_memories, embedder)
    embedder.calls = 0
    report = await migrate(SETTINGS, "mem", "mem", "a", "b", quiet=True)
    assert report.verified and report.copied == 40 and report.already_present == 0
    assert report.embedded == 0 and embedder.calls == 0
    target = stores.store("b")
    for original in source_memories:
        got = await target.get_by_hash(original.content_hash)
        assert got == original
        assert target._rows[original.content_hash][1] == stores.store("a")._rows[original.content_hash][1]


async def test_second_run_adds_nothing(stores):
    await fill(stores.store("a"), sample(10), stores.embedders["hash"])
    first = await migrate(SETTINGS, "mem", "mem", "a", "b", quiet=True)
    second = await migrate(SETTINGS, "mem", "mem", "a", "b", quiet=True)
    assert (first.copied, second.copied, second.already_present) == (10, 0, 10)
    assert second.verified and await stores.store("b").count() == 10


async def test_other_target_model_re_embeds(stores):
    await fill(stores.store("a"), sample(12), stores.embedders["hash"])
    other = stores.embedders["hash2"]
    report = await migrate(SETTINGS.with_changes(embedder="hash2"), "mem", "mem", "a", "b", quiet=True)
    assert report.verified and report.embedded == 12 and other.calls > 0
    assert {len(v) for _, v in stores.store("b")._rows.values()} == {other.dimension}


async def test_dry_run_and_empty_source_write_nothing(stores):
    await fill(stores.store("a"), sample(5), stores.embedders["hash"])
    report = await migrate(SETTINGS, "mem", "mem", "a", "b", dry_run=True, quiet=True)
    assert report.dry_run and report.source_count == 5 and "b" not in stores.stores
    stores.store("empty")
    with pytest.raises(InvalidInputError, match="holds no memories"):
        await migrate(SETTINGS, "mem", "mem", "empty", "c", quiet=True)
    assert "c" not in stores.stores


async def test_same_store_and_unknown_source_are_refused(stores):
    with pytest.raises(InvalidInputError, match="same store"):
        await migrate(SETTINGS, "mem", "mem", "a", "a", quiet=True)
    with pytest.raises(InvalidInputError, match="unknown migration source 'nope'; known: json, mem"):
        await migrate(SETTINGS, "nope", "mem", "a", "b", quiet=True)


class LossyStorage(InMemoryStorage):
    """Claims to store everything but silently drops every third memory."""

    async def store_batch(self, items):
        results = []
        for n, (memory, vector) in enumerate(items):
            if n % 3 == 0:
                results.append(True)
            else:
                results.extend(await super().store_batch([(memory, vector)]))
        return results


async def test_verification_catches_a_lossy_target(stores):
    await fill(stores.store("a"), sample(9), stores.embedders["hash"])
    stores.stores["lossy"] = LossyStorage()
    report = await migrate(SETTINGS, "mem", "mem", "a", "lossy", quiet=True)
    assert report.verified is False and len(report.missing) == 3 and report.target_count == 6


async def test_plugin_migrator_of_unknown_size(stores):
    async def open_source(location):
        for start in (0, 4):
            yield [(m, None) for m in sample(8)[start:start + 4]]

    async def empty_source(location):
        return
        yield  # pragma: no cover

    stores.migrators.update({"gen": open_source, "nothing": empty_source})
    plugins._override._registry = None  # the migrators were added after the first registration
    report = await migrate(SETTINGS, "gen", "mem", "x", "b", quiet=True)
    assert report.source_count is None and report.copied == 8 and report.embedded == 8 and report.verified
    with pytest.raises(InvalidInputError, match="holds no memories"):
        await migrate(SETTINGS, "nothing", "mem", "x", "c", quiet=True)
    assert "c" not in stores.stores


def test_cli_migrate_with_backup_then_restore(stores, capsys, tmp_path):
    import asyncio

    asyncio.run(fill(stores.store("a"), sample(6), stores.embedders["hash"]))
    backup = tmp_path / "bk" / "a.json"
    code = main(["migrate", "--from", "mem", "--source-path", "a", "--to", "mem", "--target-path", "b",
                 "--backup", "--backup-path", str(backup), "--quiet", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["verified"] and out["copied"] == 6 and out["backup_count"] == 6
    assert json.loads(backup.read_text())["count"] == 6
    code = main(["restore", str(backup), "--to", "mem", "--target-path", "c", "--quiet"])
    text = capsys.readouterr().out
    assert code == 0 and "copied 6" in text and "verification OK" in text
    code = main(["migrate", "--from", "mem", "--source-path", "a", "--to", "mem", "--target-path", "b", "--quiet"])
    assert code == 0 and "copied 0, already present 6" in capsys.readouterr().out


def test_cli_lossy_target_exits_1(stores, capsys):
    import asyncio

    asyncio.run(fill(stores.store("a"), sample(3), stores.embedders["hash"]))
    stores.stores["lossy"] = LossyStorage()
    code = main(["migrate", "--from", "mem", "--source-path", "a", "--target-path", "lossy", "--quiet"])
    assert code == 1 and "verification FAILED" in capsys.readouterr().out

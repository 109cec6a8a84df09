"""The JSON backup format: lossless round trip, atomic writes, clear errors for bad files."""

from __future__ import annotations

import json

import pytest

from mcp_memory import backup
from mcp_memory.cli import main
from mcp_memory.config import Settings
from mcp_memory.errors import InvalidInputError
from mcp_memory.migration import backup_store, restore
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo

pytestmark = pytest.mark.anyio
SETTINGS = Settings(storage_backend="mem", embedder="hash")

TRICKY = [
    Memory.create("Ünïcödé 🧠 עברית 中文 \"quotes\" \\ backslash\nnew line", tags=["émoji", "a,b?"],
                  memory_type="note", metadata={"nested": {"list": [1, 2.5, None, True]}, "s": "x"},
                  created_at=1_700_000_000.123456),
    Memory(content="no type, no tags", content_hash="f" * 64, tags=[], memory_type=None, metadata={},
           created_at=0.1, updated_at=1_800_000_000.987654),
    Memory.create("  Leading and trailing space  ", tags=["x"], metadata={"big": 10**15, "neg": -1e-9},
                  created_at=1_234_567_890.0, project="Projekt ü"),
    Memory(content="in the trash, used twice", content_hash="e" * 64, created_at=5.0, updated_at=6.0, project="p",
           last_used_at=7.5, use_count=2, deleted_at=8.25, deleted_reason="edited", replaced_by="f" * 64),
]


async def batches(memories, size=2):
    for start in range(0, len(memories), size):
        yield [(m, None) for m in memories[start:start + size]]


async def test_write_then_read_is_lossless(tmp_path):
    path = tmp_path / "b.json"
    count = await backup.write_backup(path, batches(TRICKY), embedding_model="m", embedding_dimension=3,
                                      source={"backend": "mem", "location": "a"})
    assert count == 4
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["format"] == "mcp-memory-backup" and raw["version"] == 2 and raw["count"] == 4
    assert raw["embedding_model"] == "m" and raw["created_at"].endswith("Z")
    assert set(raw["memories"][0]) == {"content", "content_hash", "tags", "memory_type", "metadata", "project",
                                       "created_at", "updated_at", "last_used_at", "use_count", "deleted_at",
                                       "deleted_reason", "replaced_by"}
    header, memories = backup.read_backup(path)
    assert memories == TRICKY
    assert header["source"] == {"backend": "mem", "location": "a"}
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]


async def test_store_backup_restore_round_trip(stores, tmp_path):
    embedder = stores.embedders["hash"]
    source = stores.store("a")
    await source.initialize(EmbeddingInfo(embedder.model_name, embedder.dimension))
    await source.store_batch([(m, v) for m, v in zip(TRICKY, embedder.embed([m.content for m in TRICKY]))])
    report = await backup_store(SETTINGS, str(tmp_path / "full.json"), "mem", "a", quiet=True)
    assert report.verified and report.copied == 4  # the trash too
    report = await restore(SETTINGS, str(tmp_path / "full.json"), "mem", "restored", quiet=True)
    assert report.verified and report.copied == 4
    restored = stores.store("restored")
    for original in TRICKY:
        assert await restored.get_by_hash(original.content_hash, trashed=None) == original


async def test_failed_or_empty_write_leaves_no_file(tmp_path):
    path = tmp_path / "b.json"

    async def broken():
        yield [(TRICKY[0], None)]
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        await backup.write_backup(path, broken())
    with pytest.raises(InvalidInputError, match="no memories"):
        await backup.write_backup(path, batches([]))
    assert list(tmp_path.iterdir()) == []


async def test_existing_backup_is_replaced_only_when_complete(tmp_path):
    path = tmp_path / "b.json"
    await backup.write_backup(path, batches(TRICKY[:1]))
    before = path.read_bytes()

    async def broken():
        yield [(TRICKY[1], None)]
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        await backup.write_backup(path, broken())
    assert path.read_bytes() == before


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ('{"format": "mcp-memory-backup", "version": 1, "memories": [', "not valid JSON \\(line 1"),
    ('{"memories": []}', "not an mcp-memory backup"),
    ('[{"content": "x"}]', "not an mcp-memory backup"),
    ('{"format": "mcp-memory-backup", "version": 3, "memories": []}', "newer than this mcp-memory reads"),
    ('{"format": "mcp-memory-backup", "version": 1, "memories": {}}', "must be a list"),
    ('{"format": "mcp-memory-backup", "version": 1, "memories": [], "count": 4}', "damaged"),
    ('{"format": "mcp-memory-backup", "version": 1, "memories": [{"tags": []}]}', "memory #0 is invalid"),
    ('{"format": "mcp-memory-backup", "version": 1, "memories": [3]}', "memory #0 is not a JSON object"),
])
def test_bad_backups_are_clear_errors(tmp_path, text, message):
    with pytest.raises(InvalidInputError, match=message):
        backup.read_backup(write(tmp_path, "bad.json", text))


def test_missing_backup_file(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        backup.read_backup(tmp_path / "nope.json")


def test_cli_restore_of_bad_or_empty_backup_writes_nothing(stores, capsys, tmp_path):
    broken = write(tmp_path, "broken.json", '{"format": "mcp-memory-backup", "version": 1, "memories": [{"con')
    code = main(["restore", str(broken), "--target-path", "t"])
    err = capsys.readouterr().err
    assert code == 1 and "not valid JSON" in err and err.count("\n") == 1
    empty = write(tmp_path, "empty.json", '{"format": "mcp-memory-backup", "version": 1, "memories": [], "count": 0}')
    code = main(["restore", str(empty), "--target-path", "t"])
    assert code == 1 and "holds no memories" in capsys.readouterr().err
    assert "t" not in stores.stores


def test_cli_backup_of_empty_store_writes_nothing(stores, capsys, tmp_path):
    stores.store("default")
    code = main(["backup", str(tmp_path / "x.json")])
    assert code == 1 and "holds no memories" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []

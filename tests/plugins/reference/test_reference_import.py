"""Importing the reference mcp-memory-service's database and JSON export, read-only, with clear errors."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from mcp_memory.cli import main
from mcp_memory.config import Settings
from mcp_memory.migration import migrate
from mcp_memory.models import content_hash

pytestmark = pytest.mark.anyio
SETTINGS = Settings(storage_backend="mem", embedder="hash")

SCHEMA = """
CREATE TABLE memories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_hash TEXT UNIQUE NOT NULL,
    content TEXT NOT NULL,
    tags TEXT,
    memory_type TEXT,
    metadata TEXT,
    created_at REAL,
    updated_at REAL,
    created_at_iso TEXT,
    updated_at_iso TEXT,
    deleted_at REAL
)"""

ROWS = [
    # content, tags, type, metadata, created, updated, deleted
    ("Decided to use SQLite for the cache", "architecture,decision", "decision", '{"project": "x", "n": 1}',
     1_700_000_000.5, 1_700_000_100.25, None),
    ("Meeting notes: ship on Friday", "meeting, planning ,", "note", "{}", 1_700_001_000.0, 1_700_001_000.0, None),
    ("An old thought I deleted", "misc", "note", None, 1_690_000_000.0, 1_690_000_000.0, 1_700_000_000.0),
    ("No tags and no type", "", None, None, 1_700_002_000.75, 1_700_002_001.0, None),
]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_reference_db(path, rows=ROWS, wal=True):
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(SCHEMA)
    for content, tags, mtype, meta, created, updated, deleted in rows:
        conn.execute("INSERT INTO memories (content_hash, content, tags, memory_type, metadata, created_at, "
                     "updated_at, created_at_iso, updated_at_iso, deleted_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (content_hash(content), content, tags, mtype, meta, created, updated, "x", "y", deleted))
    conn.commit()
    conn.close()
    return path


async def test_database_imports_with_fields_intact_and_stays_untouched(stores, tmp_path):
    db = make_reference_db(tmp_path / "sqlite_vec.db")
    before = digest(db)
    report = await migrate(SETTINGS, "mcp-memory-service", "mem", str(db), "t", quiet=True)
    assert report.verified and report.source_count == 4 and report.copied == 4 and report.embedded == 4
    target = stores.store("t")
    got = await target.get_by_hash(content_hash(ROWS[0][0]))
    assert got.tags == ["architecture", "decision"] and got.memory_type == "decision"
    assert got.metadata == {"project": "x", "n": 1} and got.project == "x"  # its "project" key is kept and used
    assert (got.created_at, got.updated_at) == (1_700_000_000.5, 1_700_000_100.25)
    assert (await target.get_by_hash(content_hash(ROWS[1][0]))).tags == ["meeting", "planning"]
    plain = await target.get_by_hash(content_hash(ROWS[3][0]))
    assert plain.tags == [] and plain.memory_type is None and plain.metadata == {}
    deleted = await target.get_by_hash(content_hash(ROWS[2][0]), trashed=True)  # soft-deleted: in our trash
    assert deleted is not None and deleted.deleted_reason == "deleted" and deleted.deleted_at is not None
    assert await target.get_by_hash(content_hash(ROWS[2][0])) is None
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sqlite_vec.db"]
    again = await migrate(SETTINGS, "mcp-memory-service", "mem", str(db), "t", quiet=True)
    assert again.copied == 0 and again.already_present == 4


async def test_old_layout_without_optional_columns(stores, tmp_path):
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE memories (id INTEGER PRIMARY KEY, content TEXT, tags TEXT, created_at REAL)")
    conn.execute("INSERT INTO memories (content, tags, created_at) VALUES ('old style memory', 'a,b', 1600000000)")
    conn.commit()
    conn.close()
    report = await migrate(SETTINGS, "mcp-memory-service", "mem", str(db), "t", quiet=True)
    assert report.verified and report.copied == 1
    [memory] = await stores.store("t").list_memories()
    assert memory.content_hash == content_hash("old style memory") and memory.tags == ["a", "b"]
    assert memory.created_at == memory.updated_at == 1_600_000_000.0


@pytest.mark.parametrize("shape", ["object", "list"])
async def test_json_export_imports(stores, tmp_path, shape):
    records = [
        {"content": "Exported memory one", "content_hash": content_hash("Exported memory one"),
         "tags": ["Alpha", "beta"], "memory_type": "fact", "metadata": {"k": [1, 2]},
         "created_at": 1_700_000_000.125, "updated_at": 1_700_000_500.5, "export_source": "laptop"},
        {"content": "Exported memory two", "tags": "x,y", "memory_type": None, "metadata": '{"s": "t"}',
         "created_at_iso": "2024-01-02T03:04:05Z", "updated_at_iso": "2024-01-03T00:00:00Z"},
    ]
    data = {"export_metadata": {"source_machine": "laptop", "total_memories": 2}, "memories": records}
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data if shape == "object" else records), encoding="utf-8")
    before = digest(path)
    report = await migrate(SETTINGS, "mcp-memory-service", "mem", str(path), "t", quiet=True)
    assert report.verified and report.copied == 2
    target = stores.store("t")
    one = await target.get_by_hash(content_hash("Exported memory one"))
    assert one.tags == ["alpha", "beta"] and one.metadata == {"k": [1, 2]} and one.memory_type == "fact"
    assert (one.created_at, one.updated_at) == (1_700_000_000.125, 1_700_000_500.5)
    two = await target.get_by_hash(content_hash("Exported memory two"))
    assert two.tags == ["x", "y"] and two.metadata == {"s": "t"} and two.created_at == 1_704_164_645.0
    assert digest(path) == before


def garbage(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"\x00\x01this is not a database at all" * 10)
    return path


def empty_file(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    return path


def no_table(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (x)")
    conn.commit()
    conn.close()
    return path


def broken_json(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('{"memories": [{"content": "cut', encoding="utf-8")
    return path


def wrong_json(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('{"something": "else"}', encoding="utf-8")
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.db", "does not exist"),
    (lambda p: (p / "chroma_db").mkdir() or p / "chroma_db", "--from mcp-memory-service-chroma"),
    (empty_file, "empty file"),
    (garbage, "neither a SQLite database nor a JSON export"),
    (no_table, "no 'memories' table"),
    (broken_json, "not valid JSON"),
    (wrong_json, "not an mcp-memory-service export"),
])
def test_bad_sources_are_clear_and_write_nothing(stores, capsys, tmp_path, make, message):
    source = make(tmp_path)
    before = digest(source) if source.is_file() else None
    code = main(["migrate", "--from", "mcp-memory-service", "--source-path", str(source),
                 "--to", "mem", "--target-path", "t"])
    err = capsys.readouterr().err
    assert code == 1 and message in err and err.count("\n") == 1
    assert "t" not in stores.stores
    if before is not None:
        assert digest(source) == before

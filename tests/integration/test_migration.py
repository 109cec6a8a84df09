"""Migration with real stores, the real MiniLM model and the real ``memory`` command as a subprocess.

- chroma -> sqlite_vec, 1,000 memories, with --backup: verified equal, vectors copied, a second run adds nothing;
- JSON backup -> restore (into another backend) is lossless, field by field;
- a database in the reference mcp-memory-service layout (with its vec0 table) imports intact, untouched;
- missing or empty sources write nothing; verify and optimize report on a real database.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_memory.config import Settings
from mcp_memory.models import Memory, content_hash
from mcp_memory.service import MemoryService, open_service

pytestmark = [pytest.mark.slow, pytest.mark.anyio]
MEMORY = [sys.executable, "-m", "mcp_memory.cli"]
N = 1000


@pytest.fixture
def anyio_backend():
    return "asyncio"


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LOG_LEVEL": "WARNING",
           "MCP_HTTP_ENABLED": "false", "XDG_DATA_HOME": str(tmp / "xdg"),
           "MCP_MEMORY_SQLITE_PATH": str(tmp / "default.db"), "MCP_MEMORY_CHROMA_PATH": str(tmp / "default_chroma")}
    for key in ("MCP_MEMORY_STORAGE_BACKEND", "MCP_MEMORY_EMBEDDER", "MCP_MEMORY_CHROMA_HOST"):
        env.pop(key, None)
    env.update(extra)
    return env


def memory_cli(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MEMORY, *args], env=env_for(tmp, **env), capture_output=True, text=True, timeout=600,
                          check=False)


def corpus(n: int) -> list[Memory]:
    topics = ["python packaging", "database indexes", "team meeting", "holiday plans", "bug triage",
              "coffee brewing", "vector search", "release notes"]
    return [Memory.create(f"Note {i}: something about {topics[i % len(topics)]} (variant {i * 7919 % 1000})",
                          tags=[topics[i % len(topics)].split()[0], f"batch{i % 10}", "all"],
                          memory_type=["note", "decision", "fact", None][i % 4],
                          metadata={"i": i, "source": "test", "nested": {"even": i % 2 == 0}},
                          created_at=1_650_000_000.0 + i * 37.25) for i in range(n)]


async def all_memories(service: MemoryService) -> dict[str, tuple[Memory, list[float] | None]]:
    out = {}
    async for batch in service.iter_memories():
        for memory, vector in batch:
            out[memory.content_hash] = (memory, None if vector is None else [float(x) for x in vector])
    return out


@pytest.fixture(scope="module")
def chroma_source(tmp_path_factory):
    """A local Chroma store holding N memories embedded by the real MiniLM, built through the service."""
    import asyncio

    from mcp_memory.service import NewMemory

    path = tmp_path_factory.mktemp("chroma_src") / "chroma"

    async def build():
        service = await open_service(Settings(), backend="chroma", location=str(path))
        try:
            items = [NewMemory(m.content, m.tags, m.memory_type, m.metadata, m.created_at) for m in corpus(N)]
            for start in range(0, N, 250):
                await service.store_batch(items[start:start + 250])
            assert await service.count() == N
        finally:
            await service.close()

    asyncio.run(build())
    return path


async def test_chroma_to_sqlite_vec_with_backup_via_cli(chroma_source, tmp_path):
    target, backup = tmp_path / "target.db", tmp_path / "backups" / "chroma.json"
    args = ["migrate", "--from", "chroma", "--source-path", str(chroma_source), "--to", "sqlite_vec",
            "--target-path", str(target), "--backup", "--backup-path", str(backup)]
    done = memory_cli(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert f"copied {N}, already present 0; vectors: {N} taken from the source, 0 embedded again" in done.stdout
    assert f"verification OK: all {N} source memories are in the target (target holds {N})" in done.stdout
    assert "migrate chroma -> sqlite_vec [" in done.stderr  # the progress bar, on stderr
    assert json.loads(backup.read_text())["count"] == N

    settings = Settings()
    source = await open_service(settings, backend="chroma", location=str(chroma_source))
    copy = await open_service(settings, backend="sqlite_vec", location=str(target))
    try:
        want, got = await all_memories(source), await all_memories(copy)
        assert set(want) == set(got) and len(got) == N
        for h, (memory, vector) in want.items():
            assert got[h][0] == memory
            assert sum(a * b for a, b in zip(vector, got[h][1])) > 0.9999
        query = "how do I brew coffee"
        assert [r.memory.content_hash for r in await source.retrieve(query, 5)] == \
               [r.memory.content_hash for r in await copy.retrieve(query, 5)]
    finally:
        await source.close()
        await copy.close()

    again = memory_cli(tmp_path, *args[:-3])
    assert again.returncode == 0, again.stderr
    assert f"copied 0, already present {N}" in again.stdout


async def test_backup_restore_round_trip_is_lossless(tmp_path):
    settings = Settings()
    db = tmp_path / "src.db"
    service = await open_service(settings, backend="sqlite_vec", location=str(db))
    try:
        tricky = [Memory.create("Ünïcödé 🧠 \"quoted\" \\ and\nnewlines", tags=["émoji", "x y"], memory_type="note",
                                metadata={"deep": {"list": [1, 2.5, None, True]}}, created_at=1_700_000_000.123456),
                  Memory.create("plain", created_at=0.5), *corpus(50)]
        tricky[1] = tricky[1].with_changes(updated_at=1_800_000_000.654321)
        await service.store_prepared(tricky)
    finally:
        await service.close()
    backup_file = tmp_path / "full.json"
    done = memory_cli(tmp_path, "backup", str(backup_file), "--quiet", MCP_MEMORY_SQLITE_PATH=str(db))
    assert done.returncode == 0, done.stderr
    restored_dir = tmp_path / "restored_chroma"
    done = memory_cli(tmp_path, "restore", str(backup_file), "--to", "chroma", "--target-path", str(restored_dir))
    assert done.returncode == 0, done.stderr
    assert "copied 52" in done.stdout and "verification OK" in done.stdout

    original = await open_service(settings, backend="sqlite_vec", location=str(db))
    restored = await open_service(settings, backend="chroma", location=str(restored_dir))
    try:
        want, got = await all_memories(original), await all_memories(restored)
        assert {h: m for h, (m, _) in want.items()} == {h: m for h, (m, _) in got.items()}
        for h in want:  # re-embedded by the same model: the same vectors
            assert sum(a * b for a, b in zip(want[h][1], got[h][1])) > 0.999
    finally:
        await original.close()
        await restored.close()


def make_reference_db(path: Path) -> list[tuple]:
    """The reference service's sqlite_vec layout, with its vec0 table, in WAL mode."""
    import sqlean
    import sqlite_vec

    rows = [("Deploys happen on Tuesdays after the standup", "ops,process", "decision",
             '{"team": "infra", "priority": 2}', 1_710_000_000.25, 1_710_000_500.5, None),
            ("The staging database password rotates monthly", "security", "fact", "{}", 1_710_100_000.0,
             1_710_100_000.0, None),
            ("Removed: an obsolete idea", "misc", "note", None, 1_700_000_000.0, 1_700_000_000.0, 1_710_000_000.0),
            ("Coffee order for the team: two flat whites", "", None, None, 1_710_200_000.75, 1_710_200_000.75, None)]
    conn = sqlean.connect(str(path))
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("""CREATE TABLE memories (id INTEGER PRIMARY KEY AUTOINCREMENT, content_hash TEXT UNIQUE NOT NULL,
                    content TEXT NOT NULL, tags TEXT, memory_type TEXT, metadata TEXT, created_at REAL,
                    updated_at REAL, created_at_iso TEXT, updated_at_iso TEXT, deleted_at REAL)""")
    conn.execute("CREATE VIRTUAL TABLE memory_embeddings USING vec0(content_embedding FLOAT[384])")
    for content, tags, mtype, meta, created, updated, deleted in rows:
        cur = conn.execute("INSERT INTO memories (content_hash, content, tags, memory_type, metadata, created_at, "
                           "updated_at, deleted_at) VALUES (?,?,?,?,?,?,?,?)",
                           (content_hash(content), content, tags, mtype, meta, created, updated, deleted))
        conn.execute("INSERT INTO memory_embeddings (rowid, content_embedding) VALUES (?, ?)",
                     (cur.lastrowid, sqlite_vec.serialize_float32([0.05] * 384)))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return rows


async def test_reference_service_database_imports_intact(tmp_path):
    ref_dir = tmp_path / "reference"
    ref_dir.mkdir()
    ref = ref_dir / "sqlite_vec.db"
    rows = make_reference_db(ref)
    listing = sorted(p.name for p in ref_dir.iterdir())
    digest = hashlib.sha256(ref.read_bytes()).hexdigest()
    target = tmp_path / "ours.db"
    done = memory_cli(tmp_path, "migrate", "--from", "mcp-memory-service", "--source-path", str(ref),
                      "--to", "sqlite_vec", "--target-path", str(target))
    assert done.returncode == 0, done.stderr
    assert "copied 4" in done.stdout and "4 embedded again" in done.stdout and "verification OK" in done.stdout
    assert hashlib.sha256(ref.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in ref_dir.iterdir()) == listing

    service = await open_service(Settings(), backend="sqlite_vec", location=str(target))
    try:
        assert await service.count() == 3
        first = await service.get(content_hash(rows[0][0]))
        assert first.tags == ["ops", "process"] and first.memory_type == "decision"
        assert first.metadata == {"team": "infra", "priority": 2}
        assert (first.created_at, first.updated_at) == (1_710_000_000.25, 1_710_000_500.5)
        last = await service.get(content_hash(rows[3][0]))
        assert last.tags == [] and last.memory_type is None and last.created_at == 1_710_200_000.75
        assert [m.content for m in await service.search_by_tag(["misc"])] == []  # soft-deleted: in the trash
        [trashed] = (await service.trash_list()).memories
        assert trashed.tags == ["misc"] and trashed.deleted_reason == "deleted"
        top = await service.retrieve("when do we deploy?", 1)
        assert top[0].memory.content == rows[0][0]
    finally:
        await service.close()


def test_missing_and_empty_sources_write_nothing(tmp_path):
    target = tmp_path / "never.db"
    done = memory_cli(tmp_path, "migrate", "--from", "sqlite_vec", "--source-path", str(tmp_path / "nope.db"),
                      "--to", "sqlite_vec", "--target-path", str(target))
    assert done.returncode == 1 and "does not exist" in done.stderr
    done = memory_cli(tmp_path, "migrate", "--from", "chroma", "--source-path", str(tmp_path / "no_dir"),
                      "--to", "sqlite_vec", "--target-path", str(target))
    assert done.returncode == 1 and "does not exist" in done.stderr
    (tmp_path / "empty_chroma").mkdir()
    done = memory_cli(tmp_path, "migrate", "--from", "chroma", "--source-path", str(tmp_path / "empty_chroma"),
                      "--to", "sqlite_vec", "--target-path", str(target))
    assert done.returncode == 1 and "holds no memories" in done.stderr
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not sqlite" * 100)
    done = memory_cli(tmp_path, "migrate", "--from", "mcp-memory-service", "--source-path", str(garbage),
                      "--to", "sqlite_vec", "--target-path", str(target))
    assert done.returncode == 1 and "neither a SQLite database nor a JSON export" in done.stderr
    assert not target.exists() and not (tmp_path / "never.db-wal").exists()
    assert not (tmp_path / "nope.db").exists() and not (tmp_path / "no_dir").exists()


async def test_sqlite_vec_to_sqlite_vec_then_verify_and_optimize(tmp_path):
    db = tmp_path / "live.db"
    service = await open_service(Settings(), backend="sqlite_vec", location=str(db))
    try:
        await service.store_prepared(corpus(30))
        # an imported copy under a foreign hash: the duplicate that optimize removes
        twin = corpus(1)[0]
        await service.store_prepared([twin.with_changes(content_hash="0" * 64, created_at=twin.created_at + 1)])
    finally:
        await service.close()
    copy = tmp_path / "copy.db"
    done = memory_cli(tmp_path, "migrate", "--from", "sqlite_vec", "--source-path", str(db),
                      "--to", "sqlite_vec", "--target-path", str(copy), "--quiet")
    assert done.returncode == 0 and "copied 31" in done.stdout and "vectors: 31 taken from the source" in done.stdout

    done = memory_cli(tmp_path, "verify", MCP_MEMORY_SQLITE_PATH=str(copy))
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("python", "sqlite", "extension loading", "sqlite-vec", "plugins", "embedder", "database path",
                 "integrity_check", "store opens", "embedding model"):
        assert f"OK    {name}" in done.stdout, (name, done.stdout)
    done = memory_cli(tmp_path, "optimize", MCP_MEMORY_SQLITE_PATH=str(copy))
    assert done.returncode == 0, done.stderr
    assert "moved 1 duplicate memories to the trash" in done.stdout
    assert "vacuum" in done.stdout and " MB -> " in done.stdout

    broken = tmp_path / "broken.db"
    broken.write_bytes(b"garbage, not a database" * 50)
    done = memory_cli(tmp_path, "verify", "--no-model", MCP_MEMORY_SQLITE_PATH=str(broken))
    assert done.returncode == 1 and "FAIL" in done.stdout and "fix:" in done.stdout

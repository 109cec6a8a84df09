"""SIGKILL at random moments during ``memory import``, ``memory migrate`` and ``memory optimize``.

After every kill the file must pass ``PRAGMA integrity_check``, every memory must have its vector and its
tags (and no vector, tag or full-text row may be left without its memory), nothing committed before may
be gone, and running the command again must complete the set with no duplicates.
Kills are aimed at the working part of each run: the wait starts once the process has the database open,
and the delay is drawn over the length of an uninterrupted run measured first.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlean
from dbcheck import inspect
from processes import base_env, free_port, memory_command

from mcp_memory.backup import read_backup
from mcp_memory.config import Settings
from mcp_memory.consolidate import undo
from mcp_memory.models import content_hash
from mcp_memory.service import open_service

pytestmark = pytest.mark.slow


def write_jsonl(path: Path, rows: int, seed: int = 7) -> dict[str, dict]:
    """A JSONL import file; returns hash -> the tags and metadata each memory must end up with."""
    rng = random.Random(seed)
    words = ["river", "stone", "cloud", "ledger", "orbit", "maple", "signal", "harbor", "copper", "lantern",
             "meadow", "quartz"]
    expected: dict[str, dict] = {}
    with path.open("w") as out:
        for i in range(rows):
            content = f"imported memory {i}: " + " ".join(rng.choice(words) for _ in range(rng.randint(4, 16)))
            tags = ["import", f"batch-{i % 17}"] + (["odd"] if i % 2 else [])
            metadata = {"row": i, "source": "crash test"}
            out.write(json.dumps({"content": content, "tags": tags, "metadata": metadata}) + "\n")
            expected[content_hash(content)] = {"tags": tags, "metadata": metadata}
    return expected


def has_open(pid: int, path: Path) -> bool:
    """True once process ``pid`` holds ``path`` open (read from /proc)."""
    target = str(path)
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return True
            except OSError:
                continue
    except OSError:
        return False
    return False


@dataclass
class Killer:
    """Runs a command until it opens ``watch``, then SIGKILLs it after a random part of ``window`` seconds."""

    command: list[str]
    env: dict[str, str]
    watch: Path
    log: Path
    rng: random.Random = field(default_factory=lambda: random.Random(2024))
    window: float = 1.0
    after_first_write: bool = False  # start the clock once memories grow (a slow model loads first)

    def start(self) -> subprocess.Popen:
        with self.log.open("a") as err:
            return subprocess.Popen(self.command, env=self.env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err)

    def wait_open(self, proc: subprocess.Popen) -> float:
        deadline = time.monotonic() + 120
        while not has_open(proc.pid, self.watch):
            assert proc.poll() is None or proc.returncode == 0, self.log.read_text()[-3000:]
            if proc.poll() is not None:
                break
            assert time.monotonic() < deadline, "the command never opened the database"
            time.sleep(0.002)
        if self.after_first_write:
            start = count_memories(self.watch)
            while proc.poll() is None and count_memories(self.watch) <= start:
                assert time.monotonic() < deadline, "the command never wrote a memory"
                time.sleep(0.02)
        return time.monotonic()

    def calibrate(self) -> float:
        """Run once to the end; the window is the time from opening the database to exit."""
        proc = self.start()
        opened = self.wait_open(proc)
        assert proc.wait(600) == 0, self.log.read_text()[-3000:]
        self.window = max(0.05, time.monotonic() - opened)
        return self.window

    def round(self) -> bool:
        """One run; True when it was killed while working, False when it finished first."""
        proc = self.start()
        self.wait_open(proc)
        time.sleep(self.rng.uniform(0, self.window))
        killed = proc.poll() is None
        if killed:
            proc.kill()
        code = proc.wait(600)
        assert killed or code == 0, self.log.read_text()[-3000:]
        return killed


def count_memories(path: Path) -> int:
    """Memories committed so far, read like any other process would (0 before the table exists)."""
    try:
        conn = sqlean.connect(str(path), timeout=30)
        try:
            return conn.execute("SELECT count(*) FROM memories").fetchone()[0]
        finally:
            conn.close()
    except sqlean.Error:
        return 0


def remove_db(path: Path) -> None:
    for p in [path, *path.parent.glob(path.name + "-*")]:
        p.unlink(missing_ok=True)


def check_against(db: Path, expected: dict[str, dict], committed: set[str]) -> set[str]:
    """The file is sound, holds only expected memories with their tags and metadata, and lost nothing."""
    state = inspect(db)
    assert state.integrity == "ok", state.integrity
    assert state.problems == [], state.problems[:10]
    present = set(state.memories)
    assert present <= set(expected), "memories that were never imported"
    wrong = [h for h in present if state.memories[h]["tags"] != expected[h]["tags"]
             or state.memories[h]["metadata"] != expected[h]["metadata"]]
    assert wrong == [], f"{len(wrong)} memories with other tags or metadata"
    lost = committed - present
    assert not lost, f"{len(lost)} memories committed earlier are gone"
    return present


def cli(hash_embedder: bool) -> list[str]:
    return memory_command(hash_embedder)


def env_for(db: Path, hash_embedder: bool) -> dict[str, str]:
    env = base_env(db, free_port(), hash_embedder=hash_embedder, MCP_HTTP_ENABLED="false", LOG_LEVEL="WARNING")
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)


def kill_imports(tmp_path: Path, rows: int, kills: int, hash_embedder: bool) -> dict[str, int]:
    """Kill ``memory import`` ``kills`` times, check after each kill, then let it finish."""
    source = tmp_path / "memories.jsonl"
    expected = write_jsonl(source, rows)
    db = tmp_path / "import.db"
    env = env_for(db, hash_embedder)
    command = [*cli(hash_embedder), "import", str(source), "--batch-size", "64", "--quiet"]
    killer = Killer(command, env, db, tmp_path / "import.log", after_first_write=not hash_embedder)
    if hash_embedder:
        killer.calibrate()
    else:  # a run is mostly loading the model: aim at the first batches after it, without a calibration run
        killer.window = 1.5
    remove_db(db)
    committed: set[str] = set()
    landed = finished = checks = partial = 0
    while landed < kills:
        if killer.round():
            landed += 1
        else:  # the import completed before the kill: check it, then start again from an empty file
            finished += 1
            assert check_against(db, expected, committed) == set(expected)
            remove_db(db)
            committed = set()
            continue
        committed = check_against(db, expected, committed)
        checks += 1
        partial += 0 < len(committed) < rows
    done = run(command, env)
    summary = done.stdout.strip()
    assert done.returncode == 0, done.stderr[-3000:]
    assert summary == f"imported {rows - len(committed)}, duplicates {len(committed)}, errors 0", summary
    assert check_against(db, expected, committed) == set(expected)
    return {"kills": landed, "finished_before_kill": finished, "checks": checks, "rows": rows,
            "window": killer.window, "partial": partial}


def test_sigkill_during_import_hash_embedder(tmp_path, sizes, figure):
    got = kill_imports(tmp_path, sizes.import_rows, sizes.import_kills, hash_embedder=True)
    figure(f"crash import (HashEmbedder) rows={got['rows']} kills={got['kills']} "
           f"completed_runs={got['finished_before_kill']} kills_with_partial_set={got['partial']} "
           "lost=0 orphans=0 corrupt=0 "
           f"duplicates=0 window={got['window']:.1f}s")


def test_sigkill_during_import_real_model(tmp_path, sizes, figure):
    rows, kills = (600, 3) if sizes.import_kills <= 20 else (3000, 20)
    got = kill_imports(tmp_path, rows, kills, hash_embedder=False)
    figure(f"crash import (all-MiniLM-L6-v2) rows={got['rows']} kills={got['kills']} "
           f"completed_runs={got['finished_before_kill']} kills_with_partial_set={got['partial']} lost=0 "
           "orphans=0 corrupt=0 duplicates=0 (kills aimed after the first committed batch)")


def make_source(tmp_path: Path, rows: int) -> tuple[Path, dict[str, dict]]:
    source = tmp_path / "memories.jsonl"
    expected = write_jsonl(source, rows, seed=11)
    db = tmp_path / "source.db"
    done = run([*cli(True), "import", str(source), "--quiet"], env_for(db, True))
    assert done.returncode == 0, done.stderr[-3000:]
    return db, expected


def test_sigkill_during_migrate(tmp_path, sizes, figure):
    src, expected = make_source(tmp_path, sizes.import_rows)
    before = inspect(src).memories
    dst, backup = tmp_path / "target.db", tmp_path / "backup.json"
    env = env_for(tmp_path / "configured.db", True)
    command = [*cli(True), "migrate", "--from", "sqlite_vec", "--source-path", str(src), "--to", "sqlite_vec",
               "--target-path", str(dst), "--backup", "--backup-path", str(backup), "--quiet"]
    killer = Killer(command, env, src, tmp_path / "migrate.log", rng=random.Random(99))
    killer.calibrate()
    remove_db(dst)
    backup.unlink()
    committed: set[str] = set()
    landed = finished = backups_checked = partial = 0
    while landed < sizes.migrate_kills:
        killed = killer.round()
        landed += killed
        finished += not killed
        if backup.exists():  # written to a temporary file and renamed: complete or absent
            _, memories = read_backup(backup)
            assert {m.content_hash for m in memories} == set(expected)
            backups_checked += 1
        if dst.exists():
            committed = check_against(dst, expected, committed)
            partial += killed and 0 < len(committed) < len(expected)
        assert inspect(src).memories == before, "the source is never changed"
        if not killed:
            remove_db(dst)
            backup.unlink(missing_ok=True)
            committed = set()
    done = run([*command[:-4], "--quiet"], env)  # rerun without the backup: it completes the target
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "verification OK" in done.stdout
    assert check_against(dst, expected, committed) == set(expected)
    figure(f"crash migrate rows={len(expected)} kills={landed} completed_runs={finished} "
           f"kills_with_partial_target={partial} backups_checked={backups_checked} "
           "lost=0 corrupt=0 duplicates=0 source_unchanged=yes "
           f"window={killer.window:.1f}s")


def test_sigkill_during_optimize(tmp_path, sizes, figure):
    db, expected = make_source(tmp_path, sizes.import_rows)
    env = env_for(db, True)
    killer = Killer([*cli(True), "optimize"], env, db, tmp_path / "optimize.log", rng=random.Random(5))
    killer.calibrate()
    landed = finished = 0
    while landed < sizes.optimize_kills:
        killed = killer.round()
        landed += killed
        finished += not killed
        assert check_against(db, expected, set(expected)) == set(expected)
    done = run([*cli(True), "optimize"], env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert check_against(db, expected, set(expected)) == set(expected)
    figure(f"crash optimize rows={len(expected)} kills={landed} completed_runs={finished} lost=0 corrupt=0 "
           f"window={killer.window:.1f}s")


def write_clusters(path: Path, clusters: int, seed: int = 3) -> dict[str, dict]:
    """A JSONL of near-duplicate triples (a sentence, it with a word more, it with a word less) of random words:
    what consolidation merges. Returns hash -> the tags and metadata each memory was imported with."""
    rng = random.Random(seed)
    word = lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7))  # noqa: E731
    expected: dict[str, dict] = {}
    with path.open("w") as out:
        for c in range(clusters):
            base = [word() for _ in range(12)]
            for v, words in enumerate((base, [*base, word()], base[:-1])):
                content = " ".join(words)
                tags, metadata = [f"cluster-{c}", f"variant-{v}"], {"cluster": c, "variant": v}
                out.write(json.dumps({"content": content, "tags": tags, "metadata": metadata,
                                      "created_at": 1_700_000_000 + c * 100 + v}) + "\n")
                expected[content_hash(content)] = {"tags": tags, "metadata": metadata}
    return expected


def check_consolidation(db: Path, expected: dict[str, dict]) -> int:
    """Sound file; every memory is live, or in the trash merged into a live memory of its cluster that carries its
    tags. Returns how many are merged away."""
    state = inspect(db)
    assert state.integrity == "ok" and state.problems == [], (state.integrity, state.problems[:10])
    assert set(state.memories) == set(expected), "memories appeared or vanished"
    conn = sqlean.connect(str(db))
    try:
        links = dict(((h, (reason, replaced)) for h, reason, replaced in conn.execute(
            "SELECT content_hash, deleted_reason, replaced_by FROM memories WHERE deleted_at IS NOT NULL")))
    finally:
        conn.close()
    for h, (reason, replaced) in links.items():
        assert reason == "merged" and replaced in state.live, (h, reason, replaced)
        assert set(expected[h]["tags"]) <= set(state.memories[replaced]["tags"]), "tags of a merged memory lost"
    return len(links)


async def undo_every_merge(db: Path) -> None:
    service = await open_service(Settings(), backend="sqlite_vec", location=str(db), with_embedder=False)
    try:
        for memory in (await service.list_memories(page_size=1000)).memories:
            if "consolidation" in memory.metadata:
                await undo(service, memory.content_hash)
    finally:
        await service.close()


def test_sigkill_during_consolidate_then_undo(tmp_path, sizes, figure):
    source = tmp_path / "clusters.jsonl"
    expected = write_clusters(source, clusters=max(30, sizes.import_rows // 30))
    db = tmp_path / "consolidate.db"
    env = env_for(db, True)
    done = run([*cli(True), "import", str(source), "--quiet"], env)
    assert done.returncode == 0, done.stderr[-3000:]
    pristine = tmp_path / "pristine.db"
    pristine.write_bytes(db.read_bytes())
    command = [*cli(True), "consolidate", "--apply", "--threshold", "0.8"]
    killer = Killer(command, env, db, tmp_path / "consolidate.log", rng=random.Random(17))
    killer.calibrate()
    assert check_consolidation(db, expected) == 2 * len(expected) // 3  # one kept of each triple
    landed = finished = partial = 0
    while landed < sizes.optimize_kills:
        remove_db(db)
        db.write_bytes(pristine.read_bytes())
        killed = killer.round()
        landed += killed
        finished += not killed
        partial += killed and 0 < check_consolidation(db, expected) < 2 * len(expected) // 3
        check_consolidation(db, expected)
    done = run(command, env)  # the rest of the merges, after the last kill
    assert done.returncode == 0, done.stderr[-3000:]
    assert check_consolidation(db, expected) == 2 * len(expected) // 3
    undone = run([*cli(True), "consolidate", "--undo", next(iter(inspect(db).live))], env)  # the command once
    assert undone.returncode == 0, undone.stderr[-3000:]
    asyncio.run(undo_every_merge(db))
    assert check_consolidation(db, expected) == 0
    state = inspect(db)
    assert all(state.memories[h]["tags"] == expected[h]["tags"] and state.memories[h]["metadata"] ==
               expected[h]["metadata"] for h in expected), "undo did not restore the imported tags and metadata"
    figure(f"crash consolidate memories={len(expected)} kills={landed} completed_runs={finished} "
           f"kills_with_partial_merge={partial} lost=0 corrupt=0 undo_exact=yes window={killer.window:.1f}s")

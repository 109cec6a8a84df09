"""Direct mode (wal plugin): 8 processes write 500 distinct memories each into one SQLite file at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlean

from mcp_memory.config import Settings
from mcp_memory.service import open_service

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

WRITER = Path(__file__).parents[1] / "scripts" / "writer.py"
PROCESSES, PER_PROCESS = 8, 500


@pytest.fixture
def anyio_backend():
    return "asyncio"


def run_writers(tmp_path: Path, embedder: str | None, batch: int) -> tuple[list[dict], float, list[str]]:
    """Start the writers, wait until each has opened the store (and model), release them together."""
    go = tmp_path / "go"
    env = {**os.environ, "MCP_MEMORY_SQLITE_PATH": str(tmp_path / "shared.db"), "MCP_HTTP_ENABLED": "false",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WRITER_GO": str(go), "LOG_LEVEL": "WARNING"}
    env.pop("MCP_MEMORY_EMBEDDER", None)
    if embedder:
        env["MCP_MEMORY_EMBEDDER"] = embedder
    else:  # 8 torch processes on a small machine: one thread each, or they spin against each other
        env.setdefault("OMP_NUM_THREADS", "1")
    logs = [tmp_path / f"writer{i}.log" for i in range(PROCESSES)]
    procs = [subprocess.Popen([sys.executable, str(WRITER), str(i), str(PER_PROCESS), str(batch)], env=env,
                              stdout=subprocess.PIPE, stderr=open(logs[i], "w"), text=True)
             for i in range(PROCESSES)]
    try:
        deadline = time.monotonic() + 600
        while not all(Path(f"{go}.ready.{i}").exists() for i in range(PROCESSES)):
            assert all(p.poll() is None for p in procs), [log.read_text()[-2000:] for log in logs]
            assert time.monotonic() < deadline, "writers did not get ready"
            time.sleep(0.05)
        started = time.perf_counter()
        go.touch()
        outputs = [p.communicate(timeout=900)[0] for p in procs]
        wall = time.perf_counter() - started
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    errors = [log.read_text() for log in logs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, errors
    return [json.loads(out) for out in outputs], wall, errors


async def check_database(tmp_path: Path, embedder: str | None) -> None:
    conn = sqlean.connect(str(tmp_path / "shared.db"))
    try:  # WAL is persistent in the file: the writers ran in WAL mode
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    settings = Settings(embedder=embedder)
    service = await open_service(settings, location=str(tmp_path / "shared.db"), with_embedder=False)
    try:
        assert await service.count() == PROCESSES * PER_PROCESS
        for worker in range(PROCESSES):
            assert len(await service.search_by_tag([f"w{worker}"], limit=1000)) == PER_PROCESS
    finally:
        await service.close()


def troubles(logs: list[str]) -> list[str]:
    """The writers' log lines that speak of a lock or an error (each with its writer's number)."""
    return [f"writer {i}: {line}" for i, log in enumerate(logs) for line in log.splitlines()
            if "locked" in line.lower() or "error" in line.lower()]


def report(name: str, results: list[dict], wall: float) -> None:
    slowest = max(r["seconds"] for r in results)
    print(f"\n{name}: {PROCESSES}x{PER_PROCESS} memories in {wall:.1f} s wall "
          f"({PROCESSES * PER_PROCESS / wall:.0f} memories/s; slowest writer {slowest:.1f} s)")


async def test_eight_processes_store_one_by_one_hash_embedder(tmp_path):
    results, wall, errors = run_writers(tmp_path, "hash", batch=0)
    assert sum(r["stored"] for r in results) == PROCESSES * PER_PROCESS
    assert sum(r["duplicates"] for r in results) == 0
    assert not troubles(errors)
    await check_database(tmp_path, "hash")
    report("direct, store() one by one, HashEmbedder", results, wall)


async def test_eight_processes_store_batches_real_model(tmp_path):
    results, wall, errors = run_writers(tmp_path, None, batch=20)
    assert sum(r["stored"] for r in results) == PROCESSES * PER_PROCESS
    assert sum(r["duplicates"] for r in results) == 0
    assert not troubles(errors)
    await check_database(tmp_path, None)
    report("direct, store_batch(20), all-MiniLM-L6-v2", results, wall)

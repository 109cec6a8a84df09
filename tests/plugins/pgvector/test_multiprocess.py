"""8 processes x 500 stores through the core service into one PostgreSQL schema at once: nothing lost, no error."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mcp_memory.protocols import Filter
from mcp_memory.testing import HashEmbedder
from mcp_memory_pgvector.plugin import create_storage

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

WRITER = Path(__file__).parents[2] / "scripts" / "pgvector_writer.py"
PROCESSES, PER_PROCESS = 8, 500


def writer_module():
    spec = importlib.util.spec_from_file_location("pgvector_writer", WRITER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_texts_are_no_near_duplicates_of_each_other():
    """Precondition: every one of the 4,000 texts must be stored, so none may be a near duplicate of another."""
    writer = writer_module()
    texts = [writer.text(w, i) for w in range(PROCESSES) for i in range(PER_PROCESS)]
    matrix = np.array(HashEmbedder(dimension=writer.DIMENSION).embed(texts), dtype=np.float32)
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, 0.0)
    assert similarity.max() < 0.9, similarity.max()


async def test_eight_writer_processes(pg_dsn, pg_settings, fresh_schema, tmp_path):
    go = tmp_path / "go"
    env = {**os.environ, "MCP_MEMORY_PGVECTOR_DSN": pg_dsn, "MCP_MEMORY_PGVECTOR_SCHEMA": fresh_schema,
           "MCP_MEMORY_PGVECTOR_POOL_SIZE": "2", "MCP_MEMORY_PLUGINS": "pgvector", "WRITER_GO": str(go),
           "LOG_LEVEL": "WARNING"}
    logs = [tmp_path / f"writer{i}.log" for i in range(PROCESSES)]
    procs = [subprocess.Popen([sys.executable, str(WRITER), str(i), str(PER_PROCESS)], env=env,
                              stdout=subprocess.PIPE, stderr=open(logs[i], "w"), text=True)
             for i in range(PROCESSES)]
    try:
        deadline = time.monotonic() + 120
        while not all(Path(f"{go}.ready.{i}").exists() for i in range(PROCESSES)):
            assert all(p.poll() is None for p in procs), [log.read_text()[-2000:] for log in logs]
            assert time.monotonic() < deadline, "writers did not get ready"
            time.sleep(0.05)
        started = time.perf_counter()
        go.touch()
        outputs = [p.communicate(timeout=600)[0] for p in procs]
        wall = time.perf_counter() - started
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * PROCESSES, [log.read_text()[-2000:] for log in logs]
    results = [json.loads(out) for out in outputs]
    print(f"\npgvector: {PROCESSES}x{PER_PROCESS} stores through the service in {wall:.1f} s wall "
          f"({PROCESSES * PER_PROCESS / wall:,.0f}/s); slowest writer {max(r['seconds'] for r in results):.1f} s; "
          f"errors {sum(r['errors'] for r in results)}")
    assert sum(r["errors"] for r in results) == 0, [r["first_errors"] for r in results]
    assert [r["stored"] for r in results] == [PER_PROCESS] * PROCESSES, results

    store = create_storage(pg_settings, pg_dsn)
    await store.initialize(None)
    try:
        assert await store.count() == PROCESSES * PER_PROCESS
        for worker in range(PROCESSES):
            assert await store.count(Filter(tags=(f"w{worker}",))) == PER_PROCESS
        hashes = [m.content_hash async for batch in store.iter_memories(1000) for m, _ in batch]
        assert len(hashes) == len(set(hashes)) == PROCESSES * PER_PROCESS
    finally:
        await store.close()

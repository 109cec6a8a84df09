#!/usr/bin/env python
"""Cold commands of installed venvs: ``memory store`` / ``memory retrieve``, the first MCP answer, ``memory http``.

    python tests/performance/cold_cli.py --workdir /tmp/cold \\
        --config onnx=/tmp/install-bench/default/.venv \\
        --config sentence_transformers=/tmp/install-bench/sentence_transformers/.venv [--json OUT]

Each ``--config EMBEDDER=VENV`` runs that venv's ``memory`` with ``MCP_MEMORY_EMBEDDER=EMBEDDER``. The configs
take turns at every step, so a burst of load on a shared machine hits all of them. With no server running
(``MCP_HTTP_PORT`` points at a free port), on a sqlite_vec store of 10,000 corpus memories:

- ``memory store TEXT`` and ``memory retrieve QUERY``: wall time from spawn to exit and the peak RSS of the
  process (``ru_maxrss`` from wait4), the median of --runs fresh processes each (new texts: the store
  really writes, after its near-duplicate check);
- the first ``retrieve_memory`` answer over stdio after the process starts, driven by the MCP SDK client:
  the median of --runs fresh servers;

then ``memory http`` on a store of 100,000 memories: seconds until ``/api/health`` answers, and its peak RSS
(VmHWM) after --http-queries ``POST /api/search`` calls, the dashboard page and one page of ``/api/memories``.

Every process is a new one, but the OS file cache is warm: one untimed ``memory retrieve`` per config runs
first (it also builds the ONNX model if the data directory has none). HOME and the XDG directories point into
WORKDIR/home. The stores are filled once from the corpus vectors (bench_stores.py) and kept in WORKDIR/stores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_stores  # noqa: E402
import corpus  # noqa: E402

TARGETS = {"store_s": 1.5, "retrieve_s": 1.5, "store_rss_mb": 250, "retrieve_rss_mb": 250,
           "first_mcp_retrieve_s": 2.0, "http_rss_mb": 400}


def log(message: str) -> None:
    print(f"[cold] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_of(workdir: Path, embedder: str, db: Path) -> dict[str, str]:
    home = workdir / "home"
    return bench_stores.offline_env(
        HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"), MCP_MEMORY_EMBEDDER=embedder, MCP_MEMORY_STORAGE_BACKEND="sqlite_vec",
        MCP_MEMORY_SQLITE_PATH=str(db), MCP_HTTP_PORT=str(free_port()), LOG_LEVEL="WARNING")


def measured(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds from spawn to exit, peak RSS in MB (wait4's ru_maxrss) and CPU seconds (user + system);
    fails on an error exit."""
    out_path, err_path = cwd / "cmd.out", cwd / "cmd.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} exited with {proc.returncode}: {err_path.read_text()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


async def first_mcp_retrieve(memory: str, env: dict[str, str], cwd: Path, query: str) -> float:
    """Seconds from spawning a stdio server to the answer of its first retrieve_memory (after initialize)."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    with open(cwd / "server.err", "a") as err:
        started = time.perf_counter()
        params = StdioServerParameters(command=memory, args=[], env=env, cwd=str(cwd))
        async with Client(stdio_client(params, errlog=err), read_timeout_seconds=300, mode="legacy") as client:
            result = await client.call_tool("retrieve_memory", {"query": query, "n_results": 5})
            seconds = time.perf_counter() - started
            if result.is_error:
                raise RuntimeError(f"retrieve_memory failed: {result.content[0].text}")
    return seconds


def fill_apart(path: Path, n: int, cache: Path) -> Path:
    """``bench_stores.fill_sqlite`` in a separate process. The peak RSS that wait4 reports for a command is at
    least that of this process when it spawned the command (the child starts as its copy), so this process must
    stay small: the corpus and its vectors are never loaded here."""
    process = multiprocessing.get_context("spawn").Process(target=bench_stores.fill_sqlite, args=(path, n, cache, log))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"filling {path} failed (exit code {process.exitcode})")
    return path


def own_hwm_mb() -> float:
    return vm_hwm_mb(os.getpid())


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def http_run(memory: str, env: dict[str, str], cwd: Path, queries: list[str]) -> dict[str, float]:
    """``memory http`` on the store of ``env``: seconds to the first /api/health answer, then its peak RSS after
    the queries, the dashboard and a page of memories."""
    port = int(env["MCP_HTTP_PORT"])
    base = f"http://127.0.0.1:{port}"
    with open(cwd / "http.err", "ab") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([memory, "http", "--port", str(port)], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"memory http exited with {proc.returncode}: {(cwd / 'http.err').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        ready = time.perf_counter() - started
        search_ms = []
        for query in queries:
            request = urllib.request.Request(f"{base}/api/search", method="POST",
                                             data=json.dumps({"query": query, "n_results": 10}).encode(),
                                             headers={"content-type": "application/json"})
            called = time.perf_counter()
            with urllib.request.urlopen(request, timeout=300) as answer:
                answer.read()
            search_ms.append((time.perf_counter() - called) * 1000)
        for path in ("/", "/api/memories?page=1&page_size=50", "/api/stats"):
            with urllib.request.urlopen(f"{base}{path}", timeout=60) as answer:
                answer.read()
        rss = vm_hwm_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"http_ready_s": ready, "http_rss_mb": rss, "http_first_search_ms": search_ms[0],
            "http_search_p50_ms": statistics.median(search_ms[1:] or search_ms)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--config", action="append", required=True, metavar="EMBEDDER=VENV")
    parser.add_argument("--cache-dir", type=Path, help="corpus vectors (default WORKDIR/cache)")
    parser.add_argument("--size", type=int, default=10_000, help="memories of the CLI and MCP store")
    parser.add_argument("--http-size", type=int, default=100_000, help="memories of the memory http store")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--http-queries", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configs = [(spec.split("=", 1)[0], str(Path(spec.split("=", 1)[1]) / "bin" / "memory")) for spec in args.config]
    workdir = args.workdir.resolve()
    cache = args.cache_dir or workdir / "cache"
    (workdir / "home").mkdir(parents=True, exist_ok=True)
    small = fill_apart(workdir / "stores" / f"cli-{args.size}.db", args.size, cache)
    large = fill_apart(workdir / "stores" / f"http-{args.http_size}.db", args.http_size, cache)
    runs: dict[str, dict[str, list[float]]] = {
        name: {k: [] for k in ("store_s", "store_cpu_s", "store_rss_mb", "retrieve_s", "retrieve_cpu_s",
                               "retrieve_rss_mb", "first_mcp_retrieve_s")} for name, _ in configs}
    load = {"start": os.getloadavg()}
    for name, memory in configs:  # untimed: warm the file cache (and build the ONNX model if missing)
        log(f"{name}: warm-up")
        measured([memory, "retrieve", "warm up"], env_of(workdir, name, small), workdir)
    texts = [f"Cold start note {i} ({time.time_ns()}): {q}" for i, q in enumerate(corpus.queries(args.runs * 10))]
    queries = corpus.queries(args.runs * 10 + args.http_queries, seed=corpus.SEED + 7)
    for run in range(args.runs):
        for i, (name, memory) in enumerate(configs):
            env = env_of(workdir, name, small)
            wall, rss, cpu = measured([memory, "store", texts[run * 10 + i], "--tags", "cold"], env, workdir)
            runs[name]["store_s"].append(wall)
            runs[name]["store_cpu_s"].append(cpu)
            runs[name]["store_rss_mb"].append(rss)
            wall, rss, cpu = measured([memory, "retrieve", queries[run * 10 + i]], env, workdir)
            runs[name]["retrieve_s"].append(wall)
            runs[name]["retrieve_cpu_s"].append(cpu)
            runs[name]["retrieve_rss_mb"].append(rss)
            runs[name]["first_mcp_retrieve_s"].append(asyncio.run(
                first_mcp_retrieve(memory, env, workdir, queries[run * 10 + i + 5])))
            log(f"{name} run {run + 1}: store {runs[name]['store_s'][-1]:.2f} s, retrieve {wall:.2f} s, "
                f"first MCP retrieve {runs[name]['first_mcp_retrieve_s'][-1]:.2f} s")
    load["cli_end"] = os.getloadavg()
    rows: dict[str, dict[str, Any]] = {}
    for name, memory in configs:
        row: dict[str, Any] = {k: statistics.median(v) for k, v in runs[name].items()}
        row["samples"] = runs[name]
        log(f"{name}: memory http on {args.http_size:,} memories")
        row.update(http_run(memory, env_of(workdir, name, large), workdir, queries[-args.http_queries:]))
        rows[name] = row
    load["end"] = os.getloadavg()
    labels = [("store_s", f"cold `memory store` at {args.size:,}, wall (s)", "{:.2f}"),
              ("store_cpu_s", "  CPU time, user + system (s)", "{:.2f}"),
              ("store_rss_mb", "  peak RSS (MB)", "{:.0f}"),
              ("retrieve_s", f"cold `memory retrieve` at {args.size:,}, wall (s)", "{:.2f}"),
              ("retrieve_cpu_s", "  CPU time, user + system (s)", "{:.2f}"),
              ("retrieve_rss_mb", "  peak RSS (MB)", "{:.0f}"),
              ("first_mcp_retrieve_s", "spawn to first `retrieve_memory` answer over stdio (s)", "{:.2f}"),
              ("http_ready_s", f"`memory http` at {args.http_size:,}: spawn to first /api/health (s)", "{:.2f}"),
              ("http_first_search_ms", "  first /api/search (ms)", "{:.0f}"),
              ("http_search_p50_ms", "  /api/search p50 after it (ms)", "{:.1f}"),
              ("http_rss_mb", f"  peak RSS after {args.http_queries} searches and the dashboard (MB)", "{:.0f}")]
    print("| | " + " | ".join(rows) + " | target |")
    print("|---|" + "---:|" * len(rows) + "---|")
    for key, label, pattern in labels:
        target = TARGETS.get(key)
        mark = "" if target is None else f"<= {target}"
        print(f"| {label} | " + " | ".join(pattern.format(r[key]) for r in rows.values()) + f" | {mark} |")
    print(f"\npeak RSS of this script: {own_hwm_mb():.0f} MB (the peak RSS of a command cannot read lower)")
    print(f"median of {args.runs} processes each; load average (1, 5, 15 min) at the start "
          f"{' '.join(f'{x:.2f}' for x in load['start'])}, at the end {' '.join(f'{x:.2f}' for x in load['end'])}")
    for name, row in rows.items():
        for key, target in TARGETS.items():
            print(f"  [{'met' if row[key] <= target else 'NOT met'}] {name}: {key} {row[key]:.2f} (<= {target})")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "load": load, "configs": configs,
                                               "script_peak_rss_mb": own_hwm_mb()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

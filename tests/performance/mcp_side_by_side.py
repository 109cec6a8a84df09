#!/usr/bin/env python
"""``retrieve_memory`` over stdio with the MCP SDK client: several ``memory`` servers on the same store, in turn.

    python tests/performance/mcp_side_by_side.py --store /tmp/cold/stores/cli-10000.db \\
        --config before=/tmp/old/.venv/bin/memory --config after=.venv/bin/memory [--rounds 4] [--json OUT]

Each round starts every configured server once, in the order given, on the same sqlite_vec store (which the
servers only read), asks ``--queries`` default-mode ``retrieve_memory`` calls of the benchmark corpus's queries
(the first 3 untimed) and records p50, p95 and the server's peak RSS. Taking turns round by round makes a burst
of load on a shared machine hit every configuration: compare the medians of the rounds, as a ratio. Each server
gets ``MCP_MEMORY_ONNX_PATH`` (``--onnx-path``, a model directory or a ``.onnx`` file) so that all run the same
model file; no near-duplicate check; project ``global``.

Build a store with ``cold_cli.py`` (it keeps ``WORKDIR/stores/cli-10000.db``) or ``test_sqlite_vec_perf.py --keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402
from test_sqlite_vec_perf import K, vm_hwm_mb  # noqa: E402

from mcp_memory.threads import BLAS_ENVIRONMENT  # noqa: E402


def server_env(store: Path, onnx_path: str | None) -> dict[str, str]:
    # this process set the BLAS variables of a `memory` process (test_sqlite_vec_perf imports threads.py): the
    # servers get the environment without them, and each sets its own (a version from before threads.py none)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_") and k not in BLAS_ENVIRONMENT}
    env.update({"HF_HUB_OFFLINE": "1", "LOG_LEVEL": "WARNING", "MCP_MEMORY_STORAGE_BACKEND": "sqlite_vec",
                "MCP_MEMORY_SQLITE_PATH": str(store), "MCP_MEMORY_DUPLICATE_THRESHOLD": "off",
                "MCP_MEMORY_PROJECT": "global", "MCP_HTTP_ENABLED": "false"})
    if onnx_path:
        env["MCP_MEMORY_ONNX_PATH"] = onnx_path
    return env


async def one_server(command: str, env: dict[str, str], texts: list[str]) -> dict[str, Any]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    with open(os.devnull, "w") as err:
        async with Client(stdio_client(StdioServerParameters(command=command, args=[], env=env), errlog=err),
                          read_timeout_seconds=300, mode="legacy") as client:
            await client.list_tools()
            calls = []
            for text in texts:
                started = time.perf_counter()
                result = await client.call_tool("retrieve_memory", {"query": text, "n_results": K})
                calls.append((time.perf_counter() - started) * 1000)
                if result.is_error:
                    raise RuntimeError(f"{command}: retrieve_memory failed: {result.content[0].text}")
            found = subprocess.run(["pgrep", "-n", "-f", command], capture_output=True, text=True).stdout.split()
            rss = vm_hwm_mb(int(found[0])) if found else None
    timed = sorted(calls[3:])
    return {"p50_ms": statistics.median(timed), "p95_ms": timed[int(len(timed) * 0.95)], "peak_rss_mb": rss}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    configs = dict(item.split("=", 1) for item in args.config)
    env = server_env(args.store, args.onnx_path)
    texts = corpus.queries(args.queries)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for number in range(1, args.rounds + 1):
        for name, command in configs.items():
            result = await one_server(command, env, texts)
            rounds[name].append(result)
            print(f"[round {number}] {name}: p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms",
                  file=sys.stderr, flush=True)
    summary = {name: {key: statistics.median(r[key] for r in runs if r[key] is not None)
                      for key in ("p50_ms", "p95_ms", "peak_rss_mb")} for name, runs in rounds.items()}
    return {"store": str(args.store), "queries": args.queries, "rounds": rounds, "median": summary,
            "load_average": os.getloadavg()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True, help="an existing sqlite_vec store (only read)")
    parser.add_argument("--config", action="append", required=True, metavar="NAME=MEMORY_BINARY")
    parser.add_argument("--onnx-path", help="MCP_MEMORY_ONNX_PATH for every server (default: each one's own)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = asyncio.run(run(args))
    names = list(report["median"])
    first = report["median"][names[0]]
    print(f"| median of {args.rounds} rounds, {args.queries} calls each | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for key, label in (("p50_ms", "retrieve_memory p50 (ms)"), ("p95_ms", "retrieve_memory p95 (ms)"),
                       ("peak_rss_mb", "server peak RSS (MB)")):
        print(f"| {label} | " + " | ".join(f"{report['median'][n][key]:.1f}" for n in names) + " |")
    print(f"| p50 / {names[0]} p50 (x) | "
          + " | ".join(f"{report['median'][n]['p50_ms'] / first['p50_ms']:.2f}" for n in names) + " |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

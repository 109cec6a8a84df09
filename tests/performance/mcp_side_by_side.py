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
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_sqlite_vec_perf import cold_start, percentile  # noqa: E402

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


async def one_server(command: str, env: dict[str, str], queries: int) -> dict[str, Any]:
    """The store benchmark's MCP-path measurement (``cold_start``) with this server."""
    served = await cold_start(env, Path(os.devnull), queries, [command])
    calls = served["calls_ms"]
    return {"p50_ms": percentile(calls, 50), "p95_ms": percentile(calls, 95), "peak_rss_mb": served["peak_rss_mb"]}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    configs = dict(item.split("=", 1) for item in args.config)
    env = server_env(args.store, args.onnx_path)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for number in range(1, args.rounds + 1):
        for name, command in configs.items():
            result = await one_server(command, env, args.queries)
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

#!/usr/bin/env python3
"""Retrieval quality on LoCoMo: import each conversation into a fresh store, ask every question through
the same code path as the ``retrieve_memory`` tool, write a results file and print score.py's table.

usage: python tests/quality/eval_locomo.py --data ../shared/eval/locomo [--out results.jsonl]
       [--mode semantic|lexical|hybrid] [--endpoint retrieve|recall] [--now last|YYYY-MM-DD]
       [--k 10] [--skip adversarial] [--convs 0,1,2,3,4]

--endpoint recall asks through ``recall_memory``'s code path (time expressions relative to ``--now``;
"last", the default, is the time of the conversation's last turn). A second table scores only the
questions that hold a time expression.

The data is CC BY-NC 4.0 (snap-research/locomo): used for evaluation only, never shipped.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from mcp_memory.config import Settings
from mcp_memory.models import parse_timestamp
from mcp_memory.service import NewMemory, open_service
from mcp_memory.timeparse import parse_time_expression


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def reference_time(memories: list[dict], now: str) -> datetime:
    """``--now``: "last" = the conversation's last turn, else an ISO date or time."""
    if now == "last":
        stamp = max(parse_timestamp(m["created_at"]) for m in memories)
    else:
        stamp = parse_timestamp(now)
    return datetime.fromtimestamp(stamp, tz=timezone.utc)


def supported(method: object, name: str) -> bool:
    return name in inspect.signature(method).parameters  # type: ignore[arg-type]


async def run_conversation(data: Path, conv: int, args: argparse.Namespace, workdir: Path) -> list[dict]:
    settings = Settings.from_env().with_changes(storage_backend=args.backend)
    service = await open_service(settings, location=str(workdir / f"conv{conv}.db"))
    try:
        memories = read_jsonl(data / f"conv{conv}.memories.jsonl")
        prepared = [service.prepare(NewMemory(m["content"], m.get("tags"), m.get("memory_type"),
                                              m.get("metadata"), m.get("created_at"))) for m in memories]
        await service.store_prepared(prepared)
        ask = service.recall if args.endpoint == "recall" else service.retrieve
        extra = {"mode": args.mode} if args.mode and supported(ask, "mode") else {}
        if args.endpoint == "recall":
            extra["now"] = reference_time(memories, args.now)
        out = []
        for query in read_jsonl(data / f"conv{conv}.queries.jsonl"):
            found = await ask(query["question"], n_results=args.k, **extra)
            results = found.results if args.endpoint == "recall" else found
            out.append({"query_id": query["id"],
                        "ranked_ids": [r.memory.metadata.get("id") for r in results]})
        return out
    finally:
        await service.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with conv{i}.memories/queries.jsonl")
    parser.add_argument("--out", type=Path, default=Path("locomo-results.jsonl"))
    parser.add_argument("--mode", default=None, help="retrieval mode, if the service supports modes")
    parser.add_argument("--endpoint", choices=("retrieve", "recall"), default="retrieve",
                        help="ask through retrieve_memory's or recall_memory's code path")
    parser.add_argument("--now", default="last",
                        help="recall's reference time: 'last' (each conversation's last turn) or an ISO date")
    parser.add_argument("--backend", default="sqlite_vec")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--skip", default="adversarial")
    parser.add_argument("--convs", default="0,1,2,3,4")
    parser.add_argument("--json", action="store_true", help="print score.py's JSON instead of its table")
    args = parser.parse_args(argv)
    score = args.data.parent / "score.py"
    convs = [int(c) for c in args.convs.split(",")]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for conv in convs:
            results += asyncio.run(run_conversation(args.data, conv, args, Path(tmp)))
        args.out.write_text("".join(json.dumps(r) + "\n" for r in results), encoding="utf-8")
        print(f"{len(results)} queries, endpoint={args.endpoint}, mode={args.mode or 'default'}, "
              f"{time.monotonic() - started:.1f} s -> {args.out}", file=sys.stderr)
        query_files = [args.data / f"conv{c}.queries.jsonl" for c in convs]
        code = run_score(score, args, query_files)
        if code == 0:
            timed = Path(tmp) / "timed.queries.jsonl"
            timed.write_text("".join(json.dumps(q) + "\n" for f in query_files for q in read_jsonl(f)
                                     if parse_time_expression(q["question"])), encoding="utf-8")
            print("questions with a time expression:", flush=True)
            code = run_score(score, args, [timed])
        return code


def run_score(score: Path, args: argparse.Namespace, query_files: list[Path]) -> int:
    cmd = [sys.executable, str(score), str(args.out), *map(str, query_files)]
    if args.skip:
        cmd += ["--skip", args.skip]
    if args.json:
        cmd.append("--json")
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())

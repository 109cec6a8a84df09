#!/usr/bin/env python3
"""Latency of the Claude Code hooks as Claude Code runs them: ``memory hook EVENT`` in a new process, the event's
JSON on stdin. Each hook runs ``--runs`` times cold (no server: the process opens the store and loads the model)
and with ``memory http`` running (the hook talks to it). Prints p50/p95 per hook and mode, writes JSON.

usage: python tests/performance/hook_latency.py [--runs 20] [--memories 500] [--out hook-latency.json]
       [--no-server] [--test-store] [--no-bytecode]

Everything lives in a temporary HOME and database. ``--test-store`` uses the JSON-file test store and the hash
embedder of tests/plugins/claude (no model: the hooks' own overhead); the default is the configured store and
embedder (sqlite_vec and onnx in the bundle).

The processes run as on a user's machine, where Python caches the compiled modules (``__pycache__``): a
PYTHONDONTWRITEBYTECODE inherited from this shell is dropped, and the seeding and a first unmeasured run of each
hook fill the cache. ``--no-bytecode`` keeps the variable, so the project's own sources (editable installs have
no compiled files) are compiled again by every process: the worst case.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_CLI = ROOT / "tests" / "plugins" / "claude" / "memory_test_cli.py"
TRANSCRIPT = (ROOT / "tests" / "plugins" / "claude" / "fixtures" / "projects" / "-home-ana-src-billing-api"
              / "7f3c2a10-5b7e-4c11-9d2e-0a1b2c3d4e5f.jsonl")
SUBJECTS = ["the upload handler", "the billing cron", "invoice PDFs", "the Kong gateway", "the auth service",
            "the Postgres schema", "CI on GitHub Actions", "the staging database", "the retry decorator",
            "customer exports", "the webhook sender", "rate limiting", "the docs site", "feature flags"]
FACTS = ["must stay idempotent because the client retries", "is owned by Dana from the platform team",
         "was moved behind the gateway in March", "needs docker compose v2 for its tests",
         "logs through structlog with request ids", "runs every night at 02:00 UTC",
         "uses Argon2id hashes", "keeps its settings in environment variables only"]
PROMPTS = ["why does the upload handler fail on large files", "add a retry to the webhook sender",
           "which postgres version do we use for billing", "write a test for the Kong rate limit"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_cmd(test_store: bool) -> list[str]:
    if test_store:
        return [sys.executable, str(TEST_CLI)]
    found = Path(sys.executable).with_name("memory")
    return [str(found)] if found.exists() else [sys.executable, "-m", "mcp_memory.cli"]


def environment(tmp: Path, port: int, test_store: bool, bytecode: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_", "XDG_"))
           and not (bytecode and k == "PYTHONDONTWRITEBYTECODE")}
    env.update(HOME=str(tmp / "home"), MCP_MEMORY_SQLITE_PATH=str(tmp / "memories.db"), MCP_HTTP_PORT=str(port),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MCP_MEMORY_CLAUDE_CONTEXT_DEADLINE="30")
    if test_store:
        env.update(MCP_MEMORY_STORAGE_BACKEND="filestore", MCP_MEMORY_EMBEDDER="hash",
                   MCP_MEMORY_FILESTORE_PATH=str(tmp / "store.json"))
    return env


def seed(cmd: list[str], env: dict[str, str], tmp: Path, n: int) -> None:
    lines = []
    for i in range(n):
        subject, fact = SUBJECTS[i % len(SUBJECTS)], FACTS[(i // len(SUBJECTS)) % len(FACTS)]
        kind = ("decision", "preference", "note", "fact")[i % 4]
        lines.append(json.dumps({"content": f"{subject.capitalize()} {fact} (note {i}).", "memory_type": kind,
                                 "tags": [kind], "project": "billing-api"}))
    path = tmp / "seed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    subprocess.run([*cmd, "import", str(path), "--quiet"], env=env, check=True, capture_output=True, timeout=600)


def payload(event: str, project: Path, transcript: Path, i: int) -> dict[str, object]:
    data: dict[str, object] = {"session_id": f"bench-{i}", "transcript_path": str(transcript), "cwd": str(project),
                               "permission_mode": "default", "hook_event_name": event}
    if event == "SessionStart":
        data["source"] = "startup"
    elif event == "UserPromptSubmit":
        data["prompt"] = PROMPTS[i % len(PROMPTS)]
    elif event == "PreCompact":
        data.update(trigger="auto", custom_instructions="")
    return data


def time_hook(cmd: list[str], env: dict[str, str], event: str, ours: str, project: Path, transcript: Path,
              runs: int) -> dict[str, object]:
    times, cpu, answered = [], [], 0
    subprocess.run([*cmd, "hook", ours], input=json.dumps(payload(event, project, transcript, runs)),
                   capture_output=True, text=True, env=env, timeout=120)  # unmeasured: fills caches
    for i in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([*cmd, "hook", ours], input=json.dumps(payload(event, project, transcript, i)),
                              capture_output=True, text=True, env=env, timeout=120)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"hook {ours} exited {done.returncode}: {done.stderr[-2000:]}")
        answered += bool(done.stdout.strip())
    times.sort()
    return {"event": event, "runs": runs, "answered": answered, "cpu_p50": statistics.median(cpu),
            "p50": statistics.median(times),
            "p95": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))], "max": times[-1]}


def start_server(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([*cmd, "http", "--port", str(port)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"memory http exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("memory http did not answer within 180 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--memories", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path("hook-latency.json"))
    parser.add_argument("--no-server", action="store_true", help="cold runs only")
    parser.add_argument("--test-store", action="store_true", help="the JSON-file test store and hash embedder")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE: every process compiles the editable sources again")
    args = parser.parse_args(argv)
    cmd = memory_cmd(args.test_store)
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "home").mkdir()
        project = tmp / "src" / "billing-api"
        (project / ".git").mkdir(parents=True)
        transcript = tmp / TRANSCRIPT.name
        shutil.copy(TRANSCRIPT, transcript)
        port = free_port()
        env = environment(tmp, port, args.test_store, bytecode=not args.no_bytecode)
        seed(cmd, env, tmp, args.memories)
        hooks = [("SessionStart", "session-start"), ("UserPromptSubmit", "user-prompt-submit"),
                 ("PreCompact", "pre-compact")]
        for event, ours in hooks:
            rows.append({"mode": "cold", **time_hook(cmd, env, event, ours, project, transcript, args.runs)})
        if not args.no_server:
            server = start_server(cmd, env, port, tmp / "server.log")
            try:
                for event, ours in hooks:
                    rows.append({"mode": "server", **time_hook(cmd, env, event, ours, project, transcript,
                                                               args.runs)})
            finally:
                server.terminate()
                server.wait(timeout=30)
        log = tmp / "home" / ".local" / "share" / "mcp-memory" / "claude-hooks.log"
        problems = log.read_text().splitlines()[-5:] if log.exists() else []
    print(f"{'hook':<18}{'mode':<8}{'runs':>5}{'answered':>9}{'p50 s':>8}{'p95 s':>8}{'max s':>8}{'cpu p50 s':>10}")
    for r in rows:
        print(f"{r['event']:<18}{r['mode']:<8}{r['runs']:>5}{r['answered']:>9}{r['p50']:>8.3f}{r['p95']:>8.3f}"
              f"{r['max']:>8.3f}{r['cpu_p50']:>10.3f}")
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after, on {os.cpu_count()} cores")
    for line in problems:
        print(f"hook log: {line}", file=sys.stderr)
    args.out.write_text(json.dumps({"memories": args.memories, "test_store": args.test_store,
                                    "bytecode_cache": not args.no_bytecode, "rows": rows,
                                    "load_average_before": load_before, "load_average": os.getloadavg(),
                                    "cores": os.cpu_count()},
                                   indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

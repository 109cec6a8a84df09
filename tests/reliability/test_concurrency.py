"""N processes mix stores, retrieves, tag searches, updates and deletes on one database, directly (WAL) and
through one ``memory http`` server. The final file must equal the model replayed from what each process
was acknowledged, and no process may see an error."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from dbcheck import inspect
from processes import HttpServer, base_env, free_port

pytestmark = pytest.mark.slow

WORKER = Path(__file__).parents[1] / "scripts" / "mixed_worker.py"


def run_workers(tmp_path: Path, env: dict[str, str], processes: int, ops: int, url: str | None = None
                ) -> list[dict]:
    """Start the workers, release them together once all are ready, wait for them; their summaries."""
    go = tmp_path / "go"
    env = {**env, "WRITER_GO": str(go)}
    logs = [tmp_path / f"worker{i}.err" for i in range(processes)]
    with contextlib.ExitStack() as files:
        procs = [subprocess.Popen([sys.executable, str(WORKER), str(i), str(ops), str(1000 + i),
                                   str(tmp_path / f"worker{i}.jsonl"), *([url] if url else [])],
                                  env=env, stdout=subprocess.PIPE, stderr=files.enter_context(logs[i].open("w")),
                                  text=True)
                 for i in range(processes)]
    try:
        deadline = time.monotonic() + 300
        while not all(Path(f"{go}.ready.{i}").exists() for i in range(processes)):
            assert all(p.poll() is None for p in procs), [log.read_text()[-2000:] for log in logs]
            assert time.monotonic() < deadline, "workers did not get ready"
            time.sleep(0.05)
        go.touch()
        outputs = [p.communicate(timeout=900)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * processes, [log.read_text()[-3000:] for log in logs]
    return [json.loads(out) for out in outputs]


def replay(tmp_path: Path, processes: int) -> tuple[dict[str, dict], Counter, list[dict], int]:
    """The model: live memories (hash -> tags, metadata), shared-store acks, errors, acknowledged writes."""
    live: dict[str, dict] = {}
    shared: Counter[str] = Counter()  # hash -> number of "stored" (non-duplicate) acknowledgements
    shared_seen: set[str] = set()
    errors: list[dict] = []
    writes = 0
    for i in range(processes):
        for line in (tmp_path / f"worker{i}.jsonl").read_text().splitlines():
            record = json.loads(line)
            op = record["op"]
            writes += op != "error"
            if op in ("store", "update"):
                live[record["hash"]] = {"tags": record["tags"], "metadata": record["metadata"]}
            elif op == "delete":
                del live[record["hash"]]
            elif op == "delete_by_tag":
                for h in record["hashes"]:
                    del live[h]
            elif op == "shared":
                shared_seen.add(record["hash"])
                shared[record["hash"]] += not record["duplicate"]
            elif op == "error":
                errors.append(record)
    for h in shared_seen:
        shared.setdefault(h, 0)
    return live, shared, errors, writes


def check_final_state(db: Path, tmp_path: Path, processes: int) -> dict[str, int]:
    """Compare the file with the model; returns the figures."""
    live, shared, errors, writes = replay(tmp_path, processes)
    assert errors == [], errors[:5]
    state = inspect(db)
    assert state.integrity == "ok" and state.problems == [], state.problems[:10]
    stored = state.live  # deletes move memories to the trash: they are rows still, not live ones
    lost = [h for h in live if h not in stored]
    resurrected = [h for h, m in stored.items() if h not in live and "shared" not in m["tags"]]
    wrong = [h for h, want in live.items() if h in stored
             and (stored[h]["tags"] != want["tags"] or stored[h]["metadata"] != want["metadata"])]
    shared_stored = {h for h, m in stored.items() if "shared" in m["tags"]}
    assert lost == [] and resurrected == [] and wrong == [], (len(lost), len(resurrected), len(wrong))
    assert shared_stored == set(shared), "every shared sentence acknowledged is stored, once"
    assert all(n == 1 for n in shared.values()), f"a shared sentence was 'stored' twice: {shared}"
    return {"writes": writes, "live": len(live), "shared": len(shared), "lost": len(lost),
            "wrong": len(wrong), "resurrected": len(resurrected)}


def totals(summaries: list[dict]) -> tuple[int, Counter]:
    ops = sum(s["ops"] for s in summaries)
    kinds: Counter[str] = Counter()
    for s in summaries:
        kinds.update(s["counts"])
    return ops, kinds


def worker_env(db: Path, port: int) -> dict[str, str]:
    """HashEmbedder in direct mode (fast); a tag search may return every memory of a worker."""
    return base_env(db, port, MCP_HTTP_ENABLED="false", MCP_MEMORY_MAX_RESULTS="100000", LOG_LEVEL="WARNING",
                    MCP_MEMORY_DUPLICATE_THRESHOLD="off")  # random word notes: no near-duplicate policy here


def test_processes_mixing_every_operation_directly(tmp_path, sizes, figure):
    db = tmp_path / "shared.db"
    started = time.monotonic()
    summaries = run_workers(tmp_path, worker_env(db, free_port()), sizes.processes, sizes.ops)
    seconds = time.monotonic() - started
    assert sum(s["errors"] for s in summaries) == 0
    figures = check_final_state(db, tmp_path, sizes.processes)
    ops, kinds = totals(summaries)
    figure(f"concurrency direct processes={sizes.processes} ops={ops} acknowledged_writes={figures['writes']} "
           f"live={figures['live']} shared_once={figures['shared']} client_errors=0 lost=0 corrupt=0 "
           f"seconds={seconds:.0f} mix={dict(sorted(kinds.items()))}")


def test_processes_mixing_every_operation_through_one_http_server(tmp_path, sizes, figure):
    """The server embeds with the real all-MiniLM-L6-v2; the clients load no model."""
    db, port = tmp_path / "shared.db", free_port()
    env = worker_env(db, port)
    env.pop("MCP_MEMORY_EMBEDDER")
    server = HttpServer({**env, "MCP_HTTP_ENABLED": "true", "MCP_MEMORY_WARMUP": "true"}, tmp_path / "server.log",
                        hash_embedder=False).wait_ready()
    try:
        started = time.monotonic()
        summaries = run_workers(tmp_path, env, sizes.processes, sizes.ops, url=server.url)
        seconds = time.monotonic() - started
    finally:
        code = server.stop()
    log = server.log_path.read_text()
    assert code == 0, log[-3000:]
    assert "unexpected error" not in log and "Traceback" not in log, log[-5000:]
    assert sum(s["errors"] for s in summaries) == 0
    assert not any(Path(f"{db}-{suffix}").exists() for suffix in ("wal", "shm")), "closed cleanly"
    figures = check_final_state(db, tmp_path, sizes.processes)
    ops, _ = totals(summaries)
    figure(f"concurrency http processes={sizes.processes}+1 server (MiniLM) ops={ops} "
           f"acknowledged_writes={figures['writes']} live={figures['live']} shared_once={figures['shared']} "
           f"client_errors=0 server_errors=0 lost=0 corrupt=0 seconds={seconds:.0f}")



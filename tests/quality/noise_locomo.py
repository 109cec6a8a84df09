#!/usr/bin/env python3
"""Noise test of auto-capture: curated-memory recall@10 on LoCoMo with and without 10x auto-captured memories.

For each conversation: the dialogue turns are stored as curated memories (as in eval_locomo.py) and every question
is asked through ``retrieve`` (the ``retrieve_memory`` code path); then auto-captured memories derived from the
same conversation are added, ten times as many as the turns, and the questions are asked again. Only curated turns
count as hits, so every auto-captured memory in a top 10 pushes evidence out. The auto-captured memories are
what the claude plugin's extraction finds in the turns (each turn read as a user message), one record per
session, and, to reach 10x (the extraction finds far fewer in casual chat), synthesised ones (``--noise``):
``windows`` (default) are session notes of 1 to 8 consecutive sentences, the way a capture of the chat would
restate it; ``restated`` repeats each sentence five ways ("Caroline said: ..."), the worst case: near copies of
the evidence itself. Noise is added in bulk, without the near-duplicate check the capture hooks apply.

usage: python tests/quality/noise_locomo.py --data ../shared/eval/locomo [--penalties 0.05,0.1]
       [--factor 10] [--noise windows|restated] [--convs 0,1,2,3,4] [--max-pools 0,3200] [--out noise-locomo.json]
       [--backend sqlite_vec]

The data is CC BY-NC 4.0 (snap-research/locomo): used for evaluation only, never copied into the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from mcp_memory import ranking
from mcp_memory.config import Settings
from mcp_memory.models import Memory
from mcp_memory.service import NewMemory, open_service
from mcp_memory_claude.capture import sentences, tags_of, to_memories
from mcp_memory_claude.transcripts import USER, Conversation, Turn


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def derived(turns: list[dict[str, Any]], factor: int, conv_id: int, noise: str = "windows"
            ) -> tuple[list[Memory], dict[str, int]]:
    """``factor`` x len(turns) auto-captured memories from the conversation itself, and how each was made."""
    now = time.time()
    wanted = factor * len(turns)
    by_session: dict[str, list[Turn]] = defaultdict(list)
    for t in turns:
        text = t["content"].partition(": ")[2]
        by_session[str(t["metadata"]["session"])].append(
            Turn(USER, re.sub(r"\s*\[image:[^\]]*\]", "", text),
                 _stamp(t["created_at"]) if t.get("created_at") else None, t["metadata"]["id"]))
    extracted: list[Memory] = []
    records: list[Memory] = []
    for session, session_turns in by_session.items():
        conv = Conversation("claude-export", f"locomo{conv_id}-s{session}", turns=session_turns)
        for memory in to_memories(conv, None, "noise-test", record=True, now=now):
            (records if "session" in memory.tags else extracted).append(memory)
    out = {m.content_hash: m for m in [*extracted, *records]}
    counts = {"extracted": len(extracted), "session_records": len(records), "synthesised": 0}
    if not factor:  # what the extraction and the session records give, nothing synthesised
        return list(out.values()), counts
    if noise == "windows":
        _windows(turns, out, wanted, counts, now)
    else:
        _restated(turns, out, wanted, counts, now)
    return list(out.values())[:wanted], counts


def _note(text: str, created: float | None, now: float) -> Memory:
    return Memory.create(text, tags=tags_of("fact"), memory_type="fact", created_at=created,
                         metadata={"source": "noise-test", "kind": "fact", "captured_at": now})


def _restated(turns: list[dict[str, Any]], out: dict[str, Memory], wanted: int, counts: dict[str, int],
              now: float) -> None:
    """Worst case: each sentence of the turns restated up to five ways ("Caroline said: ...")."""
    restated = [(t, s) for t in turns for s in sentences(t["content"].partition(": ")[2]) if len(s.split()) >= 4]
    for verb in ("mentioned", "said", "noted", "told the other", "shared"):
        for t, s in restated:
            if len(out) >= wanted:
                return
            m = _note(f"{t['content'].partition(': ')[0]} {verb}: {s}", _stamp(t["created_at"]), now)
            if m.content_hash not in out:
                out[m.content_hash] = m
                counts["synthesised"] += 1


def _windows(turns: list[dict[str, Any]], out: dict[str, Memory], wanted: int, counts: dict[str, int],
             now: float) -> None:
    """Session notes as a capture over the chat would write them: runs of 1 to 8 consecutive sentences of one
    session ("Session 3 (8 May 2023): Caroline: ... / Melanie: ..."), every start, shortest runs first."""
    by_session: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for t in turns:
        speaker, _, text = t["content"].partition(": ")
        for s in sentences(re.sub(r"\s*\[image:[^\]]*\]", "", text)):
            by_session[str(t["metadata"]["session"])].append((speaker, s, _stamp(t["created_at"])))
    for size in range(1, 9):
        for session, said in by_session.items():
            for start in range(0, max(1, len(said) - size + 1)):
                if len(out) >= wanted:
                    return
                run = said[start:start + size]
                day = time.strftime("%d %b %Y", time.gmtime(run[0][2]))
                text = f"Session {session} ({day}): " + " / ".join(f"{who}: {what}" for who, what, _ in run)
                m = _note(text, run[0][2], now)
                if m.content_hash not in out:
                    out[m.content_hash] = m
                    counts["synthesised"] += 1


def _stamp(value: str) -> float:
    from mcp_memory.models import parse_timestamp

    return parse_timestamp(value)


async def ask(service: Any, queries: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    out = []
    for q in queries:
        found = await service.retrieve(q["question"], n_results=k)
        out.append({"query_id": q["id"], "ranked_ids": [r.memory.metadata.get("id") or "auto" for r in found]})
    return out


def set_penalty(value: float) -> None:
    ranking.AUTO_CAPTURED_PENALTY = value
    ranking.prefer_curated.__defaults__ = (value,)


async def run_conversation(data: Path, conv: int, args: argparse.Namespace, workdir: Path,
                           penalties: list[float]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    db = workdir / f"noise{conv}.db"
    settings = Settings.from_env().with_changes(storage_backend=args.backend, MCP_MEMORY_SQLITE_PATH=str(db))
    service = await open_service(settings, location=str(db))
    try:
        turns = read_jsonl(data / f"conv{conv}.memories.jsonl")
        queries = read_jsonl(data / f"conv{conv}.queries.jsonl")
        await service.store_prepared([service.prepare(NewMemory(m["content"], m.get("tags"), m.get("memory_type"),
                                                                m.get("metadata"), m.get("created_at")))
                                      for m in turns])
        results = {"curated only": await ask(service, queries, args.k)}
        noise, counts = derived(turns, args.factor, conv, args.noise)
        for start in range(0, len(noise), 512):
            await service.store_prepared(noise[start:start + 512])
        counts["auto_captured"] = len(noise)
        counts["curated"] = len(turns)
        label = f"{args.factor}x" if args.factor else "extracted"
        for penalty in penalties:
            set_penalty(penalty)
            for pool in args.max_pools:
                ranking.MAX_POOL = pool
                name = f"with {label} auto-captured, penalty {penalty:g}, max pool {pool}"
                results[name] = await ask(service, queries, args.k)
        return results, counts
    finally:
        await service.close()


def score(score_py: Path, results: list[dict[str, Any]], query_files: list[Path], tmp: Path) -> dict[str, Any]:
    path = tmp / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in results), encoding="utf-8")
    done = subprocess.run([sys.executable, str(score_py), str(path), *map(str, query_files), "--skip", "adversarial",
                           "--json"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["overall"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--penalties", default=str(ranking.AUTO_CAPTURED_PENALTY),
                        help="auto-captured ranking penalties to try, comma-separated")
    parser.add_argument("--factor", type=int, default=10, help="auto-captured memories per turn; 0: only what the "
                                                                 "extraction and the session records give")
    parser.add_argument("--noise", choices=("windows", "restated"), default="windows",
                        help="how the memories beyond the extraction are synthesised: session notes of 1-8 "
                             "consecutive sentences (default), or each sentence restated five ways (worst case)")
    parser.add_argument("--convs", default="0,1,2,3,4")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--max-pools", default=str(ranking.MAX_POOL), type=lambda s: [int(p) for p in s.split(",")],
                        help="largest candidate pools to try, comma-separated (0: never widen the pool)")
    parser.add_argument("--backend", default="sqlite_vec")
    parser.add_argument("--out", type=Path, default=Path("noise-locomo.json"))
    args = parser.parse_args(argv)
    penalties = [float(p) for p in args.penalties.split(",")]
    convs = [int(c) for c in args.convs.split(",")]
    started = time.monotonic()
    merged: dict[str, list[dict[str, Any]]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    with tempfile.TemporaryDirectory() as tmp:
        for conv in convs:
            results, made = asyncio.run(run_conversation(args.data, conv, args, Path(tmp), penalties))
            for name, rows in results.items():
                merged[name] += rows
            for key, value in made.items():
                counts[key] += value
            print(f"conv{conv}: {made}", file=sys.stderr, flush=True)
        query_files = [args.data / f"conv{c}.queries.jsonl" for c in convs]
        table = {name: score(args.data.parent / "score.py", rows, query_files, Path(tmp))
                 for name, rows in merged.items()}
    base = table["curated only"]["recall@10"]
    print(f"{'run':<64}{'recall@10':>10}{'MRR':>8}{'loss':>8}")
    for name, row in table.items():
        print(f"{name:<64}{row['recall@10']:>10.3f}{row['mrr']:>8.3f}{base - row['recall@10']:>8.3f}")
    print(f"memories: {dict(counts)}; {time.monotonic() - started:.0f} s", file=sys.stderr)
    args.out.write_text(json.dumps({"runs": table, "memories": counts, "factor": args.factor, "noise": args.noise,
                                    "queries": table["curated only"]["n"]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

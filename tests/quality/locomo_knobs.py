#!/usr/bin/env python3
"""The measurements behind three defaults, on the LoCoMo development set, through the service's own code path.

usage: python tests/quality/locomo_knobs.py --data ../shared/eval/locomo floor|boost|duplicates [--json out.json]

floor       MCP_MEMORY_MIN_RELEVANCE: each question is asked once (top 10, no floor) of its own conversation and
            of another one (where its evidence is not); for each floor, recall@10 of the own questions and how
            many results each kind of question still gets.
boost       MCP_MEMORY_USAGE_BOOST: the whole question set at several weights, each in a fresh store (the use
            recorded while answering feeds the boost of the later questions, as in real use).
duplicates  MCP_MEMORY_DUPLICATE_THRESHOLD: how many distinct LoCoMo turns a threshold would refuse as
            near-duplicates of an earlier turn (false positives), and how many small edits of a turn it catches
            (true positives), for each threshold.

The data is CC BY-NC 4.0 (snap-research/locomo): used for evaluation only, never shipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mcp_memory import ranking
from mcp_memory.config import Settings
from mcp_memory.protocols import Filter
from mcp_memory.service import MemoryService, NewMemory, open_service

CONVS = (0, 1, 2, 3, 4)
FLOORS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
WEIGHTS = (0.0, 0.05, 0.1, 0.2)
THRESHOLDS = (0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def questions(data: Path, conv: int) -> list[dict[str, Any]]:
    return [q for q in read_jsonl(data / f"conv{conv}.queries.jsonl") if q.get("category") != "adversarial"]


async def filled(data: Path, conv: int, settings: Settings, workdir: Path) -> MemoryService:
    """A fresh store holding conversation ``conv`` (stored as the eval does: every turn, no duplicate check)."""
    location = workdir / f"conv{conv}-{random.random():.9f}.db"
    service = await open_service(settings.with_changes(duplicate_threshold=None), location=str(location))
    memories = read_jsonl(data / f"conv{conv}.memories.jsonl")
    await service.store_prepared([service.prepare(NewMemory(m["content"], m.get("tags"), m.get("memory_type"),
                                                            m.get("metadata"), m.get("created_at")))
                                  for m in memories])
    return service


async def ask(service: MemoryService, qs: list[dict[str, Any]]) -> list[list[tuple[str, float]]]:
    """The top 10 of each question (no floor), each with the score the floor is compared with: the better of its
    relevance and its cosine among the semantic candidates (``ranking.above_floor``)."""
    out = []
    for q in qs:
        found = await service.retrieve(q["question"], n_results=10, min_relevance=0.0)
        [vector] = await service.embed([q["question"]])
        cosine = {r.memory.content_hash: r.relevance_score
                  for r in await service.storage.retrieve(vector, ranking.HYBRID_POOL, Filter())}
        out.append([(r.memory.metadata.get("id"), max(r.relevance_score, cosine.get(r.memory.content_hash, 0.0)))
                    for r in found])
    return out


def recall(ranked: list[list[tuple[str, float]]], qs: list[dict[str, Any]], floor: float = 0.0) -> float:
    scores = [len(set(q["gold"]) & {i for i, s in r if s >= floor}) / len(q["gold"]) for r, q in zip(ranked, qs)]
    return float(np.mean(scores))


async def measure_floor(data: Path, settings: Settings, workdir: Path) -> dict[str, Any]:
    own: list[list[tuple[str, float]]] = []
    foreign: list[list[tuple[str, float]]] = []
    asked: list[dict[str, Any]] = []
    for conv in CONVS:
        service = await filled(data, conv, settings, workdir)
        try:
            qs = questions(data, conv)
            asked += qs
            own += await ask(service, qs)
            foreign += await ask(service, questions(data, (conv + 1) % len(CONVS)))
        finally:
            await service.close()
    rows = []
    for floor in FLOORS:
        rows.append({"floor": floor, "recall@10": recall(own, asked, floor),
                     "own_results": float(np.mean([sum(s >= floor for _, s in r) for r in own])),
                     "foreign_results": float(np.mean([sum(s >= floor for _, s in r) for r in foreign])),
                     "foreign_empty": float(np.mean([not any(s >= floor for _, s in r) for r in foreign]))})
    gold_scores = [s for r, q in zip(own, asked) for i, s in r if i in set(q["gold"])]
    return {"questions": len(asked), "rows": rows,
            "gold_score_percentiles": {p: float(np.percentile(gold_scores, p)) for p in (1, 5, 10, 25, 50)}}


async def measure_boost(data: Path, settings: Settings, workdir: Path) -> dict[str, Any]:
    rows = []
    for weight in WEIGHTS:
        ranked: list[list[tuple[str, float]]] = []
        asked: list[dict[str, Any]] = []
        for conv in CONVS:
            service = await filled(data, conv, settings.with_changes(usage_boost=weight), workdir)
            try:
                qs = questions(data, conv)
                asked += qs
                ranked += await ask(service, qs)
            finally:
                await service.close()
        hits5 = [len(set(q["gold"]) & {i for i, _ in r[:5]}) / len(q["gold"]) for r, q in zip(ranked, asked)]
        rows.append({"weight": weight, "recall@10": recall(ranked, asked), "recall@5": float(np.mean(hits5))})
        print(f"usage boost {weight}: recall@10 {rows[-1]['recall@10']:.3f}", file=sys.stderr, flush=True)
    return {"rows": rows}


EDITS: dict[str, Callable[[str, random.Random], str]] = {
    "case and punctuation": lambda t, r: t.lower().rstrip(".!?") + ("!" if t.endswith(".") else "."),
    "extra spaces": lambda t, r: t.replace(" ", "  ", 3) + " ",
    "one word added": lambda t, r: t.rstrip(".!?") + " too.",
    "one word dropped": lambda t, r: " ".join(t.split()[:-1]) if len(t.split()) > 4 else t + " ok",
    "a typo": lambda t, r: _typo(t, r),
    "restated with a prefix": lambda t, r: "Note: " + t.partition(": ")[2],
}


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) > 4]
    if not long:
        return text + "."
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


async def measure_duplicates(data: Path, settings: Settings, workdir: Path) -> dict[str, Any]:
    service = await open_service(settings, location=str(workdir / "embed.db"))
    rng = random.Random(5)
    try:
        earlier_best: list[float] = []
        examples: list[tuple[float, str, str]] = []
        edited: dict[str, list[float]] = {name: [] for name in EDITS}
        for conv in CONVS:
            texts = [m["content"] for m in read_jsonl(data / f"conv{conv}.memories.jsonl")]
            vectors = np.asarray(await service.embed(texts), dtype=np.float32)
            sims = vectors @ vectors.T
            for i in range(1, len(texts)):
                j = int(np.argmax(sims[i, :i]))
                best = float(sims[i, j])
                earlier_best.append(best)
                if texts[i] != texts[j] and best >= 0.9:
                    examples.append((best, texts[j], texts[i]))
            sample = rng.sample(range(len(texts)), min(120, len(texts)))
            for name, edit in EDITS.items():
                changed = [edit(texts[i], rng) for i in sample]
                vs = np.asarray(await service.embed(changed), dtype=np.float32)
                edited[name] += [float(c) for c in (vs * vectors[sample]).sum(axis=1)]
        best = np.asarray(earlier_best)
        rows = [{"threshold": t, "distinct_turns_refused": int((best >= t).sum()),
                 "refused_share": float((best >= t).mean()),
                 **{f"caught: {n}": float((np.asarray(v) >= t).mean()) for n, v in edited.items()}}
                for t in THRESHOLDS]
        examples.sort(reverse=True)
        return {"turns": len(earlier_best), "rows": rows,
                "closest_distinct_pairs": [{"cosine": round(c, 4), "earlier": a, "later": b}
                                           for c, a, b in examples[:: max(1, len(examples) // 12)][:12]]}
    finally:
        await service.close()


def show(kind: str, report: dict[str, Any]) -> None:
    rows = report["rows"]
    keys = list(rows[0])
    print(f"\n{kind}\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    for key, value in report.items():
        if key != "rows":
            print(f"{key}: {json.dumps(value, indent=1) if not isinstance(value, (int, float)) else value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with conv{i}.memories/queries.jsonl")
    parser.add_argument("measure", choices=("floor", "boost", "duplicates"))
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    measures = {"floor": measure_floor, "boost": measure_boost, "duplicates": measure_duplicates}
    with tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(measures[args.measure](args.data, settings, Path(tmp)))
    report = {"measure": args.measure, "embedder": settings.embedder or "default",
              "mode": "hybrid (default)", **report}
    show(args.measure, report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

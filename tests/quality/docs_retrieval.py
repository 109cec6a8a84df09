#!/usr/bin/env python3
"""Document retrieval on this repository's own docs: ingest docs/*.md, ask the questions of
docs_questions.jsonl (each names the file and the heading that answers it), report recall@5 by section.

usage: python tests/quality/docs_retrieval.py [--sizes 400:50,800:100,1200:150] [--json out.json]

A question is answered when one of the top 5 results is a chunk of its file under its heading (the heading
anywhere in the chunk's heading path). Each chunk size / overlap pair gets a fresh store; the search is the
service's default (hybrid) with no relevance floor, so that the figure is about ranking alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from mcp_memory.config import Settings
from mcp_memory.service import open_service

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = Path(__file__).with_name("docs_questions.jsonl")


def read_questions() -> list[dict[str, str]]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def headings(path: Path) -> set[str]:
    """The headings of a Markdown file, outside fenced code (a ``# comment`` in a code block is no heading)."""
    found, fence = set(), None
    for line in path.read_text(encoding="utf-8").splitlines():
        opened = re.match(r"\s*(```|~~~)", line)
        if fence is not None:
            fence = None if line.strip().startswith(fence) else fence
        elif opened:
            fence = opened.group(1)
        elif line.startswith("#"):
            found.add(line.lstrip("#").strip())
    return found


def check_questions(questions: list[dict[str, str]]) -> list[str]:
    """Questions whose file or heading is not in docs/ any more (the docs changed: fix the question)."""
    problems = []
    for q in questions:
        path = REPO / q["file"]
        if not path.is_file():
            problems.append(f"{q['file']}: no such file ({q['question']})")
        elif q["heading"] not in headings(path):
            problems.append(f"{q['file']}: no heading {q['heading']!r} ({q['question']})")
    return problems


async def run(target: int, overlap: int, questions: list[dict[str, str]], workdir: Path) -> dict[str, Any]:
    settings = Settings.from_env().with_changes(duplicate_threshold=None, project="docs")
    service = await open_service(settings, location=str(workdir / f"docs-{target}-{overlap}.db"))
    try:
        chunks = 0
        for path in sorted((REPO / "docs").glob("*.md")):
            result = await service.ingest_document(path.read_bytes(), path.name, source=f"docs/{path.name}",
                                                   chunk_chars=target, overlap=overlap)
            chunks += result.chunks
        by_file: dict[str, list[int]] = defaultdict(list)
        misses = []
        for q in questions:
            found = await service.retrieve(q["question"], n_results=5, min_relevance=0.0)
            hit = any(r.memory.metadata.get("source") == q["file"] and q["heading"] in r.memory.metadata.get(
                "headings", []) for r in found)
            by_file[q["file"]].append(int(hit))
            if not hit:
                misses.append({"question": q["question"], "wanted": f"{q['file']} > {q['heading']}",
                               "got": [f"{r.memory.metadata.get('source')} > "
                                       f"{' > '.join(r.memory.metadata.get('headings', []))}" for r in found[:2]]})
        hits = [h for values in by_file.values() for h in values]
        return {"chunk_chars": target, "overlap": overlap, "chunks": chunks, "questions": len(hits),
                "recall@5": sum(hits) / len(hits),
                "by_file": {f: round(sum(v) / len(v), 3) for f, v in sorted(by_file.items())}, "misses": misses}
    finally:
        await service.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="400:50,800:100,1200:150,1600:200",
                        help="chunk size:overlap pairs, in characters")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    questions = read_questions()
    problems = check_questions(questions)
    if problems:
        print("questions that no longer match docs/:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    pairs = [tuple(int(x) for x in pair.split(":")) for pair in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [asyncio.run(run(t, o, questions, Path(tmp))) for t, o in pairs]
    print(f"{len(questions)} questions about docs/*.md, top 5, hybrid search\n")
    print("| chunk chars | overlap | chunks | recall@5 |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['chunk_chars']} | {row['overlap']} | {row['chunks']} | {row['recall@5']:.3f} |")
    best = max(rows, key=lambda r: r["recall@5"])
    print(f"\nby file at {best['chunk_chars']}/{best['overlap']}:\n| file | recall@5 |\n|---|---|")
    for name, value in best["by_file"].items():
        print(f"| {name} | {value:.2f} |")
    for miss in best["misses"]:
        print(f"miss: {miss['question']} -> wanted {miss['wanted']}, got {miss['got']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

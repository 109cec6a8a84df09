#!/usr/bin/env python
"""Ingest speed: a generated corpus of Markdown, PDF and HTML pages through ``memory ingest``.

    python tests/performance/ingest_bench.py generate OUT [--pages 1000] [--pages-per-file 10]
    python tests/performance/ingest_bench.py run OUT [--variants fp32,int8] [--rounds 2] [--json FILE]

``generate`` writes a deterministic corpus into OUT: 40% of the pages as Markdown files, 30% as PDF files (made
with fpdf2) and 30% as HTML files, --pages-per-file pages a file. A page is about 3,000 characters of body text
(about 450 words: a printed page) in every format: in Markdown a ``##`` section, in HTML a ``<section>`` with
its ``<h2>``, in a PDF one A4 page (11 pt Helvetica; the generator checks that each page fits on one). The text
is technical prose built from the benchmark corpus's vocabulary, with numbers, so no two paragraphs are equal.

``run`` ingests OUT into a fresh sqlite_vec store with this venv's ``memory ingest OUT --quiet --json`` for each
variant (``fp32``: the default onnx embedder; ``int8``: ``MCP_MEMORY_ONNX_QUANTIZE=int8``), in turns, --rounds
times each, and reports pages/s and chunks/s for the whole command (spawn to exit: start-up, model load, reading,
chunking, embedding, storing) and for the ingest itself (the command's own ``seconds``), and the CPU time of the
command (user + system, from wait4: what the load of a shared machine does not change). HOME and the XDG
directories point into a temporary directory; the ONNX models are built before anything is timed.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

PAGE_CHARS = 3000
SHARES = (("md", 0.4), ("pdf", 0.3), ("html", 0.3))
VARIANTS = {"fp32": {}, "int8": {"MCP_MEMORY_ONNX_QUANTIZE": "int8"}}


def log(message: str) -> None:
    print(f"[ingest] {message}", file=sys.stderr, flush=True)


# -- the corpus -----------------------------------------------------------------------------------------
def sentence(r: random.Random) -> str:
    forms = [
        lambda: f"{r.choice(corpus.SYSTEMS).capitalize()} now runs on {r.choice(corpus.TARGETS)} "
                f"{r.choice(corpus.REASONS)}.",
        lambda: f"In review {r.randint(100, 9999)}, {r.choice(corpus.PEOPLE)} measured {r.randint(2, 900)} ms at "
                f"p95 for {r.choice(corpus.COMPONENTS)} when {r.choice(corpus.CONDITIONS)}.",
        lambda: f"The {r.choice(corpus.TEAMS)} team discussed {r.choice(corpus.TOPICS)}, and "
                f"{r.choice(corpus.OUTCOMES)}.",
        lambda: f"A known issue: {r.choice(corpus.COMPONENTS)} {r.choice(corpus.SYMPTOMS)}; the fix was "
                f"{r.choice(corpus.FIXES)} (ticket {r.choice(corpus.PROJECTS).upper()}-{r.randint(1, 4000)}).",
        lambda: f"Remember to {r.choice(corpus.VERBS)} {r.choice(corpus.ARTIFACTS)} before {r.choice(corpus.DAYS)}.",
        lambda: f"The rule of thumb from the article on {r.choice(corpus.ARTICLES)}: {r.choice(corpus.POINTS)}.",
        lambda: f"Project {r.choice(corpus.PROJECTS)} spends {r.randint(3, 97)}% of its budget on "
                f"{r.choice(corpus.SYSTEMS)}, about {r.randint(1, 60)} thousand euros a quarter.",
    ]
    return r.choice(forms)()


def paragraph(r: random.Random) -> str:
    return " ".join(sentence(r) for _ in range(r.randint(3, 6)))


def page(r: random.Random) -> list[str]:
    """Paragraphs of about PAGE_CHARS characters in all."""
    out: list[str] = []
    while sum(len(p) + 2 for p in out) < PAGE_CHARS - 150:
        out.append(paragraph(r))
    return out


def title(r: random.Random, n: int) -> str:
    return f"{r.choice(corpus.PROJECTS).capitalize()} handbook, part {n}: {r.choice(corpus.TOPICS)}"


def write_markdown(path: Path, r: random.Random, n: int, pages: int) -> None:
    parts = [f"# {title(r, n)}\n"]
    for p in range(pages):
        parts.append(f"## {p + 1}. {r.choice(corpus.TOPICS).capitalize()}\n")
        parts.extend(text + "\n" for text in page(r))
    path.write_text("\n".join(parts), encoding="utf-8")


def write_html(path: Path, r: random.Random, n: int, pages: int) -> None:
    head = html.escape(title(r, n))
    parts = [f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{head}</title></head><body>",
             "<nav><a href=\"/\">Home</a> | <a href=\"/docs\">Docs</a></nav>", f"<article><h1>{head}</h1>"]
    for p in range(pages):
        parts.append(f"<section><h2>{p + 1}. {html.escape(r.choice(corpus.TOPICS).capitalize())}</h2>")
        parts.extend(f"<p>{html.escape(text)}</p>" for text in page(r))
        parts.append("</section>")
    parts.append("</article><footer>Internal documentation</footer></body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")


def write_pdf(path: Path, r: random.Random, n: int, pages: int) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title(r, n))
    pdf.set_auto_page_break(True, margin=12)
    for p in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", style="B", size=13)
        pdf.multi_cell(0, 7, f"{p + 1}. {r.choice(corpus.TOPICS).capitalize()}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for text in page(r):
            pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        if pdf.page_no() != p + 1:
            raise RuntimeError(f"{path}: page {p + 1} did not fit on one PDF page")
    pdf.output(str(path))


def generate(out: Path, pages: int, per_file: int) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    r = random.Random(corpus.SEED + 19)
    writers = {"md": write_markdown, "pdf": write_pdf, "html": write_html}
    made: dict[str, dict[str, int]] = {}
    number = 0
    for suffix, share in SHARES:
        todo = round(pages * share)
        files = 0
        while todo > 0:
            number += 1
            n = min(per_file, todo)
            writers[suffix](out / f"doc{number:04d}.{suffix}", r, number, n)
            todo -= n
            files += 1
        made[suffix] = {"files": files, "pages": round(pages * share)}
    return made


# -- the run --------------------------------------------------------------------------------------------
def memory_command() -> str:
    binary = Path(sys.executable).with_name("memory")
    if not binary.exists():
        raise RuntimeError(f"no memory command next to {sys.executable}")
    return str(binary)


def count_pages(folder: Path) -> int:
    """Pages of the corpus: ## sections of Markdown, <section>s of HTML, pages of the PDFs."""
    from pypdf import PdfReader

    total = 0
    for path in sorted(folder.iterdir()):
        if path.suffix == ".md":
            total += sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("## "))
        elif path.suffix == ".html":
            total += path.read_text(encoding="utf-8").count("<section>")
        elif path.suffix == ".pdf":
            total += len(PdfReader(str(path)).pages)
    return total


def ingest_once(folder: Path, env: dict[str, str], work: Path) -> dict[str, Any]:
    db = work / "ingest.db"
    for old in work.glob("ingest.db*"):
        old.unlink()
    env = {**env, "MCP_MEMORY_SQLITE_PATH": str(db)}
    with open(work / "ingest.out", "wb") as out, open(work / "ingest.err", "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([memory_command(), "ingest", str(folder), "--quiet", "--json", "--project", "global"],
                                env=env, cwd=work, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"memory ingest exited with {proc.returncode}: {(work / 'ingest.err').read_text()[-2000:]}")
    report = json.loads((work / "ingest.out").read_text())
    files = report["files"]
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "ingest_s": report["seconds"],
            "files": len(files), "chunks": sum(f["new_chunks"] for f in files),
            "errors": sum(f["status"] == "error" for f in files)}


def run(folder: Path, variants: list[str], rounds: int) -> dict[str, Any]:
    pages = count_pages(folder)
    work = Path(tempfile.mkdtemp(prefix="mcp-memory-ingest-"))
    try:
        home = work / "home"
        base = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
        base.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
                    XDG_CACHE_HOME=str(home / "cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                    MCP_MEMORY_STORAGE_BACKEND="sqlite_vec", MCP_MEMORY_EMBEDDER="onnx", MCP_HTTP_ENABLED="false",
                    MCP_MEMORY_INGEST_ROOTS=str(folder), LOG_LEVEL="WARNING")
        envs = {v: {**base, **VARIANTS[v]} for v in variants}
        for v in variants:  # build the models (int8 on first use) and warm the file cache, untimed
            subprocess.run([memory_command(), "onnx-export", "--quiet"], env=envs[v], check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run([memory_command(), "retrieve", "warm up"], env={**envs[v], "MCP_MEMORY_SQLITE_PATH":
                                                                           str(work / "warm.db")},
                           check=True, stdout=subprocess.DEVNULL, cwd=work)
        load_start = os.getloadavg()
        samples: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for round_ in range(rounds):
            for v in variants:
                samples[v].append(ingest_once(folder, envs[v], work))
                s = samples[v][-1]
                log(f"round {round_ + 1} {v}: {s['chunks']} chunks, {s['wall_s']:.1f} s in all, "
                    f"{s['ingest_s']:.1f} s ingesting")
        load_end = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = {}
    for v, runs in samples.items():
        wall = statistics.median(s["wall_s"] for s in runs)
        inner = statistics.median(s["ingest_s"] for s in runs)
        cpu = statistics.median(s["cpu_s"] for s in runs)
        chunks = runs[0]["chunks"]
        rows[v] = {"pages": pages, "files": runs[0]["files"], "chunks": chunks, "errors": runs[0]["errors"],
                   "wall_s": wall, "ingest_s": inner, "pages_per_s": pages / wall, "chunks_per_s": chunks / wall,
                   "ingest_pages_per_s": pages / inner, "ingest_chunks_per_s": chunks / inner, "cpu_s": cpu,
                   "cpu_ms_per_chunk": cpu / chunks * 1000, "samples": runs}
    return {"rows": rows, "load_start": load_start, "load_end": load_end, "rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write the corpus")
    g.add_argument("out", type=Path)
    g.add_argument("--pages", type=int, default=1000)
    g.add_argument("--pages-per-file", type=int, default=10)
    r = sub.add_parser("run", help="ingest the corpus with each variant")
    r.add_argument("folder", type=Path)
    r.add_argument("--variants", default="fp32,int8")
    r.add_argument("--rounds", type=int, default=2)
    r.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "generate":
        made = generate(args.out, args.pages, args.pages_per_file)
        size = sum(p.stat().st_size for p in args.out.iterdir()) / 2**20
        print(", ".join(f"{m['pages']} {s} pages in {m['files']} files" for s, m in made.items())
              + f"; {size:.1f} MB in {args.out}")
        return 0
    report = run(args.folder.resolve(), args.variants.split(","), args.rounds)
    print("| | " + " | ".join(report["rows"]) + " |")
    print("|---|" + "---:|" * len(report["rows"]) + "")
    rows = report["rows"].values()
    for key, label, pattern in (("pages", "pages", "{:,}"), ("files", "files", "{:,}"), ("chunks", "chunks", "{:,}"),
                                ("wall_s", "whole command (s)", "{:.1f}"), ("pages_per_s", "  pages/s", "{:.1f}"),
                                ("chunks_per_s", "  chunks/s", "{:.1f}"), ("ingest_s", "ingest alone (s)", "{:.1f}"),
                                ("ingest_pages_per_s", "  pages/s", "{:.1f}"),
                                ("ingest_chunks_per_s", "  chunks/s", "{:.1f}"),
                                ("cpu_s", "CPU time of the command, user + system (s)", "{:.1f}"),
                                ("cpu_ms_per_chunk", "  per chunk (ms)", "{:.1f}")):
        print(f"| {label} | " + " | ".join(pattern.format(r[key]) for r in rows) + " |")
    print(f"\nmedian of {report['rounds']} runs each, in turns; load average {report['load_start'][0]:.2f} at the "
          f"start, {report['load_end'][0]:.2f} at the end; {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if all(r["errors"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

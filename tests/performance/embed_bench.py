#!/usr/bin/env python3
"""Embedding speed of the onnx embedder's model variants, side by side in one run.

usage: python tests/performance/embed_bench.py --data ../shared/eval/locomo [--variants torch,fp32,fused,int8]
       [--torch-model FILE | --torch-rev REV] [--rounds 5] [--queries 200] [--rss] [--builds 3]
       [--json embed-bench.json]

For each variant, through the real ``OnnxEmbedder``: texts/s embedding 2,000 memories in one call (1,900 LoCoMo
turns and 100 paragraphs past the 256-token limit), and p50/p95 ms of single short queries (LoCoMo questions,
one ``embed([q])`` each). Rounds and queries are interleaved across variants, so a busy machine slows all of
them alike. ``--rss`` measures VmHWM of a fresh process per variant after loading and embedding the batch;
``--builds N`` times the cold build (``memory onnx-export``) and the int8 quantization.

Variants: ``torch`` the old torch export (``--torch-model`` a model.onnx it wrote, or ``--torch-rev`` a git
revision whose export.py to run; needs torch and transformers), ``fp32`` our graph in standard ONNX ops,
``fused`` our default build (onnxruntime contrib ops), ``int8`` its dynamic int8 quantization.

The LoCoMo data is read from --data at run time (evaluation only, never copied into the repo).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from mcp_memory.config import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def workload(data: Path, n_queries: int) -> tuple[list[str], list[str]]:
    """2,000 memories (1,900 LoCoMo turns + 100 long paragraphs) and ``n_queries`` short questions."""
    turns = [m["content"] for f in sorted(data.glob("conv*.memories.jsonl")) for m in read_jsonl(f)]
    long = [" ".join(turns[i:i + 30]) for i in range(0, 3000, 30)][:100]
    questions = [q["question"] for f in sorted(data.glob("conv*.queries.jsonl")) for q in read_jsonl(f)]
    return turns[:1900] + long, questions[:n_queries]


# -- the variants ------------------------------------------------------------------------------------------
def prepare(variants: list[str], work: Path, torch_model: Path | None, torch_rev: str | None) -> dict[str, Path]:
    """Each variant's .onnx file, with tokenizer.json (and the manifest) beside it."""
    from mcp_memory_onnx.build import export, load_weights, quantize_int8, source_dir
    from mcp_memory_onnx.graph import BertConfig, Weights, build_bert

    fused_dir, _ = export(work / "fused", "all-MiniLM-L6-v2")
    files: dict[str, Path] = {}
    if "torch" in variants:
        if torch_model is None and torch_rev:
            torch_model = torch_export(torch_rev, work / "torch")
        if torch_model is None:
            print("skipping torch: give --torch-model or --torch-rev", file=sys.stderr)
        else:
            files["torch"] = torch_model
    if "fp32" in variants:
        source = source_dir("all-MiniLM-L6-v2")
        config = BertConfig.from_json(json.loads((source / "config.json").read_text()), str(source))
        plain = build_bert(config, Weights(load_weights(source), str(source)), fused=False)
        (fused_dir / "plain.onnx").write_bytes(plain.SerializeToString())
        files["fp32"] = fused_dir / "plain.onnx"
    if "fused" in variants:
        files["fused"] = fused_dir / "model.onnx"
    if "int8" in variants:
        (fused_dir / "model.int8.onnx").write_bytes(quantize_int8(fused_dir / "model.onnx"))
        files["int8"] = fused_dir / "model.int8.onnx"
    return {v: files[v] for v in variants if v in files}


def torch_export(rev: str, out: Path) -> Path:
    """Run the torch-based export.py of git revision ``rev`` (needs torch and transformers)."""
    pkg = out.parent / "old-plugin"
    pkg.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "plugins/onnx/src/mcp_memory_onnx"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(pkg)], input=archive, check=True)
    shutil.move(str(pkg / "plugins/onnx/src/mcp_memory_onnx"), str(pkg / "mcp_memory_onnx_old"))
    code = ("from pathlib import Path; from mcp_memory_onnx_old.export import export; "
            f"export(Path({str(out)!r}), 'all-MiniLM-L6-v2')")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(pkg)},
                   capture_output=True)
    (out / "mcp_memory_onnx.json").unlink()  # a torch-era manifest: the embedder would rebuild the directory
    return out / "model.onnx"


def embedder(path: Path):
    from mcp_memory_onnx import OnnxEmbedder

    made = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(path)))
    made.warm_up()
    return made


# -- measurements -----------------------------------------------------------------------------------------
def speed(files: dict[str, Path], batch: list[str], queries: list[str], rounds: int) -> dict[str, dict]:
    embedders = {v: embedder(p) for v, p in files.items()}
    for e in embedders.values():  # warm: first runs allocate
        e.embed(batch[:200])
        e.embed(queries[:10])
    rate: dict[str, list[float]] = {v: [] for v in files}
    cpu: dict[str, list[float]] = {v: [] for v in files}
    single: dict[str, list[float]] = {v: [] for v in files}
    for _ in range(rounds):
        for v, e in embedders.items():
            wall, used = time.perf_counter(), time.process_time()
            e.embed(batch)
            rate[v].append(len(batch) / (time.perf_counter() - wall))
            cpu[v].append((time.process_time() - used) * 1000 / len(batch))
        for q in queries:
            for v, e in embedders.items():
                wall = time.perf_counter()
                e.embed([q])
                single[v].append((time.perf_counter() - wall) * 1000)
    out = {}
    for v in files:
        ms = sorted(single[v])
        out[v] = {"texts_per_s": statistics.median(rate[v]), "texts_per_s_runs": rate[v],
                  "cpu_ms_per_text": statistics.median(cpu[v]), "single_p50_ms": ms[len(ms) // 2],
                  "single_p95_ms": ms[int(len(ms) * 0.95)], "single_n": len(ms)}
    return out


def agreement(files: dict[str, Path], texts: list[str]) -> dict[str, dict]:
    """Cosine of each variant's vectors to the fused float32 build's, text by text."""
    import numpy as np

    base = embedder(files["fused"]).embed(texts) if "fused" in files else None
    out = {}
    for v, p in files.items():
        if base is None or v == "fused":
            continue
        cosine = (embedder(p).embed(texts) * base).sum(axis=1)
        out[v] = {"vs": "fused", "n": len(texts), "min": float(cosine.min()), "mean": float(cosine.mean()),
                  "p1": float(np.percentile(cosine, 1))}
    return out


RSS_CHILD = """
import json, sys
from mcp_memory.config import Settings
from mcp_memory_onnx import OnnxEmbedder
texts = json.load(open(sys.argv[1]))
OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(sys.argv[2]))).embed(texts)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({k: int(status[k].split()[0]) // 1024 for k in ("VmHWM", "VmRSS")}))
"""


def rss(files: dict[str, Path], batch: list[str], work: Path) -> dict[str, dict]:
    """VmHWM and VmRSS (MB) of a fresh process per variant after loading and embedding the batch."""
    texts = work / "batch.json"
    texts.write_text(json.dumps(batch))
    out = {}
    for v, p in files.items():
        proc = subprocess.run([sys.executable, "-c", RSS_CHILD, str(texts), str(p)], capture_output=True, text=True,
                              check=True)
        out[v] = json.loads(proc.stdout)
    return out


def build_times(n: int, work: Path) -> dict[str, float]:
    """Median seconds of a cold ``memory onnx-export`` (new process, empty directory) and of the int8 step."""
    memory = Path(sys.executable).with_name("memory")
    fp32, int8 = [], []
    for i in range(n):
        out = work / f"build-{i}"
        started = time.perf_counter()
        subprocess.run([str(memory), "onnx-export", "--output", str(out)], check=True, capture_output=True)
        fp32.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run([str(memory), "onnx-export", "--output", str(out), "--quantize", "int8"], check=True,
                       capture_output=True)
        int8.append(time.perf_counter() - started)
        shutil.rmtree(out)
    return {"build_fp32_s": statistics.median(fp32), "build_fp32_runs": fp32,
            "quantize_int8_s": statistics.median(int8), "quantize_int8_runs": int8}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with LoCoMo conv*.jsonl")
    parser.add_argument("--variants", default="torch,fp32,fused,int8")
    parser.add_argument("--torch-model", type=Path, help="a model.onnx written by the old torch export")
    parser.add_argument("--torch-rev", help="git revision whose torch export.py makes the torch variant")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--agreement", type=int, default=0, help="also compare vectors on this many texts of "
                                                                  "tests/quality/equivalence_texts (0: skip)")
    parser.add_argument("--rss", action="store_true")
    parser.add_argument("--builds", type=int, default=0, help="time this many cold builds (0: skip)")
    parser.add_argument("--json", type=Path, default=Path("embed-bench.json"))
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    batch, queries = workload(args.data, args.queries)
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "load_before": os.getloadavg()[0]},
                    "workload": {"batch": len(batch), "queries": len(queries), "rounds": args.rounds}}
    with tempfile.TemporaryDirectory(prefix="embed-bench-") as tmp:
        work = Path(tmp)
        files = prepare(variants, work, args.torch_model, args.torch_rev)
        report["speed"] = speed(files, batch, queries, args.rounds)
        if args.agreement:
            sys.path.insert(0, str(REPO / "tests" / "quality"))
            from equivalence_texts import texts

            report["agreement"] = agreement(files, (texts() + batch)[:args.agreement])
        if args.rss:
            report["rss_mb"] = rss(files, batch, work)
        if args.builds:
            report["build"] = build_times(args.builds, work)
    report["machine"]["load_after"] = os.getloadavg()[0]
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return 0


def print_table(report: dict) -> None:
    print(f"| variant | texts/s (batch of {report['workload']['batch']}) | CPU ms/text | single p50 ms | "
          "single p95 ms |" + (" VmHWM MB |" if "rss_mb" in report else ""))
    print("|---|---:|---:|---:|---:|" + ("---:|" if "rss_mb" in report else ""))
    for v, s in report["speed"].items():
        extra = f" {report['rss_mb'][v]['VmHWM']} |" if "rss_mb" in report else ""
        print(f"| {v} | {s['texts_per_s']:.1f} | {s['cpu_ms_per_text']:.2f} | {s['single_p50_ms']:.2f} | "
              f"{s['single_p95_ms']:.2f} |{extra}")
    for v, a in report.get("agreement", {}).items():
        print(f"{v} vs {a['vs']}: cosine min {a['min']:.5f}, mean {a['mean']:.5f}, 1st percentile {a['p1']:.5f} "
              f"(n={a['n']})")
    if "build" in report:
        b = report["build"]
        print(f"cold build (memory onnx-export): {b['build_fp32_s']:.1f} s; int8 step: {b['quantize_int8_s']:.1f} s")
    m = report["machine"]
    print(f"load average {m['load_before']:.2f} before, {m['load_after']:.2f} after ({m['cpus']} CPUs)")


if __name__ == "__main__":
    sys.exit(main())

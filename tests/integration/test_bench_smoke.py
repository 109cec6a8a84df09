"""Smoke run of the benchmark script at a tiny size: it runs end to end and reports every column."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parents[1] / "performance" / "test_sqlite_vec_perf.py"
COLUMNS = [
    "store_one_per_s", "store_batch_per_s", "batch_speedup", "store_one_embed_per_s", "store_batch_embed_per_s",
    "batch_embed_speedup", "retrieve_p50_ms", "retrieve_p95_ms", "numpy_p50_ms", "retrieve_vs_numpy",
    "top10_exact", "retrieve_embed_p50_ms", "retrieve_embed_p95_ms", "retrieve_hybrid_p50_ms", "tag_p50_ms",
    "tag_p95_ms", "time_p50_ms", "start_tools_list_s", "start_first_retrieve_s", "peak_rss_mb", "db_size_mb",
    "recall_at_10", "near_dup_p50_ms", "part_embed_p50_ms", "part_vector_p50_ms", "part_lexical_p50_ms",
    "part_fusion_p50_ms", "part_service_p50_ms", "part_tool_p50_ms", "mcp_retrieve_p50_ms", "import_per_s",
]


def test_benchmark_script_at_200_memories(tmp_path):
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "200", "--backends", "sqlite_vec", "--queries", "10",
         "--cold-runs", "1", "--rss-queries", "20", "--workdir", str(tmp_path / "work"), "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    [row] = report["results"]
    assert (row["backend"], row["embedder"], row["size"]) == ("sqlite_vec", "onnx", 200)
    missing = [c for c in COLUMNS if not isinstance(row.get(c), (int, float))]
    assert not missing, f"columns without a number: {missing}"
    assert all(row[c] > 0 for c in COLUMNS), row
    assert row["top10_exact"] == 1.0  # the sqlite_vec store answers the exact top-10
    assert 20 < row["peak_rss_mb"] < 4000
    assert {t["target"] for t in report["targets"]} >= {"tag search p50 < 1 ms", "cold start to tools/list < 1 s"}
    assert report["machine"]["cores"] >= 1
    assert "| tag search p50, newest 10 (ms) |" in proc.stdout and "### sqlite_vec" in proc.stdout

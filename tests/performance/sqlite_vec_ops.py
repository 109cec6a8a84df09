#!/usr/bin/env python
"""Timings of the sqlite_vec store's own operations (no embedder), at 10k and 100k memories of 384 dims.

    python tests/performance/sqlite_vec_ops.py [--sizes 10000,100000] [--kinds random,clustered,texts]
        [--json sqlite_vec_ops.json]

For each kind of vectors (random unit vectors; clustered: 2,000 centres plus noise; texts: the hash embedder
over the benchmark corpus, many near-identical templated sentences) and each size, it fills a fresh store in
batches of 1,000 (70% of memories in one of 10 projects, 30% global, two tags each, 1% in the trash) and
measures, through the async store API: a batched store at that size (per memory), retrieve top-10 p50/p95
(no filter, project + global, one tag) beside an exact numpy scan of the same vectors, ``nearest_above`` at
0.95 within one project (near-copies of stored vectors and new vectors) with its recall against an exact
search, tag search newest 10, the trash listing, and ``find_hashes``. Prints a table and writes JSON.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

from mcp_memory.config import Settings  # noqa: E402
from mcp_memory.models import Memory  # noqa: E402
from mcp_memory.protocols import TRASH, EmbeddingInfo, Filter  # noqa: E402
from mcp_memory.testing import HashEmbedder  # noqa: E402
from mcp_memory_sqlite_vec.storage import SqliteVecStorage  # noqa: E402

DIM = 384
BATCH = 1000
THRESHOLD = 0.95
QUERIES = 200
PROJECTS = [f"p{i}" for i in range(10)]

ROWS = [
    ("store_batch_us", f"store batched by {BATCH} at this size (us/memory)", "{:.0f}"),
    ("store_batch_cpu_us", "  CPU time (us/memory)", "{:.0f}"),
    ("retrieve_p50_ms", "retrieve top-10 p50, no filter (ms)", "{:.2f}"),
    ("retrieve_p95_ms", "retrieve top-10 p95, no filter (ms)", "{:.2f}"),
    ("retrieve_cpu_ms", "  CPU time p50 (ms)", "{:.2f}"),
    ("numpy_p50_ms", "numpy exact scan p50, same vectors (ms)", "{:.2f}"),
    ("retrieve_vs_numpy", "retrieve p50 / numpy p50 (x)", "{:.2f}"),
    ("retrieve_project_p50_ms", "retrieve p50, project + global (ms)", "{:.2f}"),
    ("retrieve_project_p95_ms", "retrieve p95, project + global (ms)", "{:.2f}"),
    ("retrieve_tag_p50_ms", "retrieve p50, one tag (ms)", "{:.2f}"),
    ("retrieve_tag_p95_ms", "retrieve p95, one tag (ms)", "{:.2f}"),
    ("near_p50_ms", f"nearest_above {THRESHOLD} in a project p50 (ms)", "{:.3f}"),
    ("near_p95_ms", f"nearest_above {THRESHOLD} in a project p95 (ms)", "{:.3f}"),
    ("near_cpu_ms", "  CPU time p50 (ms)", "{:.3f}"),
    ("near_index_p50_ms", "  of which the in-memory index alone p50 (ms)", "{:.3f}"),
    ("near_candidates_p50", "  rows scored exactly after the sign codes, p50", "{:.0f}"),
    ("near_recall", "nearest_above recall vs exact (queries with a match)", "{}"),
    ("tag_p50_ms", "tag search newest 10 p50 (ms)", "{:.3f}"),
    ("tag_p95_ms", "tag search newest 10 p95 (ms)", "{:.3f}"),
    ("tag_cpu_ms", "  CPU time p50 (ms)", "{:.3f}"),
    ("tag_project_p50_ms", "tag search newest 10, project + global, p50 (ms)", "{:.3f}"),
    ("trash_p50_ms", "list trash, newest 10, p50 (ms)", "{:.3f}"),
    ("find_hashes_p50_ms", "find_hashes (6-character prefix) p50 (ms)", "{:.3f}"),
    ("index_load_s", "in-memory index load (s)", "{:.2f}"),
    ("codes_s", "sign codes of every vector (s)", "{:.2f}"),
]


def log(message: str) -> None:
    print(f"[ops] {message}", file=sys.stderr, flush=True)


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_vectors(kind: str, n: int, cache: Path) -> np.ndarray:
    rng = np.random.default_rng(42)
    if kind == "random":
        return unit_rows(rng.standard_normal((n, DIM), dtype=np.float32))
    if kind == "clustered":
        centres = unit_rows(rng.standard_normal((2000, DIM), dtype=np.float32))
        noise = rng.uniform(0.2, 0.9, (n, 1)).astype(np.float32)
        return unit_rows(centres[rng.integers(0, 2000, n)]
                         + noise * rng.standard_normal((n, DIM), dtype=np.float32) / np.sqrt(DIM))
    path = cache / f"texts-{n}.npy"
    if not path.exists():
        log(f"embedding {n} corpus texts with the hash embedder (cached in {path})")
        items = corpus.corpus(n)
        np.save(path, np.asarray(HashEmbedder(dimension=DIM).embed([i.content for i in items]), dtype=np.float32))
    return np.load(path)


def memories(n: int) -> list[Memory]:
    items = corpus.corpus(n)
    out = []
    for i, item in enumerate(items):
        project = PROJECTS[i % 10] if i % 10 < 7 else None
        out.append(Memory.create(item.content, tags=[f"t{i % 50}", f"k{(i * 7) % 13}"], memory_type=item.memory_type,
                                 created_at=item.created_at, project=project))
    return out


CPU: dict[str, list[float]] = {}  # CPU time of the process (event loop and worker thread) per call, by operation


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int, name: str = "") -> list[float]:
    """Wall-clock milliseconds of each call; the CPU milliseconds go to ``CPU[name]``. On a busy machine the
    wall clock also counts the waits for a CPU of the hop to the store's worker thread and back."""
    out = []
    for _ in range(repeat):
        cpu, started = time.process_time(), time.perf_counter()
        await fn()
        out.append((time.perf_counter() - started) * 1000)
        if name:
            CPU.setdefault(name, []).append((time.process_time() - cpu) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


async def measure(kind: str, n: int, cache: Path, workdir: Path) -> dict[str, Any]:
    vectors = make_vectors(kind, n + 5 * BATCH + QUERIES, cache)
    mems = memories(n + 5 * BATCH)
    store = SqliteVecStorage(Settings(), location=str(workdir / f"{kind}-{n}.db"))
    await store.initialize(EmbeddingInfo(f"ops-{kind}", DIM))
    out: dict[str, Any] = {"kind": kind, "size": n}
    try:
        log(f"{kind} {n}: filling")
        for i in range(0, n, BATCH):
            await store.store_batch(list(zip(mems[i:i + BATCH], vectors[i:i + BATCH])))
        rng = np.random.default_rng(7)
        trashed = [mems[i].content_hash for i in rng.choice(n, n // 100, replace=False)]
        await store.trash(trashed, time.time(), "deleted")
        started = time.perf_counter()
        await store.warm_up()  # index and codes
        out["index_load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        store._index.codes.clear()
        store._index.warm()
        out["codes_s"] = time.perf_counter() - started
        # batched store at this size: 5 more batches
        CPU.clear()
        batches = [await timed(lambda: store.store_batch(list(zip(mems[i:i + BATCH], vectors[i:i + BATCH]))), 1,
                               "store") for i in range(n, n + 5 * BATCH, BATCH)]
        out["store_batch_us"] = sum(sum(batches, [])) / (5 * BATCH) * 1000
        out["store_batch_cpu_us"] = sum(CPU["store"]) / (5 * BATCH) * 1000
        await store.retrieve(vectors[0], 10)  # apply the log of those writes
        live = np.ones(n + 5 * BATCH, dtype=bool)
        gone = set(trashed)
        live[[i for i, m in enumerate(mems) if m.content_hash in gone]] = False
        matrix = vectors[:n + 5 * BATCH][live].copy()
        queries = vectors[n + 5 * BATCH:]
        # retrieve beside a numpy scan, in turns on each query
        store_ms, numpy_ms = [], []
        for q in queries:
            store_ms += await timed(lambda: store.retrieve(q, 10), 1, "retrieve")
            started = time.perf_counter()
            scores = matrix @ q
            np.argpartition(-scores, 9)[:10]
            numpy_ms.append((time.perf_counter() - started) * 1000)
        out.update(retrieve_p50_ms=p(store_ms, 50), retrieve_p95_ms=p(store_ms, 95), numpy_p50_ms=p(numpy_ms, 50))
        out["retrieve_vs_numpy"] = out["retrieve_p50_ms"] / out["numpy_p50_ms"]
        out["retrieve_cpu_ms"] = p(CPU["retrieve"], 50)
        proj = [await timed(lambda: store.retrieve(q, 10, Filter(projects=(PROJECTS[i % 10], None))), 1)
                for i, q in enumerate(queries)]
        tag = [await timed(lambda: store.retrieve(q, 10, Filter(tags=(f"t{i % 50}",))), 1)
               for i, q in enumerate(queries)]
        out.update(retrieve_project_p50_ms=p(sum(proj, []), 50), retrieve_project_p95_ms=p(sum(proj, []), 95),
                   retrieve_tag_p50_ms=p(sum(tag, []), 50), retrieve_tag_p95_ms=p(sum(tag, []), 95))
        out.update(await near_duplicates(store, mems, vectors[:n + 5 * BATCH], live, queries))
        tags = [await timed(lambda: store.list_memories(Filter(tags=(f"t{i % 50}",)), 0, 10), 1, "tag")
                for i in range(300)]
        tagp = [await timed(lambda: store.list_memories(Filter(tags=(f"k{i % 13}",), projects=(PROJECTS[i % 10], None)),
                                                        0, 10), 1) for i in range(300)]
        trash = await timed(lambda: store.list_memories(TRASH, 0, 10), 200)
        hashes = [await timed(lambda: store.find_hashes(mems[(i * 97) % n].content_hash[:6]), 1) for i in range(300)]
        out.update(tag_p50_ms=p(sum(tags, []), 50), tag_p95_ms=p(sum(tags, []), 95),
                   tag_project_p50_ms=p(sum(tagp, []), 50), trash_p50_ms=p(trash, 50),
                   find_hashes_p50_ms=p(sum(hashes, []), 50), tag_cpu_ms=p(CPU["tag"], 50),
                   near_cpu_ms=p(CPU["near"], 50))
    finally:
        await store.close()
    return out


async def near_duplicates(store: SqliteVecStorage, mems: list[Memory], vectors: np.ndarray, live: np.ndarray,
                          fresh: np.ndarray) -> dict[str, Any]:
    """nearest_above at THRESHOLD within the query's project: near-copies of live memories (cosine about 0.9
    to 1) and new vectors; recall = queries whose exact best is >= THRESHOLD that get that memory back."""
    rng = np.random.default_rng(11)
    sources = rng.choice(np.flatnonzero(live), QUERIES)
    sigma = rng.uniform(0.0, 0.5, (QUERIES, 1)).astype(np.float32)
    copies = unit_rows(vectors[sources] + sigma * rng.standard_normal((QUERIES, DIM), dtype=np.float32) / np.sqrt(DIM))
    queries = np.vstack([copies, fresh])
    scopes = [mems[i].project for i in sources] + [PROJECTS[i % 10] if i % 3 else None for i in range(len(fresh))]
    project = np.array([m.project or "" for m in mems])
    ms, index_ms, candidates, wanted, hit = [], [], [], 0, 0
    index = store._index
    for q, scope in zip(queries, scopes):
        found: list[Any] = []

        async def call() -> None:
            found.append(await store.nearest_above(q, THRESHOLD, Filter(projects=(scope,))))

        ms += await timed(call, 1, "near")
        started = time.perf_counter()
        index.nearest_above(q, THRESHOLD, (scope,))
        index_ms.append((time.perf_counter() - started) * 1000)
        rows = index.codes.candidates(q, THRESHOLD, index._rows, len(index))
        candidates.append(len(rows) if rows is not None else len(index))
        sims = np.where(live & (project == (scope or "")), vectors @ q, -2.0)
        best = int(np.argmax(sims))
        if sims[best] >= THRESHOLD:
            wanted += 1
            got = found[0]
            hit += got is not None and abs(got.relevance_score - float(sims[best])) < 1e-5
    return {"near_p50_ms": p(ms, 50), "near_p95_ms": p(ms, 95), "near_index_p50_ms": p(index_ms, 50),
            "near_candidates_p50": p(candidates, 50), "near_recall": f"{hit}/{wanted}",
            "near_queries": len(queries)}


def table(results: list[dict[str, Any]]) -> str:
    heads = [f"{r['kind']} {r['size'] // 1000}k" for r in results]
    width = max(len(label) for _, label, _ in ROWS)
    lines = [f"{'':<{width}}  " + "  ".join(f"{h:>13}" for h in heads)]
    for key, label, fmt in ROWS:
        cells = [fmt.format(r[key]) if key in r else "-" for r in results]
        lines.append(f"{label:<{width}}  " + "  ".join(f"{c:>13}" for c in cells))
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--kinds", default="random,clustered,texts")
    parser.add_argument("--json", default="sqlite_vec_ops.json")
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "mcp-memory-ops"))
    args = parser.parse_args()
    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            for kind in args.kinds.split(","):
                results.append(await measure(kind, n, cache, Path(tmp)))
    load = os.getloadavg()
    print(table(results))
    print(f"\n{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
          f"numpy {np.__version__}; medians of {QUERIES} queries (nearest_above: {2 * QUERIES})")
    Path(args.json).write_text(json.dumps({"results": results, "load_average": load,
                                           "cores": os.cpu_count()}, indent=1))
    print(f"JSON: {args.json}")


if __name__ == "__main__":
    asyncio.run(main())

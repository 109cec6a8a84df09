"""The chroma store's own read paths at n memories (a script, not a test; no embedder: random unit vectors).

    python tests/performance/chroma_store_bench.py --sizes 10000,100000

Memories come from the benchmark corpus, their dates moved so that the newest is from today (a store in use);
40% belong to project "main", 20% are global, the rest is spread over 40 other projects (1% each); 1% are in
the trash. Per row: p50 / p95 in ms over the corpus queries.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from corpus import SPAN, START, corpus, queries
from mcp_memory.config import Settings
from mcp_memory.models import Memory
from mcp_memory.protocols import LIVE, EmbeddingInfo, Filter
from mcp_memory.ranking import HYBRID_POOL, key_terms
from mcp_memory_chroma.storage import ChromaLexicalStorage

DIM = 384


def project_of(i: int) -> str | None:
    slot = i % 100
    return "main" if slot < 40 else None if slot < 60 else f"p{slot - 60}"


async def timed(label: str, calls: list, runs: int) -> None:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        await calls[i % len(calls)]()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(f"  {label:<58} p50 {statistics.median(times):8.2f}  p95 {times[int(len(times) * 0.95) - 1]:8.2f}")


async def run(n: int, runs: int) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    items = corpus(n)
    shift = time.time() - (START + SPAN)
    memories = [Memory.create(it.content, tags=it.tags, memory_type=it.memory_type, created_at=it.created_at + shift,
                              project=project_of(i)) for i, it in enumerate(items)]
    memories = [replace(m, deleted_at=1.0, deleted_reason="deleted") if i % 100 == 99 else m
                for i, m in enumerate(memories)]
    with tempfile.TemporaryDirectory() as tmp:
        store = ChromaLexicalStorage(Settings(), location=str(Path(tmp) / "chroma"))
        await store.initialize(EmbeddingInfo("bench", DIM))
        started = time.perf_counter()
        for s in range(0, n, 1000):
            await store.store_batch(list(zip(memories[s:s + 1000], vectors[s:s + 1000])))
        print(f"n={n}: stored in {time.perf_counter() - started:.1f} s")
        qs = [rng.standard_normal(DIM).astype(np.float32) for _ in range(50)]
        texts = [key_terms(q) for q in queries(100)]
        main, rare = Filter(projects=("main", None)), Filter(projects=("p7", None))
        only_rare = Filter(projects=("p7",))
        collection = store.db.collection

        def raw(q: np.ndarray, k: int):
            return lambda: asyncio.to_thread(collection.query, query_embeddings=[q], n_results=k)

        await timed("chroma query k=10, no filter (the old store's retrieve)", [raw(q, 10) for q in qs], runs)
        await timed("retrieve k=10 live", [lambda q=q: store.retrieve(q, 10) for q in qs], runs)
        await timed("retrieve k=10 project main + global (60%)", [lambda q=q: store.retrieve(q, 10, main)
                                                                  for q in qs], runs)
        await timed("retrieve k=10 project p7 + global (21%)", [lambda q=q: store.retrieve(q, 10, rare)
                                                                for q in qs], runs)
        await timed("retrieve k=10 project p7 only (1%: Chroma where)", [lambda q=q: store.retrieve(q, 10, only_rare)
                                                                         for q in qs], runs)
        await timed(f"retrieve k={HYBRID_POOL} project main + global (hybrid pool)",
                    [lambda q=q: store.retrieve(q, HYBRID_POOL, main) for q in qs], runs)
        await timed(f"search_lexical k={HYBRID_POOL} project main + global",
                    [lambda t=t: store.search_lexical(t, HYBRID_POOL, main) for t in texts], runs)
        await timed("search_lexical k=10 live", [lambda t=t: store.search_lexical(t, 10) for t in texts], runs)
        await timed("count live", [lambda: store.count()], min(runs, 20))
        await timed("list newest 10 live", [lambda: store.list_memories(LIVE, 0, 10)], min(runs, 20))
        await timed("count project main + global", [lambda: store.count(main)], min(runs, 20))
        await timed("list newest 10 with tag 'billing'", [lambda: store.list_memories(Filter(tags=("billing",)),
                                                                                     0, 10)], min(runs, 20))
        await timed("all_tags live", [lambda: store.all_tags(LIVE)], min(runs, 5))
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    for n in (int(s) for s in args.sizes.split(",")):
        asyncio.run(run(n, args.runs))


if __name__ == "__main__":
    main()

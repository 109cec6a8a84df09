"""One client process of the reliability concurrency tests: a seeded random mix of operations.

usage: mixed_worker.py WORKER OPS SEED LOG [URL]
Direct mode (the database from MCP_MEMORY_SQLITE_PATH) or, with URL, a RemoteMemoryService of that
``memory http`` server. Every acknowledged write is appended to LOG as one JSON line; reads are checked
against what this worker knows (it is the only writer of its own tag ``wN``): a tag search must return
exactly its live memories. Prints one JSON line {"worker", "ops", "errors", "counts"}; errors are also
logged as {"op": "error", ...}. With WRITER_GO set it waits like writer.py so that all start together.
"""

import asyncio
import json
import os
import random
import sys
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hash_embedder_plugin import install_if_selected
from mcp_memory.config import Settings
from mcp_memory.models import content_hash
from mcp_memory.results import NewMemory
from mcp_memory.service import open_service

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
         "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform",
         "victor", "whiskey", "xray", "yankee", "zulu", "database", "backup", "release", "budget", "meeting",
         "coffee", "python", "sqlite", "vector", "memory", "project", "deadline")
TOPICS = ("work", "home", "ideas", "travel")
SHARED = [f"shared fact {i}: every worker may store this same sentence about {WORDS[i % len(WORDS)]}"
          for i in range(40)]
GROUPS = 6  # delete_by_tag groups per worker


class Worker:
    def __init__(self, number: int, seed: int, service, log):
        self.n, self.rng, self.svc, self.log = number, random.Random(seed), service, log
        self.tag = f"w{number}"
        self.live: dict[str, list[str]] = {}  # hash -> tags, as acknowledged
        self.meta: dict[str, dict] = {}
        self.serial = 0
        self.counts: Counter[str] = Counter()
        self.errors = 0

    def write(self, record: dict) -> None:
        self.log.write(json.dumps(record) + "\n")
        self.log.flush()

    def new_item(self) -> NewMemory:
        self.serial += 1
        words = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(3, 12)))
        tags = [self.tag, self.rng.choice(TOPICS), f"g{self.n}-{self.rng.randrange(GROUPS)}"]
        return NewMemory(f"worker {self.n} note {self.serial}: {words}", tags=tags,
                         metadata={"worker": self.n, "serial": self.serial})

    def fail(self, what: str, detail: str) -> None:
        self.errors += 1
        self.write({"op": "error", "what": what, "error": detail})

    # -- operations ----------------------------------------------------------------------------
    async def store(self) -> None:
        item = self.new_item()
        result = await self.svc.store(item.content, tags=item.tags, metadata=item.metadata)
        if not result.stored:
            return self.fail("store", f"own new content not stored (duplicate or near-duplicate): {item.content!r}")
        self.acknowledge_store(result.memory.content_hash, item)

    def acknowledge_store(self, h: str, item: NewMemory) -> None:
        self.live[h] = list(item.tags)
        self.meta[h] = dict(item.metadata)
        self.write({"op": "store", "hash": h, "tags": item.tags, "metadata": item.metadata})

    async def store_batch(self) -> None:
        items = [self.new_item() for _ in range(self.rng.randint(2, 6))]
        results = await self.svc.store_batch(items)
        for item, result in zip(items, results):
            if not result.stored:
                self.fail("store_batch", f"own new content reported as duplicate: {item.content!r}")
            else:
                self.acknowledge_store(result.memory.content_hash, item)

    async def shared(self) -> None:
        text = self.rng.choice(SHARED)
        result = await self.svc.store(text, tags=["shared"])
        if result.memory.content_hash != content_hash(text):
            return self.fail("shared", f"hash mismatch for {text!r}")
        self.write({"op": "shared", "hash": result.memory.content_hash, "duplicate": result.duplicate})

    async def retrieve(self) -> None:
        k = self.rng.randint(1, 20)
        query = " ".join(self.rng.choice(WORDS) for _ in range(3))
        found = await self.svc.retrieve(query, n_results=k, mode=self.rng.choice(["semantic", "hybrid", "lexical"]))
        if len(found) > k:
            self.fail("retrieve", f"{len(found)} results for n_results={k}")

    async def search_own(self) -> None:
        found = await self.svc.search_by_tag([self.tag], limit=100_000)
        got = {m.content_hash: m.tags for m in found}
        if set(got) != set(self.live):
            missing, extra = set(self.live) - set(got), set(got) - set(self.live)
            return self.fail("search_by_tag", f"own tag view differs: {len(missing)} missing, {len(extra)} extra")
        wrong = [h for h, tags in got.items() if tags != self.live[h]]
        if wrong:
            self.fail("search_by_tag", f"{len(wrong)} memories with other tags than acknowledged")

    def pick(self) -> str | None:
        return self.rng.choice(list(self.live)) if self.live else None

    async def update(self) -> None:
        h = self.pick()
        if h is None:
            return await self.store()
        self.serial += 1
        tags = [self.tag, "updated", f"g{self.n}-{self.rng.randrange(GROUPS)}"]
        memory = (await self.svc.update(h, tags=tags, metadata={"version": self.serial})).memory
        if memory.tags != tags:
            return self.fail("update", f"tags after update {memory.tags} != {tags}")
        self.live[h] = tags
        self.meta[h] = {**self.meta[h], "version": self.serial}
        self.write({"op": "update", "hash": h, "tags": tags, "metadata": self.meta[h]})

    async def get(self) -> None:
        h = self.pick()
        if h is None:
            return
        memory = await self.svc.get(h)
        if memory.tags != self.live[h] or memory.metadata != self.meta[h]:
            self.fail("get", f"memory {h[:12]} differs from what was acknowledged")

    async def delete(self) -> None:
        h = self.pick()
        if h is None:
            return
        await self.svc.delete(h)
        del self.live[h], self.meta[h]
        self.write({"op": "delete", "hash": h})

    async def delete_group(self) -> None:
        group = f"g{self.n}-{self.rng.randrange(GROUPS)}"
        doomed = [h for h, tags in self.live.items() if group in tags]
        deleted = (await self.svc.delete_by_tag([group])).count
        if deleted != len(doomed):
            return self.fail("delete_by_tag", f"{group}: deleted {deleted}, expected {len(doomed)}")
        for h in doomed:
            del self.live[h], self.meta[h]
        self.write({"op": "delete_by_tag", "tag": group, "hashes": doomed})

    async def run(self, ops: int) -> None:
        table = [(self.store, 26), (self.store_batch, 8), (self.shared, 7), (self.retrieve, 15),
                 (self.search_own, 10), (self.update, 12), (self.get, 8), (self.delete, 11), (self.delete_group, 3)]
        actions, weights = zip(*table)
        for _ in range(ops):
            action = self.rng.choices(actions, weights)[0]
            self.counts[action.__name__] += 1
            try:
                await action()
            except Exception as exc:  # noqa: BLE001 - any error reaching a client fails the test
                self.fail(action.__name__, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
        await self.search_own()


async def main(number: int, ops: int, seed: int, log_path: str, url: str | None) -> dict:
    settings = Settings.from_env()
    if url:
        from mcp_memory_http.client import RemoteMemoryService

        service = RemoteMemoryService(settings, url=url)
    else:
        install_if_selected(settings)
        service = await open_service(settings)
    go = os.environ.get("WRITER_GO")
    try:
        if go:
            Path(f"{go}.ready.{number}").touch()
        while go and not Path(go).exists():
            await asyncio.sleep(0.02)
        with open(log_path, "w") as log:  # noqa: ASYNC230 - one small file, before the work starts
            worker = Worker(number, seed, service, log)
            await worker.run(ops)
    finally:
        await service.close()
    return {"worker": number, "ops": ops, "errors": worker.errors, "counts": dict(worker.counts),
            "live": len(worker.live)}


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(asyncio.run(main(int(args[0]), int(args[1]), int(args[2]), args[3],
                                      args[4] if len(args) > 4 else None))))

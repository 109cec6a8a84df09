"""A test store kept in one JSON file (the in-memory reference store, loaded and saved around each process), and
the hash embedder: lets the hooks run as real subprocesses, exactly as Claude Code starts them, without a model.

Never installed as an entry point: ``memory_test_cli.py`` registers it in the process it starts.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mcp_memory import hookimpl
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo
from mcp_memory.registration import EmbedderBackend, StorageBackend
from mcp_memory.testing import HashEmbedder, LexicalInMemoryStorage

PATH_VARIABLE = "MCP_MEMORY_FILESTORE_PATH"
DELAY_VARIABLE = "MCP_MEMORY_FILESTORE_DELAY"


class FileStorage(LexicalInMemoryStorage):
    backend_name = "filestore"

    def __init__(self, settings=None, location=None):
        super().__init__(settings, location)
        self.path = Path(location or os.environ[PATH_VARIABLE])

    async def initialize(self, embedding: EmbeddingInfo | None) -> None:
        delay = float(os.environ.get(DELAY_VARIABLE) or 0)
        if delay:
            time.sleep(delay)  # a slow store (tests of the hook deadline)
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._rows = {row["memory"]["content_hash"]: (Memory.from_dict(row["memory"]), row["vector"])
                          for row in data["rows"]}
            if data.get("embedding"):
                self._embedding = EmbeddingInfo(*data["embedding"])
        await super().initialize(embedding)

    async def close(self) -> None:
        rows = [{"memory": {**m.to_dict(), "deleted_at": m.deleted_at, "deleted_reason": m.deleted_reason,
                            "replaced_by": m.replaced_by}, "vector": list(v)} for m, v in self._rows.values()]
        embedding = [self._embedding.model, self._embedding.dimension] if self._embedding else None
        self.path.write_text(json.dumps({"rows": rows, "embedding": embedding}), encoding="utf-8")
        await super().close()


class FileStorePlugin:
    @hookimpl
    def memory_register_storage(self, register):
        register(StorageBackend(name="filestore", factory=lambda settings, location: FileStorage(settings, location)))

    @hookimpl
    def memory_register_embedder(self, register):
        register(EmbedderBackend(name="hash", factory=lambda settings: HashEmbedder(dimension=64)))

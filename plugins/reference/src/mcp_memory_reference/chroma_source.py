"""Migration source ``mcp-memory-service-chroma``: the reference service's ChromaDB directory, read-only.

The reference service keeps memories in a Chroma collection ``memory_collection``: id/``content_hash``,
document = content, metadata ``tags`` (a JSON list as text), ``memory_type`` (or ``type``), ``timestamp``
(Unix seconds) or ``created_at``/``updated_at``, and the user's metadata flattened into the same dict.
Chroma may upgrade a directory it opens, so the directory is copied to a temporary place first and only
the copy is opened: the user's files are never modified. Vectors are not reused (the model is unknown).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mcp_memory.errors import InvalidInputError, MemoryServiceError
from mcp_memory.logging import get_logger
from mcp_memory.models import Memory

from .importer import to_memory

log = get_logger(__name__)

NAME = "mcp-memory-service-chroma"
COLLECTION = "memory_collection"
RESERVED = {"content_hash", "tags", "memory_type", "type", "timestamp", "timestamp_float", "timestamp_str",
            "created_at", "created_at_iso", "updated_at", "updated_at_iso"}


def record_to_memory(record_id: str, document: str | None, meta: dict[str, Any] | None) -> Memory:
    meta = dict(meta or {})
    created = next((meta[k] for k in ("created_at", "timestamp_float", "timestamp") if meta.get(k) is not None),
                   meta.get("created_at_iso"))
    return to_memory({
        "content": document,
        "content_hash": meta.get("content_hash") or record_id,
        "tags": meta.get("tags"),
        "memory_type": meta.get("memory_type") or meta.get("type") or None,
        "metadata": {k: v for k, v in meta.items() if k not in RESERVED},
        "created_at": created,
        "updated_at": meta.get("updated_at", meta.get("updated_at_iso")),
    })


def _open_copy(path: Path) -> tuple[Any, Any, Path]:
    """Copy the directory aside and open the collection there: (client, collection, temp dir)."""
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError:
        raise InvalidInputError("reading a Chroma directory needs chromadb: pip install 'mcp-memory-reference[chroma]' "
                                "(or the mcp-memory-chroma plugin)") from None

    tmp = Path(tempfile.mkdtemp(prefix="mcp-memory-chroma-import-"))
    try:
        shutil.copytree(path, tmp / "chroma")
        client = chromadb.PersistentClient(path=str(tmp / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as exc:  # noqa: BLE001 - any failure means the directory cannot be read
        shutil.rmtree(tmp, ignore_errors=True)
        raise InvalidInputError(
            f"cannot read the Chroma directory {path}: {type(exc).__name__}: {exc}; if it was made by an old "
            "Chroma, export it from mcp-memory-service as JSON and use --from mcp-memory-service FILE.json"
        ) from None
    names = {str(getattr(c, "name", c)) for c in client.list_collections()}
    if COLLECTION not in names:
        client.close()  # type: ignore[attr-defined]
        shutil.rmtree(tmp, ignore_errors=True)
        raise InvalidInputError(
            f"{path} has no '{COLLECTION}' collection (it has: {', '.join(sorted(names)) or 'none'}); "
            "for a store made by mcp-memory itself use --from chroma"
        )
    return client, client.get_collection(COLLECTION, embedding_function=None), tmp


class ReferenceChromaSource:
    """Batches ``[(Memory, None)]`` read from a copy of the directory, with ``count`` known up front."""

    def __init__(self, path: Path):
        self.path = path
        self.embedding_model: str | None = None
        self.embedding_dimension: int | None = None
        self.skipped: list[str] = []
        client, collection, tmp = _open_copy(path)
        try:
            self.count = int(collection.count())
        finally:
            client.close()
            shutil.rmtree(tmp, ignore_errors=True)

    async def _batches(self, size: int = 500) -> AsyncIterator[list[tuple[Memory, None]]]:
        client, collection, tmp = _open_copy(self.path)
        try:
            total = int(collection.count())
            for offset in range(0, total, size):
                got = collection.get(limit=size, offset=offset, include=["documents", "metadatas"])
                batch = []
                for record_id, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                    try:
                        batch.append((record_to_memory(record_id, doc, meta), None))
                    except (MemoryServiceError, ValueError, TypeError) as exc:
                        self.skipped.append(f"record {record_id}: {exc}")
                        log.warning("skipping unreadable memory", source=str(self.path), id=record_id, error=str(exc))
                if batch:
                    yield batch
        finally:
            client.close()
            shutil.rmtree(tmp, ignore_errors=True)

    def __aiter__(self) -> AsyncIterator[list[tuple[Memory, None]]]:
        return self._batches()


def open_source(location: str | None) -> ReferenceChromaSource:
    """The ``mcp-memory-service-chroma`` migrator."""
    if not location:
        raise InvalidInputError("give the reference service's Chroma directory with --source-path")
    path = Path(location).expanduser()
    if not path.exists():
        raise InvalidInputError(f"source {path} does not exist; check --source-path")
    if not path.is_dir() or not (path / "chroma.sqlite3").exists():
        raise InvalidInputError(f"{path} is not a Chroma directory (no chroma.sqlite3 inside)")
    return ReferenceChromaSource(path)

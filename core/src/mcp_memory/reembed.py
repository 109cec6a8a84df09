"""``memory reembed``: move a store to another embedding model without ever mixing two models.

The store builds the new vectors beside the old ones (``Reembedding`` capability), in batches that survive a
kill (a new run resumes them), and swaps them in one transaction once every memory has one. A JSON backup is
written first. Other processes using the store should be stopped first: they would keep embedding with the old
model.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .config import Settings, default_data_dir
from .errors import InvalidInputError
from .logging import get_logger
from .migration import Source, write_backup_from
from .plugins import get_plugin_manager
from .progress import Progress
from .protocols import Embedder, EmbeddingInfo, Reembedding

log = get_logger(__name__)


@dataclass
class ReembedReport:
    backend: str
    model_from: str | None
    model_to: str
    dimension_to: int
    embedded: int = 0
    resumed_from: int = 0
    total: int = 0
    backup_path: str | None = None
    done: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def reembed(settings: Settings, embedder: Embedder, *, backend: str | None = None,
                  location: str | None = None, backup: bool = True, backup_path: str | None = None,
                  batch_size: int = 256, quiet: bool = False) -> ReembedReport:
    """Re-embed every memory of the store (trash included) with ``embedder`` and switch the store to it."""
    started = time.monotonic()
    name = backend or settings.storage_backend
    storage = get_plugin_manager(settings).storage_backend(name).factory(settings, location)
    await storage.initialize(None)
    try:
        if not isinstance(storage, Reembedding):
            raise InvalidInputError(
                f"the {name} store cannot re-embed in place; copy it into a new store instead, which re-embeds: "
                f"memory migrate --from {name} --to {name} --target-path NEW_LOCATION")
        report = await _run(storage, name, location, embedder, backup, backup_path, batch_size, quiet)
    finally:
        await storage.close()
    report.seconds = round(time.monotonic() - started, 3)
    return report


async def _run(storage: Any, name: str, location: str | None, embedder: Embedder, backup: bool,
               backup_path: str | None, batch_size: int, quiet: bool) -> ReembedReport:
    stats = await storage.get_stats()
    target = EmbeddingInfo(embedder.model_name, embedder.dimension)
    report = ReembedReport(name, stats.get("embedding_model"), target.model, target.dimension)
    state = await storage.reembed_state()
    current = EmbeddingInfo(stats["embedding_model"], int(stats["embedding_dimension"])) \
        if stats.get("embedding_model") and stats.get("embedding_dimension") else None
    if current == target:
        if state is not None:
            await storage.reembed_abort()
        report.done = True
        return report
    if backup and (state is None or state.target != target):
        path = Path(backup_path).expanduser() if backup_path else \
            default_data_dir() / "backups" / f"reembed-{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
        source = Source(name, location, stats.get("total_memories"), report.model_from,
                        stats.get("embedding_dimension"), lambda: storage.iter_memories(), _nothing)
        await write_backup_from(source, path, quiet)
        report.backup_path = str(path)
    state = await storage.reembed_begin(target)
    report.resumed_from, report.total = state.staged, state.total
    if state.staged:
        log.info("resuming a re-embedding", staged=state.staged, total=state.total, model=target.model)
    with Progress(f"reembed -> {target.model}", state.total, enabled=not quiet) as bar:
        bar.advance(state.staged)
        while True:
            pending = await storage.reembed_pending(batch_size)
            if not pending:
                if await storage.reembed_commit():
                    break
                continue  # memories stored meanwhile: embed them too
            vectors = await asyncio.to_thread(embedder.embed, [m.content for m in pending])
            await storage.reembed_stage([(m.content_hash, v) for m, v in zip(pending, vectors, strict=True)])
            report.embedded += len(pending)
            bar.advance(len(pending))
    report.done = True
    log.info("store re-embedded", backend=name, model_from=report.model_from, model_to=target.model,
             memories=report.resumed_from + report.embedded)
    return report


async def _nothing() -> None:
    return None

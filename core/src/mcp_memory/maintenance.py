"""``memory verify`` (is this installation sound?), ``memory health`` and ``memory optimize``.

Every check gives OK or FAIL with a detail and, for a FAIL, the fix. The core knows no store: a store plugin
contributes its own checks (driver, files, server, integrity) through the ``memory_store_checks`` hook, and its
default location through ``memory_storage_location``.
"""

from __future__ import annotations

import asyncio
import platform
import sys
import time
from typing import TYPE_CHECKING, Any

from .config import Settings
from .plugins import PluginManager, get_plugin_manager
from .registration import Check, StoreLocation

if TYPE_CHECKING:  # store_location serves every client's detection: it loads no service code
    from .protocols import Embedder
    from .service import MemoryService
    from .service_api import MemoryAPI


def store_location(pm: PluginManager, backend: str, settings: Settings, location: str | None = None
                   ) -> StoreLocation | None:
    """Where ``backend`` keeps its data (at ``location``, or by default), as its plugin says (None when it does
    not say)."""
    found = pm.first_result("memory_storage_location", backend=backend, settings=settings, location=location)
    return found if isinstance(found, StoreLocation) else None


def store_checks(pm: PluginManager, backend: str, settings: Settings, location: str | None, deep: bool
                 ) -> list[Check]:
    """The checks the store's plugin contributes (a raising plugin is recorded and gives none)."""
    checks: list[Check] = []
    for _plugin, answer in pm.call_each("memory_store_checks", backend=backend, settings=settings,
                                        location=location, deep=deep):
        checks.extend(c for c in answer or () if isinstance(c, Check))
    return checks


def plugin_check(pm: PluginManager) -> Check:
    pm.check_pending()
    names = ", ".join(f"{p.name} {p.version}" for p in pm.loaded) or "none"
    failed = "".join(f"; FAILED {f.name} ({f.stage}): {f.error}" for f in pm.failed)
    fixes = "; ".join(dict.fromkeys(f.fix for f in pm.failed))
    return Check("plugins", not pm.failed, f"loaded: {names}{failed}", fixes)


def _store_opens(settings: Settings, pm: PluginManager, backend: str, embedder: Embedder | None) -> list[Check]:
    """Open the configured store read-only: does it open, how many memories, same model as the embedder?"""

    async def probe() -> dict[str, Any]:
        storage = pm.storage_backend(backend).factory(settings, None)
        try:
            await storage.initialize(None)
            return await storage.get_stats()
        finally:
            await storage.close()

    try:
        stats = asyncio.run(probe())
    except Exception as exc:
        return [Check("store opens", False, f"{backend}: {exc}",
                      "check the store's settings (memory config), or restore from a backup "
                      "(memory restore FILE.json)")]
    checks = [Check("store opens", True, f"{backend}: {stats.get('total_memories')} memories "
                                         f"(+{stats.get('trashed_memories') or 0} in the trash), "
                                         f"{stats.get('database_size_mb')} MB")]
    model = stats.get("embedding_model")
    if embedder is not None and model:
        same = model == embedder.model_name and stats.get("embedding_dimension") in (None, embedder.dimension)
        checks.append(Check("embedding model", same,
                            f"store {model} ({stats.get('embedding_dimension')} dims), embedder "
                            f"{embedder.model_name} ({embedder.dimension} dims)",
                            "" if same else f"set MCP_MEMORY_EMBEDDING_MODEL={model}, or switch the store to the "
                                            f"new model with `memory reembed`"))
    return checks


def run_checks(settings: Settings, load_model: bool = True) -> list[Check]:
    """Every check of ``memory verify``, in order."""
    backend = settings.storage_backend
    pm = get_plugin_manager(settings)
    checks = [Check("python", sys.version_info >= (3, 10), f"{platform.python_version()} ({sys.executable})",
                    "install Python 3.10 or newer")]
    have_store = backend in pm.registry.storages
    checks.append(Check("storage backend", have_store, f"{backend} (installed: "
                        f"{', '.join(sorted(pm.registry.storages)) or 'none'})",
                        "install the plugin that provides it (docs/backends.md), or set MCP_MEMORY_STORAGE_BACKEND"))
    embedder: Embedder | None = None
    try:
        chosen = pm.embedder_backend(settings.embedder)
        embedder = chosen.factory(settings)
        detail = f"{chosen.name}: {embedder.model_name} ({embedder.dimension} dims)"
        if load_model:
            started = time.monotonic()
            [vector] = embedder.embed(["mcp-memory verify"])
            if len(vector) != embedder.dimension:
                raise ValueError(f"model gave {len(vector)} dims, expected {embedder.dimension}")
            detail += f", loaded in {time.monotonic() - started:.1f} s"
        checks.append(Check("embedder", True, detail))
    except Exception as exc:
        checks.append(Check("embedder", False, f"{type(exc).__name__}: {exc}",
                            "pip install mcp-memory-onnx, or check MCP_MEMORY_EMBEDDER / MCP_MEMORY_EMBEDDING_MODEL"))
    if have_store:
        checks.extend(store_checks(pm, backend, settings, None, deep=True))
        location = store_location(pm, backend, settings)
        if location is not None and location.path is not None and not location.path.exists():
            checks.append(Check("store opens", True, f"no data yet at {location.text} (created on the first store)"))
        else:
            checks.extend(_store_opens(settings, pm, backend, embedder))
    checks.insert(1, plugin_check(pm))  # last: the calls above may have recorded plugin failures
    return checks


async def health_report(service: MemoryAPI, settings: Settings) -> dict[str, Any]:
    """``memory health``: the service's health, the store plugin's cheap checks and the plugin failures, with a
    human-readable ``text``."""
    report = await service.health()
    pm = get_plugin_manager(settings)
    checks = [plugin_check(pm)]
    if service.coordination_mode != "http_client":  # the hook may block (a server to ask): not on the event loop
        checks += await asyncio.to_thread(store_checks, pm, settings.storage_backend, settings, None, False)
    report["checks"] = [c.to_dict() for c in checks]
    if any(not c.ok for c in checks) and report.get("status") == "healthy":
        report["status"] = "degraded"
    storage = report.get("storage") or {}
    embedder = report.get("embedder") or {}
    lines = [f"status: {report.get('status')}", f"coordination: {report.get('coordination_mode')}"]
    if "error" in storage:
        lines.append(f"store: ERROR {storage['error']}")
    else:
        lines.append(f"store: {storage.get('backend')}, {storage.get('total_memories')} memories "
                     f"(+{storage.get('trashed_memories') or 0} in the trash), {storage.get('database_size_mb')} MB, "
                     f"search modes: {', '.join(storage.get('search_modes') or [])}")
    lines.append(f"embedder: {embedder.get('model')} ({embedder.get('dimension')} dims)" if "error" not in embedder
                 else f"embedder: ERROR {embedder['error']}")
    lines += [c.line() for c in checks]
    report["text"] = "\n".join(lines)
    return report


async def optimize(service: MemoryService) -> dict[str, Any]:
    """Move duplicate memories to the trash, purge what is past ``MCP_MEMORY_TRASH_DAYS``, then run the store's
    own upkeep; sizes before and after."""
    before = (await service.stats()).get("database_size_mb")
    moved = await service.cleanup_duplicates()
    purged = await service.purge_expired()
    store_report = await service.storage.optimize()
    after = (await service.stats()).get("database_size_mb")
    return {"duplicates_trashed": moved.count, "trash_purged": purged, "size_before_mb": before,
            "size_after_mb": after, "store": store_report}

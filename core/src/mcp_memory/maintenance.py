"""``memory verify`` (is this installation sound?) and ``memory optimize`` (dedup, then the store's upkeep).

Every check gives OK or FAIL with a detail and, for a FAIL, the fix. The core imports no plugin: the SQLite
checks use the stdlib, ``sqlean`` and ``sqlite_vec`` modules only if they are installed.
"""

from __future__ import annotations

import importlib
import os
import platform
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .config import Settings
from .migration import default_location


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        text = f"{'OK  ' if self.ok else 'FAIL'}  {self.name:<20} {self.detail}"
        return text if self.ok or not self.fix else f"{text}\n      fix: {self.fix}"


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _loads_vec(module: ModuleType, vec: ModuleType) -> str | None:
    """sqlite-vec's version when ``module`` (sqlite3 or sqlean) can load it, else None."""
    conn = None
    try:
        conn = module.connect(":memory:")
        conn.enable_load_extension(True)
        vec.load(conn)
        return str(conn.execute("SELECT vec_version()").fetchone()[0])
    except Exception:
        return None
    finally:
        if conn is not None:
            conn.close()


def _sqlite_driver() -> tuple[ModuleType | None, str, str | None]:
    """(module, description, sqlite-vec version) of the driver that can load sqlite-vec."""
    vec = _import("sqlite_vec")
    if vec is None:
        return None, "sqlite-vec is not installed", None
    version = _loads_vec(sqlite3, vec)
    if version:
        return sqlite3, "stdlib sqlite3 loads extensions", version
    sqlean = _import("sqlean")
    if sqlean is not None:
        version = _loads_vec(sqlean, vec)
        if version:
            return sqlean, f"stdlib sqlite3 cannot load extensions; fallback sqlean (SQLite {sqlean.sqlite_version}) can", version
    return None, "neither the stdlib sqlite3 nor sqlean can load extensions", None


def _writable(path: Path) -> tuple[bool, str]:
    if path.exists():
        return os.access(path, os.W_OK), f"{path} exists"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return os.access(parent, os.W_OK), f"{path} will be created (in {parent})"


def _integrity(module: ModuleType, vec: ModuleType, path: Path) -> tuple[bool, str]:
    conn = module.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.enable_load_extension(True)
        vec.load(conn)
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    finally:
        conn.close()
    return rows == ["ok"], "; ".join(str(r) for r in rows[:3])


def _store_checks(settings: Settings, backend: str, embedder: Any) -> list[Check]:
    """Open the configured store read-only: does it open, how many memories, same model as the embedder?"""
    import asyncio

    from .plugins import get_plugin_manager

    async def probe() -> dict[str, Any]:
        storage = get_plugin_manager(settings).storage_factory(backend)(settings, location=None)
        try:
            await storage.initialize(None)
            return await storage.get_stats()
        finally:
            await storage.close()

    try:
        stats = asyncio.run(probe())
    except Exception as exc:
        return [Check("store opens", False, f"{backend}: {exc}",
                      "check the path/server settings above, or restore from a backup (memory restore FILE.json)")]
    checks = [Check("store opens", True, f"{backend}: {stats.get('total_memories')} memories, "
                                         f"{stats.get('database_size_mb')} MB")]
    model = stats.get("embedding_model")
    if embedder is not None and model:
        same = model == embedder.model_name and stats.get("embedding_dimension") in (None, embedder.dimension)
        checks.append(Check("embedding model", same,
                            f"store {model} ({stats.get('embedding_dimension')} dims), embedder "
                            f"{embedder.model_name} ({embedder.dimension} dims)",
                            "" if same else f"set MCP_MEMORY_EMBEDDING_MODEL={model}, or migrate to a new store "
                                            "(memory migrate ... re-embeds)"))
    return checks


def run_checks(settings: Settings, load_model: bool = True) -> list[Check]:
    """Every check of ``memory verify``, in order."""
    from .plugins import get_plugin_manager

    backend = settings.storage_backend
    checks = [Check("python", sys.version_info >= (3, 10), f"{platform.python_version()} ({sys.executable})",
                    "install Python 3.10 or newer"),
              Check("sqlite", True, f"stdlib sqlite3 {sqlite3.sqlite_version}")]

    module, how, vec_version = _sqlite_driver()
    needs_sqlite = backend == "sqlite_vec"
    checks.append(Check("extension loading", module is not None or not needs_sqlite,
                        how if module is not None or needs_sqlite else f"{how} (not needed by {backend})",
                        "pip install sqlean.py (a SQLite build that can load extensions)"))
    checks.append(Check("sqlite-vec", vec_version is not None or not needs_sqlite,
                        f"version {vec_version}" if vec_version else "not loadable",
                        "pip install mcp-memory-sqlite-vec (brings sqlite-vec and sqlean.py)"))

    pm = get_plugin_manager(settings)
    names = ", ".join(f"{p.name} {p.version}" for p in pm.loaded) or "none"
    checks.append(Check("plugins", not pm.failed, f"loaded: {names}"
                        + "".join(f"; FAILED {f.name}: {f.error}" for f in pm.failed),
                        "; ".join(f"pip install --force-reinstall {f.distribution} or "
                                  f"MCP_MEMORY_DISABLE_PLUGINS={f.name}" for f in pm.failed)))
    have_store = backend in pm.registry.storages
    checks.append(Check("storage backend", have_store, f"{backend} (installed: "
                        f"{', '.join(sorted(pm.registry.storages)) or 'none'})",
                        f"pip install mcp-memory-{backend.replace('_', '-')} or set MCP_MEMORY_STORAGE_BACKEND"))

    embedder = None
    try:
        name, factory = pm.embedder_factory(settings.embedder)
        embedder = factory(settings)
        detail = f"{name}: {embedder.model_name} ({embedder.dimension} dims)"
        if load_model:
            started = time.monotonic()
            [vector] = embedder.embed(["mcp-memory verify"])
            if len(vector) != embedder.dimension:
                raise ValueError(f"model gave {len(vector)} dims, expected {embedder.dimension}")
            detail += f", loaded in {time.monotonic() - started:.1f} s"
        checks.append(Check("embedder", True, detail))
    except Exception as exc:
        checks.append(Check("embedder", False, f"{type(exc).__name__}: {exc}",
                            "pip install mcp-memory-sentence-transformers, or check MCP_MEMORY_EMBEDDING_MODEL"))

    where = default_location(settings, backend)
    if where is not None:
        ok, detail = _writable(Path(where))
        checks.append(Check("database path", ok, f"{detail}, {'writable' if ok else 'NOT writable'}",
                            "fix the permissions, or point MCP_MEMORY_SQLITE_PATH / MCP_MEMORY_CHROMA_PATH elsewhere"))
    elif backend == "chroma":
        checks.append(Check("database path", True, f"Chroma server {settings.chroma_host}:{settings.chroma_port}"))

    db_exists = where is not None and Path(where).exists()
    if backend == "sqlite_vec" and db_exists and module is not None:
        try:
            ok, detail = _integrity(module, importlib.import_module("sqlite_vec"), Path(where))
        except Exception as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        checks.append(Check("integrity_check", ok, detail,
                            "restore from a backup (memory restore FILE.json) or move the file aside"))
    if have_store and (db_exists or where is None):
        checks.extend(_store_checks(settings, backend, embedder))
    elif have_store:
        checks.append(Check("store opens", True, f"no database yet at {where} (created on the first store)"))
    return checks


async def optimize(service: Any) -> dict[str, Any]:
    """Remove duplicate memories, then run the store's own upkeep; sizes before and after."""
    before = (await service.stats()).get("database_size_mb")
    removed = await service.cleanup_duplicates()
    store_report = await service.storage.optimize()
    after = (await service.stats()).get("database_size_mb")
    return {"duplicates_removed": removed, "size_before_mb": before, "size_after_mb": after,
            "store": store_report}

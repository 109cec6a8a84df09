"""The checks of ``memory health`` (cheap) and ``memory verify`` (``deep``: integrity of the whole file).

None of them writes: the database is opened read-only, and a WAL file that no process has open is read as
immutable, so that no -wal/-shm file is left behind (SQLite creates both for any reader of a WAL database).
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

from mcp_memory import plugins
from mcp_memory.config import Settings
from mcp_memory.registration import Check

from .settings import SQLITE_SETTINGS

RESTORE = "restore from a backup (memory restore FILE.json) or move the file aside"


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _loads_vec(module: ModuleType, vec: ModuleType) -> tuple[str, bool] | None:
    """(sqlite-vec version, FTS5 available) when ``module`` (sqlite3 or sqlean) can load sqlite-vec, else None."""
    conn = None
    try:
        conn = module.connect(":memory:")
        conn.enable_load_extension(True)
        vec.load(conn)
        version = str(conn.execute("SELECT vec_version()").fetchone()[0])
        fts5 = any("ENABLE_FTS5" in row[0] for row in conn.execute("PRAGMA compile_options"))
        return version, fts5
    except Exception:
        return None
    finally:
        if conn is not None:
            conn.close()


def driver() -> tuple[ModuleType | None, str, tuple[str, bool] | None]:
    """(module, how it was chosen, (sqlite-vec version, FTS5)) of the driver that can load sqlite-vec."""
    vec = _import("sqlite_vec")
    if vec is None:
        return None, "sqlite-vec is not installed", None
    found = _loads_vec(sqlite3, vec)
    if found:
        return sqlite3, f"stdlib sqlite3 {sqlite3.sqlite_version} loads extensions", found
    sqlean = _import("sqlean")
    found = _loads_vec(sqlean, vec) if sqlean is not None else None
    if sqlean is not None and found:
        return sqlean, (f"stdlib sqlite3 cannot load extensions; fallback sqlean (SQLite {sqlean.sqlite_version}) "
                        "can"), found
    return None, "neither the stdlib sqlite3 nor sqlean can load extensions", None


def writable(path: Path) -> tuple[bool, str]:
    if path.exists():
        return os.access(path, os.W_OK), f"{path} exists"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return os.access(parent, os.W_OK) and parent.is_dir(), f"{path} will be created (in {parent})"


def wal_file(path: Path) -> bool | None:
    """Whether the file's header says WAL mode (bytes 18-19 are 2); None when there is no database yet."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(20)
    except OSError:
        return None
    return header[18:20] == b"\x02\x02" if len(header) == 20 else None


def _journal(settings: Settings, path: Path, pragmas: tuple[tuple[str, str], ...]) -> Check:
    policy = [impl.plugin_name for impl in plugins.get_plugin_manager(settings).implementations(
        "memory_configure_sqlite")]
    in_file = wal_file(path)
    asked = dict(pragmas).get("journal_mode", "").lower()
    now = "" if in_file is None else f"; the file is in {'WAL' if in_file else 'rollback journal'} mode now"
    if asked and asked != "wal":
        return Check("journal mode", False, f"MCP_MEMORY_SQLITE_PRAGMAS sets journal_mode={asked}{now}",
                     "remove journal_mode from MCP_MEMORY_SQLITE_PRAGMAS: several processes need WAL")
    if policy or asked == "wal":
        by = f"the {', '.join(policy)} plugin" if policy else "MCP_MEMORY_SQLITE_PRAGMAS"
        return Check("journal mode", True, f"WAL, set by {by} on every connection{now}")
    return Check("journal mode", bool(in_file), f"no plugin sets WAL{now}: several processes writing at once may "
                 "get 'database is locked', and busy writes are not retried",
                 "pip install mcp-memory-wal")


def _integrity(module: ModuleType, path: Path) -> tuple[bool, str]:
    """``PRAGMA integrity_check`` on a read-only connection. A WAL file with no -wal beside it (no process has it
    open, nothing to replay) is read as immutable, which creates no -wal/-shm; should that read fail (a writer
    started meanwhile), it is checked again the usual way before saying it is damaged."""
    immutable = bool(wal_file(path)) and not Path(f"{path}-wal").exists()
    rows = _integrity_rows(module, path, immutable)
    if immutable and rows != ["ok"]:
        rows = _integrity_rows(module, path, False)
    return rows == ["ok"], "; ".join(str(r) for r in rows[:3])


def _integrity_rows(module: ModuleType, path: Path, immutable: bool) -> list[Any]:
    vec = importlib.import_module("sqlite_vec")
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    conn = module.connect(uri, uri=True)
    try:
        conn.enable_load_extension(True)
        vec.load(conn)
        return [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    except module.Error as exc:
        return [f"{type(exc).__name__}: {exc}"]
    finally:
        conn.close()


def store_checks(settings: Settings, location: str | None, deep: bool) -> list[Check]:
    """The checks of the sqlite_vec store at ``location`` (default: MCP_MEMORY_SQLITE_PATH)."""
    mine = settings.section(SQLITE_SETTINGS)
    path = Path(location).expanduser() if location is not None else mine.sqlite_path
    module, how, found = driver()
    checks = [Check("extension loading", module is not None, how,
                    "pip install sqlean.py (a SQLite build that can load extensions)"),
              Check("sqlite-vec", found is not None, f"version {found[0]}" if found else "not loadable",
                    "pip install -U mcp-memory-sqlite-vec (brings sqlite-vec and sqlean.py)")]
    if found is not None:
        checks.append(Check("full-text search", found[1], "FTS5 available: lexical and hybrid search" if found[1]
                            else "this SQLite has no FTS5: lexical and hybrid search answer semantically",
                            "pip install sqlean.py (built with FTS5)"))
    ok, detail = writable(path)
    checks.append(Check("database path", ok, f"{detail}, {'writable' if ok else 'NOT writable'}",
                        "fix the permissions, or point MCP_MEMORY_SQLITE_PATH elsewhere"))
    checks.append(_journal(settings, path, tuple(mine.sqlite_pragmas)))
    if deep and module is not None and path.is_file():
        try:
            ok, detail = _integrity(module, path)
        except Exception as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        checks.append(Check("integrity_check", ok, detail, RESTORE))
    return checks

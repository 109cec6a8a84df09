"""Opening a SQLite connection with sqlite-vec loaded: driver choice, file checks, pragmas, errors.

The stdlib ``sqlite3`` is used when it can load extensions; otherwise ``sqlean`` (a drop-in build that
can). Nothing here writes to the file before it has been checked to be a sound SQLite database.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlite_vec

from mcp_memory.errors import StorageError
from mcp_memory.logging import get_logger

log = get_logger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
_PRAGMA_NAME = re.compile(r"^[a-z_]+$")
_PRAGMA_VALUE = re.compile(r"^-?[A-Za-z0-9_]+$")
PATH_HINT = "set MCP_MEMORY_SQLITE_PATH to a writable file"


def _stdlib_loads_sqlite_vec() -> bool:
    """True when the stdlib ``sqlite3`` can load extensions and sqlite-vec loads into it."""
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        return False
    conn = None
    try:
        conn = sqlite3.connect(":memory:")
        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.execute("SELECT vec_version()").fetchone()
        return True
    except (AttributeError, OSError, sqlite3.Error):
        return False
    finally:
        if conn is not None:
            conn.close()


@functools.lru_cache(maxsize=1)
def detect_driver() -> str:
    """Which driver this process uses: ``"sqlite3"`` if the stdlib can load sqlite-vec, else ``"sqlean"``."""
    if _stdlib_loads_sqlite_vec():
        driver = "sqlite3"
    else:
        driver = "sqlean"
    log.debug("sqlite driver selected", driver=driver,
              reason="stdlib sqlite3 loads extensions" if driver == "sqlite3"
              else "stdlib sqlite3 cannot load sqlite-vec; using sqlean")
    return driver


def driver_module(driver: str) -> ModuleType:
    """The DB-API module of a driver name."""
    if driver == "sqlite3":
        return sqlite3
    try:
        return importlib.import_module("sqlean")
    except ImportError:
        raise StorageError(
            "this Python's sqlite3 cannot load extensions and sqlean is not installed: pip install sqlean.py"
        ) from None


def _check_file(path: Path) -> None:
    """Refuse a file that is not a SQLite database or is visibly truncated (reads only)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}; fix its permissions or {PATH_HINT}") from None
    if path.is_file() and not os.access(path, os.R_OK | os.W_OK):
        # SQLite would open it read-only: every write would fail later, and -wal/-shm files be left behind
        raise StorageError(f"{path} is read-only for this user; fix its permissions or {PATH_HINT} "
                           "(the file was left untouched)")
    if size == 0:
        return
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}; fix its permissions or {PATH_HINT}") from None
    if not header.startswith(SQLITE_MAGIC):
        raise StorageError(
            f"{path} is not a SQLite database; move it aside or {PATH_HINT} (the file was left untouched)"
        )
    page_size = int.from_bytes(header[16:18], "big") if len(header) >= 18 else 0
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(header[28:32], "big") if len(header) >= 32 else 0
    header_count_valid = len(header) == 100 and header[24:28] == header[92:96]
    truncated = (
        len(header) < 100
        or page_size < 512
        or size % page_size != 0
        or (header_count_valid and size < page_count * page_size)
    )
    if truncated:
        raise StorageError(
            f"{path} is a truncated or corrupt SQLite database ({size} bytes); restore it from a backup "
            f"or move it aside and {PATH_HINT} (the file was left untouched)"
        )


def connect(path: Path) -> tuple[Any, str]:
    """Open ``path`` (creating its directory), load sqlite-vec and check the file reads as SQLite.

    Returns ``(connection, driver)``. The connection is in autocommit mode (explicit transactions).
    No pragma is applied yet and nothing is written to an existing file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the directory {path.parent} for {path.name}: {exc.strerror}; {PATH_HINT}"
        ) from None
    _check_file(path)
    driver = detect_driver()
    module = driver_module(driver)
    try:
        conn = module.connect(str(path), isolation_level=None, timeout=5.0)
    except module.Error as exc:
        raise storage_error(exc, path) from None
    try:
        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except module.Error as exc:
        conn.close()
        raise storage_error(exc, path) from None
    except (AttributeError, OSError) as exc:
        conn.close()
        raise StorageError(f"cannot load sqlite-vec with {driver}: {exc}; reinstall sqlite-vec and sqlean.py") from None
    return conn, driver


def apply_pragmas(conn: Any, pragmas: Iterable[tuple[str, str]]) -> None:
    """Apply ``pragmas`` (already validated). The WAL policy itself belongs to the ``wal`` plugin."""
    for name, value in pragmas:
        if not _PRAGMA_NAME.match(name) or not _PRAGMA_VALUE.match(value):
            raise StorageError(f"refusing malformed pragma {name}={value}")
        row = conn.execute(f"PRAGMA {name}={value}").fetchone()
        if name == "journal_mode" and row and str(row[0]).lower() != value.lower():
            log.warning("journal mode not applied", wanted=value, got=row[0])


def storage_error(exc: Exception, path: Path | str, busy_timeout_ms: int | None = None) -> StorageError:
    """Translate a driver error into a StorageError that says what happened and what to do."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        waited = f" for longer than busy_timeout ({busy_timeout_ms} ms)" if busy_timeout_ms else ""
        return StorageError(
            f"database is locked: {path} is held by another process with a write lock{waited}. "
            "Wait for the other writer to finish, or raise the wait with "
            "MCP_MEMORY_SQLITE_PRAGMAS=busy_timeout=15000"
        )
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return StorageError(
            f"{path} is not a sound SQLite database ({text}); restore it from a backup or move it aside "
            f"and {PATH_HINT}"
        )
    if "readonly" in low or "read-only" in low:
        return StorageError(f"{path} is read-only ({text}); fix the file's permissions or {PATH_HINT}")
    if "unable to open" in low or "cannot open" in low:
        return StorageError(f"cannot open {path} ({text}); check the directory exists and is writable, or {PATH_HINT}")
    if "disk is full" in low or "database or disk is full" in low:
        return StorageError(f"the disk holding {path} is full ({text}); free some space")
    return StorageError(f"SQLite error on {path}: {text}")

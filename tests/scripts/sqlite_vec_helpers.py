"""Helpers of the sqlite_vec tests: open a store, a plain connection beside it, and the triggers of schemas
2 and 3 to rebuild older files in upgrade tests (schema 4 has no triggers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlean
import sqlite_vec

from mcp_memory.config import Settings
from mcp_memory.protocols import EmbeddingInfo
from mcp_memory_sqlite_vec.storage import SqliteVecStorage

INFO = EmbeddingInfo("unit-test-model", 8)


async def open_store(path: Path, info: EmbeddingInfo | None = INFO, **settings: Any) -> SqliteVecStorage:
    store = SqliteVecStorage(Settings(**settings), location=str(path))
    await store.initialize(info)
    return store


def raw(path: Path) -> sqlean.Connection:
    """A plain connection beside the store (sqlite-vec loaded so vec0 tables can be read)."""
    conn = sqlean.connect(str(path), isolation_level=None)
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    return conn


FTS_TRIGGERS = (
    """CREATE TRIGGER memory_fts_insert AFTER INSERT ON memories BEGIN
        INSERT INTO memory_fts (rowid, content) VALUES (new.id, new.content);
    END""",
    """CREATE TRIGGER memory_fts_delete AFTER DELETE ON memories BEGIN
        INSERT INTO memory_fts (memory_fts, rowid, content) VALUES ('delete', old.id, old.content);
    END""",
    """CREATE TRIGGER memory_fts_update AFTER UPDATE OF content ON memories BEGIN
        INSERT INTO memory_fts (memory_fts, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO memory_fts (rowid, content) VALUES (new.id, new.content);
    END""",
)
LOG_TRIGGERS = (
    """CREATE TRIGGER vector_changes_insert AFTER INSERT ON memories BEGIN
        INSERT INTO vector_changes (memory_id, added) VALUES (new.id, 1);
    END""",
    """CREATE TRIGGER vector_changes_delete AFTER DELETE ON memories BEGIN
        INSERT INTO vector_changes (memory_id, added) VALUES (old.id, 0);
    END""",
)


def add_triggers(conn: Any, *groups: tuple[str, ...]) -> None:
    for group in groups:
        for statement in group:
            conn.execute(statement)


def triggers(conn: Any) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]

"""Helpers of the sqlite_vec tests: open a store, a plain connection beside it, and the SQL of older schemas to
rebuild older files in upgrade tests (the triggers of schemas 2 and 3, the whole of schema 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlean
import sqlite_vec

from mcp_memory.config import Settings
from mcp_memory.protocols import EmbeddingInfo
from mcp_memory_sqlite_vec.storage import SqliteVecStorage

INFO = EmbeddingInfo("unit-test-model", 8)


def settings(**variables: Any) -> Settings:
    """Settings with these variables set, e.g. ``settings(MCP_MEMORY_SQLITE_PRAGMAS="busy_timeout=100")``."""
    return Settings().with_changes(**variables) if variables else Settings()


async def open_store(path: Path, info: EmbeddingInfo | None = INFO, **variables: Any) -> SqliteVecStorage:
    store = SqliteVecStorage(settings(**variables), location=str(path))
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

# Schema 4 exactly as the previous code (commit 2725e5f, schema.py) created it.
SCHEMA_4 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE memories (
        id INTEGER PRIMARY KEY,
        content_hash TEXT UNIQUE NOT NULL,
        content TEXT NOT NULL,
        memory_type TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE memory_tags (
        memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        position INTEGER NOT NULL,
        created_at REAL,
        PRIMARY KEY (memory_id, tag)
    ) WITHOUT ROWID""",
    ("CREATE TABLE vector_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, memory_id INTEGER NOT NULL, "
     "added INTEGER NOT NULL)"),
    "CREATE INDEX idx_memories_created ON memories(created_at, content_hash)",
    "CREATE INDEX idx_memories_memory_type ON memories(memory_type)",
    "CREATE INDEX idx_memory_tags_tag_created ON memory_tags(tag, created_at)",
    ("CREATE VIRTUAL TABLE memory_fts USING fts5(content, content='memories', content_rowid='id', "
     "tokenize='porter unicode61 remove_diacritics 2')"),
)


def schema_4_file(path: Path, model: str, dimension: int, rows: list[dict[str, Any]]) -> None:
    """Write a schema-4 database the way the schema-4 store did: ``rows`` of content, content_hash, tags,
    memory_type, metadata (JSON text), created_at, updated_at and vector (float32 bytes)."""
    conn = raw(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA_4:
            conn.execute(statement)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "4"), ("embedding_model", model),
                                                            ("embedding_dimension", str(dimension))])
        conn.execute(f"CREATE VIRTUAL TABLE memory_vectors USING vec0(embedding float[{dimension}] "
                     "distance_metric=cosine)")
        for row in rows:
            cur = conn.execute("INSERT INTO memories (content_hash, content, memory_type, metadata, created_at, "
                               "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                               (row["content_hash"], row["content"], row["memory_type"], row["metadata"],
                                row["created_at"], row["updated_at"]))
            memory_id = cur.lastrowid
            conn.executemany("INSERT INTO memory_tags (memory_id, tag, position, created_at) VALUES (?, ?, ?, ?)",
                             [(memory_id, tag, i, row["created_at"]) for i, tag in enumerate(row["tags"])])
            conn.execute("INSERT INTO memory_vectors (rowid, embedding) VALUES (?, ?)", (memory_id, row["vector"]))
            conn.execute("INSERT INTO memory_fts (rowid, content) VALUES (?, ?)", (memory_id, row["content"]))
            conn.execute("INSERT INTO vector_changes (memory_id, added) VALUES (?, 1)", (memory_id,))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def add_triggers(conn: Any, *groups: tuple[str, ...]) -> None:
    for group in groups:
        for statement in group:
            conn.execute(statement)


def triggers(conn: Any) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]

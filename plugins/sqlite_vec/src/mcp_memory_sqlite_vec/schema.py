"""The database schema and the ``meta`` bookkeeping (schema version, embedding model and dimension)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_memory.errors import EmbeddingError, StorageError
from mcp_memory.protocols import EmbeddingInfo

SCHEMA_VERSION = 1
MAX_DIMENSION = 8192

TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS memories (
        id INTEGER PRIMARY KEY,
        content_hash TEXT UNIQUE NOT NULL,
        content TEXT NOT NULL,
        memory_type TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS idx_memories_created_at ON memories(created_at)",
    "CREATE INDEX IF NOT EXISTS idx_memories_memory_type ON memories(memory_type)",
    """CREATE TABLE IF NOT EXISTS memory_tags (
        memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (memory_id, tag)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS idx_memory_tags_tag ON memory_tags(tag)",
)


def read_meta(conn: Any) -> dict[str, str]:
    """The ``meta`` table as a dict (empty when the table does not exist yet)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone():
        return {}
    return {key: value for key, value in conn.execute("SELECT key, value FROM meta")}


def check_existing(conn: Any, path: Path) -> dict[str, str]:
    """Refuse a database this code must not touch (foreign tables, newer schema). Reads only."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    meta = read_meta(conn)
    if tables and "schema_version" not in meta:
        raise StorageError(
            f"{path} is a SQLite database but not an mcp-memory store (tables: {', '.join(sorted(tables)[:8])}); "
            "point MCP_MEMORY_SQLITE_PATH at another file, or import it with `memory migrate`"
        )
    try:
        version = int(meta.get("schema_version", SCHEMA_VERSION))
    except ValueError:
        raise StorageError(f"{path} has an unreadable schema version {meta['schema_version']!r}") from None
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{path} has schema version {version}, newer than this mcp-memory-sqlite-vec supports "
            f"({SCHEMA_VERSION}); upgrade it: pip install -U mcp-memory-sqlite-vec"
        )
    return meta


def create_vector_table(conn: Any, dimension: int) -> None:
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS memory_vectors "
        f"USING vec0(embedding float[{int(dimension)}] distance_metric=cosine)"
    )


def setup(conn: Any, path: Path, embedding: EmbeddingInfo | None) -> EmbeddingInfo | None:
    """Create what is missing and reconcile the embedder with the one recorded (inside a transaction).

    Returns the embedding info in force (None when nothing is recorded and none was given).
    """
    meta = check_existing(conn, path)
    for statement in TABLES:
        conn.execute(statement)
    if "schema_version" not in meta:
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    recorded = None
    if "embedding_model" in meta and "embedding_dimension" in meta:
        recorded = EmbeddingInfo(meta["embedding_model"], int(meta["embedding_dimension"]))
    if embedding is None:
        return recorded
    if recorded is not None:
        if recorded != embedding:
            raise EmbeddingError(
                f"{path} holds embeddings made by {recorded.model!r} ({recorded.dimension} dims), but the "
                f"configured embedder is {embedding.model!r} ({embedding.dimension} dims). Use the same model "
                f"(MCP_MEMORY_EMBEDDING_MODEL={recorded.model}) or migrate to a new database with "
                "`memory migrate`, which re-embeds"
            )
        return recorded
    if not 0 < embedding.dimension <= MAX_DIMENSION:
        raise EmbeddingError(f"embedding dimension must be between 1 and {MAX_DIMENSION}, got {embedding.dimension}")
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                     [("embedding_model", embedding.model), ("embedding_dimension", str(embedding.dimension))])
    create_vector_table(conn, embedding.dimension)
    return embedding

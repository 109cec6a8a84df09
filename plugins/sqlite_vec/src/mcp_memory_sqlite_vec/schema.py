"""The database schema and the ``meta`` bookkeeping (schema version, embedding model and dimension)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_memory.errors import EmbeddingError, StorageError
from mcp_memory.logging import get_logger
from mcp_memory.protocols import EmbeddingInfo

log = get_logger(__name__)

SCHEMA_VERSION = 4  # 2: memory_fts full-text index; 3: vector_changes log, tag and time indexes;
#                    4: no triggers, the write functions in queries.py maintain memory_fts and vector_changes
MAX_DIMENSION = 8192
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"

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
    """CREATE TABLE IF NOT EXISTS memory_tags (
        memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        position INTEGER NOT NULL,
        created_at REAL,
        PRIMARY KEY (memory_id, tag)
    ) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS vector_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "memory_id INTEGER NOT NULL, added INTEGER NOT NULL)",
)

# memory_tags.created_at copies the memory's creation time so that "newest first with this tag" is an index
# range read; (created_at, content_hash) is the newest-first order of every listing.
INDEXES = (
    "DROP INDEX IF EXISTS idx_memories_created_at",
    "DROP INDEX IF EXISTS idx_memory_tags_tag",
    "CREATE INDEX IF NOT EXISTS idx_memories_created ON memories(created_at, content_hash)",
    "CREATE INDEX IF NOT EXISTS idx_memories_memory_type ON memories(memory_type)",
    "CREATE INDEX IF NOT EXISTS idx_memory_tags_tag_created ON memory_tags(tag, created_at)",
)

# Every insert and delete of a memory is logged in its own transaction, so a process holding the vectors in
# memory (index.py) sees what any process changed; writers keep only the last VECTOR_LOG_KEEP entries.
VECTOR_LOG_KEEP = 20_000

# Schemas 2 and 3 kept memory_fts and vector_changes in step with triggers. A trigger runs once per row, and
# FTS5 then costs about 30 us a row; the write functions now index a whole batch in one statement.
OLD_TRIGGERS = ("memory_fts_insert", "memory_fts_delete", "memory_fts_update",
                "vector_changes_insert", "vector_changes_delete")


# The full-text index mirrors memories.content (external content); queries.py writes it in the same
# transaction as every insert and delete.
FTS_TABLE = ("CREATE VIRTUAL TABLE IF NOT EXISTS memory_fts USING fts5(content, content='memories', "
             f"content_rowid='id', tokenize='{FTS_TOKENIZER}')")


def fts5_available(conn: Any) -> bool:
    """True when this SQLite build has FTS5."""
    return any("ENABLE_FTS5" in row[0] for row in conn.execute("PRAGMA compile_options"))


def has_fts(conn: Any) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='memory_fts'").fetchone() is not None


def _ensure_fts(conn: Any, path: Path) -> bool:
    """Create the full-text index if missing and back-fill it from memories. False without FTS5."""
    exists = has_fts(conn)
    if not fts5_available(conn):
        if exists:
            raise StorageError(
                f"{path} has a full-text index but this Python's SQLite lacks FTS5, so writes would fail; "
                "pip install sqlean.py (mcp-memory uses it when the stdlib sqlite3 cannot load sqlite-vec)"
            )
        log.warning("SQLite lacks FTS5: lexical and hybrid search fall back to semantic", path=str(path))
        return False
    conn.execute(FTS_TABLE)
    if not exists:
        conn.execute("INSERT INTO memory_fts (memory_fts) VALUES ('rebuild')")
        indexed = conn.execute("SELECT COUNT(*) FROM memories").fetchone()[0]
        if indexed:
            log.info("full-text index built", path=str(path), memories=indexed)
    return True


def _tag_times(conn: Any) -> None:
    """Schema 3 upgrade: give memory_tags the creation time of its memory."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(memory_tags)")]
    if "created_at" not in columns:
        conn.execute("ALTER TABLE memory_tags ADD COLUMN created_at REAL")
        conn.execute("UPDATE memory_tags SET created_at = (SELECT created_at FROM memories WHERE id = memory_id)")


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


def setup(conn: Any, path: Path, embedding: EmbeddingInfo | None) -> tuple[EmbeddingInfo | None, bool]:
    """Create what is missing, upgrade an older schema in place, and reconcile the embedder with the one
    recorded (inside a transaction).

    Returns the embedding info in force (None when nothing is recorded and none was given) and whether
    the full-text index is usable.
    """
    meta = check_existing(conn, path)
    for statement in TABLES:
        conn.execute(statement)
    _tag_times(conn)
    for statement in INDEXES:
        conn.execute(statement)
    for trigger in OLD_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    fts = _ensure_fts(conn, path)
    old = meta.get("schema_version")
    if old != str(SCHEMA_VERSION):
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        if old is not None:
            log.info("schema upgraded", path=str(path), version_from=int(old), version_to=SCHEMA_VERSION)
    return _embedding(conn, path, meta, embedding), fts


def _embedding(conn: Any, path: Path, meta: dict[str, str], embedding: EmbeddingInfo | None) -> EmbeddingInfo | None:
    """Record the embedder on first use; refuse a different one later."""
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

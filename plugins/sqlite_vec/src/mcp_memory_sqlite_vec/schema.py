"""The database schema and the ``meta`` bookkeeping (schema version, embedding model and dimension).

Version history: 2 added the ``memory_fts`` full-text index; 3 the ``vector_changes`` log and the tag and time
indexes; 4 dropped the triggers (the write functions maintain ``memory_fts`` and ``vector_changes``); 5 added
projects, usage and the trash (``project``, ``last_used_at``, ``use_count``, ``deleted_at``, ``deleted_reason``,
``replaced_by``), live-only partial indexes, a full-text index over live memories only, and the
``reembed_vectors`` staging table. Every upgrade runs in place, in the transaction of the first open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_memory.errors import EmbeddingError, StorageError
from mcp_memory.logging import get_logger
from mcp_memory.protocols import EmbeddingInfo

log = get_logger(__name__)

SCHEMA_VERSION = 5
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
        updated_at REAL NOT NULL,
        project TEXT,
        last_used_at REAL,
        use_count INTEGER NOT NULL DEFAULT 0,
        deleted_at REAL,
        deleted_reason TEXT,
        replaced_by TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS memory_tags (
        memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        position INTEGER NOT NULL,
        created_at REAL,
        PRIMARY KEY (memory_id, tag)
    ) WITHOUT ROWID""",
    ("CREATE TABLE IF NOT EXISTS vector_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
     "memory_id INTEGER NOT NULL, added INTEGER NOT NULL)"),
    "CREATE TABLE IF NOT EXISTS reembed_vectors (memory_id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)",
)

# Columns schema 5 added to ``memories`` (ALTER TABLE on older files: every memory reads as global, unused, live).
NEW_COLUMNS = (
    ("project", "TEXT"),
    ("last_used_at", "REAL"),
    ("use_count", "INTEGER NOT NULL DEFAULT 0"),
    ("deleted_at", "REAL"),
    ("deleted_reason", "TEXT"),
    ("replaced_by", "TEXT"),
)

# Live reads name ``deleted_at IS NULL`` so that SQLite picks the partial indexes: a listing reads only live
# entries however large the trash, and "newest N of a project" is one index range. memory_tags.created_at copies
# the memory's creation time so that "newest N with this tag" is an index range too. The keys leave out the
# 64-character content_hash that breaks created_at ties: SQLite sorts only the ties while it streams a page
# ("TEMP B-TREE FOR LAST TERM OF ORDER BY"), and batched stores cost about 15% less than with the hash in the
# keys (measured at 40k memories). The full memory_type index also lets ``SELECT count(*) FROM memories`` count
# a small index.
INDEXES = (
    "DROP INDEX IF EXISTS idx_memories_created_at",
    "DROP INDEX IF EXISTS idx_memory_tags_tag",
    "DROP INDEX IF EXISTS idx_memories_created",
    "CREATE INDEX IF NOT EXISTS idx_memories_live ON memories(created_at) WHERE deleted_at IS NULL",
    "CREATE INDEX IF NOT EXISTS idx_memories_project ON memories(project, created_at) WHERE deleted_at IS NULL",
    "CREATE INDEX IF NOT EXISTS idx_memories_trash ON memories(deleted_at, content_hash) WHERE deleted_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS idx_memories_trash_created ON memories(created_at) WHERE deleted_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS idx_memories_replaced_by ON memories(replaced_by) WHERE replaced_by IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS idx_memories_memory_type ON memories(memory_type)",
    "CREATE INDEX IF NOT EXISTS idx_memory_tags_tag_created ON memory_tags(tag, created_at)",
)

# Every insert, trash, restore and purge of a memory is logged in its own transaction, so a process holding the
# vectors in memory (index.py) sees what any process changed; writers keep only the last VECTOR_LOG_KEEP entries.
VECTOR_LOG_KEEP = 20_000

# Schemas 2 and 3 kept memory_fts and vector_changes in step with triggers. A trigger runs once per row, and
# FTS5 then costs about 30 us a row; the write functions index a whole batch in one statement.
OLD_TRIGGERS = ("memory_fts_insert", "memory_fts_delete", "memory_fts_update",
                "vector_changes_insert", "vector_changes_delete")

# The full-text index mirrors the content of live memories (external content: the view), so that its own
# integrity check ('integrity-check', rank 1) compares it with exactly what it should hold. The write functions
# keep it in step in the same transaction as every insert, trash, restore and purge.
LIVE_VIEW = "CREATE VIEW IF NOT EXISTS memories_live AS SELECT id, content FROM memories WHERE deleted_at IS NULL"
FTS_TABLE = ("CREATE VIRTUAL TABLE IF NOT EXISTS memory_fts USING fts5(content, content='memories_live', "
             f"content_rowid='id', tokenize='{FTS_TOKENIZER}')")


def fts5_available(conn: Any) -> bool:
    """True when this SQLite build has FTS5."""
    return any("ENABLE_FTS5" in row[0] for row in conn.execute("PRAGMA compile_options"))


def _fts_sql(conn: Any) -> str | None:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='memory_fts'").fetchone()
    return row[0] if row else None


def has_fts(conn: Any) -> bool:
    return _fts_sql(conn) is not None


def _ensure_fts(conn: Any, path: Path) -> bool:
    """Create the full-text index if missing (or over the whole table, before schema 5) and fill it from the
    live memories. False without FTS5."""
    sql = _fts_sql(conn)
    if not fts5_available(conn):
        if sql is not None:
            raise StorageError(
                f"{path} has a full-text index but this Python's SQLite lacks FTS5, so writes would fail; "
                "pip install sqlean.py (mcp-memory uses it when the stdlib sqlite3 cannot load sqlite-vec)"
            )
        log.warning("SQLite lacks FTS5: lexical and hybrid search fall back to semantic", path=str(path))
        return False
    conn.execute(LIVE_VIEW)
    if sql is not None and "memories_live" not in sql:
        conn.execute("DROP TABLE memory_fts")  # schemas 2 to 4 indexed the table itself
        sql = None
    conn.execute(FTS_TABLE)
    if sql is None:
        conn.execute("INSERT INTO memory_fts (memory_fts) VALUES ('rebuild')")
        indexed = conn.execute("SELECT COUNT(*) FROM memories WHERE deleted_at IS NULL").fetchone()[0]
        if indexed:
            log.info("full-text index built", path=str(path), memories=indexed)
    return True


def _columns(conn: Any, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _upgrade_columns(conn: Any) -> None:
    """Schema 3: memory_tags gets the creation time of its memory. Schema 5: the project, usage and trash
    columns of memories (every memory existing until then is global, unused and live)."""
    if "created_at" not in _columns(conn, "memory_tags"):
        conn.execute("ALTER TABLE memory_tags ADD COLUMN created_at REAL")
        conn.execute("UPDATE memory_tags SET created_at = (SELECT created_at FROM memories WHERE id = memory_id)")
    have = _columns(conn, "memories")
    for name, definition in NEW_COLUMNS:
        if name not in have:
            conn.execute(f"ALTER TABLE memories ADD COLUMN {name} {definition}")


def read_meta(conn: Any) -> dict[str, str]:
    """The ``meta`` table as a dict (empty when the table does not exist yet)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone():
        return {}
    return {key: value for key, value in conn.execute("SELECT key, value FROM meta")}


def recorded_embedding(meta: dict[str, str]) -> EmbeddingInfo | None:
    """The model whose vectors the store holds, as recorded in ``meta``."""
    if "embedding_model" in meta and "embedding_dimension" in meta:
        return EmbeddingInfo(meta["embedding_model"], int(meta["embedding_dimension"]))
    return None


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
    recorded (inside the caller's transaction).

    Returns the embedding info in force (None when nothing is recorded and none was given) and whether
    the full-text index is usable.
    """
    meta = check_existing(conn, path)
    for statement in TABLES:
        conn.execute(statement)
    _upgrade_columns(conn)
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


def mismatch(path: Path | str, recorded: EmbeddingInfo, wanted: EmbeddingInfo) -> EmbeddingError:
    """The error of a store opened with another model than the one whose vectors it holds."""
    return EmbeddingError(
        f"{path} holds embeddings made by {recorded.model!r} ({recorded.dimension} dims), but the configured "
        f"embedder is {wanted.model!r} ({wanted.dimension} dims). Use the same model "
        f"(MCP_MEMORY_EMBEDDING_MODEL={recorded.model}), or move the store to the new model with "
        "`memory reembed`"
    )


def check_dimension(dimension: int) -> None:
    if not 0 < dimension <= MAX_DIMENSION:
        raise EmbeddingError(f"embedding dimension must be between 1 and {MAX_DIMENSION}, got {dimension}")


def _embedding(conn: Any, path: Path, meta: dict[str, str], embedding: EmbeddingInfo | None) -> EmbeddingInfo | None:
    """Record the embedder on first use; refuse a different one later."""
    recorded = recorded_embedding(meta)
    if embedding is None:
        return recorded
    if recorded is not None:
        if recorded != embedding:
            raise mismatch(path, recorded, embedding)
        return recorded
    check_dimension(embedding.dimension)
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                     [("embedding_model", embedding.model), ("embedding_dimension", str(embedding.dimension))])
    create_vector_table(conn, embedding.dimension)
    return embedding

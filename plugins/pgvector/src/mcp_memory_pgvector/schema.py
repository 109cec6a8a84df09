"""The tables of one store (one PostgreSQL schema), created and upgraded in place under an advisory lock.

Tables:
- ``meta(key, value)``: ``schema_version``, ``embedding_model``, ``embedding_dimension``, ``text_search``
  and, during a re-embedding, ``reembed_model`` / ``reembed_dimension``.
- ``memories``: one row per content hash, live or trashed (``deleted_at``), with the tags as a ``text[]``
  (GIN), the metadata as ``jsonb`` (GIN), a generated ``tsvector`` of the content (GIN) and the vector
  ``embedding vector(n)``. The vector column is added when a model is first recorded (its dimension is
  fixed); a re-embedding stages ``embedding_next vector(m)`` beside it and swaps the two columns.

Every process opening the store runs ``ensure`` in one transaction holding an advisory lock on the schema,
so that several processes starting at once create the tables once; a schema newer than this plugin is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import errors, sql

from mcp_memory.errors import EmbeddingError, StorageError
from mcp_memory.logging import get_logger
from mcp_memory.protocols import EmbeddingInfo

from .settings import PgConfig

log = get_logger(__name__)

SCHEMA_VERSION = 1
#: first key of every advisory lock taken by this plugin (the second is the schema's hash, or 0)
LOCK_CLASS = 0x6D636D70  # "mcmp"
HNSW_INDEX = "memories_embedding_hnsw"
#: upgrade steps: UPGRADES[n] turns a version-n schema into version n+1 (none yet: version 1 is the first)
UPGRADES: dict[int, list[str]] = {}

TABLES = [
    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
    """CREATE TABLE memories (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        content_hash text COLLATE "C" NOT NULL UNIQUE,
        content text NOT NULL,
        tags text[] NOT NULL DEFAULT '{{}}',
        memory_type text,
        metadata jsonb NOT NULL DEFAULT '{{}}',
        project text,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        last_used_at double precision,
        use_count integer NOT NULL DEFAULT 0,
        deleted_at double precision,
        deleted_reason text,
        replaced_by text COLLATE "C",
        content_tsv tsvector GENERATED ALWAYS AS
            (to_tsvector({config}::regconfig, regexp_replace(content, '\\W+', ' ', 'g'))) STORED
    )""",
    "CREATE INDEX memories_created ON memories (created_at, content_hash)",
    "CREATE INDEX memories_trash ON memories (deleted_at, content_hash) WHERE deleted_at IS NOT NULL",
    "CREATE INDEX memories_project ON memories (project)",
    "CREATE INDEX memories_type ON memories (memory_type)",
    "CREATE INDEX memories_replaced_by ON memories (replaced_by) WHERE replaced_by IS NOT NULL",
    "CREATE INDEX memories_tags ON memories USING gin (tags)",
    "CREATE INDEX memories_metadata ON memories USING gin (metadata jsonb_path_ops)",
    "CREATE INDEX memories_tsv ON memories USING gin (content_tsv)",
]


@dataclass
class StoreState:
    """What ``ensure`` found or made: the recorded model, the search setup and where the vector type lives."""

    embedding: EmbeddingInfo | None
    text_search: str
    vector_oid: int
    vector_schema: str
    pgvector_version: str
    has_hnsw: bool


def mismatch(recorded: EmbeddingInfo, wanted: EmbeddingInfo, where: str) -> EmbeddingError:
    return EmbeddingError(
        f"the pgvector store {where} holds vectors of {recorded.model} ({recorded.dimension} dims), the embedder "
        f"is {wanted.model} ({wanted.dimension} dims); use the same model (MCP_MEMORY_EMBEDDING_MODEL="
        f"{recorded.model}), or switch the store to the new model with `memory reembed`")


async def ensure(conn: Any, cfg: PgConfig, embedding: EmbeddingInfo | None) -> StoreState:
    """Create or upgrade the store's schema and record ``embedding`` (first open); return what is there."""
    async with conn.transaction():
        await _ensure_extension(conn)
        oid, vector_schema, version_text = await vector_type(conn)
        await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS, cfg.schema))
        await conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(search_path(cfg.schema, vector_schema)))
        version = await _schema_version(conn, cfg)
        if version is None:
            await _create(conn, cfg)
        elif version > SCHEMA_VERSION:
            raise StorageError(
                f"the pgvector store {cfg.shown} has schema version {version}, newer than this plugin supports "
                f"({SCHEMA_VERSION}); upgrade mcp-memory-pgvector on this machine (pip install -U mcp-memory-pgvector)")
        elif version < SCHEMA_VERSION:
            await _upgrade(conn, cfg, version)
        meta = await read_meta(conn)
        recorded = recorded_embedding(meta)
        if embedding is not None and recorded is None:
            await add_vector_column(conn, "embedding", embedding.dimension)
            await set_meta(conn, embedding_model=embedding.model, embedding_dimension=str(embedding.dimension))
            recorded = embedding
            log.info("pgvector store records its embedding model", model=embedding.model,
                     dimension=embedding.dimension, schema=cfg.schema)
        elif embedding is not None and recorded != embedding:
            raise mismatch(recorded, embedding, cfg.shown)
        has_hnsw = await index_exists(conn, cfg.schema, HNSW_INDEX)
        if cfg.index == "hnsw" and recorded is not None and not has_hnsw:
            await create_hnsw(conn, cfg.schema)
            has_hnsw = True
    if meta.get("text_search", cfg.text_search) != cfg.text_search:
        log.warning("MCP_MEMORY_PGVECTOR_TEXT_SEARCH differs from the configuration the store was created with; "
                    "the recorded one is used", recorded=meta["text_search"], configured=cfg.text_search)
    return StoreState(recorded, meta.get("text_search", cfg.text_search), oid, vector_schema, version_text, has_hnsw)


async def _ensure_extension(conn: Any) -> None:
    """Create the ``vector`` extension when it is missing (under a database-wide advisory lock)."""
    row = await (await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")).fetchone()
    if row is not None:
        return
    await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_CLASS,))
    available = await (await conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).fetchone()
    if available is None:
        raise StorageError("the PostgreSQL server has no pgvector extension: install pgvector on the server "
                           "(https://github.com/pgvector/pgvector#installation), then run CREATE EXTENSION vector; "
                           "in the database")
    try:
        async with conn.transaction():  # a savepoint: the error below stays readable
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except errors.InsufficientPrivilege:
        raise StorageError("the pgvector extension is not enabled in this database and this user may not enable "
                           "it: ask an administrator to run CREATE EXTENSION vector; in the database") from None


async def _schema_version(conn: Any, cfg: PgConfig) -> int | None:
    """The recorded schema version; None when the schema has no store yet. Foreign tables are refused."""
    tables = {name for (name,) in await (await conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (cfg.schema,))).fetchall()}
    if "meta" not in tables:
        if "memories" in tables:
            raise StorageError(f"the schema {cfg.schema!r} holds a memories table that is not an mcp-memory pgvector "
                               "store (no meta table); choose another MCP_MEMORY_PGVECTOR_SCHEMA")
        return None
    row = await (await conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")).fetchone()
    if row is None or not row[0].isdigit():
        raise StorageError(f"the schema {cfg.schema!r} has a meta table without a schema version: it is not an "
                           "mcp-memory pgvector store; choose another MCP_MEMORY_PGVECTOR_SCHEMA")
    return int(row[0])


async def _create(conn: Any, cfg: PgConfig) -> None:
    log.info("creating the pgvector store", schema=cfg.schema, version=SCHEMA_VERSION)
    exists = await (await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (cfg.schema,))).fetchone()
    if exists is None:
        await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(cfg.schema)))
    for statement in TABLES:
        await conn.execute(sql.SQL(statement).format(config=sql.Literal(cfg.text_search)))
    await set_meta(conn, schema_version=str(SCHEMA_VERSION), text_search=cfg.text_search)


async def _upgrade(conn: Any, cfg: PgConfig, version: int) -> None:
    while version < SCHEMA_VERSION:
        log.info("upgrading the pgvector store", schema=cfg.schema, version=version, to=version + 1)
        for statement in UPGRADES[version]:
            await conn.execute(statement)
        version += 1
    await set_meta(conn, schema_version=str(version))


async def read_meta(conn: Any) -> dict[str, str]:
    return dict(await (await conn.execute("SELECT key, value FROM meta")).fetchall())


def recorded_embedding(meta: dict[str, str], prefix: str = "embedding") -> EmbeddingInfo | None:
    model, dimension = meta.get(f"{prefix}_model"), meta.get(f"{prefix}_dimension")
    return None if model is None or dimension is None else EmbeddingInfo(model, int(dimension))


async def set_meta(conn: Any, **values: str) -> None:
    for key, value in values.items():
        await conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


async def add_vector_column(conn: Any, name: str, dimension: int) -> None:
    """Add a ``vector(dimension)`` column kept inside the row (no out-of-line storage: scans stay fast)."""
    column = sql.Identifier(name)
    await conn.execute(sql.SQL("ALTER TABLE memories ADD COLUMN {} vector({})").format(column, sql.Literal(dimension)))
    await conn.execute(sql.SQL("ALTER TABLE memories ALTER COLUMN {} SET STORAGE MAIN").format(column))


async def index_exists(conn: Any, schema: str, name: str) -> bool:
    row = await (await conn.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                                    (schema, name))).fetchone()
    return row is not None


async def create_hnsw(conn: Any, schema: str) -> None:
    """Build the HNSW index (cosine). Inside the caller's transaction, under its lock; slow on a large store."""
    count = (await (await conn.execute("SELECT count(*) FROM memories")).fetchone())[0]
    log.info("building the HNSW index (once)", schema=schema, memories=count)
    await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    await conn.execute(sql.SQL("CREATE INDEX {} ON memories USING hnsw (embedding vector_cosine_ops)")
                       .format(sql.Identifier(HNSW_INDEX)))


def search_path(schema: str, vector_schema: str) -> sql.Composable:
    """The store's schema first, then the one holding pgvector's type and operators."""
    names = [schema] if vector_schema == schema else [schema, vector_schema]
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


async def vector_type(conn: Any) -> tuple[int, str, str]:
    """The oid of pgvector's ``vector`` type, the schema it lives in and the extension's version."""
    row = await (await conn.execute(
        "SELECT t.oid, n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "JOIN pg_type t ON t.typnamespace = e.extnamespace AND t.typname = 'vector' WHERE e.extname = 'vector'")
    ).fetchone()
    return int(row[0]), row[1], row[2]

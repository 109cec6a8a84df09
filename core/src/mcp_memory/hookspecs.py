# mypy: disable-error-code="empty-body"
"""The hooks a plugin can implement (pluggy project name ``mcp_memory``).

A plugin is a module exposed under the entry-point group ``mcp_memory`` whose functions are decorated with
``mcp_memory.hookimpl``. The core calls every implementation on its own: one that raises, or registers
something malformed, is recorded as a failure of its plugin (``memory plugins`` shows it) and the others go on.
Misspelled hook names are reported by ``memory plugins`` and ``memory verify`` (pluggy's ``check_pending``).

Families: storage, embedding, coordination, migration; plus settings, extra hook specs and CLI commands.
Registration objects are in ``mcp_memory.registration``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .config import Setting, Settings
    from .coordination import Coordination
    from .documents import DocumentReader
    from .registration import (
        Check,
        Command,
        EmbedderBackend,
        MigrationSource,
        StorageBackend,
        StoreLocation,
    )

PROJECT = "mcp_memory"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- storage ------------------------------------------------------------------------------------------
@hookspec
def memory_register_storage(register: Callable[[StorageBackend], None]) -> None:
    """Storage: call ``register(StorageBackend(name=..., factory=...))`` for each store this plugin provides.

    The store implements ``mcp_memory.protocols.MemoryStorage`` (``mcp_memory.storage_base.BaseStorage`` gives
    the derived methods) and must pass ``mcp_memory.testing.StorageConformance``.
    """


@hookspec(firstresult=True)
def memory_storage_location(backend: str, settings: Settings, location: str | None) -> StoreLocation | None:
    """Where ``backend`` keeps its data: at ``location`` (a path, URL or DSN given by the user), or where it is
    configured to when ``location`` is None. None when ``backend`` is not this plugin's.

    ``StoreLocation.path`` is set when the data is a local file or directory. Used by ``memory migrate`` (default
    locations, refusing to copy a store onto itself, refusing a local source that does not exist), ``memory
    verify``, and to tell which store an HTTP server serves.
    """


@hookspec
def memory_store_checks(backend: str, settings: Settings, location: str | None, deep: bool) -> list[Check] | None:
    """Checks of ``backend``'s own prerequisites and data, or None when ``backend`` is not this plugin's.

    ``memory verify`` asks with ``deep=True`` (may read the whole store: integrity checks); ``memory health``
    and the health API with ``deep=False`` (cheap: a driver loads, a server answers). Must not write.
    """


# -- embedding ----------------------------------------------------------------------------------------
@hookspec
def memory_register_embedder(register: Callable[[EmbedderBackend], None]) -> None:
    """Embedding: call ``register(EmbedderBackend(name=..., factory=..., priority=...))``.

    Creating the embedder must be cheap (no model load, no heavy import): the model loads on the first
    ``embed`` call so that start-up and ``tools/list`` stay fast. ``model_name`` and ``dimension`` must be
    known without loading the model.
    """


# -- coordination -------------------------------------------------------------------------------------
@hookspec(firstresult=True)
def memory_coordinate(settings: Settings, open_direct: Callable[[], Any]) -> Coordination | None:
    """Coordination: decide how this process reaches the data, or return None to pass.

    ``open_direct()`` is an async callable that opens the configured store and embedder in this process and
    returns a ``MemoryService``. Return a ``mcp_memory.coordination.Coordination`` (mode, reason, and an async
    ``open`` returning an object with the service interface, which the caller closes with ``close()``). Answer
    only for the backends you serve. The first non-None answer wins (plugins order themselves with
    ``tryfirst``/``trylast``); with no answer the core opens the store directly (mode ``direct``).
    """


# -- migration ----------------------------------------------------------------------------------------
@hookspec
def memory_register_migrators(register: Callable[[MigrationSource], None]) -> None:
    """Migration: call ``register(MigrationSource(name=..., open=...))`` for a source that is not a store (a
    file format, another product's database). Every registered store is a source and a target already."""


# -- documents ----------------------------------------------------------------------------------------
@hookspec
def memory_register_document_readers(register: Callable[[DocumentReader], None]) -> None:
    """Documents: call ``register(DocumentReader(name=..., suffixes=(".pdf",), read=...))`` to let ``memory
    ingest`` read another format. The core reads text, Markdown and HTML itself."""


# -- settings, hook specs, commands -------------------------------------------------------------------
@hookspec
def memory_settings() -> Sequence[Setting]:
    """The settings this plugin reads: a sequence of ``mcp_memory.config.Setting``.

    Name variables ``MCP_MEMORY_<PLUGIN>_<NAME>``. The plugin reads them with ``settings.section(SAME_LIST)``;
    ``memory config`` lists them with their values (secrets masked) and sources.
    """


@hookspec
def memory_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """Add this plugin's own hook specifications with ``pluginmanager.add_hookspecs(module)``, so that other
    plugins can implement them (the sqlite_vec store's connection hooks, for example). Called once, after
    every plugin is loaded and before any other hook."""


@hookspec
def memory_register_cli(register: Callable[[Command], None]) -> None:
    """CLI: call ``register(Command(name=..., help=..., configure=..., run=...))`` to add ``memory NAME``."""

"""Entry point of the ``reference`` plugin: the migration source ``mcp-memory-service``. Every ``memory`` process
imports it: the importers load when a migration opens them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_memory import hookimpl
from mcp_memory.registration import MigrationSource

#: the name of the migration source that importer.py reads
NAME = "mcp-memory-service"


def open_source(location: str | None) -> Any:
    from .importer import open_source as open_reference

    return open_reference(location)


def open_chroma(location: str | None) -> Any:
    from .chroma_source import open_source as open_directory

    return open_directory(location)


@hookimpl
def memory_register_migrators(register: Callable[[MigrationSource], None]) -> None:
    register(MigrationSource(name=NAME, open=open_source,
                             description="the reference mcp-memory-service's sqlite_vec database or JSON export "
                                         "(read-only; soft-deleted memories go to the trash)"))
    register(MigrationSource(name="mcp-memory-service-chroma", open=open_chroma,
                             description="the reference mcp-memory-service's ChromaDB directory (read from a copy; "
                                         "needs chromadb)"))

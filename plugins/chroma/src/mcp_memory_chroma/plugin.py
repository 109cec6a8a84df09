"""Entry point of the plugin: the ``chroma`` store, its settings, location and checks, and the importer of the
reference service's Chroma directory. chromadb itself loads on first use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mcp_memory import hookimpl
from mcp_memory.config import Setting, Settings
from mcp_memory.registration import (
    Check,
    StorageBackend,
    StoreLocation,
)

from .config import CHROMA_SETTINGS, describe, section

NAME = "chroma"


def create_storage(settings: Settings | None, location: str | None = None) -> Any:
    """Factory called by the core: an uninitialised ``ChromaStorage`` (no I/O here), with word search when
    ``MCP_MEMORY_CHROMA_LEXICAL`` is on."""
    from .storage import ChromaLexicalStorage, ChromaStorage

    lexical = section(settings).chroma_lexical
    return (ChromaLexicalStorage if lexical else ChromaStorage)(settings, location=location)


@hookimpl
def memory_register_storage(register: Callable[[StorageBackend], None]) -> None:
    register(StorageBackend(name=NAME, factory=create_storage,
                            description="ChromaDB: a local directory, or a Chroma server (chroma run)"))



@hookimpl
def memory_settings() -> Sequence[Setting]:
    return CHROMA_SETTINGS


@hookimpl
def memory_storage_location(backend: str, settings: Settings, location: str | None) -> StoreLocation | None:
    """The directory (a local path) or the server's URL, for ``location`` or the configured store."""
    if backend != NAME:
        return None
    text, path = describe(location, settings)
    return StoreLocation(text=text, path=path)


@hookimpl
def memory_store_checks(backend: str, settings: Settings, location: str | None, deep: bool) -> list[Check] | None:
    if backend != NAME:
        return None
    from .checks import run

    return run(settings, location, deep)

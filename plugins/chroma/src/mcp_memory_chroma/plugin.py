"""Entry point of the plugin: registers the ``chroma`` store (chromadb itself loads on first use)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_memory import hookimpl

NAME = "chroma"


def create_storage(settings: Any, location: str | None = None) -> Any:
    """Factory called by the core: an uninitialised ``ChromaStorage`` (no I/O here)."""
    from .storage import ChromaStorage

    return ChromaStorage(settings, location=location)


@hookimpl
def memory_register_storage(register: Callable[..., None]) -> None:
    register(NAME, create_storage)


def open_reference_chroma(location: str | None) -> Any:
    """Migration source for the reference mcp-memory-service's Chroma directory (read-only)."""
    from .reference import open_source

    return open_source(location)


@hookimpl
def memory_register_migrators(register: Callable[..., None]) -> None:
    register("mcp-memory-service-chroma", open_reference_chroma)

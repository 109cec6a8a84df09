"""Entry point of the plugin: registers the ``sentence_transformers`` embedder.

Importing this module stays cheap: torch, sentence_transformers and numpy load on the first embed.
"""

from __future__ import annotations

from typing import Any, Callable

from mcp_memory import hookimpl

from .embedder import SentenceTransformerEmbedder

NAME = "sentence_transformers"


def create_embedder(settings: Any) -> SentenceTransformerEmbedder:
    """Factory called by the core with the ``Settings`` in force (no model load here)."""
    return SentenceTransformerEmbedder(settings)


@hookimpl
def memory_register_embedder(register: Callable[..., None]) -> None:
    register(NAME, create_embedder)

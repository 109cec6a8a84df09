"""mcp-memory embedder plugin: sentence-transformers models (all-MiniLM-L6-v2 bundled, offline)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .embedder import SentenceTransformerEmbedder

__all__ = ["SentenceTransformerEmbedder"]


def __getattr__(name: str) -> Any:
    """``SentenceTransformerEmbedder`` loads on first use: every ``memory`` process imports this package (its
    entry point is ``plugin``), few of them embed."""
    if name == "SentenceTransformerEmbedder":
        from .embedder import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

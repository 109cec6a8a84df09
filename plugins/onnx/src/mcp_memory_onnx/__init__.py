"""mcp-memory embedder plugin: sentence-transformers models exported to ONNX, run with onnxruntime (no torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .embedder import OnnxEmbedder

__all__ = ["OnnxEmbedder"]


def __getattr__(name: str) -> Any:
    """``OnnxEmbedder`` loads on first use: every ``memory`` process imports this package (its entry point is
    ``plugin``), few of them embed."""
    if name == "OnnxEmbedder":
        from .embedder import OnnxEmbedder

        return OnnxEmbedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

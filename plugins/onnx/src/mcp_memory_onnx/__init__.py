"""mcp-memory embedder plugin: sentence-transformers models exported to ONNX, run with onnxruntime (no torch)."""

from .embedder import OnnxEmbedder

__all__ = ["OnnxEmbedder"]

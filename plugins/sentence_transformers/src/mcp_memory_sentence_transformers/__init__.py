"""mcp-memory embedder plugin: sentence-transformers models (all-MiniLM-L6-v2 bundled, offline)."""

from .embedder import SentenceTransformerEmbedder

__all__ = ["SentenceTransformerEmbedder"]

"""mcp-memory store plugin backed by ChromaDB (local or a Chroma server)."""

__version__ = "0.1.0"

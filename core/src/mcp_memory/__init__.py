"""mcp-memory: long-term memory for AI assistants over MCP (core package)."""

from importlib.metadata import PackageNotFoundError, version

from .errors import (
    ConfigError,
    EmbeddingError,
    InvalidInputError,
    MemoryServiceError,
    NotFoundError,
    PluginError,
    StorageError,
)
from .hookspecs import hookimpl
from .models import Memory, QueryResult, content_hash, normalize_tags

try:
    __version__ = version("mcp-memory-core")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ConfigError", "EmbeddingError", "InvalidInputError", "Memory", "MemoryServiceError", "NotFoundError",
    "PluginError", "QueryResult", "StorageError", "__version__", "content_hash", "hookimpl", "normalize_tags",
]

"""Errors the service raises. Every one carries a message meant for the user."""


class MemoryServiceError(Exception):
    """Base class: a clear, user-facing failure (never a crash of the service)."""


class InvalidInputError(MemoryServiceError, ValueError):
    """The request itself is wrong: empty content, wrong types, bad time expression..."""


class NotFoundError(MemoryServiceError, LookupError):
    """No memory has the given content hash."""


class ConfigError(MemoryServiceError):
    """An MCP_MEMORY_* variable or a CLI option has a bad value."""


class PluginError(MemoryServiceError):
    """A plugin is missing, failed to load, or was asked for but is not installed."""


class StorageError(MemoryServiceError):
    """The store failed: locked, corrupt, unreachable, or of an incompatible schema."""


class EmbeddingError(MemoryServiceError):
    """The embedder cannot be loaded, or does not match the embeddings already stored."""

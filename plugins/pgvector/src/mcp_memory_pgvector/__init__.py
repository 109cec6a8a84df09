"""mcp-memory store plugin ``pgvector``: memories in one PostgreSQL database with the pgvector extension.

The entry point is ``mcp_memory_pgvector.plugin`` (light: it imports psycopg only when a store opens).
"""

from .plugin import create_storage
from .settings import SETTINGS

__all__ = ["SETTINGS", "create_storage"]

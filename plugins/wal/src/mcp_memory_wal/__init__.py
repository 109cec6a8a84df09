"""mcp-memory-wal: SQLite connection policy (WAL, busy timeout, write retries) for coordination mode ``direct``."""

__version__ = "0.1.0"

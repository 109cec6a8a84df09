"""mcp-memory store plugin: memories, tags and sqlite-vec vectors in one SQLite file."""

"""mcp-memory migration source for the reference mcp-memory-service's files (its database, its JSON export)."""

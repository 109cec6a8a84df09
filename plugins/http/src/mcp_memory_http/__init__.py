"""mcp-memory-http: one HTTP server shares the memory service with every other client (REST, SSE, MCP)."""

__version__ = "0.1.0"
SERVICE_NAME = "mcp-memory"

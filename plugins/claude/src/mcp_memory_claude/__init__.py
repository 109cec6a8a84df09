"""mcp-memory for Claude Code and Claude Desktop: config installer, hooks, session capture, transcript import."""

__version__ = "0.1.0"

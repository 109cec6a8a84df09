"""mcp-memory document reader for PDF files (pypdf)."""

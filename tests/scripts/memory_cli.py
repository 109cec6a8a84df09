"""``memory`` with the in-process test plugins available: MCP_MEMORY_EMBEDDER=hash selects the HashEmbedder,
MCP_MEMORY_STORAGE_BACKEND=memory the in-memory test store."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import memory_store_plugin  # noqa: E402
from hash_embedder_plugin import install_if_selected  # noqa: E402

from mcp_memory.cli import main  # noqa: E402
from mcp_memory.config import Settings  # noqa: E402

if __name__ == "__main__":
    settings = Settings.from_env()
    install_if_selected(settings)
    memory_store_plugin.install_if_selected(settings)
    sys.exit(main())

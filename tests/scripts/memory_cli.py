"""``memory`` with the in-process test plugins available (MCP_MEMORY_EMBEDDER=hash selects the HashEmbedder)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hash_embedder_plugin import install_if_selected  # noqa: E402

from mcp_memory.cli import main  # noqa: E402
from mcp_memory.config import Settings  # noqa: E402

if __name__ == "__main__":
    install_if_selected(Settings.from_env())
    sys.exit(main())

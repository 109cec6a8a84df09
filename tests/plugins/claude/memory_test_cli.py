"""``memory`` with the JSON-file test store and the hash embedder registered (see filestore.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from filestore import FileStorePlugin  # noqa: E402

from mcp_memory.cli import main  # noqa: E402
from mcp_memory.config import Settings  # noqa: E402
from mcp_memory.plugins import get_plugin_manager  # noqa: E402

if __name__ == "__main__":
    get_plugin_manager(Settings.from_env()).register_object(FileStorePlugin(), "filestore")
    sys.exit(main())

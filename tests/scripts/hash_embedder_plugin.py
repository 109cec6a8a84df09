"""An in-process test plugin: the HashEmbedder registered as embedder ``hash`` (fast multi-process tests).

Activated by the scripts in this folder when MCP_MEMORY_EMBEDDER=hash; never installed as an entry point.
"""

from mcp_memory import hookimpl
from mcp_memory.plugins import get_plugin_manager
from mcp_memory.registration import EmbedderBackend
from mcp_memory.testing import HashEmbedder


class HashEmbedderPlugin:
    @hookimpl
    def memory_register_embedder(self, register):
        register(EmbedderBackend(name="hash", factory=lambda settings: HashEmbedder(dimension=64)))


def install_if_selected(settings) -> None:
    """Register the plugin in this process when the settings ask for the ``hash`` embedder."""
    if settings.embedder == "hash":
        get_plugin_manager(settings).register_object(HashEmbedderPlugin(), "test-hash-embedder")

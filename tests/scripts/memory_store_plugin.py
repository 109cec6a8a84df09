"""An in-process test plugin: the store ``memory``, in-memory stores named by MCP_MEMORY_TEST_STORE (one per name
in a process), with a location so that tests can tell two stores apart (``memory:<name>``).

Activated by the scripts in this folder when MCP_MEMORY_STORAGE_BACKEND=memory; never installed as an entry
point. It holds nothing across processes: tests that need a store shared by processes use sqlite_vec.
"""

from mcp_memory import hookimpl
from mcp_memory.config import Setting
from mcp_memory.plugins import get_plugin_manager
from mcp_memory.registration import StorageBackend, StoreLocation
from mcp_memory.testing import LexicalInMemoryStorage

BACKEND = "memory"
STORE_NAME = Setting("MCP_MEMORY_TEST_STORE", "name of the in-memory test store", "default", key="test_store")


class MemoryStorePlugin:
    def __init__(self):
        self.stores: dict[str, LexicalInMemoryStorage] = {}

    @staticmethod
    def name_of(settings, location):
        return location or settings.section((STORE_NAME,)).test_store

    @hookimpl
    def memory_settings(self):
        return (STORE_NAME,)

    @hookimpl
    def memory_register_storage(self, register):
        register(StorageBackend(name=BACKEND, factory=self.open, description="in-memory test store"))

    def open(self, settings, location):
        return self.stores.setdefault(self.name_of(settings, location), LexicalInMemoryStorage())

    @hookimpl
    def memory_storage_location(self, backend, settings, location):
        return StoreLocation(text=f"memory:{self.name_of(settings, location)}") if backend == BACKEND else None


def install_if_selected(settings) -> None:
    """Register the plugin in this process when the settings select the ``memory`` store."""
    if settings.storage_backend == BACKEND:
        get_plugin_manager(settings).register_object(MemoryStorePlugin(), "test-memory-store")

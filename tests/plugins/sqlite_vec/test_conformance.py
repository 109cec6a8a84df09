"""The core storage conformance suite, run against the real sqlite-vec store on a real file."""

import pytest

from mcp_memory.config import Settings
from mcp_memory.testing import StorageConformance
from mcp_memory_sqlite_vec.storage import SqliteVecStorage


class TestSqliteVecStorage(StorageConformance):
    persistent = True

    @pytest.fixture
    def make_storage(self, tmp_path):
        return lambda: SqliteVecStorage(Settings(), location=str(tmp_path / "m.db"))

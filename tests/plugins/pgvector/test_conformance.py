"""The core storage conformance suite against a real PostgreSQL + pgvector: exact search, then HNSW."""

import pytest

from mcp_memory.testing import StorageConformance
from mcp_memory_pgvector.plugin import create_storage


class TestPgvector(StorageConformance):
    persistent = True

    @pytest.fixture
    def make_storage(self, pg_dsn, pg_settings):
        return lambda: create_storage(pg_settings, pg_dsn)


class TestPgvectorHnsw(StorageConformance):
    """The same suite with every vector search through the HNSW index (iterative scans for filters)."""

    persistent = True

    @pytest.fixture
    def make_storage(self, pg_dsn, pg_settings):
        settings = pg_settings.with_changes(MCP_MEMORY_PGVECTOR_INDEX="hnsw")
        return lambda: create_storage(settings, pg_dsn)

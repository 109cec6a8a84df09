"""The conformance suite run against the in-memory reference store (proves the suite itself)."""

import pytest

from mcp_memory.testing import InMemoryStorage, LexicalInMemoryStorage, StorageConformance


class TestInMemoryStorage(StorageConformance):
    persistent = False

    @pytest.fixture
    def make_storage(self):
        return lambda: InMemoryStorage()


class TestLexicalInMemoryStorage(StorageConformance):
    persistent = False

    @pytest.fixture
    def make_storage(self):
        return lambda: LexicalInMemoryStorage()

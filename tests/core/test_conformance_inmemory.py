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


def test_metadata_filters_compare_as_json():
    from mcp_memory.models import Memory
    from mcp_memory.protocols import Filter

    flagged = Memory.create("x", metadata={"flag": True, "n": 1, "f": 1.0})
    assert Filter(metadata=(("flag", True),)).matches(flagged)
    assert not Filter(metadata=(("flag", 1),)).matches(flagged)
    assert not Filter(metadata=(("n", True),)).matches(flagged)
    assert Filter(metadata=(("n", 1.0), ("f", 1))).matches(flagged)

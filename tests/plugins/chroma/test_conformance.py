"""The core's storage conformance suite against Chroma: a local directory and a real `chroma run` server, each
without and with word search (``MCP_MEMORY_CHROMA_LEXICAL``)."""

from __future__ import annotations

import pytest

from mcp_memory.config import Settings
from mcp_memory.testing import StorageConformance
from mcp_memory_chroma.storage import ChromaLexicalStorage, ChromaStorage


class TestChromaLocal(StorageConformance):
    persistent = True

    @pytest.fixture
    def make_storage(self, tmp_path):
        settings = Settings().with_changes(MCP_MEMORY_CHROMA_PATH=str(tmp_path / "unused"))
        return lambda: ChromaStorage(settings, location=str(tmp_path / "chroma"))


class TestChromaServer(StorageConformance):
    """Each test gets its own collection on the shared server (named in the URL), dropped afterwards."""

    persistent = True

    @pytest.fixture
    def make_storage(self, server_url):
        return lambda: ChromaStorage(Settings(), location=server_url)


class TestChromaLocalLexical(StorageConformance):
    persistent = True

    @pytest.fixture
    def make_storage(self, tmp_path):
        return lambda: ChromaLexicalStorage(Settings(), location=str(tmp_path / "chroma"))


class TestChromaServerLexical(StorageConformance):
    persistent = True

    @pytest.fixture
    def make_storage(self, server_url):
        return lambda: ChromaLexicalStorage(Settings(), location=server_url)

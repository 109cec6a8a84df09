"""The core's storage conformance suite against Chroma: a local directory and a real `chroma run` server."""

from __future__ import annotations

import uuid

import pytest
from mcp_memory.config import Settings
from mcp_memory.testing import StorageConformance
from mcp_memory_chroma.storage import ChromaStorage


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
    def make_storage(self, chroma_server, chroma_admin):
        host, port = chroma_server
        name = f"t-{uuid.uuid4().hex}"
        yield lambda: ChromaStorage(Settings(), location=f"http://{host}:{port}/{name}")
        chroma_admin.delete_collection(name) if name in chroma_admin.names() else None

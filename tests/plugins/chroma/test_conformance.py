"""The core's storage conformance suite against Chroma: a local directory and a real `chroma run` server."""

from __future__ import annotations

import pytest
from mcp_memory.config import Settings
from mcp_memory.testing import StorageConformance
from mcp_memory_chroma.storage import ChromaStorage


class TestChromaLocal(StorageConformance):
    persistent = True

    @pytest.fixture
    def make_storage(self, tmp_path):
        return lambda: ChromaStorage(Settings(chroma_path=tmp_path / "unused"), location=str(tmp_path / "chroma"))


class TestChromaServer(StorageConformance):
    """Each test gets its own collection on the shared server by deleting it first."""

    persistent = True

    @pytest.fixture
    def make_storage(self, chroma_server):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        host, port = chroma_server
        client = chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False))
        for collection in client.list_collections():
            client.delete_collection(getattr(collection, "name", collection))
        settings = Settings(chroma_host=host, chroma_port=port)
        return lambda: ChromaStorage(settings)

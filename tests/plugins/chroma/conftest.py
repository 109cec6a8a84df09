"""Fixtures of the chroma tests: a real Chroma server (`chroma run`) started once per session, a fresh
collection on it per test, and the asyncio backend."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chroma_cli() -> str:
    path = Path(sys.executable).parent / "chroma"
    if not path.exists():
        pytest.skip(f"the chroma CLI is not installed next to {sys.executable}")
    return str(path)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """Start `chroma run` on a free loopback port, wait for its heartbeat, yield (host, port)."""
    data = tmp_path_factory.mktemp("chroma_server")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with open(data / "server.log", "wb") as log:  # the child keeps its own copy of the handle
        proc = subprocess.Popen([chroma_cli(), "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}: {(data / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not answer {url} within 60 s")
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Admin:
    """A client of the test server for the tests' own housekeeping."""

    def __init__(self, host: str, port: int):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.client = chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False))

    def names(self) -> set[str]:
        return {getattr(c, "name", c) for c in self.client.list_collections()}

    def delete_collection(self, name: str) -> None:
        self.client.delete_collection(name)


@pytest.fixture(scope="session")
def chroma_admin(chroma_server):
    return Admin(*chroma_server)


@pytest.fixture
def server_url(chroma_server, chroma_admin):
    """The URL of a fresh collection on the test server (dropped after the test)."""
    host, port = chroma_server
    name = f"t-{uuid.uuid4().hex}"
    yield f"http://{host}:{port}/{name}"
    if name in chroma_admin.names():
        chroma_admin.delete_collection(name)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session")
def legacy_v1():
    """The module ``legacy_v1.py`` beside this file: writes a store as the previous plugin did."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("chroma_legacy_v1", Path(__file__).with_name("legacy_v1.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""Test helpers: free ports, and a ``memory http`` server as a real subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

SCRIPTS = Path(__file__).parent
MEMORY_CLI = SCRIPTS / "memory_cli.py"
MEMORY_BIN = Path(sys.executable).with_name("memory")
API_KEY = "test-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(db: Path, port: int, hash_embedder: bool = True, store: str = "sqlite_vec", **extra: str
             ) -> dict[str, str]:
    """Environment of a memory process: its database, its HTTP port, offline model; no inherited MCP_* keys.

    ``store="memory"``: the in-memory test store named after ``db`` (memory_store_plugin.py; one process only).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_", "WRITER_"))}
    env.update({"MCP_MEMORY_SQLITE_PATH": str(db), "MCP_HTTP_PORT": str(port), "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "LOG_LEVEL": "INFO", "MCP_MEMORY_WARMUP": "false",
                "MCP_MEMORY_STORAGE_BACKEND": store})
    if store == "memory":
        env["MCP_MEMORY_TEST_STORE"] = str(db)
    if hash_embedder:
        env["MCP_MEMORY_EMBEDDER"] = "hash"
    env.update(extra)
    return env


def memory_command(hash_embedder: bool) -> list[str]:
    """The hash embedder needs the in-process test plugin (memory_cli.py); the real model uses `memory`."""
    if hash_embedder:
        return [sys.executable, str(MEMORY_CLI)]
    return [str(MEMORY_BIN)] if MEMORY_BIN.exists() else [sys.executable, "-m", "mcp_memory.cli"]


class HttpServer:
    """``memory http`` in a subprocess; ``url`` once it answers /api/health."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str, hash_embedder: bool = True):
        self.env = env
        self.port = int(env["MCP_HTTP_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "a")
        self.proc = subprocess.Popen([*memory_command(hash_embedder), "http", "--port", str(self.port), *args],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log)

    def wait_ready(self, timeout: float = 120.0) -> "HttpServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"memory http exited with {self.proc.returncode}: {self.log()[-3000:]}")
            try:
                if httpx2.get(f"{self.url}/api/health", timeout=1.0).status_code == 200:
                    return self
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"memory http did not answer within {timeout} s: {self.log()[-3000:]}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

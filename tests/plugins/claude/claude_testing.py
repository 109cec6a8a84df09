"""Helpers of the claude plugin tests (importable: conftest puts this folder on sys.path)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
TEST_CLI = HERE / "memory_test_cli.py"
MEMORY_BIN = Path(sys.executable).with_name("memory")
BILLING = FIXTURES / "projects" / "-home-ana-src-billing-api" / "7f3c2a10-5b7e-4c11-9d2e-0a1b2c3d4e5f.jsonl"
QUIET = FIXTURES / "projects" / "-home-ana-src-billing-api" / "0d15ea5e-0000-4000-8000-000000000003.jsonl"
DOCS = FIXTURES / "projects" / "-home-ana-src-docs-site" / "c0ffee00-1234-4abc-8def-1234567890ab.jsonl"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a memory process: this HOME, no inherited MCP_*/XDG settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MCP_", "XDG_", "LOG_LEVEL", "DEBUG_MODE")) and k != "APPDATA"}
    env.update(HOME=str(home), **extra)
    return env


class Memory:
    """Runs ``memory`` (the test CLI with the file store) in a subprocess."""

    def __init__(self, tmp: Path):
        self.home = tmp / "home"
        self.home.mkdir()
        self.store = tmp / "store.json"
        self.env = clean_env(self.home, MCP_MEMORY_STORAGE_BACKEND="filestore", MCP_MEMORY_EMBEDDER="hash",
                             MCP_MEMORY_FILESTORE_PATH=str(self.store))

    def run(self, *args: str, stdin: str = "", timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(TEST_CLI), *args], input=stdin, capture_output=True, text=True,
                              env={**self.env, **env}, timeout=timeout)

    def hook(self, event: str, payload: dict, **env: str) -> subprocess.CompletedProcess:
        return self.run("hook", event, stdin=json.dumps(payload), **env)

    def rows(self) -> list[dict]:
        if not self.store.exists():
            return []
        return [row["memory"] for row in json.loads(self.store.read_text())["rows"]]

    @property
    def log(self) -> Path:
        return self.home / ".local" / "share" / "mcp-memory" / "claude-hooks.log"


def copy_transcript(source: Path, folder: Path) -> Path:
    target = folder / source.name
    shutil.copy(source, target)
    return target

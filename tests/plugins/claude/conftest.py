"""Fixtures of the claude plugin tests: a temporary HOME, a git project folder, and ``memory`` run as a real
subprocess (with the JSON-file test store, or the installed ``memory`` command for the config installer)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from claude_testing import Memory  # noqa: E402


@pytest.fixture
def memory(tmp_path) -> Memory:
    return Memory(tmp_path)


@pytest.fixture
def project(tmp_path) -> Path:
    """A git work tree named billing-api (a .git folder is what mcp_memory.projects looks for)."""
    folder = tmp_path / "src" / "billing-api"
    (folder / ".git").mkdir(parents=True)
    (folder / "app").mkdir()
    return folder

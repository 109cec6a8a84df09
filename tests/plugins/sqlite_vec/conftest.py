"""Shared by the sqlite_vec tests: they run on asyncio; helpers live in tests/scripts/sqlite_vec_helpers.py."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))


@pytest.fixture
def anyio_backend():
    return "asyncio"

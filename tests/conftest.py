"""Shared by every test folder."""

import pytest

from mcp_memory.logging import configure_logging


@pytest.fixture(autouse=True)
def _logs_at_the_default_level():
    """Each test starts at the default log level: an in-process one-shot ``memory`` command (``cli.main``) lowers
    it to warnings for the rest of the process, and tests that read the info lines must not depend on order."""
    configure_logging("INFO")
    yield

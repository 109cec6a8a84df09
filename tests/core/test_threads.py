"""threads.calm_blas_threads(): a ``memory`` process sets OpenBLAS's thread timeout before numpy loads it, and a
value the user set wins."""

from __future__ import annotations

import os
import subprocess
import sys

from mcp_memory.threads import BLAS_ENVIRONMENT, calm_blas_threads


def test_sets_what_the_user_left_unset_and_keeps_what_they_set(monkeypatch):
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT", raising=False)
    calm_blas_threads()
    assert os.environ["OPENBLAS_THREAD_TIMEOUT"] == BLAS_ENVIRONMENT["OPENBLAS_THREAD_TIMEOUT"] == "4"
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "12")
    calm_blas_threads()
    assert os.environ["OPENBLAS_THREAD_TIMEOUT"] == "12"


def run_main(extra_env: dict[str, str]) -> str:
    """The variable as a real ``memory`` process sees it after ``main`` starts; the CLI module must not have
    imported numpy by then, or OpenBLAS would have read the environment already."""
    code = ("import os, sys\n"
            "from mcp_memory import cli\n"
            "assert 'numpy' not in sys.modules, 'the CLI imports numpy before main() runs'\n"
            "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"} | extra_env
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_memory_command_sets_it_before_numpy_loads():
    assert run_main({}) == "4"
    assert run_main({"OPENBLAS_THREAD_TIMEOUT": "10"}) == "10"

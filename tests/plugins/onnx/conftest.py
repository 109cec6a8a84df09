"""One real build of the bundled all-MiniLM-L6-v2 per session, made by the real `memory onnx-export` command
(from the safetensors weights, no torch)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MEMORY_BIN = Path(sys.executable).with_name("memory")


def memory_command() -> list[str]:
    return [str(MEMORY_BIN)] if MEMORY_BIN.exists() else [sys.executable, "-m", "mcp_memory.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    return env


@pytest.fixture(scope="session")
def make_env():
    """``make_env(**vars)``: this environment without MCP_* variables, offline, plus ``vars``."""
    return clean_env


@pytest.fixture(scope="session")
def memory_cmd():
    return memory_command()


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "minilm"
    proc = subprocess.run([*memory_command(), "onnx-export", "--output", str(out)], capture_output=True, text=True,
                          env=clean_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert str(out) in proc.stdout
    return out


@pytest.fixture
def anyio_backend():
    return "asyncio"

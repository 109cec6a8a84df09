"""A hook starts fast because it imports little: no server stack, no HTTP client stack, no store or model code it
does not use. Each test runs the real ``memory`` command in a subprocess (every installed plugin's entry point is
imported, as in a user's process) and lists what ended up in ``sys.modules``.

- ``memory --help`` and a hook talking to a running ``memory http`` (client mode) load none of the heavy modules;
- a cold hook (no server: it opens the store itself) loads no server stack and no other store's driver.

A heavy module that comes back on one of these paths (an eager import in a plugin's entry module, in the CLI, in
detection) fails here; load it where it is used instead.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from claude_testing import TEST_CLI, clean_env

pytestmark = pytest.mark.slow  # real subprocesses and a real server

#: third-party packages a hook must not import when it does not use them (top-level names)
SERVER_STACK = {"fastapi", "starlette", "uvicorn", "pydantic", "pydantic_core", "anyio", "h11", "watchfiles",
                "click", "opentelemetry"}
CLIENT_STACKS = {"httpx", "httpx2", "httpcore", "httpcore2", "rich", "structlog"}
MODELS_AND_STORES = {"numpy", "onnxruntime", "onnx", "tokenizers", "torch", "sentence_transformers",
                     "transformers", "chromadb", "psycopg", "psycopg_pool", "sqlite_vec", "pypdf", "mcp"}
#: our own modules that only a process serving, storing or embedding needs
OWN_HEAVY = {"mcp_memory.service", "mcp_memory.mcp_server", "mcp_memory.migration", "mcp_memory.backup",
             "mcp_memory_http.server", "mcp_memory_http.app", "mcp_memory_onnx.embedder",
             "mcp_memory_sentence_transformers.embedder", "mcp_memory_sqlite_vec.storage",
             "mcp_memory_chroma.storage", "mcp_memory_pgvector.storage", "mcp_memory_reference.importer"}

#: runs ``memory`` (mcp_memory.cli.main, as the console script does) and writes the loaded modules to argv[1]
PROBE = """
import json, sys
out, sys.argv = sys.argv[1], ["memory", *sys.argv[2:]]
from mcp_memory.cli import main
try:
    code = main()
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(code)
"""


def heavy(modules: list[str], third_party: set[str], own: set[str] = OWN_HEAVY) -> list[str]:
    """The packages of ``third_party`` and the modules of ``own`` that were loaded."""
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in third_party} | (own & set(modules)))


def probe(tmp_path: Path, env: dict[str, str], *args: str, stdin: str = "") -> tuple[subprocess.CompletedProcess,
                                                                                      list[str]]:
    out = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)
    return done, json.loads(out.read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """A ``memory http`` server with the JSON-file test store holding one memory; the environment of a process
    configured for the same store (it names the backend only, so any such process uses the server)."""
    port = free_port()
    env = clean_env(tmp_path / "home", MCP_MEMORY_STORAGE_BACKEND="filestore", MCP_MEMORY_EMBEDDER="hash",
                    MCP_MEMORY_FILESTORE_PATH=str(tmp_path / "store.json"), MCP_HTTP_PORT=str(port))
    (tmp_path / "home").mkdir()
    stored = subprocess.run([sys.executable, str(TEST_CLI), "store", "We use Postgres 16 for the billing service.",
                             "--project", "billing-api"], env=env, capture_output=True, text=True, timeout=60)
    assert stored.returncode == 0, stored.stderr
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, str(TEST_CLI), "http"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "memory http did not answer within 90 s"
                time.sleep(0.2)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def prompt_payload(project: Path) -> str:
    return json.dumps({"session_id": "s1", "transcript_path": "/nonexistent.jsonl", "cwd": str(project),
                       "permission_mode": "default", "hook_event_name": "UserPromptSubmit",
                       "prompt": "which postgres version do we use for the billing service"})


def test_memory_help_loads_no_heavy_module(tmp_path):
    (tmp_path / "home").mkdir()
    done, modules = probe(tmp_path, clean_env(tmp_path / "home"), "--help")
    assert done.returncode == 0, done.stderr
    assert heavy(modules, SERVER_STACK | CLIENT_STACKS | MODELS_AND_STORES) == []


def test_a_hook_talking_to_the_server_loads_no_heavy_module(tmp_path, served, project):
    done, modules = probe(tmp_path, served, "hook", "user-prompt-submit", stdin=prompt_payload(project))
    assert done.returncode == 0, done.stderr
    # the answer came from the server: this process has no filestore plugin to read the store itself
    assert "Postgres 16" in json.loads(done.stdout)["hookSpecificOutput"]["additionalContext"], done.stderr
    assert heavy(modules, SERVER_STACK | CLIENT_STACKS | MODELS_AND_STORES) == []


def test_a_cold_hook_loads_no_server_stack_and_no_other_store(tmp_path, project):
    (tmp_path / "home").mkdir()
    env = clean_env(tmp_path / "home", MCP_MEMORY_STORAGE_BACKEND="filestore", MCP_MEMORY_EMBEDDER="hash",
                    MCP_MEMORY_FILESTORE_PATH=str(tmp_path / "store.json"), MCP_HTTP_PORT=str(free_port()))
    stored = subprocess.run([sys.executable, str(TEST_CLI), "store", "We use Postgres 16 for the billing service.",
                             "--project", "billing-api"], env=env, capture_output=True, text=True, timeout=60)
    assert stored.returncode == 0, stored.stderr
    out = tmp_path / "modules.json"
    # the test store is registered in the process (memory_test_cli.py), so the probe runs that script's way
    code = PROBE.replace("from mcp_memory.cli import main", f"sys.path.insert(0, {str(TEST_CLI.parent)!r})\n"
                         "from filestore import FileStorePlugin\nfrom mcp_memory.cli import main\n"
                         "from mcp_memory.config import Settings\nfrom mcp_memory.plugins import get_plugin_manager\n"
                         "get_plugin_manager(Settings.from_env()).register_object(FileStorePlugin(), 'filestore')")
    done = subprocess.run([sys.executable, "-c", code, str(out), "hook", "user-prompt-submit"],
                          input=prompt_payload(project), capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Postgres 16" in json.loads(done.stdout)["hookSpecificOutput"]["additionalContext"], done.stderr
    modules = json.loads(out.read_text())
    assert "mcp_memory.service" in modules  # it did open the store itself
    unused = SERVER_STACK | CLIENT_STACKS | (MODELS_AND_STORES - {"numpy"})  # numpy: the store's own business
    assert heavy(modules, unused, OWN_HEAVY - {"mcp_memory.service"}) == []

"""The Claude Desktop configurations of docs/claude.md, exactly as written, from a fresh clone of this repository.

Each JSON block of docs/claude.md that defines ``mcpServers`` is run as Claude Desktop runs it: the command and
arguments with ``/path/to/repo`` replaced by the clone, the block's ``env``, in a clean HOME. The MCP SDK client
then stores and retrieves a memory through it. The ``.venv/bin/memory`` setup runs ``bash scripts/install.sh`` in
the clone first, as the doc says; the ``uv`` setup needs nothing else (uv builds the environment itself).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "claude.md"
PLACEHOLDER = "/path/to/repo"


def desktop_configs() -> list[dict]:
    """Every server of every ``mcpServers`` JSON block in docs/claude.md that starts from a checkout."""
    configs = []
    for block in re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        servers = json.loads(block).get("mcpServers", {})
        for server in servers.values():
            if PLACEHOLDER in json.dumps(server):
                configs.append(server)
    return configs


def config_id(config: dict) -> str:
    return "uv" if config["command"] == "uv" else Path(config["command"]).name


@pytest.fixture
def clone(tmp_path_factory) -> Path:
    """A fresh clone for each setup (uv's environment has no pip, so the two cannot share one)."""
    target = tmp_path_factory.mktemp("fresh") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True, timeout=120)
    return target


#: the machine's network settings (proxy, certificate authorities, package index), which every program on it gets
NETWORK = re.compile(r"(?i)(https?_proxy|no_proxy|all_proxy|ssl_cert_(file|dir)|requests_ca_bundle|curl_ca_bundle"
                     r"|pip_(index_url|extra_index_url|cert|trusted_host|find_links)|uv_(index_url|default_index"
                     r"|extra_index_url|system_certs|native_tls|find_links))")


def clean_env(home: Path) -> dict[str, str]:
    """What a desktop app gives its servers: a PATH, a HOME and the machine's network settings, nothing else of
    this test run's environment."""
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    network = {k: v for k, v in os.environ.items() if NETWORK.fullmatch(k)}
    return {**network, "PATH": path, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(home / ".config"), "HF_HUB_OFFLINE": "1", "LANG": "C.UTF-8"}


def test_the_doc_has_both_setups():
    commands = {config_id(c) for c in desktop_configs()}
    assert commands == {"uv", "memory"}, commands


@pytest.mark.parametrize("config", desktop_configs(), ids=config_id)
async def test_a_documented_setup_stores_and_retrieves_from_a_fresh_clone(config, clone, tmp_path):
    if config["command"] == "uv" and shutil.which("uv", path=clean_env(tmp_path)["PATH"]) is None:
        pytest.fail("uv is not installed in the test environment (requirements-dev.txt installs it from PyPI)")
    if config["command"] != "uv":
        install = subprocess.run(["bash", "scripts/install.sh"], cwd=clone, capture_output=True, text=True,
                                 env={**clean_env(tmp_path), "PYTHON": sys.executable}, timeout=1200)
        assert install.returncode == 0, install.stderr[-3000:]
        assert "warning" not in install.stderr.lower().replace("warning: location", ""), install.stderr[-3000:]
    else:  # what uv does on the first start, beforehand and retried: one dropped download is the network's fault
        for _attempt in range(3):
            synced = subprocess.run(["uv", "--directory", str(clone), "sync", "--quiet"], capture_output=True,
                                    text=True, env=clean_env(tmp_path), timeout=1200)
            if synced.returncode == 0:
                break
        assert synced.returncode == 0, synced.stderr[-3000:]
    command = config["command"].replace(PLACEHOLDER, str(clone))
    args = [a.replace(PLACEHOLDER, str(clone)) for a in config.get("args", [])]
    env = {**clean_env(tmp_path), **config.get("env", {})}
    params = StdioServerParameters(command=command, args=args, env=env, cwd=str(tmp_path))
    async with Client(params, mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"store_memory", "retrieve_memory"} <= names
        stored = await client.call_tool("store_memory", {"content": "The staging database moved to Postgres 16",
                                                         "tags": ["infra"]})
        assert not stored.is_error, stored.content[0].text
        found = await client.call_tool("retrieve_memory", {"query": "which postgres version does staging use?"})
        assert not found.is_error and "Postgres 16" in found.content[0].text
    database = Path(env["XDG_DATA_HOME"]) / "mcp-memory" / "sqlite_vec.db"
    assert database.exists() or "MCP_MEMORY_SQLITE_PATH" in config.get("env", {})

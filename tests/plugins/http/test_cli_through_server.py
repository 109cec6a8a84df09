"""One-shot CLI commands use a running ``memory http`` server instead of opening the database."""

from __future__ import annotations

import json
import subprocess

import httpx2
from processes import base_env, memory_command


def cli(env, *args):
    return subprocess.run([*memory_command(True), *args], env=env, capture_output=True, text=True, timeout=120)


def test_store_retrieve_delete_go_through_the_server(server, tmp_path):
    own_db = tmp_path / "never-created.db"
    env = base_env(own_db, server.port)
    env.pop("LOG_LEVEL")
    stored = cli(env, "store", "The CLI talked to the server", "--tags", "via-server", "--json")
    assert stored.returncode == 0, stored.stderr
    content_hash = json.loads(stored.stdout)["content_hash"]
    assert httpx2.get(f"{server.url}/api/memories/{content_hash}").status_code == 200
    found = cli(env, "search-tag", "via-server", "--json")
    assert [m["content"] for m in json.loads(found.stdout)["memories"]] == ["The CLI talked to the server"]
    assert cli(env, "delete", content_hash).returncode == 0
    assert httpx2.get(f"{server.url}/api/memories/{content_hash}").status_code == 404
    assert not own_db.exists()  # the client never opened a database of its own
    assert stored.stderr == ""  # one-shot commands log only warnings by default


def test_errors_from_the_server_are_one_line(server, tmp_path):
    env = base_env(tmp_path / "x.db", server.port)
    env.pop("LOG_LEVEL")
    result = cli(env, "delete", "f" * 64)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("memory: ") and "no memory" in result.stderr
    assert result.stderr.count("\n") == 1

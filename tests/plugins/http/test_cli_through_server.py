"""One-shot CLI commands use a running ``memory http`` server instead of opening the database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx2
from http_support import STORE
from processes import base_env, memory_command


def cli(env, *args):
    return subprocess.run([*memory_command(True), *args], env=env, capture_output=True, text=True, timeout=120)


def client_env(server) -> dict[str, str]:
    """A CLI configured for the server's own store (so it uses the server), logging warnings only."""
    env = base_env(Path(server.env["MCP_MEMORY_TEST_STORE"]), server.port, store=STORE)
    env.pop("LOG_LEVEL")
    return env


def test_commands_go_through_the_server(server):
    env = client_env(server)
    stored = cli(env, "store", "The CLI talked to the server", "--tags", "via-server", "--project", "cli-proj",
                 "--json")
    assert stored.returncode == 0, stored.stderr
    assert stored.stderr == ""  # one-shot commands log only warnings by default: none here
    content_hash = json.loads(stored.stdout)["content_hash"]
    assert httpx2.get(f"{server.url}/api/memories/{content_hash[:8]}").json()["project"] == "cli-proj"
    found = cli(env, "search-tag", "via-server", "--project", "cli-proj", "--json")
    assert [m["content"] for m in json.loads(found.stdout)["memories"]] == ["The CLI talked to the server"]
    edited = cli(env, "update", content_hash[:10], "--text", "The CLI talked to the server twice", "--json")
    new_hash = json.loads(edited.stdout)["content_hash"]
    assert json.loads(edited.stdout)["previous_hash"] == content_hash
    history = cli(env, "history", new_hash[:8], "--json")
    assert [v["content_hash"] for v in json.loads(history.stdout)["versions"]] == [new_hash, content_hash]
    assert cli(env, "delete", new_hash[:12]).returncode == 0
    assert httpx2.get(f"{server.url}/api/memories/{new_hash}").status_code == 404
    listed = cli(env, "trash", "list", "--json")
    assert new_hash in [m["content_hash"] for m in json.loads(listed.stdout)["memories"]]
    assert cli(env, "trash", "restore", new_hash[:8]).returncode == 0
    assert httpx2.get(f"{server.url}/api/memories/{new_hash}").status_code == 200
    projects = json.loads(cli(env, "projects", "--json").stdout)["projects"]
    assert {"project": "cli-proj", "count": 1} in projects
    coordination = cli(env, "coordination")
    assert coordination.stdout.startswith("http_client:") and "serves the configured store" in coordination.stdout


def test_errors_from_the_server_are_one_line(server):
    env = client_env(server)
    result = cli(env, "delete", "f" * 64)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("memory: ") and "no memory" in result.stderr
    assert result.stderr.count("\n") == 1


def test_ingest_goes_through_the_server(server, tmp_path):
    env = client_env(server)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "release.md").write_text("# Releases\n\nWe release on the first Monday of the month.\n")
    (docs / "gone.md").write_text("# Old\n\nThis page will be deleted.\n")
    done = cli(env, "ingest", str(docs), "--tags", "handbook", "--project", "ops", "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    assert {f["status"] for f in json.loads(done.stdout)["files"]} == {"stored"}
    found = httpx2.post(f"{server.url}/api/search/by-tag", json={"tags": ["handbook"], "project": "ops"}).json()
    assert {m["metadata"]["source"] for m in found["memories"]} == {str(docs / "release.md"), str(docs / "gone.md")}
    (docs / "gone.md").unlink()
    pruned = cli(env, "ingest", str(docs), "--prune", "--json", "--quiet", "--project", "ops")
    statuses = {f["source"]: f["status"] for f in json.loads(pruned.stdout)["files"]}
    assert statuses == {str(docs / "release.md"): "unchanged", str(docs / "gone.md"): "pruned"}

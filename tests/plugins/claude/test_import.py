"""``memory import --format claude-code | claude-export | chatgpt-export PATH [--dry-run]`` as a user runs it."""

from __future__ import annotations

import json

import pytest
from claude_testing import FIXTURES

pytestmark = pytest.mark.slow  # real subprocesses


def test_dry_run_lists_what_would_be_stored_and_stores_nothing(memory):
    done = memory.run("import", "--format", "claude-code", str(FIXTURES / "projects"), "--dry-run", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("would import 13, duplicates 0, near-duplicates 0, skipped 0")
    assert "  + We decided to keep the limit in Kong and only test it in the integration suite.  [auto-captured, " \
           "decision]" in done.stdout
    assert memory.rows() == []


def test_import_a_folder_of_transcripts_then_again(memory):
    done = memory.run("import", "--format", "claude-code", str(FIXTURES / "projects"), "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] == 13
    rows = memory.rows()
    assert {m["project"] for m in rows} == {"billing-api", "docs-site"}  # from each transcript's cwd
    assert all("auto-captured" in m["tags"] and m["metadata"]["captured_by"] == "import:claude-code" for m in rows)
    again = json.loads(memory.run("import", "--format", "claude-code", str(FIXTURES / "projects"), "--json",
                                  "--quiet").stdout)
    assert again["imported"] == 0 and again["duplicates"] == 13


@pytest.mark.parametrize("kind, expected", [("claude-export", 3), ("chatgpt-export", 3)])
def test_chat_exports(memory, kind, expected):
    done = memory.run("import", "--format", kind, str(FIXTURES / kind), "--json", "--quiet",
                      MCP_MEMORY_PROJECT="sdk")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] == expected
    assert {m["project"] for m in memory.rows()} == {"sdk"}
    assert {m["metadata"]["source"] for m in memory.rows()} == {kind}


def test_a_missing_path_is_a_clear_error(memory, tmp_path):
    done = memory.run("import", "--format", "claude-code", str(tmp_path / "nope"), "--quiet")
    assert done.returncode == 1 and "does not exist" in done.stderr


def test_forget_moves_the_projects_auto_captured_memories_to_the_trash(memory):
    memory.run("import", "--format", "claude-code", str(FIXTURES / "projects"), "--quiet")
    memory.run("store", "A curated note stays.", "--project", "billing-api")
    done = memory.run("claude", "forget", "--project", "billing-api", "--dry-run")
    assert done.returncode == 0 and done.stdout.startswith("would move 8 auto-captured memories"), done.stderr
    assert memory.run("claude", "forget", "--project", "billing-api").stdout.startswith("moved 8")
    live = [m for m in memory.rows() if not m.get("deleted_at")]
    assert {m["project"] for m in live if "auto-captured" in m["tags"]} == {"docs-site"}
    assert any(m["content"] == "A curated note stays." for m in live)

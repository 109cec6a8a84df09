"""Each hook called exactly as Claude Code calls it: ``memory hook EVENT`` in a subprocess, the documented JSON on
stdin; exit code 0, and on stdout either nothing or the documented ``hookSpecificOutput`` object."""

from __future__ import annotations

import json
import time

import pytest
from claude_testing import BILLING, DOCS, QUIET, copy_transcript

pytestmark = pytest.mark.slow  # real subprocesses


def base(event: str, project, transcript=None, session="7f3c2a10-5b7e-4c11-9d2e-0a1b2c3d4e5f", **extra) -> dict:
    payload = {"session_id": session, "transcript_path": str(transcript or "/nonexistent.jsonl"),
               "cwd": str(project), "permission_mode": "default", "hook_event_name": event}
    payload.update(extra)
    return payload


def context_of(done) -> str:
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer) == {"hookSpecificOutput"}
    return answer["hookSpecificOutput"]["additionalContext"]


def seed(memory, project: str) -> None:
    for text, kind in [("We use Postgres 16 for the billing service; MySQL is not an option.", "decision"),
                       ("I prefer small focused commits with imperative subject lines.", "preference"),
                       ("The upload handler lives in app/upload.py and writes files before the database row.", "note")]:
        done = memory.run("store", text, "--type", kind, "--tags", kind, "--project", project)
        assert done.returncode == 0, done.stderr


def test_session_start_with_no_memories_adds_nothing(memory, project):
    done = memory.hook("session-start", base("SessionStart", project, source="startup"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_session_start_briefs_the_project_curated_first(memory, project):
    seed(memory, "billing-api")
    memory.run("store", "Some other project decided on Rust.", "--type", "decision", "--project", "other")
    done = memory.hook("session-start", base("SessionStart", project, source="startup"))
    answer = json.loads(done.stdout)
    assert answer["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    text = context_of(done)
    assert "project billing-api" in text
    assert "Postgres 16" in text and "small focused commits" in text
    assert "Rust" not in text  # another project's memories stay out
    assert text.index("[decision]") < text.index("[note]")


def test_session_start_respects_its_token_budget(memory, project, tmp_path):
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar".split()
    lines = [json.dumps({"content": f"Decision {i}: module {i} keeps " + " ".join(words[i % 15:] + words[:i % 15]) * 4,
                         "memory_type": "decision", "project": "billing-api"}) for i in range(15)]
    (tmp_path / "many.jsonl").write_text("\n".join(lines) + "\n")
    assert memory.run("import", str(tmp_path / "many.jsonl"), "--quiet").returncode == 0
    done = memory.hook("session-start", base("SessionStart", project, source="startup"),
                       MCP_MEMORY_CLAUDE_START_TOKENS="300")
    text = context_of(done)
    assert len(text) <= 300 * 4 + 400  # the budget, plus the title and the note
    assert "more not shown" in text


def test_user_prompt_submit_adds_relevant_memories_only(memory, project):
    seed(memory, "billing-api")
    done = memory.hook("user-prompt-submit", base("UserPromptSubmit", project,
                                                  prompt="which postgres version do we use for the billing service"))
    assert json.loads(done.stdout)["hookSpecificOutput"]["hookEventName"] == "UserPromptSubmit"
    assert "Postgres 16" in context_of(done)
    for prompt in ("tell me a joke about penguins and icebergs", "/compact", "thanks"):
        done = memory.hook("user-prompt-submit", base("UserPromptSubmit", project, prompt=prompt))
        assert done.returncode == 0 and done.stdout == "", (prompt, done.stdout)


def test_capture_at_pre_compact_then_session_end_stores_each_thing_once(memory, project, tmp_path):
    transcript = copy_transcript(BILLING, tmp_path)
    done = memory.hook("pre-compact", base("PreCompact", project, transcript, trigger="auto",
                                           custom_instructions=""))
    assert done.returncode == 0 and done.stdout == "", done.stderr
    first = memory.rows()
    kinds = sorted(m["memory_type"] for m in first)
    assert kinds.count("decision") == 2 and kinds.count("preference") == 2 and kinds.count("session") == 1
    for m in first:
        assert "auto-captured" in m["tags"] and m["project"] == "billing-api"
        assert m["metadata"]["session_id"] == "7f3c2a10-5b7e-4c11-9d2e-0a1b2c3d4e5f"
        assert m["metadata"]["source"] == "claude-code"
    assert not any("Redis" in m["content"] and "We should go with" in m["content"] for m in first)  # assistant words
    # the session goes on: one more request, then it ends
    with transcript.open("a") as out:
        out.write(json.dumps({"type": "user", "sessionId": "7f3c2a10-5b7e-4c11-9d2e-0a1b2c3d4e5f",
                              "timestamp": "2025-09-15T10:00:00.000Z", "uuid": "x-1", "parentUuid": None,
                              "message": {"role": "user", "content": "Update the changelog with the Kong limit."}})
                  + "\n")
    done = memory.hook("session-end", base("SessionEnd", project, transcript, reason="prompt_input_exit"))
    assert done.returncode == 0 and done.stdout == "", done.stderr
    live = [m for m in memory.rows() if not m.get("deleted_at")]
    assert sorted(m["content"] for m in live if m["memory_type"] != "session") == \
        sorted(m["content"] for m in first if m["memory_type"] != "session")
    [record] = [m for m in live if m["memory_type"] == "session"]
    assert "changelog" in record["content"] and "app/upload.py" in record["content"]


def test_a_session_with_nothing_stated_stores_only_its_record(memory, project, tmp_path):
    done = memory.hook("session-end", base("SessionEnd", project, copy_transcript(QUIET, tmp_path),
                                           session="0d15ea5e-0000-4000-8000-000000000003", reason="clear"))
    assert done.returncode == 0
    assert [m["memory_type"] for m in memory.rows()] == ["session"]


def test_capture_skips_what_is_already_known(memory, project, tmp_path):
    memory.run("store", "Let's go with MkDocs Material for the docs site.", "--project", "billing-api")
    done = memory.hook("session-end", base("SessionEnd", project, copy_transcript(DOCS, tmp_path),
                                           session="c0ffee00-1234-4abc-8def-1234567890ab", reason="logout"))
    assert done.returncode == 0
    mkdocs = [m for m in memory.rows() if "MkDocs Material for the docs site" in m["content"]
              and m["memory_type"] != "session"]
    assert len(mkdocs) == 1 and "auto-captured" not in mkdocs[0]["tags"]


def test_capture_can_be_switched_off(memory, project, tmp_path):
    done = memory.hook("pre-compact", base("PreCompact", project, copy_transcript(BILLING, tmp_path), trigger="manual"),
                       MCP_MEMORY_CLAUDE_CAPTURE="false")
    assert done.returncode == 0 and memory.rows() == []


def test_capture_expires_old_auto_captured_memories_unless_recalled(memory, project, tmp_path):
    old = time.time() - 200 * 86_400
    for text in ("We used to deploy with Fabric scripts over ssh.", "The old CI ran on Jenkins in the basement."):
        memory.run("store", text, "--tags", "auto-captured,fact", "--type", "fact", "--project", "billing-api",
                   "--metadata", json.dumps({"captured_at": old}))
    memory.run("retrieve", "Jenkins basement CI", "-n", "1", "--project", "billing-api")  # recalled: stays
    done = memory.hook("session-end", base("SessionEnd", project, copy_transcript(QUIET, tmp_path), reason="other"))
    assert done.returncode == 0, done.stderr
    by_text = {m["content"]: m for m in memory.rows()}
    assert by_text["We used to deploy with Fabric scripts over ssh."]["deleted_reason"] == "expired"
    assert by_text["The old CI ran on Jenkins in the basement."].get("deleted_at") is None


@pytest.mark.parametrize("stdin", ["", "not json", "[1, 2]", '{"cwd": 42, "prompt": null}'])
def test_bad_input_gives_no_output_and_exit_code_0(memory, stdin):
    for event in ("session-start", "user-prompt-submit", "pre-compact", "session-end"):
        done = memory.run("hook", event, stdin=stdin)
        assert done.returncode == 0 and done.stdout == "", (event, stdin, done.stdout, done.stderr)


def test_a_broken_store_is_one_log_line_and_exit_code_0(memory, project):
    done = memory.hook("session-start", base("SessionStart", project, source="startup"),
                       MCP_MEMORY_STORAGE_BACKEND="no-such-store")
    assert done.returncode == 0 and done.stdout == ""
    assert "no storage backend named 'no-such-store'" in done.stderr
    assert "no-such-store" in memory.log.read_text()


def test_the_deadline_gives_up_quickly_with_exit_code_0(memory, project):
    seed(memory, "billing-api")
    started = time.monotonic()
    payload = base("UserPromptSubmit", project, prompt="which postgres version do we use")
    done = memory.hook("user-prompt-submit", payload,
                       MCP_MEMORY_FILESTORE_DELAY="10", MCP_MEMORY_CLAUDE_CONTEXT_DEADLINE="0.5")
    assert time.monotonic() - started < 8
    assert done.returncode == 0 and done.stdout == ""
    assert "gave up after 0.5 s" in memory.log.read_text()


def test_unknown_event_and_claude_code_event_names(memory, project):
    done = memory.run("hook", "PostToolUse", stdin="{}")
    assert done.returncode == 0 and done.stdout == "" and "unknown event" in done.stderr
    seed(memory, "billing-api")
    done = memory.hook("SessionStart", base("SessionStart", project, source="resume"))
    assert "Postgres 16" in context_of(done)

"""Extraction rules and transcript readers, on the invented fixtures and the hand-labelled messages."""

from __future__ import annotations

import sys
from pathlib import Path

from claude_testing import BILLING, DOCS, FIXTURES, QUIET

from mcp_memory_claude.capture import classify_message, extract, session_record, to_memories
from mcp_memory_claude.transcripts import read_all, read_chatgpt_export, read_claude_code, read_claude_export

sys.path.insert(0, str(FIXTURES))
from labelled_messages import MESSAGES  # noqa: E402


def scores() -> tuple[float, float, int]:
    tp = fp = fn = 0
    for text, labels in MESSAGES:
        predicted = {kind for kind, _ in classify_message(text)}
        tp += len(predicted & set(labels))
        fp += len(predicted - set(labels))
        fn += len(set(labels) - predicted)
    return tp / (tp + fp), tp / (tp + fn), len(MESSAGES)


def test_precision_and_recall_on_the_labelled_messages():
    precision, recall, n = scores()
    assert n >= 100
    assert precision >= 0.9 and recall >= 0.8, (precision, recall)


def test_the_billing_session_yields_the_users_statements_only():
    conv = read_claude_code(BILLING)
    assert conv.session_id == "7f3c2a10-5b7e-4c11-9d2e-0a1b2c3d4e5f" and conv.cwd == "/home/ana/src/billing-api"
    assert conv.title == "Fix flaky upload test and add rate limiting"
    assert conv.files == ["app/upload.py", "deploy/kong/kong.yml", "tests/integration/test_rate_limit.py"]
    found = {(s.kind, s.text) for s in extract(conv)}
    assert ("decision", "We decided to keep the limit in Kong and only test it in the integration suite.") in found
    assert ("preference", "Never add a new infrastructure dependency without asking me first.") in found
    assert ("remember", "Remember that staging gets reset every Sunday night, so don't rely on data there.") in found
    texts = " ".join(t for _, t in found)
    for not_users in ("slowapi", "asyncio.Lock", "declarative config", "retry on 500", "summarized below"):
        assert not_users not in texts  # assistant text, sub-agent, tool output, compaction summary
    assert "Let's go with the lock" not in texts  # means nothing without the chat


def test_user_text_is_cleaned_of_reminders_commands_and_pasted_output():
    turns = read_claude_code(BILLING).user_turns
    assert not any("<system-reminder>" in t.text or "<command-name>" in t.text or "Caveat:" in t.text for t in turns)
    assert not any(t.text.startswith("[Request interrupted") for t in turns)
    docs = read_claude_code(DOCS)
    assert [k for k, _ in classify_message(docs.user_turns[-1].text)] == []  # indented build output + a request


def test_session_record_names_project_date_requests_and_files():
    record = session_record(read_claude_code(BILLING), "billing-api")
    assert record.startswith("Claude Code session in billing-api on 2025-09-15 (7f3c2a10): asked: The upload test")
    assert "Files changed: app/upload.py, deploy/kong/kong.yml" in record
    assert session_record(read_claude_code(QUIET), None).startswith("Claude Code session on 2025-09-17")


def test_memories_are_auto_captured_with_kind_session_and_source():
    memories = to_memories(read_claude_code(DOCS), "docs-site", "session-end", now=1000.0)
    assert {m.memory_type for m in memories} == {"decision", "preference", "fact", "session"}
    for memory in memories:
        assert memory.tags[0] == "auto-captured" and memory.project == "docs-site"
        assert memory.metadata["session_id"] == "c0ffee00-1234-4abc-8def-1234567890ab"
        assert memory.metadata["captured_at"] == 1000.0 and memory.metadata["source"] == "claude-code"


def test_claude_export_and_chatgpt_export():
    [chat, empty] = read_claude_export(FIXTURES / "claude-export")
    assert chat.title == "Choosing a queue" and empty.turns == []
    assert [k for s in extract(chat) for k in [s.kind]] == ["fact", "decision", "preference"]
    [conv] = read_chatgpt_export(FIXTURES / "chatgpt-export" / "conversations.json")
    texts = [s.text for s in extract(conv)]
    assert "Let's use anyio for the async tests instead of pytest-asyncio." in texts
    assert "Let's use pytest-asyncio for the async tests." not in texts  # an edited branch the user left
    assert not any("colour, not color" in t for t in texts)  # the assistant's words


def test_a_folder_of_transcripts_and_bad_lines(tmp_path: Path):
    bad = tmp_path / "s.jsonl"
    bad.write_text(BILLING.read_text() + "{not json\n")
    [conv] = list(read_all("claude-code", tmp_path))
    assert len(conv.skipped) == 1 and conv.skipped[0].startswith("s.jsonl line ")
    assert len(list(read_all("claude-code", FIXTURES / "projects"))) == 3

"""``memory hook EVENT``: Claude Code's hooks. Reads the event's JSON on stdin, answers on stdout.

- ``session-start`` (SessionStart): a brief of the project's memories as ``additionalContext``;
- ``user-prompt-submit`` (UserPromptSubmit): memories relevant to the prompt, or no output at all;
- ``pre-compact`` (PreCompact) and ``session-end`` (SessionEnd): capture from the transcript, then expiry of
  auto-captured memories nobody recalled. No output.

A hook never fails the user's prompt: any error, or the internal deadline passing, ends with no output, exit
code 0 and one line on stderr and in the hook log file (Claude Code does not show a hook's stderr on success).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mcp_memory.config import Settings, default_data_dir

#: our event names (argument of ``memory hook``) -> Claude Code's
EVENTS = {"session-start": "SessionStart", "user-prompt-submit": "UserPromptSubmit", "pre-compact": "PreCompact",
          "session-end": "SessionEnd"}
CONTEXT_EVENTS = ("session-start", "user-prompt-submit")
#: prompts this short, or slash commands, get no memories
MIN_PROMPT_WORDS = 3
LOG_NAME = "claude-hooks.log"




def event_name(value: str) -> str | None:
    """Our name of an event given as ours ("session-start") or as Claude Code's ("SessionStart")."""
    if value in EVENTS:
        return value
    return next((ours for ours, theirs in EVENTS.items() if theirs.lower() == value.lower()), None)


# -- logging -----------------------------------------------------------------------------------------------
def log_path(settings: Settings) -> Path:
    from .settings import CLAUDE_SETTINGS

    try:
        configured = settings.section(CLAUDE_SETTINGS).log_file
    except Exception:  # noqa: BLE001 - a bad setting must not stop the log line that reports it
        configured = None
    return configured or default_data_dir() / LOG_NAME


def note(settings: Settings, event: str, message: str) -> None:
    """One line on stderr and in the hook log file (never raises)."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"{stamp} mcp-memory hook {event}: {message}"
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    try:
        path = log_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
    except OSError:
        pass


# -- entry point -------------------------------------------------------------------------------------------
def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one hook within its deadline; always exit code 0."""
    event = event_name(args.event)
    if event is None:
        note(settings, args.event, f"unknown event (known: {', '.join(EVENTS)}); nothing done")
        return 0
    try:
        from .settings import CLAUDE_SETTINGS

        section = settings.section(CLAUDE_SETTINGS)
        deadline = section.context_deadline if event in CONTEXT_EVENTS else section.capture_deadline
    except Exception as exc:  # noqa: BLE001
        note(settings, event, f"bad setting: {exc}; nothing done")
        return 0
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["answer"] = handle(event, read_input(), settings, section)
        except BaseException as exc:  # noqa: BLE001 - reported below, never raised to Claude Code
            outcome["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=work, name=f"hook-{event}", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        note(settings, event, f"gave up after {deadline:g} s (MCP_MEMORY_CLAUDE_"
                              f"{'CONTEXT' if event in CONTEXT_EVENTS else 'CAPTURE'}_DEADLINE); no context added")
        sys.stdout.flush()
        os._exit(0)  # the worker may be stuck in I/O or a model load: do not wait for it
    if "error" in outcome:
        error = outcome["error"]
        note(settings, event, f"failed: {type(error).__name__}: {error}; nothing added")
        return 0
    answer = outcome.get("answer")
    if isinstance(answer, dict):
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    elif isinstance(answer, str) and answer:  # a capture summary: log only
        if os.environ.get("MCP_MEMORY_CLAUDE_VERBOSE"):
            note(settings, event, f"{answer} ({time.monotonic() - started:.2f} s)")
    return 0


def read_input() -> dict[str, Any]:
    """The hook's JSON input on stdin (an empty object when there is none)."""
    raw = sys.stdin.read()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the hook input is not a JSON object")
    return data


def handle(event: str, payload: dict[str, Any], settings: Settings, section: Any) -> dict[str, Any] | str | None:
    """The answer of one event: a hook output object, a capture summary (str), or None."""
    from .project import project_for

    project = project_for(payload.get("cwd"), settings)
    if event == "session-start":
        from .context import session_brief

        text = _with_service(settings, lambda s: session_brief(s, project, section.start_tokens))
        return context_output("SessionStart", text)
    if event == "user-prompt-submit":
        prompt = payload.get("prompt")
        if not isinstance(prompt, str) or prompt.lstrip().startswith("/") or len(prompt.split()) < MIN_PROMPT_WORDS:
            return None
        from .context import prompt_context

        text = _with_service(settings, lambda s: prompt_context(s, prompt, project, section))
        return context_output("UserPromptSubmit", text)
    if not section.capture:
        return None
    from .session import capture_session

    transcript = payload.get("transcript_path")
    if not isinstance(transcript, str) or not transcript:
        return "no transcript_path in the hook input: nothing captured"
    return _with_service(settings, lambda s: capture_session(s, Path(transcript).expanduser(), project,
                                                             payload.get("session_id"), event,
                                                             section.auto_capture_days))


def context_output(hook_event: str, text: str | None) -> dict[str, Any] | None:
    """Claude Code's JSON output adding ``text`` to the model's context (None when there is nothing to add)."""
    if not text:
        return None
    return {"hookSpecificOutput": {"hookEventName": hook_event, "additionalContext": text}}


def _with_service(settings: Settings, coro_factory: Any) -> Any:
    """Run with a running ``memory http`` server when one serves the store, else open the store here."""
    from mcp_memory.cli import run_with_service

    return run_with_service(coro_factory, settings, coordinated=True)

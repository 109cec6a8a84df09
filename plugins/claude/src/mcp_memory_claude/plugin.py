"""Entry point of the ``claude`` plugin. Imports only the core's light modules: the rest loads on use."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from mcp_memory import hookimpl
from mcp_memory.config import Setting, Settings
from mcp_memory.registration import Command, MigrationSource

from .settings import CLAUDE_SETTINGS

#: migration sources: name -> what to give ``memory import --format NAME PATH``
SOURCES = {"claude-code": "Claude Code transcripts: a session's .jsonl file, or a folder of them "
                          "(~/.claude/projects/<project>/)",
           "claude-export": "the Claude.ai data export's conversations.json (or its folder)",
           "chatgpt-export": "ChatGPT's data export conversations.json (or its folder)"}


def _configure_claude(parser: argparse.ArgumentParser) -> None:
    from .arguments import configure_claude

    configure_claude(parser)


def _run_claude(args: argparse.Namespace, settings: Settings) -> int:
    from .install import run

    return run(args, settings)


def _configure_hook(parser: argparse.ArgumentParser) -> None:
    from .arguments import configure_hook

    configure_hook(parser)


def _run_hook(args: argparse.Namespace, settings: Settings) -> int:
    from .hooks import run

    return run(args, settings)


def _open(kind: str) -> Callable[[str | None], Any]:
    def open_source(location: str | None) -> Any:
        from .sources import TranscriptSource

        return TranscriptSource(kind, location)
    return open_source


@hookimpl
def memory_settings() -> Sequence[Setting]:
    return CLAUDE_SETTINGS


@hookimpl
def memory_register_cli(register: Callable[[Command], None]) -> None:
    register(Command(name="claude", help="register mcp-memory with Claude Code and Claude Desktop: install, "
                                         "uninstall, status, forget", configure=_configure_claude, run=_run_claude))
    register(Command(name="hook", help="run a Claude Code hook (session-start, user-prompt-submit, pre-compact, "
                                       "session-end): JSON on stdin, answer on stdout", configure=_configure_hook,
                     run=_run_hook))


@hookimpl
def memory_register_migrators(register: Callable[[MigrationSource], None]) -> None:
    for kind, description in SOURCES.items():
        register(MigrationSource(name=kind, open=_open(kind), description=description))

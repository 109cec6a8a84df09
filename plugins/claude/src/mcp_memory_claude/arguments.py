"""The arguments of ``memory claude`` and ``memory hook`` (light: the parser is built for every command)."""

from __future__ import annotations

import argparse

DEFAULT_SERVER_NAME = "memory"


def configure_claude(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("install", "uninstall", "status", "forget"),
                        help="forget: move the auto-captured memories of the current project to the trash")
    parser.add_argument("--scope", choices=("user", "project"), default="user",
                        help="Claude Code: user (~/.claude.json, ~/.claude/settings.json, the default) or project "
                             "(.mcp.json and .claude/settings.json at the project root)")
    parser.add_argument("--code", action="store_true", help="Claude Code only (default: each client that exists)")
    parser.add_argument("--desktop", action="store_true", help="Claude Desktop only (default: each that exists)")
    parser.add_argument("--no-hooks", action="store_true", help="install: the MCP server only, no Claude Code hooks")
    parser.add_argument("--server-name", default=DEFAULT_SERVER_NAME,
                        help=f"name of the MCP server entry (default {DEFAULT_SERVER_NAME})")
    parser.add_argument("--dry-run", action="store_true", help="print the change as a unified diff per file; "
                                                               "write nothing")
    parser.add_argument("--json", action="store_true", help="machine-readable output (status)")
    parser.add_argument("--project", help="forget: this project instead of the current one")
    parser.add_argument("--all-projects", action="store_true", help="forget: in every project")


def configure_hook(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", help="session-start, user-prompt-submit, pre-compact or session-end (Claude Code's "
                                      "event names are accepted too)")

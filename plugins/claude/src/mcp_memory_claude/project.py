"""The project of a Claude Code session: from the hook input's ``cwd``, as ``mcp_memory.projects`` names it."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

from mcp_memory.config import Settings
from mcp_memory.inputs import GLOBAL
from mcp_memory.projects import git_toplevel


def project_for(cwd: Any, settings: Settings) -> str | None:
    """``MCP_MEMORY_PROJECT`` when set ("global": none); else the git top-level folder name around ``cwd``; else
    the folder name of ``cwd`` itself (a Claude Code session always works in a folder); None without a cwd."""
    if settings.project:
        return None if settings.project.lower() == GLOBAL else settings.project
    if not isinstance(cwd, str) or not cwd.strip():
        return None
    folder = Path(cwd)
    top = git_toplevel(folder) if folder.exists() else None
    name = (top or PurePath(cwd)).name
    return name or None

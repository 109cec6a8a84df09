"""The current project of a process or an MCP session.

In order: ``MCP_MEMORY_PROJECT``; the MCP client's roots (the folder name of its first ``file://`` root);
the top-level folder of the git repository around the working directory; else none (reads then cover every
project and writes are global). A project is named after its folder: ``/home/ana/src/billing-api`` is
``billing-api``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlparse

from .config import Settings
from .inputs import GLOBAL


def git_toplevel(start: Path) -> Path | None:
    """The top-level folder of the git work tree holding ``start`` (a ``.git`` directory or file), or None."""
    try:
        here = start.resolve()
    except OSError:
        return None
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def root_folder(uri: str) -> Path | None:
    """The local folder of an MCP root URI (``file:///home/ana/src/api``), or None for other schemes."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if os.name == "nt" and len(path) > 2 and path[0] == "/" and path[2] == ":":  # file:///C:/x
        path = path[1:]
    return Path(path) if path else None


def project_of_folder(folder: Path) -> str | None:
    """A project name for a folder: the git top-level folder's name around it, else the folder's own name."""
    top = git_toplevel(folder) or folder
    return top.name or None


def from_roots(uris: Iterable[str]) -> str | None:
    """The project of the first ``file://`` root an MCP client declared."""
    for uri in uris:
        folder = root_folder(uri)
        if folder is not None:
            return project_of_folder(folder)
    return None


def current_project(settings: Settings, roots: Iterable[str] = (), cwd: Path | None = None) -> str | None:
    """This caller's project: the setting, else the client's roots, else the git folder of ``cwd`` (when given),
    else None. ``MCP_MEMORY_PROJECT=global`` means no project."""
    if settings.project:
        return None if settings.project.lower() == GLOBAL else settings.project
    found = from_roots(roots)
    if found is not None or cwd is None:
        return found
    top = git_toplevel(cwd)
    return top.name if top is not None else None

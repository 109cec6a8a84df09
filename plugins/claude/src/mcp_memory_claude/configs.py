"""Claude's config files: where they are, our entries in them, and edits that keep everything else as it was.

Our MCP server entry carries the marker ``env.MCP_MEMORY_INSTALLED_BY``; our hooks are commands of the form
``<memory> hook <event>``. Edits add, replace or remove only those; the user's keys keep their order, and a file
is written back in its own indentation and line endings.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_memory.errors import InvalidInputError

MARKER_KEY = "MCP_MEMORY_INSTALLED_BY"
MARKER_VALUE = "mcp-memory-claude"

#: Claude Code event -> (our event argument, hook timeout in seconds)
HOOK_EVENTS = {"SessionStart": ("session-start", 15), "UserPromptSubmit": ("user-prompt-submit", 10),
               "PreCompact": ("pre-compact", 60), "SessionEnd": ("session-end", 60)}
_OUR_HOOK = re.compile(r"""(^|[\s/\\"'])memory(\.exe)?["']?\s+hook\s+(session-start|user-prompt-submit|pre-compact|"""
                       r"""session-end)\s*$""")

MCP, HOOKS = "mcp", "hooks"


class MalformedConfig(InvalidInputError):
    """A config file that is not a JSON object: we refuse to touch it."""


# -- where the files are -------------------------------------------------------------------------------------
def desktop_config_path(platform: str | None = None, env: Mapping[str, str] | None = None,
                        home: Path | None = None) -> Path:
    """``claude_desktop_config.json``: Application Support on macOS, %APPDATA% on Windows, ~/.config on Linux."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    home = home or Path.home()
    if platform.startswith("win"):
        base = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    return base / "Claude" / "claude_desktop_config.json"


@dataclass(frozen=True)
class Target:
    """One file to edit: what it is for (``kind`` mcp or hooks), and which client reads it."""

    client: str  # "code" or "desktop"
    kind: str
    path: Path
    label: str


def code_targets(scope: str, home: Path, project_root: Path) -> list[Target]:
    """Claude Code: user scope ``~/.claude.json`` + ``~/.claude/settings.json``; project scope ``.mcp.json`` +
    ``.claude/settings.json`` at the project root."""
    if scope == "project":
        return [Target("code", MCP, project_root / ".mcp.json", "Claude Code MCP server (project)"),
                Target("code", HOOKS, project_root / ".claude" / "settings.json", "Claude Code hooks (project)")]
    return [Target("code", MCP, home / ".claude.json", "Claude Code MCP server (user)"),
            Target("code", HOOKS, home / ".claude" / "settings.json", "Claude Code hooks (user)")]


def desktop_target(home: Path) -> Target:
    return Target("desktop", MCP, desktop_config_path(home=home), "Claude Desktop MCP server")


# -- the memory command and our entries -----------------------------------------------------------------------
def memory_executable() -> Path:
    """The absolute path of this environment's ``memory`` command (so it works outside an activated venv)."""
    folder = Path(sys.executable).parent
    for name in ("memory.exe", "memory") if os.name == "nt" else ("memory",):
        candidate = folder / name
        if candidate.exists():
            return candidate.absolute()
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.stem == "memory" and argv0.exists():
        return argv0.absolute()
    raise InvalidInputError(f"no `memory` command next to {sys.executable}: install mcp-memory in this environment "
                            "(pip install mcp-memory) and run `memory claude install` from it")


def shell_quote(path: Path) -> str:
    text = str(path)
    if os.name == "nt":
        return f'"{text}"' if " " in text else text
    return shlex.quote(text)


def server_entry(memory: Path, client: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "stdio"} if client == "code" else {}
    entry.update({"command": str(memory), "args": [], "env": {MARKER_KEY: MARKER_VALUE}})
    return entry


def hook_group(memory: Path, event: str) -> dict[str, Any]:
    ours, timeout = HOOK_EVENTS[event]
    return {"hooks": [{"type": "command", "command": f"{shell_quote(memory)} hook {ours}", "timeout": timeout}]}


def is_our_server(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("env"), dict) and \
        entry["env"].get(MARKER_KEY) == MARKER_VALUE


def is_our_hook(hook: Any) -> bool:
    return isinstance(hook, dict) and hook.get("type") == "command" and isinstance(hook.get("command"), str) and \
        bool(_OUR_HOOK.search(hook["command"].strip()))


def hook_command_path(command: str) -> str:
    """The executable part of one of our hook commands."""
    head = command.strip().rsplit(" hook ", 1)[0].strip()
    try:
        return shlex.split(head)[0] if os.name != "nt" else head.strip('"')
    except ValueError:
        return head


# -- reading and writing ---------------------------------------------------------------------------------------
def read(path: Path) -> tuple[str | None, dict[str, Any]]:
    """(the file's text or None when it does not exist, its JSON object). MalformedConfig if not an object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}
    except (OSError, UnicodeDecodeError) as exc:
        raise MalformedConfig(f"cannot read {path}: {exc}; nothing was changed") from None
    if not text.strip():
        return text, {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedConfig(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); fix "
                              "or move it, then run again. Nothing was changed.") from None
    if not isinstance(data, dict):
        raise MalformedConfig(f"{path} holds a JSON {type(data).__name__}, not an object; nothing was changed")
    return text, data


def dump(data: dict[str, Any], like: str | None) -> str:
    """JSON text in the style of ``like`` (indentation, line endings, final newline); 2 spaces for a new file."""
    indent: int | str = 2
    newline, final = "\n", True
    if like:
        match = re.search(r"\n([ \t]+)\S", like)
        if match:
            indent = "\t" if match.group(1).startswith("\t") else len(match.group(1))
        elif "\n" not in like.strip():
            indent = None  # type: ignore[assignment]
        newline = "\r\n" if "\r\n" in like else "\n"
        final = like.endswith(("\n", "\r\n"))
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    if newline != "\n":
        text = text.replace("\n", newline)
    return text + (newline if final else "")


def unified_diff(path: Path, old: str | None, new: str | None) -> str:
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, "/dev/null" if old is None else f"{path} (now)",
                                 "/dev/null" if new is None else f"{path} (after)")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


# -- edits (on parsed JSON; each returns the new object, the input is never changed) ---------------------------
def _section(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise MalformedConfig(f"{path}: {key!r} is a JSON {type(value).__name__}, not an object; nothing was changed")
    return value


def with_server(data: dict[str, Any], name: str, entry: dict[str, Any], path: Path) -> dict[str, Any]:
    """Add or refresh our MCP server ``name`` (a server of that name that is not ours is an error)."""
    servers = _section(data, "mcpServers", path)
    current = servers.get(name)
    if current is not None and not is_our_server(current):
        raise InvalidInputError(f"{path} already has an MCP server named {name!r} that mcp-memory did not install; "
                                "nothing was changed. Choose another name with --server-name")
    if current == entry:
        return data
    out = dict(data)
    out["mcpServers"] = {**servers, name: entry}
    return out


def without_server(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Every MCP server of ours removed; ``mcpServers`` removed if we leave it empty."""
    servers = _section(data, "mcpServers", path)
    kept = {k: v for k, v in servers.items() if not is_our_server(v)}
    if len(kept) == len(servers):
        return data
    return _with_section(data, "mcpServers", kept)


def _with_section(data: dict[str, Any], key: str, value: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with ``key`` set to ``value`` (in its place), or without ``key`` when ``value`` is
    empty."""
    out = dict(data)
    if value:
        out[key] = value
    else:
        out.pop(key, None)
    return out


def _groups(hooks: dict[str, Any], event: str, path: Path) -> list[Any]:
    groups = hooks.get(event, [])
    if not isinstance(groups, list):
        raise MalformedConfig(f"{path}: hooks.{event} is not a list; nothing was changed")
    return groups


def with_hooks(data: dict[str, Any], memory: Path, path: Path) -> dict[str, Any]:
    """Our hook for each event: an existing one of ours is replaced where it stands, else appended last."""
    hooks = dict(_section(data, "hooks", path))
    for event in HOOK_EVENTS:
        wanted = hook_group(memory, event)
        groups = _groups(hooks, event, path)
        ours = [i for i, g in enumerate(groups) if isinstance(g, dict) and
                any(is_our_hook(h) for h in g.get("hooks") or [])]
        if ours:
            first = ours[0]
            only_ours = all(is_our_hook(h) for h in groups[first].get("hooks") or []) and \
                set(groups[first]) <= {"hooks", "matcher"}
            if only_ours and groups[first] == wanted and len(ours) == 1:
                continue
            rest = [g for i, g in enumerate(groups) if i not in ours[1:]]
            rest[first] = wanted if only_ours else _replace_ours(groups[first], wanted["hooks"][0])
            hooks[event] = rest
        else:
            hooks[event] = [*groups, wanted]
    if hooks == data.get("hooks"):
        return data
    out = dict(data)
    out["hooks"] = hooks
    return out


def _replace_ours(group: dict[str, Any], hook: dict[str, Any]) -> dict[str, Any]:
    entries, placed = [], False
    for h in group.get("hooks") or []:
        if is_our_hook(h):
            if not placed:
                entries.append(hook)
                placed = True
        else:
            entries.append(h)
    return {**group, "hooks": entries}


def without_hooks(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Our hooks removed; a group, an event and ``hooks`` itself go when nothing else is left in them."""
    if "hooks" not in data:
        return data
    hooks = _section(data, "hooks", path)
    out_hooks: dict[str, Any] = {}
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            out_hooks[event] = groups
            continue
        kept = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list) and \
                    any(is_our_hook(h) for h in group["hooks"]):
                rest = [h for h in group["hooks"] if not is_our_hook(h)]
                if rest:
                    kept.append({**group, "hooks": rest})
                continue
            kept.append(group)
        if kept or not groups:
            out_hooks[event] = kept
    if out_hooks == hooks:
        return data
    return _with_section(data, "hooks", out_hooks)


def pruned(data: Any) -> Any:
    """``data`` without empty objects and lists (to compare a file with its backup whatever we left empty)."""
    if isinstance(data, dict):
        items = {k: pruned(v) for k, v in data.items()}
        return {k: v for k, v in items.items() if v not in ({}, [])}
    if isinstance(data, list):
        return [pruned(v) for v in data]
    return data

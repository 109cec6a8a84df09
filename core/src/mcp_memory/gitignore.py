"""The ``.gitignore`` rules of a folder tree, enough to skip what git would skip when ingesting a folder.

Supported: blank lines and ``#`` comments, ``!`` negation, a trailing ``/`` for directories only, a ``/`` inside
or at the start anchoring the pattern to the ``.gitignore``'s folder, ``*``, ``?``, ``[...]`` and ``**``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    base: Path  # the folder of the .gitignore
    regex: re.Pattern[str]
    negate: bool
    directory_only: bool


def _translate(pattern: str) -> str:
    """A gitignore glob as a regular expression over a path relative to the rule's folder."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _git_toplevel(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def parse(text: str, base: Path) -> list[Rule]:
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        line = line[1:] if line.startswith("\\") else line
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        body = _translate(line.lstrip("/"))
        regex = re.compile(("^" if anchored else "^(?:.*/)?") + body + "(?:/.*)?$")
        rules.append(Rule(base, regex, negate, directory_only))
    return rules


class Ignorer:
    """The ``.gitignore`` rules that apply under ``root``: those of its folders up to the top of its git work tree,
    then those ``load`` adds while walking down. ``ignored(path)`` applies them in order (the last match wins)."""

    def __init__(self, root: Path):
        self.root = root
        self.rules: list[Rule] = []
        top = _git_toplevel(root)
        ancestors = [] if top is None else [p for p in reversed(root.parents) if p == top or top in p.parents]
        for folder in (*ancestors, root):
            self.load(folder)

    def load(self, folder: Path) -> None:
        ignore = folder / ".gitignore"
        try:
            self.rules.extend(parse(ignore.read_text(encoding="utf-8", errors="replace"), folder))
        except OSError:
            pass

    def ignored(self, path: Path, is_dir: bool) -> bool:
        if path.name == ".git":
            return True
        verdict = False
        for rule in self.rules:
            try:
                relative = path.relative_to(rule.base).as_posix()
            except ValueError:
                continue
            if rule.directory_only and not is_dir:
                # a directory rule still covers files below that directory
                parent = path.parent.relative_to(rule.base).as_posix() if path.parent != rule.base else ""
                if not parent or not rule.regex.match(parent):
                    continue
            if rule.regex.match(relative):
                verdict = not rule.negate
        return verdict

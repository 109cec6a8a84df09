"""``memory claude install | uninstall | status``: register mcp-memory with Claude Code and Claude Desktop.

Every file is read and checked before any is written (a malformed file stops the whole command, nothing
changed). An existing file is backed up (timestamped, in the data directory) before each change, and
``install.json`` there remembers which files existed and their first backup, so that ``uninstall`` gives a file
back byte for byte when nothing but our entries changed in it, and removes files it created.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mcp_memory.config import Settings, default_data_dir
from mcp_memory.errors import InvalidInputError
from mcp_memory.projects import git_toplevel

from . import configs
from .configs import HOOKS, Target

MANIFEST = "claude-install.json"
BACKUPS = "claude-backups"




@dataclass
class Plan:
    """One file's change: its text now (None: missing) and after (None: to delete)."""

    target: Target
    old: str | None
    new: str | None

    @property
    def changed(self) -> bool:
        return self.old != self.new


class Installer:
    """Targets chosen from the options, and the state kept in the data directory."""

    def __init__(self, args: argparse.Namespace, home: Path | None = None, cwd: Path | None = None,
                 data_dir: Path | None = None):
        self.args = args
        self.home = home or Path.home()
        cwd = cwd or Path.cwd()
        self.project_root = git_toplevel(cwd) or cwd
        self.data_dir = data_dir or default_data_dir()
        self.manifest_path = self.data_dir / MANIFEST

    # -- targets -------------------------------------------------------------------------------------------
    def code_present(self) -> bool:
        return (self.home / ".claude.json").exists() or (self.home / ".claude").is_dir() or \
            shutil.which("claude") is not None or self.args.scope == "project"

    def desktop_present(self) -> bool:
        return configs.desktop_config_path(home=self.home).parent.is_dir()

    def targets(self) -> list[Target]:
        want_code, want_desktop = self.args.code, self.args.desktop
        if not want_code and not want_desktop:
            want_code, want_desktop = self.code_present(), self.desktop_present()
            if not want_code and not want_desktop:
                raise InvalidInputError("found neither Claude Code (~/.claude, ~/.claude.json, `claude` on PATH) nor "
                                        "Claude Desktop (its config folder); choose one with --code or --desktop")
        chosen = []
        if want_code:
            chosen += [t for t in configs.code_targets(self.args.scope, self.home, self.project_root)
                       if not (t.kind == HOOKS and getattr(self.args, "no_hooks", False))]
        if want_desktop:
            chosen.append(configs.desktop_target(self.home))
        return chosen

    # -- state -------------------------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"files": {}}
        return data if isinstance(data.get("files"), dict) else {"files": {}}

    def save_manifest(self, data: dict[str, Any]) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.manifest_path, json.dumps(data, indent=2) + "\n")

    def backup(self, path: Path) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        slug = str(path.absolute()).strip("/\\").replace(":", "").replace("/", "_").replace("\\", "_")
        target = self.data_dir / BACKUPS / f"{slug}.{stamp}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        return target

    # -- plans -----------------------------------------------------------------------------------------------
    def plan(self, edit: Callable[[Target, dict[str, Any]], dict[str, Any]], restoring: bool) -> list[Plan]:
        """Read every target first (any malformed file stops here), then compute each new text."""
        read = [(t, *configs.read(t.path)) for t in self.targets()]
        records = self.manifest()["files"]
        plans = []
        for target, text, data in read:
            new_data = edit(target, data)
            if new_data is data:
                plans.append(Plan(target, text, text))
                continue
            new_text: str | None = configs.dump(new_data, text)
            if restoring and new_text is not None:
                new_text = self.restored(target, new_data, new_text, records.get(str(target.path)))
            plans.append(Plan(target, text, new_text))
        return plans

    def restored(self, target: Target, data: dict[str, Any], text: str, record: dict[str, Any] | None) -> str | None:
        """Uninstall: the original bytes when only our entries differ from them; None (delete) for a file we
        created that holds nothing else; else ``text``."""
        if record is None:
            return text
        if not record.get("existed"):
            return None if not configs.pruned(data) else text
        backup = record.get("backup")
        try:
            original = Path(backup).read_text(encoding="utf-8") if backup else None
        except OSError:
            original = None
        if original is not None:
            try:
                same = configs.pruned(json.loads(original or "{}")) == configs.pruned(data)
            except ValueError:
                same = False
            if same:
                return original
        return text

    def apply(self, plans: list[Plan], forget: bool = False) -> list[str]:
        """Write the plans (backups first); lines saying what was done. ``forget`` (uninstall) drops what the
        manifest knew of each changed file, so that a later install records it afresh."""
        manifest = self.manifest()
        records = manifest["files"]
        done = []
        for plan in plans:
            if not plan.changed:
                done.append(f"unchanged  {plan.target.path}  ({plan.target.label})")
                continue
            path = plan.target.path
            record = records.setdefault(str(path), {"existed": plan.old is not None, "backup": None,
                                                    "created_dirs": []})
            note = ""
            if plan.old is not None:
                saved = self.backup(path)
                record["backup"] = record.get("backup") or str(saved)
                note = f" (backup: {saved})"
            if plan.new is None:
                path.unlink()
                for folder in record.get("created_dirs", []):
                    try:
                        Path(folder).rmdir()  # only when empty
                    except OSError:
                        pass
                records.pop(str(path), None)
                done.append(f"removed    {path}  ({plan.target.label}; mcp-memory had created it){note}")
                continue
            for folder in _missing_dirs(path.parent):
                record.setdefault("created_dirs", []).insert(0, str(folder))
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, plan.new)
            if forget:
                records.pop(str(path), None)
            done.append(f"{'updated' if plan.old is not None else 'created'}    {path}  ({plan.target.label}){note}")
        self.save_manifest(manifest)
        return done


def _missing_dirs(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    return missing


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` through a temporary file in the same folder, keeping the file's permissions."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# -- the three actions -------------------------------------------------------------------------------------------
def install_edit(memory: Path, name: str) -> Callable[[Target, dict[str, Any]], dict[str, Any]]:
    def edit(target: Target, data: dict[str, Any]) -> dict[str, Any]:
        if target.kind == HOOKS:
            return configs.with_hooks(data, memory, target.path)
        return configs.with_server(data, name, configs.server_entry(memory, target.client), target.path)
    return edit


def uninstall_edit(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    if target.kind == HOOKS:
        return configs.without_hooks(data, target.path)
    return configs.without_server(data, target.path)


def change(installer: Installer, plans: list[Plan], dry_run: bool, forget: bool = False) -> int:
    if dry_run:
        diffs = [configs.unified_diff(p.target.path, p.old, p.new) for p in plans if p.changed]
        print("".join(diffs) if diffs else "nothing to change")
        if diffs:
            print("(dry run: nothing was written)", file=sys.stderr)
        return 0
    for line in installer.apply(plans, forget):
        print(line)
    return 0


def status(installer: Installer, memory: Path | None, as_json: bool) -> int:
    rows = []
    for target in installer.targets():
        text, data = configs.read(target.path)
        row: dict[str, Any] = {"file": str(target.path), "what": target.label, "exists": text is not None}
        if target.kind == HOOKS:
            hooks: dict[str, Any] = data["hooks"] if isinstance(data.get("hooks"), dict) else {}
            found = {}
            for event in configs.HOOK_EVENTS:
                commands = [h["command"] for g in hooks.get(event) or [] if isinstance(g, dict)
                            for h in g.get("hooks") or [] if configs.is_our_hook(h)]
                found[event] = commands[0] if commands else None
            row["hooks"] = found
            paths = {configs.hook_command_path(c) for c in found.values() if c}
        else:
            servers: dict[str, Any] = data["mcpServers"] if isinstance(data.get("mcpServers"), dict) else {}
            ours = {k: v for k, v in servers.items() if configs.is_our_server(v)}
            row["servers"] = {k: v.get("command") for k, v in ours.items()}
            paths = {str(v.get("command")) for v in ours.values()}
        row["installed"] = bool(paths)
        row["memory_paths"] = {p: Path(p).exists() for p in sorted(paths)}
        rows.append(row)
    if as_json:
        print(json.dumps({"memory": str(memory) if memory else None, "targets": rows}, indent=2))
        return 0
    print(f"this environment's memory command: {memory or 'not found'}")
    for row in rows:
        state = "installed" if row["installed"] else ("not installed" if row["exists"] else "not installed (no file)")
        print(f"{row['what']}: {state}  [{row['file']}]")
        if "hooks" in row and row["installed"]:
            events = [e for e, c in row["hooks"].items() if c]
            print(f"  hooks: {', '.join(events)}")
        if "servers" in row and row["servers"]:
            print(f"  server: {', '.join(row['servers'])}")
        for path, exists in row["memory_paths"].items():
            print(f"  command {path}: {'exists' if exists else 'MISSING (run memory claude install again)'}")
    return 0


def forget(args: argparse.Namespace, settings: Settings) -> int:
    """Move the auto-captured memories of the current project (or ``--project``, or every project) to the trash;
    with ``--dry-run``, count them."""
    from mcp_memory.cli import run_with_service, scope_of
    from mcp_memory.ranking import AUTO_CAPTURED_TAG

    scope = scope_of(args, settings)
    only = None if args.all_projects else scope.write_project  # this project's own, not the global ones

    async def work(service: Any) -> int:
        done, seen = 0, set()
        while True:
            found = await service.search_by_tag([AUTO_CAPTURED_TAG], limit=settings.max_results, scope=scope)
            doomed = [m.content_hash for m in found if (args.all_projects or m.project == only)
                      and m.content_hash not in seen]
            if not doomed:
                return done
            seen.update(doomed)
            for content_hash in doomed:
                if not args.dry_run:
                    await service.delete(content_hash)
                done += 1
            if args.dry_run or len(found) < settings.max_results:
                return done

    count = run_with_service(work, settings, coordinated=True)
    where = "every project" if args.all_projects else (f"project {only}" if only else "global memories")
    verb = "would move" if args.dry_run else "moved"
    print(f"{verb} {count} auto-captured memories ({where}) to the trash"
          + ("" if args.dry_run or not count else "; `memory trash list` shows them, `memory trash restore HASH` "
             "brings one back"))
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "forget":
        return forget(args, settings)
    installer = Installer(args)
    if args.action == "status":
        try:
            memory = configs.memory_executable()
        except InvalidInputError:
            memory = None
        return status(installer, memory, args.json)
    if args.action == "install":
        edit = install_edit(configs.memory_executable(), args.server_name)
        return change(installer, installer.plan(edit, restoring=False), args.dry_run)
    return change(installer, installer.plan(uninstall_edit, restoring=True), args.dry_run, forget=True)

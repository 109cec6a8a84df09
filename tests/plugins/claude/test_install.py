"""``memory claude install | uninstall | status`` on a temporary HOME, as a user runs it (the real ``memory``
command in a subprocess): the user's own entries are kept byte for byte."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from claude_testing import MEMORY_BIN, clean_env

pytestmark = pytest.mark.slow  # real subprocesses

# the user's files as Claude Code and Claude Desktop write them (2-space JSON), with their own entries
CLAUDE_JSON = json.dumps({"numStartups": 42, "theme": "dark", "mcpServers": {
    "github": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
               "env": {"GITHUB_TOKEN": "x"}}}, "projects": {"/home/ana/src/billing-api": {"allowedTools": []}}},
    indent=2)
SETTINGS_JSON = ('{\n    "model": "opus",\n    "permissions": {\n        "allow": ["Bash(npm run test:*)"]\n    },\n'
                 '    "hooks": {\n        "PostToolUse": [\n            {\n                "matcher": "Edit|Write",\n'
                 '                "hooks": [\n                    {\n                        "type": "command",\n'
                 '                        "command": "prettier --write \\"$CLAUDE_PROJECT_DIR\\""\n'
                 '                    }\n                ]\n            }\n        ],\n'
                 '        "SessionStart": [\n            {\n                "hooks": [\n                    {\n'
                 '                        "type": "command",\n                        "command": "echo hello"\n'
                 '                    }\n                ]\n            }\n        ]\n    }\n}\n')
DESKTOP_JSON = json.dumps({"mcpServers": {"filesystem": {"command": "npx", "args": ["-y", "fs", "/home/ana"]}},
                           "globalShortcut": "Ctrl+Space"}, indent=2) + "\n"


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text(CLAUDE_JSON)
    (home / ".claude" / "settings.json").write_text(SETTINGS_JSON)
    (home / ".config" / "Claude").mkdir(parents=True)
    (home / ".config" / "Claude" / "claude_desktop_config.json").write_text(DESKTOP_JSON)
    return home


def claude(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(MEMORY_BIN), "claude", *args], capture_output=True, text=True, env=clean_env(home),
                          cwd=cwd or home, timeout=120)


def files(home: Path) -> dict[str, str]:
    return {p: (home / p).read_text() for p in (".claude.json", ".claude/settings.json",
                                                ".config/Claude/claude_desktop_config.json")}


def test_install_twice_then_uninstall_gives_every_file_back_byte_for_byte(home):
    before = files(home)
    done = claude(home, "install")
    assert done.returncode == 0, done.stderr
    after = files(home)
    code = json.loads(after[".claude.json"])
    assert list(code) == ["numStartups", "theme", "mcpServers", "projects"]  # the user's order is kept
    assert list(code["mcpServers"]) == ["github", "memory"]
    assert code["mcpServers"]["memory"]["command"] == str(MEMORY_BIN)
    assert code["mcpServers"]["github"] == json.loads(CLAUDE_JSON)["mcpServers"]["github"]
    settings = json.loads(after[".claude/settings.json"])
    assert settings["hooks"]["PostToolUse"] == json.loads(SETTINGS_JSON)["hooks"]["PostToolUse"]
    assert settings["hooks"]["SessionStart"][0]["hooks"][0]["command"] == "echo hello"  # theirs first, ours after
    assert settings["hooks"]["SessionStart"][1]["hooks"][0]["command"] == f"{MEMORY_BIN} hook session-start"
    for event in ("UserPromptSubmit", "PreCompact", "SessionEnd"):
        assert settings["hooks"][event][-1]["hooks"][0]["command"].endswith("hook " + {
            "UserPromptSubmit": "user-prompt-submit", "PreCompact": "pre-compact", "SessionEnd": "session-end"}[event])
    assert after[".claude/settings.json"].startswith('{\n    "model"')  # the file's own 4-space indentation
    desktop = json.loads(after[".config/Claude/claude_desktop_config.json"])
    assert list(desktop["mcpServers"]) == ["filesystem", "memory"] and desktop["globalShortcut"] == "Ctrl+Space"
    backups = list((home / ".local/share/mcp-memory/claude-backups").iterdir())
    assert len(backups) == 3 and sorted(b.read_text() for b in backups) == sorted(before.values())

    again = claude(home, "install")
    assert again.returncode == 0 and again.stdout.count("unchanged") == 3
    assert files(home) == after

    done = claude(home, "uninstall")
    assert done.returncode == 0, done.stderr
    assert files(home) == before


def test_uninstall_keeps_what_the_user_added_meanwhile(home):
    claude(home, "install", "--code")
    path = home / ".claude" / "settings.json"
    data = json.loads(path.read_text())
    data["hooks"]["Stop"] = [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
    path.write_text(json.dumps(data, indent=4) + "\n")
    assert claude(home, "uninstall", "--code").returncode == 0
    left = json.loads(path.read_text())
    assert left["hooks"]["Stop"][0]["hooks"][0]["command"] == "notify-send done"
    assert "UserPromptSubmit" not in left["hooks"] and len(left["hooks"]["SessionStart"]) == 1


def test_files_mcp_memory_created_are_removed_again(tmp_path):
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)  # Claude Code is there, but has no files yet
    assert claude(home, "install").returncode == 0
    assert (home / ".claude.json").exists() and (home / ".claude" / "settings.json").exists()
    assert not (home / ".config" / "Claude").exists()  # no Claude Desktop: not touched
    assert claude(home, "uninstall").returncode == 0
    assert not (home / ".claude.json").exists() and not (home / ".claude" / "settings.json").exists()
    assert (home / ".claude").is_dir()


def test_dry_run_prints_a_diff_and_writes_nothing(home):
    before = files(home)
    done = claude(home, "install", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert files(home) == before
    assert f"+++ {home / '.claude.json'} (after)" in done.stdout
    assert '+    "memory": {' in done.stdout and "hook session-start" in done.stdout
    assert not (home / ".local/share/mcp-memory").exists()


def test_malformed_json_is_refused_and_nothing_changes(home):
    (home / ".claude" / "settings.json").write_text('{"hooks": {,}}')
    before = files(home)
    done = claude(home, "install")
    assert done.returncode == 1
    assert "is not valid JSON" in done.stderr and "Nothing was changed" in done.stderr
    assert files(home) == before


def test_a_server_named_memory_that_is_not_ours_is_not_replaced(home):
    data = json.loads(CLAUDE_JSON)
    data["mcpServers"]["memory"] = {"command": "uvx", "args": ["mcp-memory-service"]}
    (home / ".claude.json").write_text(json.dumps(data, indent=2))
    done = claude(home, "install", "--code")
    assert done.returncode == 1 and "--server-name" in done.stderr
    assert claude(home, "install", "--code", "--server-name", "mcp-memory").returncode == 0
    servers = json.loads((home / ".claude.json").read_text())["mcpServers"]
    assert servers["memory"] == {"command": "uvx", "args": ["mcp-memory-service"]} and "mcp-memory" in servers


def test_project_scope_writes_mcp_json_and_project_settings(home, tmp_path):
    project = tmp_path / "billing-api"
    (project / ".git").mkdir(parents=True)
    (project / "app").mkdir()
    done = claude(home, "install", "--scope", "project", cwd=project / "app")
    assert done.returncode == 0, done.stderr
    assert json.loads((project / ".mcp.json").read_text())["mcpServers"]["memory"]["command"] == str(MEMORY_BIN)
    assert "SessionEnd" in json.loads((project / ".claude" / "settings.json").read_text())["hooks"]
    assert claude(home, "uninstall", "--scope", "project", cwd=project).returncode == 0
    assert not (project / ".mcp.json").exists() and not (project / ".claude").exists()


def test_status_says_what_is_installed_and_whether_the_command_exists(home):
    done = claude(home, "status")
    assert done.returncode == 0 and "not installed" in done.stdout
    claude(home, "install")
    data = json.loads(claude(home, "status", "--json").stdout)
    assert data["memory"] == str(MEMORY_BIN)
    assert all(t["installed"] for t in data["targets"])
    assert all(data["targets"][0]["memory_paths"].values())
    hooks = next(t for t in data["targets"] if "hooks" in t)
    assert set(hooks["hooks"]) == {"SessionStart", "UserPromptSubmit", "PreCompact", "SessionEnd"}
    settings = home / ".claude" / "settings.json"  # the environment moved away: the hook path is gone
    settings.write_text(settings.read_text().replace(str(MEMORY_BIN), "/gone/bin/memory"))
    assert "MISSING" in claude(home, "status").stdout

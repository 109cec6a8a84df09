"""Edits of Claude's config files: our entries in, our entries out, everything else as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_memory_claude import configs

MEMORY = Path("/opt/venv/bin/memory")
PATH = Path("settings.json")

names = st.text("abcdefgh_", min_size=1, max_size=8)
user_hook = st.fixed_dictionaries({"type": st.just("command"), "command": st.text("abc -/$\"'", max_size=20)})
group = st.fixed_dictionaries({"hooks": st.lists(user_hook, max_size=2)},
                              optional={"matcher": st.sampled_from(["", "Edit|Write", "startup"])})
events = st.sampled_from(["SessionStart", "UserPromptSubmit", "PreCompact", "SessionEnd", "PostToolUse", "Stop"])
user_settings = st.fixed_dictionaries({}, optional={
    "hooks": st.dictionaries(events, st.lists(group, max_size=3), max_size=4),
    "model": st.sampled_from(["opus", "sonnet"]),
    "mcpServers": st.dictionaries(names, st.fixed_dictionaries({"command": names}), max_size=3)})


@settings(max_examples=200, deadline=None)
@given(user_settings)
def test_hooks_in_then_out_is_the_user_file_again(data):
    installed = configs.with_hooks(data, MEMORY, PATH)
    assert configs.with_hooks(installed, MEMORY, PATH) == installed  # idempotent
    for event in configs.HOOK_EVENTS:
        assert sum(configs.is_our_hook(h) for g in installed["hooks"][event] for h in g["hooks"]) == 1
    assert configs.pruned(configs.without_hooks(installed, PATH)) == configs.pruned(data)


@settings(max_examples=200, deadline=None)
@given(user_settings)
def test_server_in_then_out_is_the_user_file_again(data):
    if "memory" in data.get("mcpServers", {}):
        with pytest.raises(Exception, match="--server-name"):
            configs.with_server(data, "memory", configs.server_entry(MEMORY, "code"), PATH)
        return
    installed = configs.with_server(data, "memory", configs.server_entry(MEMORY, "code"), PATH)
    assert list(installed["mcpServers"])[-1] == "memory"
    assert configs.without_server(installed, PATH) == data or \
        configs.pruned(configs.without_server(installed, PATH)) == configs.pruned(data)


def test_an_older_install_is_replaced_where_it_stands():
    old = configs.with_hooks({}, Path("/old/venv/bin/memory"), PATH)
    old["hooks"]["SessionStart"].append({"hooks": [{"type": "command", "command": "echo after"}]})
    new = configs.with_hooks(old, MEMORY, PATH)
    assert new["hooks"]["SessionStart"][0]["hooks"][0]["command"] == "/opt/venv/bin/memory hook session-start"
    assert new["hooks"]["SessionStart"][1]["hooks"][0]["command"] == "echo after"


def test_our_hooks_are_recognised_by_their_command():
    assert configs.is_our_hook({"type": "command", "command": "'/a b/memory' hook pre-compact"})
    assert configs.is_our_hook({"type": "command", "command": '"C:\\venv\\Scripts\\memory.exe" hook session-end'})
    assert not configs.is_our_hook({"type": "command", "command": "memory-cli hook session-end"})
    assert not configs.is_our_hook({"type": "command", "command": "/bin/memory hook session-end && rm -rf x"})


def test_dump_keeps_indentation_line_endings_and_final_newline():
    assert configs.dump({"a": 1}, '{\r\n\t"a": 0\r\n}') == '{\r\n\t"a": 1\r\n}'
    assert configs.dump({"a": [1]}, '{"a": []}') == '{"a": [1]}'
    assert configs.dump({"a": 1}, None) == '{\n  "a": 1\n}\n'


def test_desktop_config_path_per_platform():
    home = Path("/h")
    assert configs.desktop_config_path("darwin", {}, home) == \
        home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    assert configs.desktop_config_path("win32", {"APPDATA": "/h/AppData/Roaming"}, home) == \
        Path("/h/AppData/Roaming/Claude/claude_desktop_config.json")
    assert configs.desktop_config_path("linux", {}, home) == home / ".config" / "Claude" / "claude_desktop_config.json"

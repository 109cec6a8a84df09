"""docs/configuration.md and docs/cli.md against the code, in the manner of datasette's documentation tests.

- Every declared setting (the core's and every installed plugin's, as ``memory config`` lists them) has a row in
  docs/configuration.md, under the heading of the plugin that declares it, with its default; and every
  ``MCP_*`` name the page mentions is a declared setting or one of the few variables of ``NOT_SETTINGS``.
- Every command that the real ``memory --help`` lists (run as a subprocess, in a throwaway HOME) has a section
  in docs/cli.md, every option and choice that ``memory COMMAND --help`` shows is mentioned in that section, and
  the section's synopsis names no option the command does not have.

A failure names what is missing: document it, or remove what the code no longer has.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mcp_memory.config import CORE_SETTINGS, Setting, Settings
from mcp_memory.plugins import PluginManager

REPO = Path(__file__).resolve().parents[2]
CONFIG_DOC = REPO / "docs" / "configuration.md"
CLI_DOC = REPO / "docs" / "cli.md"
MEMORY = Path(sys.executable).with_name("memory.exe" if os.name == "nt" else "memory")

#: ``MCP_*`` variables that docs/configuration.md may name although no ``Setting`` declares them: each is read
#: (or written) by the code directly, and the page's "Other variables" table says what it does.
NOT_SETTINGS = {
    "MCP_MEMORY_CONFIG": "the config file (core/src/mcp_memory/config.py)",
    "MCP_MEMORY_CLAUDE_VERBOSE": "capture summaries in the hook log (claude plugin)",
    "MCP_MEMORY_INSTALLED_BY": "the marker memory claude install writes (claude plugin)",
}

#: plugins that declare settings, with their import package: with the plugin installed, its group must be there
SETTING_OWNERS = {"sqlite_vec": "mcp_memory_sqlite_vec", "onnx": "mcp_memory_onnx", "http": "mcp_memory_http",
                  "chroma": "mcp_memory_chroma", "pgvector": "mcp_memory_pgvector", "claude": "mcp_memory_claude"}
#: commands that plugins add, with their import package
PLUGIN_COMMANDS = {"http": "mcp_memory_http", "onnx-export": "mcp_memory_onnx", "claude": "mcp_memory_claude",
                   "hook": "mcp_memory_claude"}

pytestmark = pytest.mark.slow  # real `memory` processes

_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


# -- what the code declares --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def setting_groups() -> list[tuple[str, tuple[Setting, ...]]]:
    """(owner, settings) as ``memory config`` groups them: the core first, then each installed plugin."""
    groups = [(owner, tuple(declared)) for owner, declared in PluginManager(Settings()).setting_groups()]
    assert groups[0] == ("core", CORE_SETTINGS)
    return groups


def declared() -> list[tuple[str, Setting]]:
    return [(owner, setting) for owner, settings in setting_groups() for setting in settings]


@functools.lru_cache(maxsize=1)
def _home() -> str:
    """A throwaway HOME for the whole run (the commands are needed at collection time, before any fixture)."""
    home = tempfile.mkdtemp(prefix="mcp-memory-docs-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    return home


def run_memory(*args: str) -> str:
    """``memory ARGS`` in a throwaway HOME (nothing read from or written to the user's files); its stdout."""
    home = Path(_home())
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CONFIG_HOME": str(home / "config"), "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
    for name in ("MCP_MEMORY_CONFIG", "MCP_MEMORY_PLUGINS", "MCP_MEMORY_DISABLE_PLUGINS"):
        env.pop(name, None)
    done = subprocess.run([str(MEMORY), *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"memory {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return done.stdout


def section(text: str, title: str) -> list[str]:
    """The lines of an argparse help section (``options:``, ``positional arguments:``)."""
    lines = text.splitlines()
    try:
        start = lines.index(title) + 1
    except ValueError:
        return []
    end = next((i for i in range(start, len(lines)) if lines[i] and not lines[i].startswith(" ")), len(lines))
    return lines[start:end]


@functools.lru_cache(maxsize=1)
def commands() -> tuple[str, ...]:
    """The commands of the real ``memory --help``: the names indented under ``COMMAND``."""
    names = [m.group(1) for line in section(run_memory("--help"), "positional arguments:")
             if (m := re.match(r"^ {4}([a-z][a-z0-9-]*)(?:\s|$)", line))]
    assert len(names) > 10, f"could not read the commands of memory --help: {names}"
    return tuple(names)


@functools.lru_cache(maxsize=1)
def helps() -> dict[str, str]:
    """``memory COMMAND --help`` of every command (a few at a time: each is a fresh interpreter)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(commands(), pool.map(lambda name: run_memory(name, "--help"), commands())))


def options_of(help_text: str) -> list[str]:
    """Every option string of the ``options:`` section (``-n``, ``--tags``), less ``-h``/``--help``."""
    found: list[str] = []
    for line in section(help_text, "options:"):
        if not re.match(r"^ {2}-", line):
            continue  # a continuation line of some help text
        synopsis = re.split(r" {2,}", line.strip())[0]  # "-h, --help", "--mode {a,b}", "--tags TAGS"
        for alias in synopsis.split(", "):
            flag = alias.split(" ")[0]
            if flag not in ("-h", "--help"):
                found.append(flag)
    return found


def choices_of(help_text: str) -> list[str]:
    """The choices of positional arguments (``{list,restore,purge}``)."""
    found: list[str] = []
    for line in section(help_text, "positional arguments:"):
        m = re.match(r"^ {2}\{([^}]*)\}", line)
        if m:
            found += m.group(1).split(",")
    return found


# -- what the docs say --------------------------------------------------------------------------------------------
def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def setting_rows() -> dict[str, tuple[str, list[str]]]:
    """Each table row of docs/configuration.md whose first cell is one variable: (the ### heading above it, cells)."""
    rows: dict[str, tuple[str, list[str]]] = {}
    heading = ""
    for line in read(CONFIG_DOC).splitlines():
        if line.startswith("#"):
            heading = line
        elif line.startswith("| `"):
            row = cells(line)
            m = re.fullmatch(r"`([A-Z][A-Z0-9_]*)`", row[0])
            if m:
                rows.setdefault(m.group(1), (heading, row))
    return rows


def cli_sections() -> dict[str, str]:
    """``### memory NAME`` sections of docs/cli.md: name -> the section's text up to the next heading."""
    found: dict[str, str] = {}
    parts = re.split(r"^(#{1,3} .*)$", read(CLI_DOC), flags=re.M)
    for title, body in zip(parts[1::2], parts[2::2]):
        m = re.fullmatch(r"### memory ([a-z][a-z0-9-]*)", title.strip())
        if m:
            found[m.group(1)] = body
    return found


def mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


# -- docs/configuration.md ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("owner,setting", declared(), ids=[s.env for _, s in declared()])
def test_setting_has_a_row_under_its_owner(owner: str, setting: Setting) -> None:
    rows = setting_rows()
    assert setting.env in rows, f"{setting.env} ({owner}) has no row in docs/configuration.md"
    heading, _ = rows[setting.env]
    assert heading.startswith(f"### {owner} ") or heading == f"### {owner}", \
        f"{setting.env} is declared by {owner}, but its row is under {heading!r}"


@pytest.mark.parametrize("owner,setting", declared(), ids=[s.env for _, s in declared()])
def test_setting_default_is_documented(owner: str, setting: Setting) -> None:
    """The default column carries the default as ``memory config`` shows it (paths aside: they depend on HOME)."""
    row = setting_rows().get(setting.env)
    if row is None:
        pytest.fail(f"{setting.env} has no row in docs/configuration.md")
    default_cell = row[1][1]
    shown = Settings().resolve(setting).shown()
    if shown == "":
        assert default_cell.startswith("none"), f"{setting.env} has no default; the doc says {default_cell!r}"
    elif os.sep in shown or "/" in shown:
        assert "data dir" in default_cell, f"{setting.env} defaults to a path in the data directory"
    else:
        expected = shown.lower() if isinstance(setting.default_value(), bool) else shown
        assert f"`{expected}`" in default_cell, \
            f"{setting.env} defaults to {expected!r}; the doc says {default_cell!r}"


def test_every_variable_named_in_configuration_md_exists() -> None:
    names = set(re.findall(r"\bMCP_[A-Z0-9_]*[A-Z0-9]\b", read(CONFIG_DOC)))
    unknown = names - {s.env for _, s in declared()} - set(NOT_SETTINGS)
    assert not unknown, f"docs/configuration.md names variables that nothing declares: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(NOT_SETTINGS))
def test_allow_listed_variables_are_real_and_undeclared(name: str) -> None:
    """The allow list stays short and true: each name is used by the code, documented, and not a setting."""
    assert name not in {s.env for _, s in declared()}, f"{name} is a declared setting now: drop it from NOT_SETTINGS"
    sources = [*(REPO / "core" / "src").rglob("*.py"), *(REPO / "plugins").glob("*/src/**/*.py")]
    assert any(name in path.read_text(encoding="utf-8") for path in sources), f"no code uses {name} any more"
    assert f"`{name}`" in read(CONFIG_DOC)


@pytest.mark.parametrize("owner", sorted(SETTING_OWNERS))
def test_plugins_settings_are_seen(owner: str) -> None:
    """An installed plugin's settings reach setting_groups() (else the tests above would check nothing of it)."""
    pytest.importorskip(SETTING_OWNERS[owner])
    assert owner in dict(setting_groups()), f"the {owner} plugin is installed but declares no settings"


# -- docs/cli.md --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", commands())
def test_command_has_a_section(command: str) -> None:
    text = read(CLI_DOC)
    heading = re.search(rf"^#+ .*`?memory {re.escape(command)}`?\s*$", text, re.M)
    row = re.search(rf"^\| `memory {re.escape(command)}(?![\w-])", text, re.M)
    assert heading or row, f"`memory {command}` has no heading or table row in docs/cli.md"


@pytest.mark.parametrize("command", commands())
def test_options_are_mentioned(command: str) -> None:
    """Every option of ``memory COMMAND --help`` appears in the command's section (table, text or synopsis)."""
    body = cli_sections().get(command)
    assert body is not None, f"docs/cli.md has no `### memory {command}` section"
    missing = [option for option in options_of(helps()[command]) if not mentions(body, option)]
    assert not missing, f"the section of `memory {command}` in docs/cli.md does not mention {missing}"


@pytest.mark.parametrize("command", commands())
def test_choices_are_mentioned(command: str) -> None:
    """Every choice of a positional argument (``memory trash {list,restore,purge}``) appears in the section."""
    body = cli_sections().get(command, "")
    missing = [choice for choice in choices_of(helps()[command])
               if not (f"`{choice}" in body or f"{{{choice}" in body or f",{choice}" in body)]
    assert not missing, f"the section of `memory {command}` in docs/cli.md does not mention {missing}"


def test_sections_are_real_commands() -> None:
    stale = sorted(set(cli_sections()) - set(commands()))
    assert not stale, f"docs/cli.md documents commands that `memory --help` does not list: {stale}"


@pytest.mark.parametrize("command", commands())
def test_synopsis_has_only_real_options(command: str) -> None:
    """The synopsis (the ``text`` block that starts with ``memory COMMAND``) names only options the command has."""
    body = cli_sections().get(command, "")
    block = re.search(rf"```text\n(memory {re.escape(command)}(?:\s.*?)?)```", body, re.S)
    assert block, f"the section of `memory {command}` has no synopsis block"
    have = set(options_of(helps()[command]))
    extra = sorted(set(_OPTION.findall(block.group(1))) - have)
    assert not extra, f"the synopsis of `memory {command}` names options it does not have: {extra}"


@pytest.mark.parametrize("command", sorted(PLUGIN_COMMANDS))
def test_plugin_commands_are_listed(command: str) -> None:
    """With the plugin installed, its command is in ``memory --help`` (so its options are checked above)."""
    pytest.importorskip(PLUGIN_COMMANDS[command])
    assert command in commands()

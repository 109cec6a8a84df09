"""Every hook of the core is documented in docs/plugin-authoring.md and implemented by a plugin in the tests
(datasette's rule: an undocumented or untested hook is a bug)."""

import inspect
import re
from pathlib import Path

import pytest

from mcp_memory import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("memory_"))


def test_there_are_hooks():
    assert len(HOOKS) >= 10


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_in_the_authoring_guide(hook):
    guide = (ROOT / "docs" / "plugin-authoring.md").read_text(encoding="utf-8")
    assert f"### `{hook}`" in guide, f"docs/plugin-authoring.md has no section for {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_implemented_by_a_test_plugin(hook):
    pattern = re.compile(rf"def {hook}\(|\b{hook}=")
    files = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "core" / "src" / "mcp_memory" / "testing").rglob("*.py")]
    users = [p for p in files if pattern.search(p.read_text(encoding="utf-8"))]
    assert users, f"no test implements {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docstring_contract(hook):
    assert len(inspect.getdoc(getattr(hookspecs, hook)) or "") > 60

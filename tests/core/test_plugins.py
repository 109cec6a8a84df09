import sys
import types
from importlib.metadata import EntryPoint

import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import PluginError
from mcp_memory.hookspecs import hookimpl
from mcp_memory.plugins import PluginManager


class FakeDist:
    def __init__(self, name):
        self.name, self.version = name, "9.9"


def fake_entry_point(name, module_name, dist):
    ep = EntryPoint(name=name, value=module_name, group="mcp_memory")
    return ep._for(FakeDist(dist)) if hasattr(ep, "_for") else ep


@pytest.fixture
def good_module(monkeypatch):
    module = types.ModuleType("fake_good_plugin")

    @hookimpl
    def memory_register_storage(register):
        register("good_store", lambda settings, location=None: "a store")

    module.memory_register_storage = memory_register_storage
    monkeypatch.setitem(sys.modules, "fake_good_plugin", module)
    return module


def manager(settings, *eps):
    return PluginManager(settings, entry_points_source=lambda: list(eps))


def test_broken_plugin_is_recorded_not_raised(good_module, capsys):
    pm = manager(Settings(), fake_entry_point("broken", "no_such_module_xyz", "mcp-memory-broken"),
                 fake_entry_point("good", "fake_good_plugin", "mcp-memory-good"))
    assert [p.name for p in pm.loaded] == ["good"]
    assert pm.loaded[0].hooks == ("memory_register_storage",)
    [failure] = pm.failed
    assert failure.name == "broken" and failure.distribution == "mcp-memory-broken"
    assert "no_such_module_xyz" in failure.error
    assert pm.storage_factory("good_store")(Settings()) == "a store"
    err = capsys.readouterr()
    assert "mcp-memory-broken" in err.err and err.out == ""


def test_strict_mode_fails_hard():
    with pytest.raises(PluginError, match="mcp-memory-broken"):
        manager(Settings(plugins_strict=True), fake_entry_point("broken", "no_such_module_xyz", "mcp-memory-broken"))


def test_allow_and_deny_lists(good_module):
    ep = fake_entry_point("good", "fake_good_plugin", "mcp-memory-good")
    assert manager(Settings(plugins_allowed=frozenset({"other"})), ep).skipped == ["good"]
    assert manager(Settings(plugins_disabled=frozenset({"good"})), ep).skipped == ["good"]
    assert [p.name for p in manager(Settings(plugins_allowed=frozenset({"good"})), ep).loaded] == ["good"]


def test_missing_backend_error_names_the_fix():
    pm = manager(Settings())
    with pytest.raises(PluginError, match="pip install mcp-memory-sqlite-vec"):
        pm.storage_factory("sqlite_vec")
    with pytest.raises(PluginError, match="embedder"):
        pm.embedder_factory(None)


def test_missing_backend_error_mentions_the_load_failure():
    pm = manager(Settings(), fake_entry_point("sqlite_vec", "no_such_module_xyz", "mcp-memory-sqlite-vec"))
    with pytest.raises(PluginError, match="failed to load"):
        pm.storage_factory("sqlite_vec")


def test_core_imports_no_plugin():
    import subprocess

    code = ("import sys, mcp_memory, mcp_memory.service, mcp_memory.cli, mcp_memory.plugins;"
            "bad=[m for m in sys.modules if m.startswith(('mcp_memory_', 'torch', 'numpy', 'sqlite_vec'))];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

import sys
import types
from importlib.metadata import EntryPoint

import pytest

from mcp_memory.config import Setting, Settings
from mcp_memory.coordination import DIRECT, Coordination, detect
from mcp_memory.errors import PluginError
from mcp_memory.hookspecs import hookimpl
from mcp_memory.plugins import PluginManager
from mcp_memory.registration import Command, EmbedderBackend, StorageBackend


class FakeDist:
    def __init__(self, name):
        self.name, self.version = name, "9.9"


def fake_entry_point(name, module_name, dist):
    ep = EntryPoint(name=name, value=module_name, group="mcp_memory")
    return ep._for(FakeDist(dist)) if hasattr(ep, "_for") else ep


def plugin_module(monkeypatch, name, **hooks):
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, hookimpl(fn))
    monkeypatch.setitem(sys.modules, name, module)
    return module


@pytest.fixture
def good_module(monkeypatch):
    return plugin_module(monkeypatch, "fake_good_plugin", memory_register_storage=lambda register: register(
        StorageBackend(name="good_store", factory=lambda settings, location: "a store")))


def manager(settings, *eps):
    return PluginManager(settings, entry_points_source=lambda: list(eps))


def test_broken_plugin_is_recorded_not_raised(good_module, capsys):
    pm = manager(Settings(), fake_entry_point("broken", "no_such_module_xyz", "mcp-memory-broken"),
                 fake_entry_point("good", "fake_good_plugin", "mcp-memory-good"))
    assert [p.name for p in pm.loaded] == ["good"]
    assert pm.loaded[0].hooks == ("memory_register_storage",)
    [failure] = pm.failed
    assert failure.name == "broken" and failure.distribution == "mcp-memory-broken" and failure.stage == "load"
    assert "no_such_module_xyz" in failure.error and "MCP_MEMORY_DISABLE_PLUGINS=broken" in failure.fix
    assert pm.storage_backend("good_store").factory(Settings(), None) == "a store"
    err = capsys.readouterr()
    assert "mcp-memory-broken" in err.err and err.out == ""


def test_a_raising_hook_is_contained_and_recorded(monkeypatch, good_module):
    def explode(register):
        raise RuntimeError("boom at registration")

    plugin_module(monkeypatch, "fake_bad_hook", memory_register_storage=explode,
                  memory_coordinate=lambda settings, open_direct: 1 / 0)
    pm = manager(Settings(), fake_entry_point("bad", "fake_bad_hook", "mcp-memory-bad"),
                 fake_entry_point("good", "fake_good_plugin", "mcp-memory-good"))
    assert sorted(pm.registry.storages) == ["good_store"]
    [failure] = pm.failed
    assert (failure.name, failure.stage) == ("bad", "memory_register_storage") and "boom" in failure.error
    assert pm.first_result("memory_coordinate", settings=Settings(), open_direct=None) is None
    assert {f.stage for f in pm.failed} == {"memory_register_storage", "memory_coordinate"}


def test_coordination_falls_back_to_direct_when_a_coordinator_raises(monkeypatch):
    from mcp_memory import plugins

    plugin_module(monkeypatch, "fake_bad_coordinator", memory_coordinate=lambda settings, open_direct: 1 / 0)
    pm = manager(Settings(), fake_entry_point("badco", "fake_bad_coordinator", "mcp-memory-badco"))
    monkeypatch.setattr(plugins, "_override", pm)
    assert detect(Settings()).mode == DIRECT
    assert pm.failed[0].stage == "memory_coordinate"


def test_malformed_registration_and_duplicates_name_both_plugins(monkeypatch):
    plugin_module(monkeypatch, "fake_positional", memory_register_storage=lambda register: register("x", object))
    plugin_module(monkeypatch, "fake_first", memory_register_embedder=lambda register: register(
        EmbedderBackend(name="same", factory=lambda s: "first")))
    plugin_module(monkeypatch, "fake_second", memory_register_embedder=lambda register: register(
        EmbedderBackend(name="same", factory=lambda s: "second")))
    pm = manager(Settings(), fake_entry_point("a_positional", "fake_positional", "d1"),
                 fake_entry_point("b_first", "fake_first", "d2"), fake_entry_point("c_second", "fake_second", "d3"))
    assert pm.registry.storages == {}
    assert pm.embedder_backend("same").factory(Settings()) in ("first", "second")
    stages = {f.name: f.error for f in pm.failed}
    assert "StorageBackend(...)" in stages["a_positional"]
    duplicate = next(f for f in pm.failed if "already registered" in f.error)
    assert duplicate.name == "c_second" and "'same'" in duplicate.error and "plugin 'b_first'" in duplicate.error


def test_check_pending_reports_misspelled_hooks(monkeypatch):
    plugin_module(monkeypatch, "fake_typo", memory_register_storag=lambda register: None)
    pm = manager(Settings(), fake_entry_point("typo", "fake_typo", "mcp-memory-typo"))
    [problem] = pm.check_pending()
    assert "memory_register_storag" in problem and "misspelled" in problem
    assert pm.failed[0].stage == "check_pending"


def test_strict_mode_fails_hard(monkeypatch):
    with pytest.raises(PluginError, match="mcp-memory-broken"):
        manager(Settings(plugins_strict=True), fake_entry_point("broken", "no_such_module_xyz", "mcp-memory-broken"))
    plugin_module(monkeypatch, "fake_raiser", memory_register_storage=lambda register: 1 / 0)
    pm = manager(Settings(plugins_strict=True), fake_entry_point("raiser", "fake_raiser", "mcp-memory-raiser"))
    with pytest.raises(PluginError, match="ZeroDivisionError"):
        pm.registry


def test_allow_and_deny_lists(good_module):
    ep = fake_entry_point("good", "fake_good_plugin", "mcp-memory-good")
    assert manager(Settings(plugins_allowed=frozenset({"other"})), ep).skipped == ["good"]
    assert manager(Settings(plugins_disabled=frozenset({"good"})), ep).skipped == ["good"]
    assert [p.name for p in manager(Settings(plugins_allowed=frozenset({"good"})), ep).loaded] == ["good"]


def test_missing_backend_errors_suggest_what_exists(good_module):
    pm = manager(Settings(), fake_entry_point("good", "fake_good_plugin", "mcp-memory-good"))
    with pytest.raises(PluginError, match="Did you mean 'good_store'") as error:
        pm.storage_backend("good_stor")
    assert "pip install mcp-memory-good-stor" not in str(error.value) and "memory plugins" in str(error.value)
    with pytest.raises(PluginError, match="embedder"):
        pm.embedder_backend(None)


def test_missing_backend_error_mentions_the_load_failure():
    pm = manager(Settings(), fake_entry_point("sqlite_vec", "no_such_module_xyz", "mcp-memory-sqlite-vec"))
    with pytest.raises(PluginError, match="failed \\(load\\)"):
        pm.storage_backend("sqlite_vec")


def test_default_embedder_is_the_highest_priority(monkeypatch):
    plugin_module(monkeypatch, "fake_embedders", memory_register_embedder=lambda register: [
        register(EmbedderBackend(name="light", factory=lambda s: "light", priority=100)),
        register(EmbedderBackend(name="heavy", factory=lambda s: "heavy", priority=10))])
    pm = manager(Settings(), fake_entry_point("emb", "fake_embedders", "d"))
    assert pm.embedder_backend(None).name == "light" and pm.embedder_backend("heavy").name == "heavy"


def test_plugin_settings_and_commands_are_collected(monkeypatch):
    declared = [Setting("MCP_MEMORY_DEMO_URL", "demo url", "x")]
    plugin_module(monkeypatch, "fake_settings", memory_settings=lambda: declared,
                  memory_register_cli=lambda register: register(Command(name="demo", help="a demo",
                                                                         configure=lambda p: None,
                                                                         run=lambda args, settings: 0)))
    pm = manager(Settings(), fake_entry_point("demo", "fake_settings", "d"))
    assert pm.setting_groups()[1] == ("demo", tuple(declared))
    assert pm.setting_groups()[0][0] == "core" and list(pm.registry.commands) == ["demo"]
    assert pm.owner("command", "demo") == "demo"


def test_plugins_add_their_own_hookspecs(monkeypatch):
    specs = types.ModuleType("fake_specs")
    from mcp_memory.hookspecs import hookspec

    @hookspec
    def memory_demo_hook(value):
        """A hook a plugin adds."""

    specs.memory_demo_hook = memory_demo_hook
    plugin_module(monkeypatch, "fake_spec_owner",
                  memory_add_hookspecs=lambda pluginmanager: pluginmanager.add_hookspecs(specs))
    plugin_module(monkeypatch, "fake_spec_user", memory_demo_hook=lambda value: value * 2)
    pm = manager(Settings(), fake_entry_point("a_owner", "fake_spec_owner", "d1"),
                 fake_entry_point("b_user", "fake_spec_user", "d2"))
    assert [r for _, r in pm.call_each("memory_demo_hook", value=21)] == [42]
    assert pm.check_pending() == []


def test_coordination_answers_are_coordinations():
    chosen = Coordination(DIRECT, "why", lambda: None)
    assert chosen.mode == "direct"


def test_core_imports_no_plugin():
    import subprocess

    code = ("import sys, mcp_memory, mcp_memory.service, mcp_memory.cli, mcp_memory.plugins, mcp_memory.mcp_server;"
            "bad=[m for m in sys.modules if m.startswith(('mcp_memory_', 'torch', 'numpy', 'sqlite_vec', 'onnx'))];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

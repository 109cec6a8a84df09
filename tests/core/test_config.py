import os
from pathlib import Path

import pytest

from mcp_memory.config import (
    CORE_SETTINGS,
    Setting,
    Settings,
    as_bool,
    as_int,
    default_config_file,
    default_data_dir,
    describe,
)
from mcp_memory.errors import ConfigError


def test_defaults_match_the_design():
    s = Settings.from_env({"HOME": "/home/u"})
    assert s.storage_backend == "sqlite_vec"
    assert s.embedding_model == "all-MiniLM-L6-v2"
    assert s.embedder is None and s.project is None
    assert s.plugins_allowed is None and s.plugins_disabled is None and not s.plugins_strict
    assert s.log_level == "info" and not s.debug
    assert s.trash_days == 30 and s.tool_set == "classic" and s.config_file is None


def test_platform_default_paths():
    env = {"HOME": "/home/u", "LOCALAPPDATA": r"C:\Users\u\AppData\Local", "APPDATA": r"C:\Users\u\AppData\Roaming"}
    assert default_data_dir("linux", env) == Path("/home/u/.local/share/mcp-memory")
    assert default_data_dir("linux", {**env, "XDG_DATA_HOME": "/x"}) == Path("/x/mcp-memory")
    assert default_data_dir("darwin", env) == Path("/home/u/Library/Application Support/mcp-memory")
    assert default_data_dir("win32", env) == Path(r"C:\Users\u\AppData\Local") / "mcp-memory"
    assert default_config_file("linux", env) == Path("/home/u/.config/mcp-memory/config.toml")
    assert default_config_file("linux", {**env, "XDG_CONFIG_HOME": "/c"}) == Path("/c/mcp-memory/config.toml")
    assert default_config_file("darwin", env) == Path("/home/u/Library/Application Support/mcp-memory/config.toml")
    assert default_config_file("win32", env) == Path(r"C:\Users\u\AppData\Roaming") / "mcp-memory" / "config.toml"


def test_every_core_variable_is_read():
    env = {"HOME": "/h", "MCP_MEMORY_STORAGE_BACKEND": "chroma", "MCP_MEMORY_EMBEDDER": "onnx",
           "MCP_MEMORY_EMBEDDING_MODEL": "/models/x", "MCP_MEMORY_PROJECT": "api", "MCP_MEMORY_MIN_RELEVANCE": "0.2",
           "MCP_MEMORY_DUPLICATE_THRESHOLD": "off", "MCP_MEMORY_TRASH_DAYS": "7", "MCP_MEMORY_TOOL_SET": "current",
           "MCP_MEMORY_PLUGINS": "a,b", "MCP_MEMORY_DISABLE_PLUGINS": "c", "MCP_MEMORY_PLUGINS_STRICT": "yes",
           "MCP_MEMORY_MAX_CONTENT_LENGTH": "500", "MCP_MEMORY_MAX_RESULTS": "20", "LOG_LEVEL": "warning"}
    s = Settings.from_env(env)
    assert (s.storage_backend, s.embedder, s.embedding_model, s.project) == ("chroma", "onnx", "/models/x", "api")
    assert (s.min_relevance, s.duplicate_threshold, s.trash_days, s.tool_set) == (0.2, None, 7, "current")
    assert s.plugins_allowed == {"a", "b"} and s.plugins_disabled == {"c"} and s.plugins_strict
    assert (s.max_content_length, s.max_results, s.log_level) == (500, 20, "warning")
    assert Settings.from_env({"DEBUG_MODE": "true"}).log_level == "debug"
    assert {setting.name for setting in CORE_SETTINGS} <= set(Settings.__dataclass_fields__)


@pytest.mark.parametrize("env", [{"MCP_MEMORY_MAX_RESULTS": "x"}, {"MCP_MEMORY_MAX_RESULTS": "0"},
                                 {"MCP_MEMORY_PLUGINS_STRICT": "maybe"}, {"LOG_LEVEL": "LOUD"},
                                 {"MCP_MEMORY_MIN_RELEVANCE": "2"}, {"MCP_MEMORY_TOOL_SET": "new"}])
def test_bad_values_name_the_variable(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        Settings.from_env(env)


PLUGIN = (Setting("MCP_MEMORY_DEMO_URL", "where the demo store lives", "http://localhost:1"),
          Setting("MCP_MEMORY_DEMO_PORT", "its port", 5, as_int(1, 65535)),
          Setting("MCP_MEMORY_DEMO_TOKEN", "its token", None, secret=True),
          Setting("MCP_MEMORY_DEMO_FAST", "go fast", False, as_bool, key="fast_mode"))


def test_a_plugin_reads_its_own_settings_from_env_then_file_then_default(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('MCP_MEMORY_DEMO_URL = "http://file:2"\nMCP_MEMORY_DEMO_PORT = 7\n'
                      'MCP_MEMORY_DEMO_FAST = true\nMCP_MEMORY_TRASH_DAYS = 3\n', encoding="utf-8")
    s = Settings.from_env({"MCP_MEMORY_CONFIG": str(config), "MCP_MEMORY_DEMO_PORT": "9",
                           "MCP_MEMORY_DEMO_TOKEN": "t0k"})
    section = s.section(PLUGIN)
    got = (section.demo_url, section.demo_port, section.demo_token, section.fast_mode)
    assert got == ("http://file:2", 9, "t0k", True)
    assert s.trash_days == 3 and s.config_file == config
    shown = {r.setting.env: (r.shown(), r.source) for _, r in describe(s, [("demo", PLUGIN)])}
    assert shown["MCP_MEMORY_DEMO_URL"] == ("http://file:2", "file")
    assert shown["MCP_MEMORY_DEMO_PORT"] == ("9", "environment")
    assert shown["MCP_MEMORY_DEMO_TOKEN"] == ("***", "environment")
    assert Settings.from_env({}).section(PLUGIN).demo_port == 5


def test_the_default_config_file_is_read_when_present(tmp_path):
    folder = tmp_path / "mcp-memory"
    folder.mkdir()
    (folder / "config.toml").write_text('MCP_MEMORY_PROJECT = "from-file"\n', encoding="utf-8")
    assert Settings.from_env({"XDG_CONFIG_HOME": str(tmp_path)}).project == "from-file"


def test_bad_files_and_values_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        Settings.from_env({"MCP_MEMORY_CONFIG": str(tmp_path / "missing.toml")})
    broken = tmp_path / "broken.toml"
    broken.write_text("MCP_MEMORY_PROJECT = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.from_env({"MCP_MEMORY_CONFIG": str(broken)})
    with pytest.raises(ConfigError, match="MCP_MEMORY_DEMO_PORT must be an integer, got 'x'"):
        Settings.from_env({"MCP_MEMORY_DEMO_PORT": "x"}).section(PLUGIN)
    with pytest.raises(ConfigError) as secret:
        Settings.from_env({"MCP_MEMORY_DEMO_PORT": "99999"}).section(
            (Setting("MCP_MEMORY_DEMO_PORT", "x", 1, as_int(1, 10), secret=True),))
    assert "99999" not in str(secret.value) and "***" in str(secret.value)


def test_with_changes_sets_attributes_and_variables():
    s = Settings.from_env({"MCP_MEMORY_DEMO_PORT": "9"})
    changed = s.with_changes(max_results=3, MCP_MEMORY_DEMO_PORT=11, MCP_MEMORY_PROJECT="p")
    assert changed.max_results == 3 and changed.project == "p" and changed.section(PLUGIN).demo_port == 11
    assert s.section(PLUGIN).demo_port == 9 and s.project is None


def test_variables_keep_attributes_set_before():
    s = Settings(embedding_model="/models/mine", max_results=7).with_changes(MCP_MEMORY_DEMO_PORT="12")
    assert (s.embedding_model, s.max_results, s.section(PLUGIN).demo_port) == ("/models/mine", 7, 12)
    again = s.with_changes(MCP_MEMORY_EMBEDDING_MODEL="other", DEBUG_MODE="true")
    assert (again.embedding_model, again.max_results, again.log_level) == ("other", 7, "debug")


def test_toml_lists_keep_each_settings_separator(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('MCP_MEMORY_INGEST_ROOTS = ["/srv/docs", "/srv/my notes"]\n'
                      'MCP_MEMORY_PLUGINS = ["sqlite_vec", "onnx"]\n', encoding="utf-8")
    s = Settings.from_env({"MCP_MEMORY_CONFIG": str(config)})
    assert s.ingest_roots == (Path("/srv/docs"), Path("/srv/my notes"))
    assert s.plugins_allowed == frozenset({"sqlite_vec", "onnx"})
    from_env = Settings.from_env({"MCP_MEMORY_INGEST_ROOTS": os.pathsep.join(["/a", "/b"]),
                                  "MCP_MEMORY_PLUGINS": "sqlite_vec, onnx"})
    assert from_env.ingest_roots == (Path("/a"), Path("/b")) and from_env.plugins_allowed == s.plugins_allowed
    shown = {r.setting.env: r.shown() for _, r in describe(from_env, [("core", CORE_SETTINGS)])}
    assert shown["MCP_MEMORY_INGEST_ROOTS"] == os.pathsep.join(["/a", "/b"])  # as it is written in the environment

from pathlib import Path

import pytest

from mcp_memory.config import Settings, default_data_dir, parse_pragmas
from mcp_memory.errors import ConfigError


def test_defaults_match_the_design():
    s = Settings.from_env({"HOME": "/home/u"})
    assert s.storage_backend == "sqlite_vec"
    assert s.embedding_model == "all-MiniLM-L6-v2"
    assert (s.http_host, s.http_port, s.http_enabled, s.http_auto_start) == ("127.0.0.1", 8000, True, False)
    assert s.api_key is None and s.plugins_allowed is None and s.plugins_disabled == frozenset()
    assert s.log_level == "INFO" and not s.debug


def test_platform_default_paths():
    env = {"HOME": "/home/u", "LOCALAPPDATA": r"C:\Users\u\AppData\Local"}
    assert default_data_dir("linux", env) == Path("/home/u/.local/share/mcp-memory")
    assert default_data_dir("linux", {**env, "XDG_DATA_HOME": "/x"}) == Path("/x/mcp-memory")
    assert default_data_dir("darwin", env) == Path("/home/u/Library/Application Support/mcp-memory")
    assert default_data_dir("win32", env) == Path(r"C:\Users\u\AppData\Local") / "mcp-memory"
    assert Settings.from_env({"HOME": "/home/u"}).sqlite_path == Path("/home/u/.local/share/mcp-memory/sqlite_vec.db")


def test_every_variable_is_read():
    env = {
        "HOME": "/h", "MCP_MEMORY_STORAGE_BACKEND": "chroma", "MCP_MEMORY_SQLITE_PATH": "/d/m.db",
        "MCP_MEMORY_SQLITE_PRAGMAS": "busy_timeout=10000, cache_size=20000", "MCP_MEMORY_CHROMA_PATH": "/c",
        "MCP_MEMORY_CHROMA_HOST": "localhost", "MCP_MEMORY_CHROMA_PORT": "9000",
        "MCP_MEMORY_EMBEDDING_MODEL": "/models/x", "MCP_MEMORY_ONNX_PATH": "/o/minilm",
        "MCP_MEMORY_HTTP_AUTO_START": "true",
        "MCP_HTTP_ENABLED": "false", "MCP_HTTP_HOST": "0.0.0.0", "MCP_HTTP_PORT": "9001", "MCP_API_KEY": "k",
        "MCP_MEMORY_PLUGINS": "a,b", "MCP_MEMORY_DISABLE_PLUGINS": "c", "LOG_LEVEL": "warning", "DEBUG_MODE": "0",
    }
    s = Settings.from_env(env)
    assert s.storage_backend == "chroma" and s.sqlite_path == Path("/d/m.db")
    assert s.sqlite_pragmas == (("busy_timeout", "10000"), ("cache_size", "20000"))
    assert (s.chroma_path, s.chroma_host, s.chroma_port) == (Path("/c"), "localhost", 9000)
    assert s.embedding_model == "/models/x" and s.http_auto_start and not s.http_enabled
    assert s.onnx_path == Path("/o/minilm") and Settings.from_env({"MCP_MEMORY_ONNX_PATH": " "}).onnx_path is None
    assert (s.http_host, s.http_port, s.api_key) == ("0.0.0.0", 9001, "k")
    assert s.plugins_allowed == {"a", "b"} and s.plugins_disabled == {"c"} and s.log_level == "WARNING"
    assert s.redacted()["api_key"] == "***"
    assert Settings.from_env({"DEBUG_MODE": "true"}).log_level == "DEBUG"


@pytest.mark.parametrize("text", ["busy_timeout", "busy_timeout=abc", "nope=1", "journal_mode=bogus",
                                  "=1", "cache_size=1;drop table x"])
def test_bad_pragmas_are_clear_errors(text):
    with pytest.raises(ConfigError, match="MCP_MEMORY_SQLITE_PRAGMAS"):
        parse_pragmas(text)


@pytest.mark.parametrize("env", [{"MCP_HTTP_PORT": "x"}, {"MCP_HTTP_PORT": "70000"},
                                 {"MCP_MEMORY_HTTP_AUTO_START": "maybe"}, {"LOG_LEVEL": "LOUD"}])
def test_bad_values_name_the_variable(env):
    with pytest.raises(ConfigError, match=next(iter(env)) if "LOG" not in next(iter(env)) else "LOG_LEVEL"):
        Settings.from_env(env)

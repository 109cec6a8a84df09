"""Every MCP_MEMORY_* setting, platform default paths and pragma parsing, in one place."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from .errors import ConfigError

APP_DIR_NAME = "mcp-memory"

# Pragmas a user may set through MCP_MEMORY_SQLITE_PRAGMAS, with the values each accepts.
_INT = re.compile(r"^-?\d+$")
_ALLOWED_PRAGMAS: dict[str, re.Pattern[str] | set[str]] = {
    "busy_timeout": _INT,
    "cache_size": _INT,
    "mmap_size": _INT,
    "wal_autocheckpoint": _INT,
    "journal_size_limit": _INT,
    "page_size": _INT,
    "synchronous": {"off", "normal", "full", "extra", "0", "1", "2", "3"},
    "journal_mode": {"wal", "delete", "truncate", "persist", "memory", "off"},
    "temp_store": {"default", "file", "memory", "0", "1", "2"},
    "foreign_keys": {"on", "off", "true", "false", "0", "1"},
    "locking_mode": {"normal", "exclusive"},
    "auto_vacuum": {"none", "full", "incremental", "0", "1", "2"},
}

#: Applied to every SQLite connection before the user's pragmas.
WAL_DEFAULT_PRAGMAS: tuple[tuple[str, str], ...] = (
    ("journal_mode", "WAL"),
    ("busy_timeout", "5000"),
    ("synchronous", "NORMAL"),
)


def default_data_dir(platform: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The per-user data directory: XDG on Linux, Application Support on macOS, LOCALAPPDATA on Windows."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    if platform.startswith("win"):
        base = env.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / APP_DIR_NAME
    if platform == "darwin":
        return home / "Library" / "Application Support" / APP_DIR_NAME
    xdg = env.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else home / ".local" / "share") / APP_DIR_NAME


def parse_pragmas(text: str | None) -> tuple[tuple[str, str], ...]:
    """Parse ``name=value,name=value`` into validated pairs; a bad string raises ConfigError."""
    if not text or not text.strip():
        return ()
    pairs: list[tuple[str, str]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name or not value:
            raise ConfigError(
                f"MCP_MEMORY_SQLITE_PRAGMAS: {item!r} is not name=value "
                "(example: busy_timeout=10000,cache_size=20000)"
            )
        rule = _ALLOWED_PRAGMAS.get(name)
        if rule is None:
            raise ConfigError(
                f"MCP_MEMORY_SQLITE_PRAGMAS: unknown or unsupported pragma {name!r}; "
                f"allowed: {', '.join(sorted(_ALLOWED_PRAGMAS))}"
            )
        ok = rule.match(value) if isinstance(rule, re.Pattern) else value.lower() in rule
        if not ok:
            raise ConfigError(f"MCP_MEMORY_SQLITE_PRAGMAS: bad value {value!r} for pragma {name!r}")
        pairs.append((name, value))
    return tuple(pairs)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1, maximum: int = 2**31) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _optional_path(env: Mapping[str, str], name: str) -> Path | None:
    raw = (env.get(name) or "").strip()
    return Path(raw).expanduser() if raw else None


def _names(env: Mapping[str, str], name: str) -> frozenset[str] | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """The configuration in force. Build it with ``Settings.from_env()``."""

    storage_backend: str = "sqlite_vec"
    sqlite_path: Path = field(default_factory=lambda: default_data_dir() / "sqlite_vec.db")
    sqlite_pragmas: tuple[tuple[str, str], ...] = ()
    chroma_path: Path = field(default_factory=lambda: default_data_dir() / "chroma_db")
    chroma_host: str | None = None
    chroma_port: int = 8000
    embedder: str | None = None
    embedding_model: str = "all-MiniLM-L6-v2"
    onnx_path: Path | None = None
    http_auto_start: bool = False
    http_enabled: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    api_key: str | None = None
    plugins_allowed: frozenset[str] | None = None
    plugins_disabled: frozenset[str] = frozenset()
    plugins_strict: bool = False
    max_content_length: int = 100_000
    max_results: int = 1000
    log_level: str = "INFO"
    debug: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Read the environment; every bad value is a ConfigError naming the variable."""
        env = os.environ if env is None else env
        data_dir = default_data_dir(env=env)
        log_level = (env.get("LOG_LEVEL") or "INFO").strip().upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}")
        debug = _bool(env, "DEBUG_MODE", False)
        return cls(
            storage_backend=(env.get("MCP_MEMORY_STORAGE_BACKEND") or "sqlite_vec").strip(),
            sqlite_path=Path(env.get("MCP_MEMORY_SQLITE_PATH") or data_dir / "sqlite_vec.db").expanduser(),
            sqlite_pragmas=parse_pragmas(env.get("MCP_MEMORY_SQLITE_PRAGMAS")),
            chroma_path=Path(env.get("MCP_MEMORY_CHROMA_PATH") or data_dir / "chroma_db").expanduser(),
            chroma_host=(env.get("MCP_MEMORY_CHROMA_HOST") or "").strip() or None,
            chroma_port=_int(env, "MCP_MEMORY_CHROMA_PORT", 8000, maximum=65535),
            embedder=(env.get("MCP_MEMORY_EMBEDDER") or "").strip() or None,
            embedding_model=(env.get("MCP_MEMORY_EMBEDDING_MODEL") or "all-MiniLM-L6-v2").strip(),
            onnx_path=_optional_path(env, "MCP_MEMORY_ONNX_PATH"),
            http_auto_start=_bool(env, "MCP_MEMORY_HTTP_AUTO_START", False),
            http_enabled=_bool(env, "MCP_HTTP_ENABLED", True),
            http_host=(env.get("MCP_HTTP_HOST") or "127.0.0.1").strip(),
            http_port=_int(env, "MCP_HTTP_PORT", 8000, maximum=65535),
            api_key=env.get("MCP_API_KEY") or None,
            plugins_allowed=_names(env, "MCP_MEMORY_PLUGINS"),
            plugins_disabled=_names(env, "MCP_MEMORY_DISABLE_PLUGINS") or frozenset(),
            plugins_strict=_bool(env, "MCP_MEMORY_PLUGINS_STRICT", False),
            max_content_length=_int(env, "MCP_MEMORY_MAX_CONTENT_LENGTH", 100_000),
            max_results=_int(env, "MCP_MEMORY_MAX_RESULTS", 1000),
            log_level="DEBUG" if debug else log_level,
            debug=debug,
        )

    def with_changes(self, **changes: object) -> "Settings":
        return replace(self, **changes)

    def redacted(self) -> dict[str, object]:
        """Settings as a dict safe to print or log (the API key is masked)."""
        out: dict[str, object] = {}
        for key, value in self.__dict__.items():
            if key == "api_key":
                value = "***" if value else None
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, frozenset):
                value = sorted(value)
            out[key] = value
        return out

"""Configuration: declared settings, read from the environment, then a config file, then defaults.

Every setting is declared once as a ``Setting`` (variable name, parser, default, help, secret or not). The core
declares its own in ``CORE_SETTINGS``; a plugin declares its own through the ``memory_settings`` hook and reads
them with ``settings.section(MY_SETTINGS)``. ``memory config`` lists them all with their source.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError

APP_DIR_NAME = "mcp-memory"
CONFIG_FILE_VARIABLE = "MCP_MEMORY_CONFIG"

Parser = Callable[[str], Any]


# -- platform paths --------------------------------------------------------------------------------
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


def default_config_file(platform: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """``config.toml`` in the per-user config directory (XDG_CONFIG_HOME, Application Support, APPDATA)."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    if platform.startswith("win"):
        base = env.get("APPDATA")
        directory = Path(base) if base else home / "AppData" / "Roaming"
    elif platform == "darwin":
        directory = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_CONFIG_HOME")
        directory = Path(xdg) if xdg else home / ".config"
    return directory / APP_DIR_NAME / "config.toml"


# -- parsers: text -> value, ValueError with the reason ----------------------------------------------
def as_str(text: str) -> str:
    return text.strip()


def as_optional_str(text: str) -> str | None:
    return text.strip() or None


def as_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def as_int(minimum: int = 1, maximum: int = 2**31) -> Parser:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError("must be an integer") from None
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}")
        return value
    return parse


def as_float(minimum: float, maximum: float) -> Parser:
    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError("must be a number") from None
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum:g} and {maximum:g}")
        return value
    return parse


def as_threshold(text: str) -> float | None:
    """A similarity in 0..1, or "off"."""
    if text.strip().lower() in {"off", "none", "false"}:
        return None
    return as_float(0.0, 1.0)(text)


def as_path(text: str) -> Path:
    if not text.strip():
        raise ValueError("must be a path")
    return Path(text.strip()).expanduser()


def as_optional_path(text: str) -> Path | None:
    return Path(text.strip()).expanduser() if text.strip() else None


def list_items(text: str, separator: str = ",") -> list[str]:
    """The items of a list value: separated by ``separator`` in a variable, one per line when the config file
    gave a TOML list (so that each list setting keeps its own separator, ``,`` or the path separator)."""
    return [part.strip() for line in text.splitlines() for part in line.split(separator) if part.strip()]


def as_names(text: str) -> frozenset[str] | None:
    """A comma-separated list of names; empty means "not set"."""
    names = frozenset(list_items(text))
    return names or None


def as_paths(text: str) -> tuple[Path, ...]:
    """Paths separated by the platform's path separator (``:`` or ``;``)."""
    return tuple(Path(p).expanduser() for p in list_items(text, os.pathsep))


def as_choice(*choices: str) -> Parser:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value
    return parse


# -- declarations -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One setting: the variable that sets it, how to parse it, its default and what it means.

    ``default`` is the value itself, or a zero-argument callable for values computed at read time (platform
    paths). ``key`` is the attribute name in a ``Section`` (default: the variable name after its last
    ``MCP_MEMORY_``/``MCP_`` prefix, lower-cased). A ``secret`` is masked wherever settings are shown.
    """

    env: str
    help: str
    default: Any = None
    parse: Parser = as_str
    secret: bool = False
    key: str = ""

    @property
    def name(self) -> str:
        if self.key:
            return self.key
        return re.sub(r"^(MCP_MEMORY_|MCP_)", "", self.env).lower()

    def default_value(self) -> Any:
        return self.default() if callable(self.default) else self.default


class Section(Mapping[str, Any]):
    """Resolved values of a group of settings: ``section.path`` or ``section["path"]``."""

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Section({self._values!r})"


@dataclass(frozen=True)
class Resolved:
    """One setting as ``memory config`` shows it."""

    setting: Setting
    value: Any
    source: str  # "environment", "file" or "default"

    def shown(self) -> str:
        if self.setting.secret and self.value is not None:
            return "***"
        if isinstance(self.value, (frozenset, set)):
            return ",".join(sorted(self.value))
        if isinstance(self.value, tuple) and all(isinstance(item, Path) for item in self.value):
            return os.pathsep.join(map(str, self.value))  # as the environment would give them
        if isinstance(self.value, tuple):
            return ",".join("=".join(map(str, item)) if isinstance(item, tuple) else str(item) for item in self.value)
        return "" if self.value is None else str(self.value)


# -- the core's own settings ------------------------------------------------------------------------
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

CORE_SETTINGS: tuple[Setting, ...] = (
    Setting("MCP_MEMORY_STORAGE_BACKEND", "store plugin to use", "sqlite_vec", key="storage_backend"),
    Setting("MCP_MEMORY_EMBEDDER", "embedder plugin to use (default: the installed one of highest priority)",
            None, as_optional_str, key="embedder"),
    Setting("MCP_MEMORY_EMBEDDING_MODEL", "embedding model name or local model directory", "all-MiniLM-L6-v2",
            key="embedding_model"),
    Setting("MCP_MEMORY_PROJECT", "the current project (default: from the MCP client's roots, else the git "
            "top-level folder of the working directory); \"global\" for none", None, as_optional_str,
            key="project"),
    Setting("MCP_MEMORY_MIN_RELEVANCE", "relevance floor of searches: results whose relevance and cosine are both "
            "under it are dropped (0.3: no LoCoMo recall@10 lost, docs/retrieval.md)", 0.3,
            as_float(0.0, 1.0), key="min_relevance"),
    Setting("MCP_MEMORY_USAGE_BOOST", "weight of recency and use in the ranking (0: off; docs/retrieval.md has "
            "the measurements)", 0.0, as_float(0.0, 1.0), key="usage_boost"),
    Setting("MCP_MEMORY_DUPLICATE_THRESHOLD", "a new memory this similar (cosine) to one of the same project is "
            "not stored twice; \"off\" to store every new text", 0.95, as_threshold, key="duplicate_threshold"),
    Setting("MCP_MEMORY_TRASH_DAYS", "days deleted memories stay in the trash before they are purged (0: "
            "never purge automatically)", 30, as_int(0, 100_000), key="trash_days"),
    Setting("MCP_MEMORY_TOOL_SET", "MCP tool names: classic (store_memory, retrieve_memory, ...) or current (the "
            "reference service 10.x-12.x names: memory_store, memory_search, ...)", "classic",
            as_choice("classic", "current"), key="tool_set"),
    Setting("MCP_MEMORY_MAX_DOCUMENT_BYTES", "largest document `memory ingest` reads, in bytes", 50 * 1024 * 1024,
            as_int(1, 2**40), key="max_document_bytes"),
    Setting("MCP_MEMORY_INGEST_ROOTS", "folders the ingest_document MCP tool may read (besides the client's roots), "
            "separated by the platform's path separator", (), as_paths, key="ingest_roots"),
    Setting("MCP_MEMORY_WARMUP", "the stdio server opens the store and loads the model right after start, so the "
            "first search is fast", True, as_bool, key="warmup"),
    Setting("MCP_MEMORY_PLUGINS", "allow list of plugin names (default: every installed plugin)", None,
            as_names, key="plugins_allowed"),
    Setting("MCP_MEMORY_DISABLE_PLUGINS", "plugin names not to load", None, as_names, key="plugins_disabled"),
    Setting("MCP_MEMORY_PLUGINS_STRICT", "fail at once when a plugin fails to load or register (CI)", False,
            as_bool, key="plugins_strict"),
    Setting("MCP_MEMORY_MAX_CONTENT_LENGTH", "largest memory content, in characters", 100_000, as_int(),
            key="max_content_length"),
    Setting("MCP_MEMORY_MAX_RESULTS", "most memories one request may return", 1000, as_int(),
            key="max_results"),
    Setting("LOG_LEVEL", "log level on stderr", "info", as_choice(*LOG_LEVELS), key="log_level"),
    Setting("DEBUG_MODE", "debug logging with tracebacks", False, as_bool, key="debug"),
)


def _read_config_file(path: Path) -> dict[str, str]:
    """``NAME = value`` pairs of a TOML file (values of any TOML scalar type, kept as text)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from None
    values: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, bool):
            values[name] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            values[name] = str(value)
        elif isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            values[name] = "\n".join(str(v) for v in value)  # read back by list_items
        else:
            raise ConfigError(f"{path}: {name} must be a string, number, boolean or list of those")
    return values


@dataclass(frozen=True)
class Settings:
    """The configuration in force. Build it with ``Settings.from_env()``.

    Core settings are attributes (``settings.max_results``); a plugin reads its own declared settings with
    ``settings.section(DECLARED)``. ``values`` holds the variables from the environment and ``file_values``
    those of the config file; the environment wins.
    """

    storage_backend: str = "sqlite_vec"
    embedder: str | None = None
    embedding_model: str = "all-MiniLM-L6-v2"
    project: str | None = None
    min_relevance: float = 0.3
    usage_boost: float = 0.0
    duplicate_threshold: float | None = 0.95
    trash_days: int = 30
    tool_set: str = "classic"
    max_document_bytes: int = 50 * 1024 * 1024
    ingest_roots: tuple[Path, ...] = ()
    warmup: bool = True
    plugins_allowed: frozenset[str] | None = None
    plugins_disabled: frozenset[str] | None = None
    plugins_strict: bool = False
    max_content_length: int = 100_000
    max_results: int = 1000
    log_level: str = "info"
    debug: bool = False
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)
    file_values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False,
                                           compare=False)
    config_file: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, config_file: Path | None = None) -> Settings:
        """Read the environment (and the config file); every bad value is a ConfigError naming the variable.

        The config file is ``config_file``, else ``MCP_MEMORY_CONFIG`` when set, else ``config.toml`` in the
        per-user config directory if it exists.
        """
        env = dict(os.environ if env is None else env)
        if config_file is None:
            explicit = (env.get(CONFIG_FILE_VARIABLE) or "").strip()
            if explicit:
                config_file = Path(explicit).expanduser()
                if not config_file.is_file():
                    raise ConfigError(f"{CONFIG_FILE_VARIABLE}={explicit}: no such file")
            else:
                candidate = default_config_file(env=env)
                config_file = candidate if candidate.is_file() else None
        file_values = _read_config_file(config_file) if config_file is not None else {}
        return cls._build(env, file_values, config_file)

    @classmethod
    def _build(cls, values: Mapping[str, str], file_values: Mapping[str, str], config_file: Path | None) -> Settings:
        sources = cls(values=MappingProxyType(dict(values)), file_values=MappingProxyType(dict(file_values)),
                      config_file=config_file)
        core = dict(sources.section(CORE_SETTINGS))
        if core["debug"]:
            core["log_level"] = "debug"
        return replace(sources, **core)

    # -- plugin settings ---------------------------------------------------------------------------
    def resolve(self, setting: Setting) -> Resolved:
        """The value of one declared setting and where it came from."""
        for source, table in (("environment", self.values), ("file", self.file_values)):
            raw = table.get(setting.env)
            if raw is not None and raw.strip() != "":
                try:
                    return Resolved(setting, setting.parse(raw), source)
                except ValueError as exc:
                    shown = "***" if setting.secret else repr(raw)
                    where = "" if source == "environment" else f" (in {self.config_file})"
                    raise ConfigError(f"{setting.env} {exc}, got {shown}{where}") from None
        return Resolved(setting, setting.default_value(), "default")

    def section(self, settings: Iterable[Setting]) -> Section:
        """The values of a group of declared settings (a plugin's own), by ``Setting.name``."""
        return Section({s.name: self.resolve(s).value for s in settings})

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with core attributes changed (``max_results=5``) and/or variables set (``MCP_HTTP_PORT="9000"``).

        Upper-case names are variables: they override the environment for every setting that reads them. Core
        attributes that no given variable reads keep their values, also those set directly before.
        """
        variables = {k: str(v) for k, v in changes.items() if k.isupper()}
        attributes = {k: v for k, v in changes.items() if not k.isupper()}
        if not variables:
            return replace(self, **attributes)
        rebuilt = Settings._build({**self.values, **variables}, self.file_values, self.config_file)
        kept = {s.name: getattr(self, s.name) for s in CORE_SETTINGS if s.env not in variables}
        if "DEBUG_MODE" in variables:
            kept.pop("log_level", None)
        return replace(rebuilt, **{**kept, **attributes})

    def redacted(self) -> dict[str, object]:
        """The core settings as a dict safe to print or log."""
        out: dict[str, object] = {}
        for setting in CORE_SETTINGS:
            value = getattr(self, setting.name)
            out[setting.name] = sorted(value) if isinstance(value, frozenset) else value
        return out


def describe(settings: Settings, groups: Sequence[tuple[str, Sequence[Setting]]]) -> list[tuple[str, Resolved]]:
    """Every setting of ``groups`` (owner, declarations) resolved, for ``memory config``."""
    return [(owner, settings.resolve(s)) for owner, declared in groups for s in declared]

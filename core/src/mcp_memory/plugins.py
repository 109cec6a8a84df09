"""Plugin discovery: entry-point group ``mcp_memory``, allow/deny lists, load errors kept, not raised.

pluggy's own ``load_setuptools_entrypoints`` stops at the first plugin that fails to import; here each
entry point is loaded on its own, and a failure becomes a recorded ``PluginFailure`` and a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Iterable

import pluggy

from . import hookspecs
from .config import Settings
from .errors import PluginError
from .logging import get_logger

ENTRY_POINT_GROUP = "mcp_memory"

log = get_logger(__name__)


@dataclass(frozen=True)
class PluginInfo:
    """One plugin that loaded."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]


@dataclass(frozen=True)
class PluginFailure:
    """One plugin that did not load, and why."""

    name: str
    distribution: str
    version: str
    error: str


@dataclass
class Registry:
    """What the loaded plugins registered, by kind and name."""

    storages: dict[str, Callable[..., Any]] = field(default_factory=dict)
    embedders: dict[str, Callable[..., Any]] = field(default_factory=dict)
    migrators: dict[str, Callable[..., Any]] = field(default_factory=dict)
    cli_commands: dict[str, tuple[str, Callable[..., Any], Callable[..., Any]]] = field(default_factory=dict)


class PluginManager:
    """Loads the installed plugins once and answers what they provide."""

    def __init__(self, settings: Settings, entry_points_source: Callable[[], Iterable[EntryPoint]] | None = None):
        self.settings = settings
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.loaded: list[PluginInfo] = []
        self.failed: list[PluginFailure] = []
        self.skipped: list[str] = []
        self._entry_points_source = entry_points_source or (lambda: entry_points(group=ENTRY_POINT_GROUP))
        self._registry: Registry | None = None
        self._load_all()

    # -- discovery ---------------------------------------------------------------------------
    def _load_all(self) -> None:
        allowed, disabled = self.settings.plugins_allowed, self.settings.plugins_disabled
        for ep in sorted(self._entry_points_source(), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else "?"
            if (allowed is not None and ep.name not in allowed) or ep.name in disabled:
                self.skipped.append(ep.name)
                continue
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # a broken plugin must never take the service down
                message = f"{type(exc).__name__}: {exc}"
                self.failed.append(PluginFailure(ep.name, dist, version, message))
                log.warning("plugin failed to load", plugin=ep.name, distribution=dist, error=message,
                            fix=f"reinstall it (pip install --force-reinstall {dist}) or disable it with "
                                f"MCP_MEMORY_DISABLE_PLUGINS={ep.name}")
                if self.settings.plugins_strict:
                    raise PluginError(f"plugin {ep.name!r} from {dist} failed to load: {message}") from exc
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(module) or ()))
            self.loaded.append(PluginInfo(ep.name, dist, version, hooks))

    def register_object(self, plugin: object, name: str) -> None:
        """Register an in-process plugin (tests, embedding applications)."""
        self.pm.register(plugin, name=name)
        self._registry = None

    # -- registrations -----------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._collect()
        return self._registry

    def _collect(self) -> Registry:
        reg = Registry()

        def make(kind: str, table: dict[str, Any]) -> Callable[..., None]:
            def register(name: str, *value: Any) -> None:
                if name in table:
                    log.warning("duplicate registration ignored", kind=kind, name=name)
                    return
                table[name] = value[0] if len(value) == 1 else tuple(value)
            return register

        self.pm.hook.memory_register_storage(register=make("storage", reg.storages))
        self.pm.hook.memory_register_embedder(register=make("embedder", reg.embedders))
        self.pm.hook.memory_register_migrators(register=make("migrator", reg.migrators))
        self.pm.hook.memory_register_cli(register=make("cli", reg.cli_commands))
        return reg

    def _missing(self, kind: str, name: str, available: Iterable[str]) -> PluginError:
        failures = [f for f in self.failed if name in (f.name, f.distribution)]
        hint = ""
        if failures:
            hint = f" The plugin {failures[0].name!r} ({failures[0].distribution}) failed to load: {failures[0].error}."
        have = ", ".join(sorted(available)) or "none installed"
        dist = f"mcp-memory-{name.replace('_', '-')}"
        return PluginError(
            f"no {kind} named {name!r} is available (available: {have}).{hint} "
            f"Install it (pip install {dist}) or choose another one."
        )

    def storage_factory(self, name: str) -> Callable[..., Any]:
        try:
            return self.registry.storages[name]
        except KeyError:
            raise self._missing("storage backend", name, self.registry.storages) from None

    def embedder_factory(self, name: str | None) -> tuple[str, Callable[..., Any]]:
        embedders = self.registry.embedders
        if name is None:
            if not embedders:
                raise self._missing("embedder", "sentence_transformers", embedders)
            name = "sentence_transformers" if "sentence_transformers" in embedders else sorted(embedders)[0]
        try:
            return name, embedders[name]
        except KeyError:
            raise self._missing("embedder", name, embedders) from None

    @property
    def hook(self) -> Any:
        return self.pm.hook


_default: PluginManager | None = None


def get_plugin_manager(settings: Settings | None = None) -> PluginManager:
    """The process-wide plugin manager (created on first call)."""
    global _default
    if _default is None:
        _default = PluginManager(settings or Settings.from_env())
    return _default


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests)."""
    global _default
    _default = None

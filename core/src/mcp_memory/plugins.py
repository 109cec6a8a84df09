"""Plugin discovery and fault containment: entry-point group ``mcp_memory``, allow/deny lists, failures kept.

pluggy's own ``load_setuptools_entrypoints`` stops at the first plugin that fails to import, and a hook call
stops at the first implementation that raises. Here each entry point is loaded on its own and each hook
implementation is called on its own: a failure becomes a recorded ``PluginFailure`` (shown by
``memory plugins`` and ``memory health``) and only the commands that need that plugin stop.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

import pluggy

from . import hookspecs
from .config import CORE_SETTINGS, Setting, Settings
from .documents import DocumentReader
from .errors import PluginError
from .logging import get_logger
from .registration import Command, EmbedderBackend, MigrationSource, StorageBackend

ENTRY_POINT_GROUP = "mcp_memory"

log = get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class PluginInfo:
    """One plugin that loaded."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that did not load, or one of whose hooks failed, and what to do about it."""

    name: str
    distribution: str
    version: str
    error: str
    stage: str = "load"  # "load", or the name of the hook that failed
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class Registry:
    """What the loaded plugins registered, by kind and name."""

    storages: dict[str, StorageBackend] = field(default_factory=dict)
    embedders: dict[str, EmbedderBackend] = field(default_factory=dict)
    migrators: dict[str, MigrationSource] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    readers: dict[str, DocumentReader] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> plugin name


_KINDS: tuple[tuple[str, str, type, str], ...] = (
    ("memory_register_storage", "storages", StorageBackend, "storage backend"),
    ("memory_register_embedder", "embedders", EmbedderBackend, "embedder"),
    ("memory_register_migrators", "migrators", MigrationSource, "migration source"),
    ("memory_register_cli", "commands", Command, "command"),
    ("memory_register_document_readers", "readers", DocumentReader, "document reader"),
)


class PluginManager:
    """Loads the installed plugins once and answers what they provide."""

    def __init__(self, settings: Settings, entry_points_source: Callable[[], Iterable[EntryPoint]] | None = None):
        self.strict = settings.plugins_strict
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.loaded: list[PluginInfo] = []
        self.failed: list[PluginFailure] = []
        self.skipped: list[str] = []
        self._dists: dict[str, tuple[str, str]] = {}
        self._entry_points_source = entry_points_source or (lambda: entry_points(group=ENTRY_POINT_GROUP))
        self._registry: Registry | None = None
        self._load_all(settings.plugins_allowed, settings.plugins_disabled or frozenset())
        self._add_plugin_hookspecs()

    # -- discovery ---------------------------------------------------------------------------
    def _load_all(self, allowed: frozenset[str] | None, disabled: frozenset[str]) -> None:
        for ep in sorted(self._entry_points_source(), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else "?"
            if (allowed is not None and ep.name not in allowed) or ep.name in disabled:
                self.skipped.append(ep.name)
                continue
            self._dists[ep.name] = (dist, version)
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # a broken plugin must never take the service down
                self.record_failure(ep.name, exc, "load", f"reinstall it (pip install --force-reinstall {dist}) or "
                                                 f"disable it with MCP_MEMORY_DISABLE_PLUGINS={ep.name}")
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(module) or ()))
            self.loaded.append(PluginInfo(ep.name, dist, version, hooks))

    def _add_plugin_hookspecs(self) -> None:
        for _plugin, _result in self.call_each("memory_add_hookspecs", pluginmanager=self.pm):
            pass

    def register_object(self, plugin: object, name: str) -> None:
        """Register an in-process plugin (tests, embedding applications)."""
        self.pm.register(plugin, name=name)
        self._dists.setdefault(name, ("(in process)", "-"))
        if hasattr(plugin, "memory_add_hookspecs"):
            try:
                plugin.memory_add_hookspecs(pluginmanager=self.pm)
            except Exception as exc:
                self.record_failure(name, exc, "memory_add_hookspecs")
        self._registry = None

    def record_failure(self, plugin: str, exc: BaseException | str, stage: str, fix: str = "") -> None:
        """Record a failure of ``plugin`` (logged once); raise instead in strict mode."""
        dist, version = self._dists.get(plugin, ("?", "?"))
        error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        fix = fix or (f"upgrade or reinstall {dist} (pip install -U {dist}), or disable it with "
                      f"MCP_MEMORY_DISABLE_PLUGINS={plugin}")
        failure = PluginFailure(plugin, dist, version, error, stage, fix)
        if failure not in self.failed:
            self.failed.append(failure)
            log.warning("plugin failed", plugin=plugin, distribution=dist, stage=stage, error=error, fix=fix)
        if self.strict:
            raise PluginError(f"plugin {plugin!r} from {dist} failed ({stage}): {error}")

    # -- calling hooks one implementation at a time ------------------------------------------
    def implementations(self, hook_name: str) -> list[Any]:
        """The implementations of a hook in call order (tryfirst first, trylast last)."""
        caller = getattr(self.pm.hook, hook_name, None)
        return list(reversed(caller.get_hookimpls())) if caller is not None else []

    def call_each(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Call each implementation of a hook on its own; yields (plugin name, result). A raising
        implementation is recorded as a failure of its plugin and skipped."""
        for impl in self.implementations(hook_name):
            try:
                result = impl.function(**{name: kwargs[name] for name in impl.argnames})
            except PluginError:
                raise
            except Exception as exc:
                self.record_failure(impl.plugin_name, exc, hook_name)
                continue
            yield impl.plugin_name, result

    def first_result(self, hook_name: str, **kwargs: Any) -> Any:
        """The first non-None result of a hook, calling implementations in order (firstresult semantics)."""
        for _plugin, result in self.call_each(hook_name, **kwargs):
            if result is not None:
                return result
        return None

    def check_pending(self) -> list[str]:
        """Hook implementations that match no hook specification (misspelled names); each recorded as a failure."""
        problems = []
        for name in sorted(n for n in dir(self.pm.hook) if not n.startswith("_")):
            caller = getattr(self.pm.hook, name)
            if caller.spec is None:
                for impl in caller.get_hookimpls():
                    if not getattr(impl, "optionalhook", False):
                        message = f"implements {name!r}, which is no hook of mcp_memory (misspelled?)"
                        problems.append(f"{impl.plugin_name}: {message}")
                        self.record_failure(impl.plugin_name, message, "check_pending",
                                   "rename it to one of the hooks in docs/plugin-authoring.md, or mark it "
                                   "@hookimpl(optionalhook=True)")
        return problems

    # -- registrations -----------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._collect()
        return self._registry

    def _collect(self) -> Registry:
        reg = Registry()
        for hook_name, attribute, kind, label in _KINDS:
            table: dict[str, Any] = getattr(reg, attribute)
            for impl in reversed(self.implementations(hook_name)):  # load order: the first plugin keeps a name
                plugin = impl.plugin_name

                def register(item: Any, *extra: Any, _plugin: str = plugin, _table: dict[str, Any] = table,
                             _kind: type = kind, _label: str = label, _hook: str = hook_name) -> None:
                    if extra or not isinstance(item, _kind):
                        raise TypeError(f"register() takes one {_kind.__name__}(...) built with keyword "
                                        f"arguments, got {type(item).__name__}")
                    name: str = getattr(item, "name")  # noqa: B009 - every registration type has a name
                    owner = reg.owners.get((_label, name))
                    if owner is not None:
                        self.record_failure(_plugin, f"registers the {_label} {name!r}, already registered by the "
                                            f"plugin {owner!r}; the second registration is ignored", _hook,
                                   "uninstall one of the two plugins, or disable one with "
                                   "MCP_MEMORY_DISABLE_PLUGINS")
                        return
                    reg.owners[(_label, name)] = _plugin
                    _table[name] = item

                try:
                    impl.function(register=register)
                except PluginError:
                    raise
                except Exception as exc:
                    self.record_failure(plugin, exc, hook_name)
        return reg

    def setting_groups(self) -> list[tuple[str, Sequence[Setting]]]:
        """(owner, declared settings): the core's first, then each plugin's."""
        groups: list[tuple[str, Sequence[Setting]]] = [("core", CORE_SETTINGS)]
        for plugin, declared in self.call_each("memory_settings"):
            if declared:
                groups.append((plugin, tuple(declared)))
        return groups

    def owner(self, kind: str, name: str) -> str | None:
        """The plugin that registered ``name`` (kind: "storage backend", "embedder", ...)."""
        return self.registry.owners.get((kind, name))

    def _missing(self, kind: str, name: str, available: Iterable[str]) -> PluginError:
        names = sorted(available)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        failures = [f for f in self.failed if f.stage == "load" or f.stage.startswith("memory_register")]
        if failures:
            f = failures[0]
            hint += f" The plugin {f.name!r} ({f.distribution}) failed ({f.stage}): {f.error}."
        have = ", ".join(names) or "none installed"
        return PluginError(f"no {kind} named {name!r} is available (available: {have}).{hint} "
                           "`memory plugins` shows what is installed and what failed; docs/backends.md lists the "
                           "plugins and how to install them.")

    def storage_backend(self, name: str) -> StorageBackend:
        try:
            return self.registry.storages[name]
        except KeyError:
            raise self._missing("storage backend", name, self.registry.storages) from None

    def embedder_backend(self, name: str | None) -> EmbedderBackend:
        """The named embedder, or the installed one of highest priority."""
        embedders = self.registry.embedders
        if name is None:
            if not embedders:
                raise self._missing("embedder", "(any)", embedders)
            return max(embedders.values(), key=lambda e: (e.priority, e.name))
        try:
            return embedders[name]
        except KeyError:
            raise self._missing("embedder", name, embedders) from None

    @property
    def hook(self) -> Any:
        return self.pm.hook


_managers: dict[tuple[Any, ...], PluginManager] = {}
#: a manager that ``get_plugin_manager`` returns whatever the settings (tests, embedding applications)
_override: PluginManager | None = None


def get_plugin_manager(settings: Settings | None = None) -> PluginManager:
    """The process-wide plugin manager for these settings' plugin selection (allow/deny list, strictness)."""
    if _override is not None:
        return _override
    settings = settings or Settings.from_env()
    key = (settings.plugins_allowed, settings.plugins_disabled, settings.plugins_strict)
    if key not in _managers:
        _managers[key] = PluginManager(settings)
    return _managers[key]


def reset_plugin_manager() -> None:
    """Forget the process-wide managers (tests)."""
    _managers.clear()

"""The plugin host: discovery through entry points, isolated loading, dependency order, enabled state.

One :class:`PluginHost` per application instance; no module-level state, so tests can build many apps.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import HOOK_API_VERSION, hookspecs
from .errors import PluginLoadError
from .i18n import gettext as _
from .i18n import ngettext
from .manifest import Manifest, version_in
from .markers import PROJECT

log = logging.getLogger("voronka.plugins")

ENTRY_POINT_GROUP = "voronka.plugins"

RENAMED_HOOKS: dict[str, tuple[str, str]] = {}
"""Old hook name -> (new name, hook API version of the rename). An implementation under the old name
keeps working for one release and warns; add an entry here whenever a host hook is renamed."""


@dataclass
class PluginInfo:
    """One installed plugin as the host sees it, loaded or not."""

    name: str
    source: str
    manifest: Manifest | None = None
    module: ModuleType | None = None
    hooks: ModuleType | None = None
    error: str | None = None
    path: Path | None = None

    @property
    def loaded(self) -> bool:
        return self.error is None and self.module is not None

    @property
    def version(self) -> str:
        return self.manifest.version if self.manifest else "?"

    @property
    def label(self) -> str:
        return self.manifest.label if self.manifest else self.name

    def subdir(self, name: str) -> Path | None:
        if self.path is None:
            return None
        found = self.path / name
        return found if found.is_dir() else None

    @property
    def migrations_dir(self) -> Path | None:
        versions = self.subdir("migrations")
        if versions is None or not (versions / "versions").is_dir():
            return None
        return versions / "versions"


@dataclass
class PluginSource:
    """Where to load a plugin from: an entry point, or a module registered directly (tests, config)."""

    name: str
    load: Callable[[], ModuleType]
    origin: str
    module: str | None = None
    """The module's dotted name, to find its folder (and migrations) even when importing it fails."""


def entry_point_sources() -> list[PluginSource]:
    sources = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        sources.append(PluginSource(ep.name, ep.load, f"entry point {ep.value} ({dist})", ep.module))
    return sources


def module_source(module_name: str, name: str | None = None) -> PluginSource:
    return PluginSource(
        name or module_name.rsplit(".", 1)[-1],
        lambda: importlib.import_module(module_name),
        f"module {module_name}",
        module_name,
    )


def _locate(module_name: str | None) -> Path | None:
    """The folder of a package that failed to import, found without running it (its migrations live there)."""
    if not module_name:
        return None
    try:
        spec = importlib.util.find_spec(module_name)
    except Exception:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, with renamed hooks mapped to their new spec and a warning."""

    def __init__(self, renamed: dict[str, tuple[str, str]]):
        super().__init__(PROJECT)
        self._renamed = renamed

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is not None and name in self._renamed and not opts.get("specname"):
            new, since = self._renamed[name]
            warnings.warn(
                f"{getattr(plugin, '__name__', plugin)} implements the hook {name!r}, renamed to {new!r} "
                f"in hook API {since}; rename the function (the old name stops working in the next release)",
                DeprecationWarning,
                stacklevel=2,
            )
            opts = dict(opts, specname=new)
        return opts


@dataclass
class EnabledState:
    """What the database says: plugin name -> enabled, and the version counter it was read at."""

    version: int = -1
    rows: dict[str, bool] = field(default_factory=dict)


class PluginHost:
    """Loads installed plugins, orders them by ``requires`` and answers hooks for the enabled ones."""

    def __init__(
        self,
        sources: Sequence[PluginSource],
        *,
        disabled: Iterable[str] = (),
        blocked: Iterable[str] = (),
        strict: bool = False,
        core_impls: Sequence[object] = (),
        renamed_hooks: dict[str, tuple[str, str]] | None = None,
    ):
        self.pm = _PluginManager(RENAMED_HOOKS if renamed_hooks is None else renamed_hooks)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.order: list[str] = []
        self.config_warnings: list[str] = []
        self.initially_disabled = frozenset(disabled)
        self.blocked = frozenset(blocked)
        self.strict = strict
        self._state = EnabledState()
        self._enabled: frozenset[str] = frozenset()
        self._callers: dict[str, Any] = {}
        self._checked_at = 0.0
        self._load(sources)
        for impl in core_impls:
            self.pm.register(impl, name=f"core:{getattr(impl, '__name__', id(impl))}")
        self.pm.check_pending()
        self._check_config_names()
        if strict:
            self.raise_if_errors()
        self._recompute()

    # -- loading ---------------------------------------------------------------------------------------

    def _load(self, sources: Sequence[PluginSource]) -> None:
        candidates: dict[str, PluginInfo] = {}
        for source in sources:
            info = self._import(source)
            if info.name in candidates:
                other = candidates[info.name]
                info.error = (
                    f"plugin name {info.name!r} of {info.source} is taken by {other.source}; "
                    "rename one of them (entry point name and manifest.name)"
                )
                self.plugins[f"{info.name}#{len(self.plugins)}"] = info
                continue
            candidates[info.name] = info
        self.plugins.update(candidates)
        self._resolve()
        # iterate over copies: a failure removes the plugin and its dependents from self.order
        for name in list(self.order):
            self._register_hookspecs(self.plugins[name])
        for name in list(self.order):
            self._register_impls(self.plugins[name])
        self._cascade_failure()  # also drops plugins whose hookspecs failed (they register no impls)

    def _import(self, source: PluginSource) -> PluginInfo:
        info = PluginInfo(name=source.name, source=source.origin)
        try:
            module = source.load()
        except Exception as exc:
            info.error = f"cannot be imported: {type(exc).__name__}: {exc}"
            info.path = _locate(source.module)
            log.error("plugin %s (%s) %s", source.name, source.origin, info.error)
            return info
        manifest = getattr(module, "manifest", None)
        if not isinstance(manifest, Manifest):
            info.error = (
                "has no manifest: its package must define `manifest = Manifest(...)` from voronka.core.manifest"
            )
            return info
        info.manifest, info.module = manifest, module
        if getattr(module, "__file__", None):
            info.path = Path(module.__file__).resolve().parent  # type: ignore[arg-type]
        if manifest.name != source.name:
            info.error = (
                f"is registered as {source.name!r} but its manifest says {manifest.name!r}; "
                "make the entry point name and manifest.name equal"
            )
            return info
        problems = manifest.problems()
        if problems:
            info.error = "has an invalid manifest: " + "; ".join(problems)
            return info
        if not version_in(HOOK_API_VERSION, manifest.hook_api):
            info.error = (
                f"supports hook API {manifest.hook_api} but this Voronka provides {HOOK_API_VERSION}; "
                "install a version of the plugin made for this Voronka"
            )
            return info
        try:
            info.hooks = _optional_submodule(module, "hooks")
            _optional_submodule(module, "models")
        except Exception as exc:
            info.error = f"cannot be imported: {type(exc).__name__}: {exc}"
            info.module = None
        return info

    def _resolve(self) -> None:
        """Disable plugins with missing or incompatible requirements, cycles, and their dependents."""
        loaded = {n: p for n, p in self.plugins.items() if p.loaded}
        changed = True
        while changed:
            changed = False
            for name, info in list(loaded.items()):
                assert info.manifest is not None
                for dep, spec in info.manifest.requires.items():
                    reason = self._requirement_problem(dep, spec, loaded)
                    if reason:
                        info.error = reason
                        del loaded[name]
                        changed = True
                        break
        for cycle in _cycles({n: list(p.manifest.requires) for n, p in loaded.items() if p.manifest}):
            text = " → ".join([*cycle, cycle[0]])
            for name in cycle:
                loaded[name].error = f"sits in a dependency cycle {text}; remove one of the requirements"
                del loaded[name]
        # dependents of plugins that failed in the cycle pass
        changed = True
        while changed:
            changed = False
            for name, info in list(loaded.items()):
                assert info.manifest is not None
                for dep in info.manifest.requires:
                    if dep not in loaded:
                        info.error = self._requirement_problem(dep, "", loaded)
                        del loaded[name]
                        changed = True
                        break
        self.order = _topological(
            {n: [d for d in (*p.manifest.requires, *p.manifest.optional) if d in loaded]
             for n, p in loaded.items() if p.manifest}
        )  # fmt: skip
        for info in self.plugins.values():
            if info.error:
                log.error("plugin %s disabled: %s", info.name, info.error)

    def _requirement_problem(self, dep: str, spec: str, loaded: dict[str, PluginInfo]) -> str | None:
        if dep in loaded:
            found = loaded[dep]
            if spec and not version_in(found.version, spec):
                return f"requires {dep} {spec}, but {dep} {found.version} is installed"
            return None
        other = self.plugins.get(dep)
        if other is None:
            return f"requires {dep!r}, which is not installed; install it or disable this plugin"
        return f"requires {dep!r}, which is disabled: {dep} {other.error}"

    def _register_hookspecs(self, info: PluginInfo) -> None:
        assert info.module is not None
        try:
            specs = _optional_submodule(info.module, "hookspecs")
            if specs is not None:
                self.pm.add_hookspecs(specs)
        except Exception as exc:
            info.error = f"has hookspecs that cannot be loaded: {type(exc).__name__}: {exc}"
            log.error("plugin %s disabled: %s", info.name, info.error)

    def _register_impls(self, info: PluginInfo) -> None:
        if info.error or info.hooks is None:
            return
        try:
            self.pm.register(info.hooks, name=info.name)
            unknown = _unknown_hooks(self.pm, info.name)
            if unknown:  # pm.check_pending() would otherwise fail the whole host for one plugin's typo
                raise pluggy.PluginValidationError(
                    info.hooks,
                    f"{', '.join(unknown)} matches no hook of the host or of an installed plugin; "
                    "fix the name, or mark it optionalhook=True if it answers an optional plugin's hook",
                )
        except Exception as exc:
            info.error = f"has hook implementations that do not match the specs: {exc}"
            log.error("plugin %s disabled: %s", info.name, info.error)
        self._cascade_failure()

    def _cascade_failure(self) -> None:
        for name in list(self.order):
            info = self.plugins[name]
            if info.error:
                self._unregister(name)
                continue
            assert info.manifest is not None
            for dep in info.manifest.requires:
                dep_info = self.plugins.get(dep)
                if dep_info is None or dep_info.error:
                    info.error = f"requires {dep!r}, which is disabled: {dep} {dep_info.error if dep_info else ''}"
                    log.error("plugin %s disabled: %s", name, info.error)
                    self._unregister(name)
                    break

    def _unregister(self, name: str) -> None:
        if name in self.order:
            self.order.remove(name)
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)

    def fail(self, name: str, reason: str) -> None:
        """Disable a loaded plugin at run time (a failed migration) together with its dependents."""
        info = self.plugins[name]
        info.error = reason
        log.error("plugin %s disabled: %s", name, reason)
        self._cascade_failure()
        self._recompute()

    def _check_config_names(self) -> None:
        known = set(self.plugins)
        for label, names in (("disabled", self.initially_disabled), ("blocked", self.blocked)):
            for name in sorted(set(names) - known):
                self.config_warnings.append(
                    f"the configuration lists {name!r} under plugins.{label}, but no plugin of that name is "
                    f"installed (installed: {', '.join(sorted(known)) or 'none'})"
                )
        for message in self.config_warnings:
            log.warning(message)

    def raise_if_errors(self) -> None:
        problems = [f"{p.name}: {p.error}" for p in self.plugins.values() if p.error] + self.config_warnings
        if problems:
            raise PluginLoadError("plugins failed to load (strict mode):\n  " + "\n  ".join(problems))

    # -- enabled state ---------------------------------------------------------------------------------

    @property
    def loaded(self) -> list[PluginInfo]:
        """Loaded plugins in dependency order (requirements first)."""
        return [self.plugins[n] for n in self.order]

    @property
    def failed(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.error]

    @property
    def enabled(self) -> frozenset[str]:
        return self._enabled

    def is_enabled(self, name: str) -> bool:
        return name in self._enabled

    def wanted(self, name: str) -> bool:
        """What the admin (or the config's initial state) asked for, before requirements are applied."""
        if name in self.blocked:
            return False
        return self._state.rows.get(name, name not in self.initially_disabled)

    def apply_state(self, version: int, rows: dict[str, bool]) -> bool:
        """Adopt the enabled flags stored in the database; return True when anything changed."""
        if version == self._state.version and rows == self._state.rows:
            return False
        self._state = EnabledState(version, dict(rows))
        return self._recompute()

    @property
    def state_version(self) -> int:
        return self._state.version

    def _recompute(self) -> bool:
        enabled: set[str] = set()
        for name in self.order:  # requirements come first, so one pass suffices
            info = self.plugins[name]
            assert info.manifest is not None
            if self.wanted(name) and all(dep in enabled for dep in info.manifest.requires):
                enabled.add(name)
        new = frozenset(enabled)
        if new == self._enabled and self._callers:
            return False
        self._enabled = new
        self._callers = {}
        return True

    def dependents(self, name: str) -> list[str]:
        """Loaded plugins that require ``name``, directly or through others."""
        found: list[str] = []
        for other in self.order:
            info = self.plugins[other]
            assert info.manifest is not None
            if name in info.manifest.requires or any(d in info.manifest.requires for d in found):
                found.append(other)
        return found

    def refuse_toggle(self, name: str, enable: bool) -> str | None:
        """Why ``name`` may not be switched to ``enable`` now, or None when it may."""
        info = self.plugins.get(name)
        if info is None or not info.loaded:
            return _("'%(name)s' is not a loaded plugin") % {"name": name}
        if name in self.blocked:
            return _("%(label)s is blocked by the deployment's configuration") % {"label": info.label}
        assert info.manifest is not None
        if enable:
            off = [d for d in info.manifest.requires if d not in self._enabled]
            if off:
                return ngettext(
                    "%(label)s requires %(names)s; enable it first",
                    "%(label)s requires %(names)s; enable them first",
                    len(off),
                ) % {"label": info.label, "names": ", ".join(off)}
            return None
        users = [d for d in self.dependents(name) if d in self._enabled]
        if users:
            labels = ", ".join(self.plugins[d].label for d in users)
            return ngettext(
                "%(label)s is required by %(names)s; disable it first",
                "%(label)s is required by %(names)s; disable them first",
                len(users),
            ) % {"label": info.label, "names": labels}
        return None

    # -- hooks -----------------------------------------------------------------------------------------

    @property
    def hook(self) -> _EnabledHooks:
        """Hooks of enabled plugins (and core); the usual way to call a hook."""
        return _EnabledHooks(self)

    @property
    def all_hooks(self) -> Any:
        """Hooks of every installed plugin, enabled or not: for the data-consistency hooks only."""
        return self.pm.hook

    def caller(self, hook_name: str) -> Any:
        found = self._callers.get(hook_name)
        if found is None:
            disabled = [self.pm.get_plugin(n) for n in self.order if n not in self._enabled and self.pm.has_plugin(n)]
            found = self.pm.subset_hook_caller(hook_name, disabled) if disabled else getattr(self.pm.hook, hook_name)
            self._callers[hook_name] = found
        return found

    def call_ordered(self, hook_name: str, *, isolate: bool = False, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook plugin by plugin in dependency order (start-up, seeding); returns (name, result).

        With ``isolate``, a plugin whose implementation raises is disabled (with its dependents) and the
        others still run; otherwise the exception propagates.
        """
        impls = {i.plugin_name: i for i in getattr(self.pm.hook, hook_name).get_hookimpls()}
        results = []
        for name in list(self.order):
            hookimpl = impls.get(name)
            if hookimpl is None or name not in self._enabled:
                continue
            accepted = {k: v for k, v in kwargs.items() if k in hookimpl.argnames}
            try:
                results.append((name, hookimpl.function(**accepted)))
            except Exception as exc:
                if not isolate:
                    raise
                log.exception("plugin %s failed in %s", name, hook_name)
                self.fail(name, f"failed in {hook_name}: {type(exc).__name__}: {exc}")
        return results

    def should_check(self, interval: float = 1.0) -> bool:
        """True at most once per ``interval`` seconds: when to re-read the enabled state."""
        now = time.monotonic()
        if now - self._checked_at >= interval:
            self._checked_at = now
            return True
        return False


class _EnabledHooks:
    def __init__(self, host: PluginHost):
        self._host = host

    def __getattr__(self, name: str) -> Any:
        return self._host.caller(name)


def _optional_submodule(module: ModuleType, name: str) -> ModuleType | None:
    full = f"{module.__name__}.{name}"
    if module.__spec__ is None or module.__spec__.submodule_search_locations is None:
        return None
    if importlib.util.find_spec(full) is None:
        return None
    return importlib.import_module(full)


def _unknown_hooks(pm: pluggy.PluginManager, plugin_name: str) -> list[str]:
    """Names of ``plugin_name``'s implementations that have no spec and are not ``optionalhook``."""
    plugin = pm.get_plugin(plugin_name)
    found = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        if any(i.plugin_name == plugin_name and not i.optionalhook for i in caller.get_hookimpls()):
            found.append(caller.name)
    return sorted(found)


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (or a self-loop), via Tarjan."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for dep in graph.get(node, []):
            if dep not in graph:
                continue
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, []):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _topological(graph: dict[str, list[str]]) -> list[str]:
    """Nodes with their dependencies first; ties broken by name so the order is stable."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(node: str) -> None:
        if node in seen:
            return
        seen.add(node)
        for dep in sorted(graph.get(node, [])):
            if dep in graph:
                visit(dep)
        order.append(node)

    for node in sorted(graph):
        visit(node)
    return order

"""Conformance checks for a plugin (``voronka plugins check``): the contract, verified mechanically."""

from __future__ import annotations

import datetime as dt
import inspect
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from jinja2 import TemplateSyntaxError
from starlette.routing import BaseRoute, Mount, Route

from voronka.core.config import Settings
from voronka.core.db import Base, make_engine
from voronka.core.metrics import Metric, metric_problems
from voronka.core.migrate import Migrator
from voronka.core.plugins import PluginHost
from voronka.core.security.markers import marks_of
from voronka.core.settings_store import TYPES, SettingField
from voronka.core.templating import make_environment

from ..plugins_setup import build_host


@dataclass
class CheckResult:
    plugin: str
    problems: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def check(self, label: str, problems: list[str]) -> None:
        if problems:
            self.problems.extend(f"{label}: {p}" for p in problems)
        else:
            self.passed.append(label)


def check_plugin(name: str, settings: Settings | None = None, host: PluginHost | None = None) -> CheckResult:
    """Run every conformance check on plugin ``name``; each problem says what to fix."""
    settings = settings or Settings(database_url="sqlite://", secret_key="check")
    host = host or build_host(settings)
    result = CheckResult(name)
    info = host.plugins.get(name)
    if info is None:
        result.problems.append(f"no plugin named {name!r} is installed (installed: {', '.join(sorted(host.plugins))})")
        return result
    if info.error or info.manifest is None:
        result.problems.append(f"loading: {name} {info.error}")
        return result
    result.check("manifest", info.manifest.problems())
    result.check("hook implementations", _hook_problems(host, name))
    result.check("table prefixes", _table_prefix_problems(name, info.module.__name__ if info.module else name))
    result.check("migrations match models", _migration_problems(host, name))
    result.check("templates compile", _template_problems(host, name))
    result.check("routes and markers", _route_problems(host, name))
    result.check("permissions, settings and metrics", _declaration_problems(host, name))
    return result


def _impl_functions(host: PluginHost, name: str) -> dict[str, Any]:
    hooks = host.plugins[name].hooks
    if hooks is None:
        return {}
    return {
        attr: fn
        for attr, fn in vars(hooks).items()
        if inspect.isfunction(fn) and fn.__module__ == hooks.__name__ and not attr.startswith("_")
    }


def _hook_problems(host: PluginHost, name: str) -> list[str]:
    problems = []
    hooks = host.plugins[name].hooks
    specs = {h for h in dir(host.pm.hook) if not h.startswith("_")}
    for attr, fn in _impl_functions(host, name).items():
        opts = host.pm.parse_hookimpl_opts(hooks, attr)
        if opts is None:
            if attr in specs:
                problems.append(f"{attr} has the name of a hook but no @hookimpl marker; it is never called")
            continue
        spec_name = opts.get("specname") or attr
        if spec_name not in specs and not opts.get("optionalhook"):
            problems.append(f"{attr} implements no known hook; mark it optionalhook=True if its spec is optional")
        spec = getattr(host.pm.hook, spec_name, None)
        if spec is not None and spec.spec is not None:
            extra = set(inspect.signature(fn).parameters) - set(spec.spec.argnames)
            if extra:
                problems.append(f"{attr} takes arguments the hook does not pass: {', '.join(sorted(extra))}")
    return problems


def _table_prefix_problems(name: str, module_name: str) -> list[str]:
    problems = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if not cls.__module__.startswith(module_name + "."):
            continue
        for table in mapper.tables:
            if not table.name.startswith(f"{name}_"):
                problems.append(f"{cls.__name__} uses table {table.name!r}; name it '{name}_…'")
    return problems


def _migration_problems(host: PluginHost, name: str) -> list[str]:
    tables = [t for t in Base.metadata.tables.values() if t.name.startswith(f"{name}_")]
    info = host.plugins[name]
    if info.migrations_dir is None:
        return [f"models define {len(tables)} tables but the plugin has no migrations/versions"] if tables else []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'check.sqlite'}")
        try:
            migrator = Migrator(engine, host)
            failures = migrator.upgrade([*migrator.branches()])
            if name in failures:
                return [failures[name]]
            with engine.connect() as conn:
                ctx = MigrationContext.configure(
                    conn, opts={"compare_type": True, "include_object": _prefix_filter(name)}
                )
                diff = compare_metadata(ctx, Base.metadata)
            problems = [f"models and migrations differ: {d}" for d in diff]
            if problems:
                problems.append(
                    f"write a migration for these differences: Migrator.revision({name!r}, '<what changed>') "
                    f"autogenerates one into the plugin's migrations/versions"
                )
            migrator.downgrade(f"{name}@base")
            return problems
        except Exception as exc:
            return [f"migrations cannot run: {type(exc).__name__}: {exc}"]
        finally:
            engine.dispose()


def _prefix_filter(name: str) -> Any:
    def include(obj: Any, obj_name: str, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = obj_name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return bool(table) and table.startswith(f"{name}_")

    return include


def _template_problems(host: PluginHost, name: str) -> list[str]:
    folder = host.plugins[name].subdir("templates")
    if folder is None:
        return []
    env = make_environment(host)
    problems = []
    for path in sorted(folder.rglob("*.html")):
        relative = path.relative_to(folder).as_posix()
        if not relative.startswith(f"{name}/"):
            problems.append(f"template {relative} must live under templates/{name}/ so names do not collide")
        try:
            env.parse(path.read_text(encoding="utf-8"), name=relative)
        except TemplateSyntaxError as exc:
            problems.append(f"{relative}:{exc.lineno}: {exc.message}")
    return problems


def _route_problems(host: PluginHost, name: str) -> list[str]:
    impl = getattr(host.plugins[name].hooks, "routes", None)
    if impl is None:
        return []
    try:
        routes = list(impl() or [])
    except Exception as exc:
        return [f"routes() raised {type(exc).__name__}: {exc}"]
    problems: list[str] = []
    seen: set[str] = set()

    def walk(items: list[BaseRoute]) -> None:
        for route in items:
            if isinstance(route, Mount):
                walk(list(route.routes or []))
            elif isinstance(route, Route):
                if not inspect.isfunction(route.endpoint):
                    problems.append(f"{route.path}: use a function endpoint so route markers apply")
                    continue
                if not route.name or (route.name in seen and route.name != route.endpoint.__name__):
                    problems.append(f"{route.path}: give the route a unique name for url_for")
                seen.add(route.name)
                marks = marks_of(route.endpoint)
                if marks.public and marks.csrf_exempt and not marks.rate:
                    problems.append(f"{route.path}: a public CSRF-exempt route must be rate-limited")

    walk(routes)
    return problems


def _declaration_problems(host: PluginHost, name: str) -> list[str]:
    hooks = host.plugins[name].hooks
    problems: list[str] = []
    perms = getattr(hooks, "permissions", None)
    for perm in (perms() if perms else None) or []:
        if not perm.key.startswith(f"{name}."):
            problems.append(f"permission {perm.key!r} must start with '{name}.'")
    schema = getattr(hooks, "settings_schema", None)
    for item in (schema() if schema else None) or []:
        if not isinstance(item, SettingField):
            problems.append(f"settings_schema returned {item!r}; return SettingField entries")
        elif item.type not in TYPES:
            problems.append(f"setting {item.key!r} has type {item.type!r}; use one of {', '.join(TYPES)}")
    metrics = getattr(hooks, "metrics", None)
    for metric in (metrics() if metrics else None) or []:
        if not isinstance(metric, Metric):
            problems.append(f"metrics returned {metric!r}; return Metric entries")
        else:
            problems.extend(metric_problems(metric, name))
    return problems


def check_metric(metric: Metric, session: Any, viewer: Any, owner_ids: list[int], plugin: str) -> list[str]:
    """Run a metric against a real database and check what it returns obeys the contract."""
    problems = metric_problems(metric, plugin)
    start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    try:
        values = metric.values(session, viewer, owner_ids, start, end)
    except Exception as exc:
        return [*problems, f"values() raised {type(exc).__name__}: {exc}"]
    if not isinstance(values, dict):
        return [*problems, f"values() returned {type(values).__name__}, not a dict"]
    for owner, pair in values.items():
        if owner not in owner_ids:
            problems.append(f"values() answered for owner {owner}, who was not asked for")
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(v, int | float) for v in pair)):
            problems.append(f"values()[{owner}] is {pair!r}; return (actual, in_progress) numbers")
    for owner in owner_ids:
        for which in ("actual", "in_progress"):
            try:
                rows = metric.records(session, viewer, owner, start, end, which, 5)
            except Exception as exc:
                problems.append(f"records(which={which!r}) raised {type(exc).__name__}: {exc}")
                continue
            if len(rows) > 5:
                problems.append(f"records() returned {len(rows)} rows with limit 5")
            actual = values.get(owner, (0, 0))[0 if which == "actual" else 1]
            if metric.unit == "count" and len(rows) < 5 and len(rows) != actual:
                problems.append(f"records(which={which!r}) lists {len(rows)} rows but values() says {actual}")
    return problems

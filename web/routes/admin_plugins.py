"""Admin: installed plugins (status, versions, dependencies, load errors, run-time toggles) and settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.models import PluginState, User
from voronka.core.plugin_state import ToggleRefused, switch_plugins
from voronka.core.plugins import PluginHost, PluginInfo
from voronka.core.security.markers import requires
from voronka.core.security.permissions import ADMIN
from voronka.core.settings_store import SettingField

from .admin_base import done, page, read_form


@dataclass
class Dependency:
    name: str
    spec: str
    state: str
    """"on" (enabled), "off" (loaded, not enabled), "failed" (did not load), "missing" (not installed)."""


@dataclass
class PluginRow:
    """One line of the plugins table, everything the template needs and nothing it must compute."""

    name: str
    label: str
    version: str
    description: str
    status: str
    """"enabled", "disabled", "blocked" or "failed"."""
    source: str
    reason: str | None = None
    requires: list[Dependency] = field(default_factory=list)
    optional: list[Dependency] = field(default_factory=list)
    required_by: list[str] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)
    has_settings: bool = False
    config_default_off: bool = False
    changed_at: dt.datetime | None = None
    changed_by: str | None = None

    @property
    def can_toggle(self) -> bool:
        return self.status in ("enabled", "disabled")


class Refused(Exception):
    pass


def _dependency(host: PluginHost, name: str, spec: str) -> Dependency:
    if name not in host.plugins:
        return Dependency(name, spec, "missing")
    if host.plugins[name].error:
        return Dependency(name, spec, "failed")
    return Dependency(name, spec, "on" if host.is_enabled(name) else "off")


def plugin_rows(request: Request) -> list[PluginRow]:
    rt = runtime(request)
    host = rt.host
    changes = {
        name: (at, who)
        for name, at, who in db(request).execute(
            select(PluginState.name, PluginState.changed_at, User.display_name).outerjoin(
                User, User.id == PluginState.changed_by
            )
        )
    }
    rows: list[PluginRow] = []
    for info in host.plugins.values():
        rows.append(_row(host, info, rt.settings_store.schemas, changes))
    rows.sort(key=lambda r: (r.status == "failed", r.label.casefold(), r.name))
    return rows


def _row(host: PluginHost, info: PluginInfo, schemas: dict[str, Any], changes: dict[str, Any]) -> PluginRow:
    manifest = info.manifest
    if info.error:
        status = "failed"
    elif info.name in host.blocked:
        status = "blocked"
    else:
        status = "enabled" if host.is_enabled(info.name) else "disabled"
    row = PluginRow(
        name=info.name,
        label=info.label,
        version=info.version,
        description=(manifest.description.strip().splitlines() or [""])[0] if manifest else "",
        status=status,
        source=info.source,
        reason=info.error,
        has_settings=bool(schemas.get(info.name)) and not info.error,
    )
    if manifest is not None:
        row.requires = [_dependency(host, n, s) for n, s in manifest.requires.items()]
        row.optional = [_dependency(host, n, s) for n, s in manifest.optional.items()]
        if status == "disabled" and host.wanted(info.name):
            row.waiting_for = [d.name for d in row.requires if d.state != "on"]
    row.required_by = sorted(
        other.label
        for other in host.plugins.values()
        if other.manifest is not None and info.name in other.manifest.requires and other is not info
    )
    if info.name in changes:
        row.changed_at, row.changed_by = changes[info.name]
    else:
        row.config_default_off = info.name in host.initially_disabled
    return row


def _plugins_page(
    request: Request, *, message: str | None = None, error: str | None = None, error_for: str | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    rt = runtime(request)
    changed = request.query_params.get("changed")
    if message is None and changed in rt.host.plugins:
        info = rt.host.plugins[changed]
        message = (_("%(label)s is enabled.") if rt.host.is_enabled(changed) else _("%(label)s is disabled.")) % {
            "label": info.label
        }
    return page(request, "admin/plugins.html", {
        "rows": plugin_rows(request), "warnings": rt.host.config_warnings, "message": message,
        "error": error, "error_for": error_for, "strict": rt.host.strict,
    }, tab="plugins", block="plugins", status_code=status_code)  # fmt: skip


@requires(ADMIN)
async def plugins(request: Request) -> Response:
    return _plugins_page(request)


@requires(ADMIN)
async def plugin_toggle(request: Request) -> Response:
    """Enable or disable a plugin for every process: a PluginState row and the "plugins" counter, at once.

    The counter is bumped first so its row lock serialises concurrent toggles (PostgreSQL; SQLite has one
    writer anyway); the decision is then taken on the state as committed by everyone else.
    """
    name = request.path_params["name"]
    action = request.path_params["action"]
    rt = runtime(request)
    host = rt.host
    if action not in ("enable", "disable") or name not in host.plugins:
        raise HTTPException(404)
    enable = action == "enable"
    try:
        with write_transaction(rt.sessions) as session:
            switch_plugins(session, host, [name], enable, changed_by=user(request).id)
    except ToggleRefused as exc:
        rt.sync(force=True)
        return _plugins_page(request, error=str(exc), error_for=name, status_code=409)
    rt.sync(force=True)
    return done(request, "/admin/plugins", changed=name)


# -- settings ------------------------------------------------------------------------------------------


def _schema_or_404(request: Request, plugin: str) -> tuple[PluginInfo, list[SettingField]]:
    rt = runtime(request)
    fields = rt.settings_store.schemas.get(plugin)
    info = rt.host.plugins.get(plugin)
    if not fields or info is None:
        raise HTTPException(404, _("No plugin named %(name)s has settings.") % {"name": plugin})
    return info, fields


def _translated(fields: list[SettingField]) -> list[SettingField]:
    """The fields with label, help and choice labels in the admin's language (declared with ``N_()``)."""
    return [
        replace(f, label=_(f.label) if f.label else "", help=_(f.help) if f.help else "",
                choices=tuple((value, _(label) if label else label) for value, label in f.choices))
        for f in fields
    ]  # fmt: skip


def _display(f: SettingField, value: Any) -> Any:
    if f.type == "bool":
        return bool(value)
    return "" if value is None else str(value)


@requires(ADMIN)
async def settings_index(request: Request) -> Response:
    rt = runtime(request)
    entries = [
        {"name": name, "label": rt.host.plugins[name].label, "count": len(fields),
         "enabled": rt.host.is_enabled(name)}
        for name, fields in rt.settings_store.schemas.items()
        if fields and name in rt.host.plugins
    ]  # fmt: skip
    entries.sort(key=lambda e: e["label"].casefold())
    return page(request, "admin/settings_index.html", {"entries": entries}, tab="settings")


@requires(ADMIN)
async def plugin_settings(request: Request) -> Response:
    plugin = request.path_params["plugin"]
    info, fields = _schema_or_404(request, plugin)
    stored = runtime(request).settings_store.values(db(request), plugin)
    values = {f.key: _display(f, stored.get(f.key)) for f in fields}
    return page(request, "admin/settings.html", {
        "info": info, "fields": _translated(fields), "values": values, "errors": {},
        "saved": bool(request.query_params.get("saved")), "enabled": runtime(request).host.is_enabled(plugin),
    }, tab="settings", block="settings_form")  # fmt: skip


@requires(ADMIN)
async def plugin_settings_save(request: Request) -> Response:
    plugin = request.path_params["plugin"]
    info, fields = _schema_or_404(request, plugin)
    form = await read_form(request)
    submitted: dict[str, str | None] = {}
    for f in fields:
        value = form.get(f.key)
        submitted[f.key] = value if isinstance(value, str) else None
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            rt.settings_store.save(session, plugin, submitted)
    except ValidationError as exc:
        values = {f.key: (submitted[f.key] is not None) if f.type == "bool" else (submitted[f.key] or "")
                  for f in fields}  # fmt: skip
        return page(request, "admin/settings.html", {
            "info": info, "fields": _translated(fields), "values": values, "errors": exc.errors, "saved": False,
            "enabled": rt.host.is_enabled(plugin),
        }, tab="settings", block="settings_form", status_code=400)  # fmt: skip
    rt.sync(force=True)
    return done(request, f"/admin/settings/{plugin}", saved="1")


routes = [
    Route("/admin/plugins", plugins, methods=["GET"], name="admin_plugins"),
    Route("/admin/plugins/{name}/{action}", plugin_toggle, methods=["POST"], name="admin_plugin_toggle"),
    Route("/admin/settings", settings_index, methods=["GET"], name="admin_settings"),
    Route("/admin/settings/{plugin}", plugin_settings, methods=["GET"], name="admin_plugin_settings"),
    Route("/admin/settings/{plugin}", plugin_settings_save, methods=["POST"], name="admin_plugin_settings_save"),
]

"""Switching plugins on and off for every process: one function for the admin page and the CLI."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import VoronkaError
from .i18n import gettext as _
from .models import PluginState
from .plugins import PluginHost
from .state import bump, read_versions
from .types import utcnow


class ToggleRefused(VoronkaError):
    """The switch would leave an enabled plugin without a requirement, or the plugin cannot be switched."""

    def __init__(self, name: str, reason: str):
        self.name = name
        super().__init__(reason)


def switch_plugins(
    session: Session, host: PluginHost, names: list[str], enable: bool, changed_by: int | None = None
) -> list[str]:
    """Enable or disable ``names`` in the caller's transaction; return the names that changed.

    The "plugins" counter is bumped first, so its row lock serialises concurrent toggles (PostgreSQL;
    SQLite has one writer anyway) and the decision is taken on what other processes committed. Plugins are
    taken in dependency order (requirements first when enabling, dependents first when disabling), so
    ``enable contacts leads`` works. Any refusal raises :class:`ToggleRefused`; the caller's transaction
    then rolls back and nothing changes.
    """
    for name in names:
        if name not in host.plugins or not host.plugins[name].loaded:
            raise ToggleRefused(name, _("'%(name)s' is not a loaded plugin") % {"name": name})
    rank = {n: i for i, n in enumerate(host.order)}
    ordered = sorted(dict.fromkeys(names), key=lambda n: rank[n], reverse=not enable)
    bump(session, "plugins")
    rows = dict(session.execute(select(PluginState.name, PluginState.enabled)).all())
    version = read_versions(session).get("plugins", 1) - 1
    host.apply_state(version, rows)
    changed: list[str] = []
    for name in ordered:
        if host.is_enabled(name) == enable and host.wanted(name) == enable:
            continue
        reason = host.refuse_toggle(name, enable)
        if reason:
            raise ToggleRefused(name, reason)
        rows[name] = enable
        host.apply_state(version, dict(rows))
        row = session.get(PluginState, name)
        if row is None:
            session.add(PluginState(name=name, enabled=enable, changed_at=utcnow(), changed_by=changed_by))
        else:
            row.enabled, row.changed_at, row.changed_by = enable, utcnow(), changed_by
        changed.append(name)
    return changed

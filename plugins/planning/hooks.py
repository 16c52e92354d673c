"""Planning's answers to the host's hooks; each delegates to the module that owns the matter."""

from __future__ import annotations

from typing import Any

from voronka.core.handlers import user as current_user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.markers import hookimpl
from voronka.core.security.permissions import Permission
from voronka.core.settings_store import SettingField
from voronka.core.ui import NavItem

from . import panels, rules
from . import routes as planning_routes
from . import seed as planning_seed
from .kinds import KINDS, MANAGE, VIEW
from .models import MONTH, QUARTER, YEAR, Plan


@hookimpl
def routes() -> list[Any]:
    return planning_routes.routes


@hookimpl
def nav_items(request: Any) -> list[NavItem]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    items = [
        NavItem("planning.mine", _("My plan"), "/planning/", icon="target", order=40),
        NavItem("planning.team", _("My team"), "/planning/team", icon="users", order=41),
    ]
    if viewer.can(MANAGE):
        items.append(NavItem("planning.targets", _("Targets"), "/planning/targets", icon="plan", order=42))
    return items


@hookimpl
def slot(name: str, request: Any, obj: Any) -> list[Any]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    if name == "home":
        return panels.home_panels(request)
    if name == "user.page":
        return panels.user_panels(request, obj)
    return []


@hookimpl
def permissions() -> list[Permission]:
    return [
        Permission(VIEW, N_("See plans"),
                   N_("See your own plan and, with a wider visibility scope, the plans of the people you see."),
                   ("admin", "manager", "sales", "operator")),
        Permission(MANAGE, N_("Set targets"),
                   N_("Set targets and distribute them to the people under you."), ("admin", "manager")),
    ]  # fmt: skip


@hookimpl
def settings_schema() -> list[SettingField]:
    return [
        SettingField("default_period", N_("Plan period shown first"), "choice", default=QUARTER,
                     choices=((MONTH, N_("Month")), (QUARTER, N_("Quarter")), (YEAR, N_("Year"))),
                     help=N_("Which period “My plan” and “My team” open on: the current month, quarter or "
                             "fiscal year.")),
    ]  # fmt: skip


@hookimpl
def record_kinds() -> list[Any]:
    return list(KINDS)


@hookimpl
def before_save(session: Any, record: Any, changes: dict[str, Any], actor_id: int | None = None) -> None:
    """A plan's rules hold on every write path: one period per person and metric, no negative target,
    only for a person the actor may plan for."""
    if isinstance(record, Plan):
        rules.before_save(session, record, changes, actor_id)


@hookimpl
def seed(ctx: Any) -> Any:
    return planning_seed.seed(ctx)

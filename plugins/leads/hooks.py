"""Leads' answers to the host's, contacts' and its own hooks; each delegates to the module that owns the
matter."""

from __future__ import annotations

from typing import Any

from voronka.core.handlers import user as current_user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.markers import hookimpl
from voronka.core.security.permissions import Permission
from voronka.core.settings_store import SettingField
from voronka.core.ui import NavItem

from . import (
    channels,
    deal_results,
    lead_list,
    lead_pages,
    lead_timeline,
    lookups,
    mail_channel,
    merging,
    outcomes,
    rules,
    script_actions,
)
from . import metrics as lead_metrics
from . import routes as leads_routes
from . import seed as leads_seed
from .kinds import EDIT, KINDS, MANAGE, VIEW
from .models import Lead


@hookimpl
def startup(app: Any) -> None:
    script_actions.startup(app)  # "after" actions run from the outbox, which hands handlers only a session


@hookimpl
def routes() -> list[Any]:
    return leads_routes.routes


@hookimpl
def nav_items(request: Any) -> list[NavItem]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    items = [NavItem("leads.list", _("Leads"), "/leads/", icon="lead", order=15)]
    if viewer.can(EDIT):
        items.append(NavItem("leads.call", _("Incoming call"), "/leads/call", icon="phone", order=16))
    if viewer.can(MANAGE):
        items += [
            NavItem("leads.campaigns", _("Campaigns"), "/leads/campaigns", icon="campaign", order=17),
            NavItem("leads.scripts", _("Scripts"), "/leads/scripts", icon="script", order=18),
            NavItem("leads.report", _("Channels"), "/leads/report", icon="chart", order=19),
        ]
    return items


@hookimpl
def slot(name: str, request: Any, obj: Any) -> list[Any]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    if name == "home":
        return lead_list.home_panels(request)
    if name == "party.panels":
        return lead_pages.card_panels(request, obj)
    return []


@hookimpl
def search(session: Any, user: Any, query: str, limit: int) -> list[Any]:
    if not user.can(VIEW):
        return []
    return lead_list.search_hits(session, user, query, limit)


@hookimpl
def permissions() -> list[Permission]:
    return [
        Permission(VIEW, N_("See leads"), N_("Open leads and the team queues."),
                   ("admin", "manager", "sales", "operator")),
        Permission(EDIT, N_("Work leads"), N_("Create, edit, qualify and disqualify leads; run scripts."),
                   ("admin", "manager", "sales", "operator")),
        Permission(MANAGE, N_("Manage lead capture"),
                   N_("Define campaigns and their forms, qualification scripts and the qualification mapping; "
                      "see the company-wide channel report."),
                   ("admin", "manager")),
    ]  # fmt: skip


@hookimpl
def settings_schema() -> list[SettingField]:
    return [
        SettingField("default_queue", N_("Queue for new leads"), "text", default="",
                     help=N_("The team whose queue receives leads from the web form, the API and e-mail "
                             "(its name); empty: they stay unassigned.")),
        SettingField("round_robin", N_("Assign new leads round-robin"), "bool", default=False,
                     help=N_("Hand each new lead in the queue to the next member of the team.")),
        SettingField("mailboxes", N_("Mailboxes that create leads"), "text", default="",
                     help=N_("E-mail addresses, separated by commas: mail from unknown senders to these "
                             "mailboxes becomes a lead.")),
        SettingField("form_rate", N_("Web form submissions per minute from one address"), "int", default=20,
                     min=1, max=10000),
        SettingField("list_limit", N_("Rows per list page"), "int", default=50, min=10, max=500),
    ]  # fmt: skip


@hookimpl
def record_kinds() -> list[Any]:
    return list(KINDS)


@hookimpl
def before_save(session: Any, record: Any, changes: dict[str, Any], actor_id: int | None = None) -> None:
    """A lead's rules hold on every write path (forms, public form, API, import, qualification)."""
    if isinstance(record, Lead):
        rules.before_save(session, record, changes, actor_id)


@hookimpl
def on_event(session: Any, event: Any) -> None:
    name = event.name
    if name.startswith("pipeline."):
        deal_results.on_event(session, event)
    elif name == mail_channel.EVENT:
        mail_channel.on_event(session, event)
    elif name == script_actions.EVENT:
        script_actions.on_event(session, event)


@hookimpl
def metrics() -> list[Any]:
    return list(lead_metrics.METRICS)


@hookimpl
def seed(ctx: Any) -> Any:
    return leads_seed.seed(ctx)


@hookimpl
def timeline(session: Any, viewer: Any, ref: Any, kinds: list[str] | None, before: Any, limit: int) -> list[Any]:
    if not viewer.can(VIEW):
        return []
    return lead_timeline.entries(session, viewer, ref, kinds, before, limit)


@hookimpl
def timeline_kinds() -> list[tuple[str, str]]:
    return lead_timeline.kinds()


@hookimpl
def records_merged(session: Any, kind: str, kept: int, merged: int, actor_id: int | None = None) -> None:
    merging.records_merged(session, kind, kept, merged, actor_id)


@hookimpl
def records_deleted(session: Any, kind: str, ids: list[int]) -> None:
    merging.records_deleted(session, kind, ids)


@hookimpl
def lead_channels() -> list[dict[str, Any]]:
    return channels.own_channels()


@hookimpl
def qualification_outcomes() -> list[dict[str, Any]]:
    return outcomes.own_outcomes()


@hookimpl
def qualification_lookups() -> list[dict[str, Any]]:
    return lookups.own_lookups()


@hookimpl
def qualification_actions() -> list[dict[str, Any]]:
    return script_actions.own_actions()

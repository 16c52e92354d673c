"""Contacts' answers to the host's hooks; each delegates to the module that owns the matter."""

from __future__ import annotations

from typing import Any

from voronka.core.handlers import user as current_user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.markers import hookimpl
from voronka.core.security.permissions import Permission
from voronka.core.settings_store import SettingField
from voronka.core.ui import NavItem, Panel, SearchHit

from . import activities, batch_relationships, lists, merging, parties, relationships, vcard
from . import metrics as contact_metrics
from . import routes as contact_routes
from . import seed as contact_seed
from .kinds import EDIT, KINDS, MANAGE, VIEW
from .models import Activity, Party, Relationship


@hookimpl
def routes() -> list[Any]:
    return contact_routes.routes


@hookimpl
def nav_items(request: Any) -> list[NavItem]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    return [
        NavItem("contacts.people", _("People"), "/contacts/people", icon="person", order=10),
        NavItem("contacts.organisations", _("Organisations"), "/contacts/organisations", icon="building", order=11),
        NavItem("contacts.tasks", _("My tasks"), "/contacts/tasks", icon="task", order=12),
    ]


@hookimpl
def slot(name: str, request: Any, obj: Any) -> list[Panel]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    return activities.panels(name, request, obj)


@hookimpl
def search(session: Any, user: Any, query: str, limit: int) -> list[SearchHit]:
    if not user.can(VIEW):
        return []
    return lists.search_hits(session, user, query, limit)


@hookimpl
def permissions() -> list[Permission]:
    return [
        Permission(VIEW, N_("See contacts"), N_("Open people and organisations, their cards and timelines."),
                   ("admin", "manager", "sales", "operator")),
        Permission(EDIT, N_("Edit contacts"),
                   N_("Create and change people, organisations, relationships and activities; merge duplicates."),
                   ("admin", "manager", "sales", "operator")),
        Permission(MANAGE, N_("Manage contacts settings"), N_("Add and change relationship types."),
                   ("admin", "manager")),
    ]  # fmt: skip


@hookimpl
def settings_schema() -> list[SettingField]:
    return [
        SettingField("list_limit", N_("Rows per list page"), "int", default=50, min=10, max=500),
        SettingField("timeline_limit", N_("Timeline entries per page"), "int", default=25, min=5, max=200),
    ]  # fmt: skip


@hookimpl
def record_kinds() -> list[Any]:
    return list(KINDS)


@hookimpl
def before_save(session: Any, record: Any, changes: dict[str, Any]) -> None:
    """Contacts' rules hold on every write path (forms, bulk, import, API), not only behind its forms."""
    if isinstance(record, Party):
        parties.before_save(session, record, changes)
    elif isinstance(record, Relationship):
        relationships.before_save(session, record, changes)
    elif isinstance(record, Activity):
        activities.before_save(session, record, changes)


@hookimpl(optionalhook=True)  # hook API 1.1: a 1.0 host never calls it, and the rules then query per record
def before_save_batch(session: Any, kind: str, values: list[dict[str, Any]], ids: list[int | None]) -> None:
    """Load once per batch what the rules above would ask per record (see ``batch_relationships``)."""
    if kind == "relationship":
        batch_relationships.prime(session, values, ids)


@hookimpl
def records_merged(session: Any, kind: str, kept: int, merged: int, actor_id: int | None = None) -> None:
    merging.records_merged(session, kind, kept, merged, actor_id)


@hookimpl
def records_deleted(session: Any, kind: str, ids: list[int]) -> None:
    merging.records_deleted(session, kind, ids)


@hookimpl
def metrics() -> list[Any]:
    return contact_metrics.METRICS


@hookimpl
def seed(ctx: Any) -> Any:
    return contact_seed.seed(ctx)


@hookimpl
def jobs() -> list[Any]:
    return vcard.jobs()


@hookimpl
def timeline(session: Any, viewer: Any, ref: Any, kinds: list[str] | None, before: Any, limit: int) -> list[Any]:
    return activities.timeline_entries(session, viewer, ref, kinds, before, limit)


@hookimpl
def timeline_kinds() -> list[tuple[str, str]]:
    return activities.timeline_kinds()

"""Pipeline's answers to the host's and contacts' hooks; each delegates to the module that owns the matter."""

from __future__ import annotations

from typing import Any

from voronka.core.handlers import user as current_user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.markers import hookimpl
from voronka.core.security.permissions import Permission
from voronka.core.settings_store import SettingField
from voronka.core.ui import NavItem

from . import card_panels, deal_list, deal_metrics, deal_rollups, deal_rules, deal_timeline, merging, totals_guard
from . import routes as pipeline_routes
from . import seed as pipeline_seed
from .kinds import EDIT, KINDS, MANAGE, VIEW
from .leads_answers import qualification_lookups, qualification_outcomes  # noqa: F401  (leads' optional hooks)
from .models import Opportunity, Order, Quote


@hookimpl
def routes() -> list[Any]:
    return pipeline_routes.routes


@hookimpl
def nav_items(request: Any) -> list[NavItem]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    return [
        NavItem("pipeline.board", _("Board"), "/pipeline/board", icon="board", order=20),
        NavItem("pipeline.deals", _("Deals"), "/pipeline/deals", icon="deal", order=21),
        NavItem("pipeline.forecast", _("Forecast"), "/pipeline/forecast", icon="chart", order=22),
        NavItem("pipeline.quotes", _("Quotes"), "/pipeline/quotes", icon="quote", order=23),
        NavItem("pipeline.orders", _("Orders"), "/pipeline/orders", icon="order", order=24),
        NavItem("pipeline.products", _("Products"), "/pipeline/products", icon="product", order=25),
        *([NavItem("pipeline.settings", _("Pipelines"), "/pipeline/settings", icon="settings", order=29)]
          if viewer.can(MANAGE) else []),
    ]  # fmt: skip


@hookimpl
def slot(name: str, request: Any, obj: Any) -> list[Any]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    return card_panels.panels(name, request, obj)


@hookimpl
def search(session: Any, user: Any, query: str, limit: int) -> list[Any]:
    if not user.can(VIEW):
        return []
    return deal_list.search_hits(session, user, query, limit)


@hookimpl
def permissions() -> list[Permission]:
    return [
        Permission(VIEW, N_("See deals"), N_("Open deals, the board, the forecast, quotes and orders."),
                   ("admin", "manager", "sales", "operator")),
        Permission(EDIT, N_("Edit deals"), N_("Create and move deals; write quotes and orders."),
                   ("admin", "manager", "sales")),
        Permission(MANAGE, N_("Manage the pipeline"),
                   N_("Define pipelines and their stages; keep the product catalogue."), ("admin", "manager")),
    ]  # fmt: skip


@hookimpl
def settings_schema() -> list[SettingField]:
    return [
        SettingField("board_limit", N_("Cards per board column"), "int", default=50, min=10, max=500),
        SettingField("list_limit", N_("Rows per list page"), "int", default=50, min=10, max=500),
    ]  # fmt: skip


@hookimpl
def record_kinds() -> list[Any]:
    return list(KINDS)


@hookimpl
def before_save(session: Any, record: Any, changes: dict[str, Any], actor_id: int | None = None) -> None:
    """Pipeline's rules hold on every write path (board, forms, bulk, import, API), not only behind its forms."""
    if isinstance(record, Opportunity):
        deal_rules.before_save(session, record, changes, actor_id)
    elif isinstance(record, (Quote, Order)):
        totals_guard.before_save(session, record, changes)  # line totals are written only by the pricing code


@hookimpl
def metrics() -> list[Any]:
    return deal_metrics.METRICS


@hookimpl
def seed(ctx: Any) -> Any:
    return pipeline_seed.seed(ctx)


@hookimpl
def timeline(session: Any, viewer: Any, ref: Any, kinds: list[str] | None, before: Any, limit: int) -> list[Any]:
    if not viewer.can(VIEW):
        return []
    return deal_timeline.entries(session, viewer, ref, kinds, before, limit)


@hookimpl
def timeline_kinds() -> list[tuple[str, str]]:
    return deal_timeline.kinds()


@hookimpl
def records_merged(session: Any, kind: str, kept: int, merged: int, actor_id: int | None = None) -> None:
    merging.records_merged(session, kind, kept, merged, actor_id)


@hookimpl
def records_deleted(session: Any, kind: str, ids: list[int]) -> None:
    deal_rollups.purged(session, kind, ids)  # first: it reads the deals' sums before references are cleared
    merging.records_deleted(session, kind, ids)


@hookimpl
def jobs() -> list[Any]:
    return [deal_rollups.snapshot_job()]

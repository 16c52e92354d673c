"""Planning's panels: "My plan" on the start page and a person's plans on their page (``user.page``).

Both are lazy (``lazy_url``): the host page renders at once and the figures, which run each metric's query,
arrive after it from /planning/panel (:func:`panel_page`; :mod:`.team_pages` lists its route). Listing the
panels costs nothing but, for ``user.page``, the visibility check.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.company import company_settings
from voronka.core.handlers import db
from voronka.core.handlers import user as current_user
from voronka.core.i18n import gettext as _
from voronka.core.security.markers import requires
from voronka.core.templating import render
from voronka.core.ui import Panel

from . import periods, progress
from .kinds import VIEW
from .my_plan_pages import Numbers, by_availability, default_kind, link, plan_line, query_person, reports_today


def home_panels(request: Any) -> list[Panel]:
    """The viewer's plans in the current period, compact, with a line for their team when they have one."""
    return [Panel("planning.mine", _("My plan"), lazy_url="/planning/panel", order=15)]


def user_panels(request: Any, user: Any) -> list[Panel]:
    """``user``'s plans in the current period, when the viewer may see them (else nothing at all)."""
    viewer = current_user(request)
    user_id = getattr(user, "id", None)
    if viewer is None or user_id is None:
        return []
    if user_id == viewer.id:
        return home_panels(request)
    session = db(request)
    period = periods.current(company_settings(session), default_kind(request, session))
    if not progress.may_view(session, viewer, user_id, period):
        return []
    return [Panel("planning.plan", _("Plan"), lazy_url=f"/planning/panel?user={user_id}", order=15)]


def panel_context(request: Request) -> dict[str, Any]:
    """The current period's plans of the viewer (or of ``?user=``), each a line with its bar, and how many
    people report to them today."""
    session, viewer = db(request), current_user(request)
    host = request.app.state.voronka.host
    settings = company_settings(session)
    today = settings.today()
    period = periods.current(settings, default_kind(request, session))
    person = query_person(request, session, "user", period)
    numbers = Numbers(settings.base_currency)
    shown_user = None if person.is_viewer else person.id
    lines = []
    for found in by_availability(progress.my_plan(session, host, viewer, person.id, period, today=today)):
        key = found.metric.key
        lines.append(plan_line(found.metric, found.figures, numbers,
                               lambda which, key=key: link("/planning/records", user=shown_user, metric=key,
                                                           period=period.key, which=which)))  # fmt: skip
    return {
        "person": person,
        "period": period,
        "period_label": period.label(settings),
        "lines": lines,
        "reports": reports_today(session, person.id, today),
        "plan_url": link("/planning/", user=shown_user, period=period.key),
        "team_url": link("/planning/team", root=shown_user, period=period.key),
    }


@requires(VIEW)
async def panel_page(request: Request) -> Response:
    return render(request, "planning/panel_plan.html", panel_context(request))


routes: list[Any] = [Route("/panel", panel_page, methods=["GET"], name="planning_panel")]

"""The "My team" page (/planning/team): the tree of everyone under a root (the viewer by default) for one metric and
period — target, actual, percent, pace, projection and status per person — with a chart of the direct reports
and, loaded after the page (/planning/team/past), the root's figures in the three periods before.

The tree is computed once by :func:`progress.team_view` and turned into plain lines here, so the template
does no work per person beyond printing: a 200-person tree renders in milliseconds. Deeper levels start
collapsed (<details>), so a big team stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.company import CompanySettings, company_settings
from voronka.core.handlers import db, user
from voronka.core.i18n import gettext as _
from voronka.core.security.markers import requires
from voronka.core.templating import render

from . import catalogue, charts, periods, progress
from .figures import STATUSES, TeamNode, status_label
from .kinds import VIEW
from .models import Plan
from .my_plan_pages import (
    Numbers,
    Person,
    bad_request,
    here_text,
    link,
    period_nav,
    query_metric,
    query_period,
    query_person,
)
from .periods import Period

OPEN_DEPTH = 2
"""Levels above this start expanded: the root and its direct reports show their people; deeper ones fold."""
PAST_PERIODS = 3


@dataclass
class TreeLine:
    """One person in the tree as the page prints it."""

    user_id: int
    name: str
    depth: int
    expanded: bool
    status: str
    status_label: str
    target: str
    actual: str
    percent: str
    should_be: str
    projection: str
    projected_percent: str
    here: str
    """"here 1 Jan – 14 Feb" for someone who reported here only part of the period, else ""."""
    gap: str
    """How far the children's targets are from this person's ("children +₴5,000"), else ""."""
    plan_url: str
    team_url: str
    has_plan: bool
    children: list[TreeLine] = field(default_factory=list)


@dataclass(frozen=True)
class TreeText:
    """What every line of one tree shares: the unit, the formats, the status labels, the URLs' parts."""

    unit: str
    numbers: Numbers
    labels: dict[str, str]
    period_key: str
    metric_key: str


def _lines(node: TeamNode, depth: int, shared: TreeText) -> TreeLine:
    f, unit, numbers = node.figures, shared.unit, shared.numbers
    gap = ""
    if node.mismatch is not None:
        gap = _("Their people's targets add up to %(sum)s: %(gap)s against this target.") % {
            "sum": numbers.value(node.children_target, unit),
            "gap": numbers.signed(node.mismatch, unit),
        }
    team_url = ""
    if node.children and depth:
        team_url = f"/planning/team?root={node.user_id}&metric={shared.metric_key}&period={shared.period_key}"
    line = TreeLine(
        user_id=node.user_id, name=node.name, depth=depth, expanded=depth < OPEN_DEPTH, status=f.status,
        status_label=shared.labels.get(f.status, f.status), target=numbers.value(f.target, unit),
        actual=numbers.value(f.actual, unit), percent=numbers.percent(f.percent),
        should_be=numbers.value(f.should_be, unit), projection=numbers.value(f.projection, unit),
        projected_percent=numbers.percent(f.projected_percent), here=here_text(node.partial, node.spans), gap=gap,
        plan_url=f"/planning/?user={node.user_id}&period={shared.period_key}", team_url=team_url,
        has_plan=node.plan is not None,
    )  # fmt: skip
    line.children = [_lines(child, depth + 1, shared) for child in node.children]
    return line


def metric_options(session: Session, host: Any, period: Period) -> list[tuple[str, str, bool]]:
    """(key, label, has plans) for the metric picker: metrics with plans in the period first."""
    planned = set(session.scalars(
        select(Plan.metric_key).where(Plan.period_start == period.start, Plan.period_kind == period.kind)
        .group_by(Plan.metric_key)
    ))  # fmt: skip
    order = {m.key: index for index, m in enumerate(catalogue.available(host))}
    options = []
    for key in sorted(planned, key=lambda k: (order.get(k, len(order)), k)):
        info = catalogue.describe(host, key, session)
        options.append((key, info.label if info.available else _("%(key)s (switched off)") % {"key": key}, True))
    options += [(m.key, m.label, False) for m in catalogue.available(host) if m.key not in planned]
    return options


def known_metric(key: str | None, options: list[tuple[str, str, bool]]) -> None:
    """A metric no enabled plugin measures and no plan of the period uses is junk in the address: a 400."""
    if key is not None and key not in {option[0] for option in options}:
        raise bad_request(_("No metric “%(key)s” here: choose one of the list.") % {"key": key})


def _chart(view: progress.TeamView, numbers: Numbers) -> tuple[Any, list[dict[str, str]]]:
    unit = view.metric.unit
    bars, table = [], []
    for child in view.root.children:
        f = child.figures
        note = numbers.value(f.actual, unit)
        if f.target is not None:
            note = _("%(actual)s of %(target)s · %(percent)s") % {
                "actual": note,
                "target": numbers.value(f.target, unit),
                "percent": numbers.percent(f.percent),
            }
        bars.append(charts.TeamBar(child.name, f.actual, f.target, f.should_be, f.status, note))
        table.append({"name": child.name, "target": numbers.value(f.target, unit),
                      "actual": numbers.value(f.actual, unit), "percent": numbers.percent(f.percent),
                      "should_be": numbers.value(f.should_be, unit),
                      "status": f.status, "status_label": status_label(f.status)})  # fmt: skip
    if not bars:
        return None, []
    title = _("%(metric)s: actual against target per direct report") % {"metric": view.metric.label}
    legend = (_("Actual"), _("Target"), _("Where the pace says they should be today"))
    return charts.team_bars(bars, title, legend), table


def team_context(request: Request) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    host = request.app.state.voronka.host
    settings = company_settings(session)
    today = settings.today()
    period = query_period(request, session, settings)
    root = query_person(request, session, "root", period)
    asked = query_metric(request, required=False)
    options = metric_options(session, host, period)
    known_metric(asked, options)
    key = asked or (options[0][0] if options else None)
    shown_root = None if root.is_viewer else root.id
    context: dict[str, Any] = {
        "root": root,
        "period": period,
        "metric_key": key,
        "options": options,
        "picker": period_nav(settings, period, today,
                          lambda p: link("/planning/team", root=shown_root, metric=key, period=p.key)),
        "extra_css": ["planning.css"],
        "view": None,
        "mine_url": link("/planning/team", metric=asked, period=period.key),
    }  # fmt: skip
    if key is None:
        return context
    view = progress.team_view(session, host, viewer, root.id, key, period, today=today)
    numbers = Numbers(settings.base_currency)
    labels = {status: status_label(status) for status in STATUSES}
    tree = _lines(view.root, 0, TreeText(view.metric.unit, numbers, labels, period.key, quote(key, safe="")))
    chart, chart_rows = _chart(view, numbers)
    context.update({
        "view": view, "metric": view.metric, "tree": tree, "people": len(view.root.walk()) - 1,
        "chart": chart, "chart_rows": chart_rows,
        "pace": numbers.percent(view.root.figures.pace_percent),
        "past_url": link("/planning/team/past", root=shown_root, metric=key, period=period.key),
    })  # fmt: skip
    return context


@requires(VIEW)
async def team_page(request: Request) -> Response:
    return render(request, "planning/team_page.html", team_context(request), block="team")


def past_rows(session: Session, host: Any, viewer: Any, root: Person, key: str, period: Period,
              settings: CompanySettings, numbers: Numbers) -> list[dict[str, Any]]:  # fmt: skip
    """The root's figures (them and their team) in the periods of the same kind before ``period``."""
    rows = []
    for step in range(1, PAST_PERIODS + 1):
        before = periods.shift(period, -step)
        view = progress.team_view(session, host, viewer, root.id, key, before, today=settings.today())
        f, unit = view.root.figures, view.metric.unit
        rows.append({"label": before.label(settings), "start": before.start, "last": before.last,
                     "target": numbers.value(f.target, unit), "actual": numbers.value(f.actual, unit),
                     "percent": numbers.percent(f.percent), "status": f.status, "status_label": status_label(f.status),
                     "url": link("/planning/team", root=None if root.is_viewer else root.id, metric=key,
                                 period=before.key)})  # fmt: skip
    return rows


@requires(VIEW)
async def past_page(request: Request) -> Response:
    session, viewer = db(request), user(request)
    settings = company_settings(session)
    period = query_period(request, session, settings)
    root = query_person(request, session, "root", period)
    key = str(query_metric(request))
    host = request.app.state.voronka.host
    known_metric(key, metric_options(session, host, period))
    numbers = Numbers(settings.base_currency)
    rows = past_rows(session, host, viewer, root, key, period, settings, numbers)
    return render(request, "planning/team_past.html", {"rows": rows, "period": period})


routes: list[Any] = [
    Route("/team", team_page, methods=["GET"], name="planning_team"),
    Route("/team/past", past_page, methods=["GET"], name="planning_team_past"),
]

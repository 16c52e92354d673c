"""The funnel and forecast pages: one analytics page with two tabs, /pipeline/funnel and
/pipeline/forecast, sharing the board's filters (owner, period, pipeline) through :mod:`.deal_filters`.

A page is the whole layout, or for HTMX (a filter changed) only its ``analytics`` block. Figures come from
:mod:`.funnel` and :mod:`.forecast`, which read the sums kept by :mod:`.deal_rollups`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.company import company_settings
from voronka.core.handlers import db, user
from voronka.core.i18n import gettext as _
from voronka.core.security.markers import requires
from voronka.core.templating import format_money, render

from . import charts, deal_filters, forecast, funnel
from .kinds import VIEW
from .stages import catalogue

TABS = ("funnel", "forecast")


def default_owner(viewer: Any) -> str:
    """A manager opens on everyone under them, an all-seeing viewer on everything, others on their own."""
    scope = getattr(viewer, "visibility", "own")
    return {"all": "all", "under": "under"}.get(scope, "mine")


def _context(request: Request, tab: str) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    params = dict(request.query_params)
    if "period" not in params:  # analytics open on this fiscal year; "Any close date" sends period=""
        params["period"] = "this_year"
    flt = deal_filters.parse(session, viewer, params, default_owner=default_owner(viewer))
    settings = company_settings(session)
    base = settings.base_currency

    def whole(minor: int) -> str:
        return format_money(minor, base, whole=True)

    ctx: dict[str, Any] = {
        "tab": tab,
        "flt": flt,
        "base": base,
        "owner_options": deal_filters.owner_options(session, viewer),
        "periods": deal_filters.PERIODS,
        "pipelines": catalogue(session).live,
        "extra_css": ["analytics.css"],
        "problems": list(flt.problems),
        "query": flt.query_string() + ("" if flt.period else "&period="),
        "custom": flt.params() if flt.period == "custom" else {},
        "one_day": dt.timedelta(days=1),
    }
    if tab == "funnel":
        found = funnel.build(session, viewer, flt)
        ctx["funnel"] = found
        if found is not None:
            bars = [charts.Bar(s.stage.label, s.value, f"{s.deals} · {whole(s.value)}") for s in found.stages]
            bars.append(charts.Bar(_("Won"), found.won_value, f"{found.won} · {whole(found.won_value)}"))
            ctx["chart"] = charts.funnel(bars, _("Open deals by stage, and deals won"))
    else:
        found_forecast = forecast.build(session, viewer, flt)
        ctx["forecast"] = found_forecast
        legend = [_("Won"), _("Committed"), _("Best case"), _("Pipeline")]
        stacks = [charts.Stack(_month_label(line.start), (line.won, line.by_category["commit"],
                                                          line.by_category["best_case"], line.by_category["pipeline"]),
                               line.expected) for line in found_forecast.months]  # fmt: skip
        ctx["chart"] = charts.columns(stacks, legend, _("Forecast by month"), whole)
        ctx["month_label"] = _month_label
    return ctx


def _month_label(day: Any) -> str:
    return day.strftime("%m.%Y")


def _page(tab: str) -> Any:
    @requires(VIEW)
    async def page(request: Request) -> Response:
        return render(request, "pipeline/analytics.html", _context(request, tab), block="analytics")

    page.__name__ = f"pipeline_{tab}"
    return page


routes: list[Any] = [
    Route("/funnel", _page("funnel"), methods=["GET"], name="funnel"),
    Route("/forecast", _page("forecast"), methods=["GET"], name="forecast"),
]

"""The channel report page, /leads/report: a period (by when leads arrived), a chart of leads, qualified
and won per channel, and sortable tables per channel and per campaign with drill-down links to the lead
list. The whole page, or for HTMX (a filter changed) only its ``report`` block.

Company-wide for everyone with ``leads.view`` (see :mod:`.channel_report` for why it is not cut by owner).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.company import company_settings
from voronka.core.handlers import db
from voronka.core.i18n import gettext as _
from voronka.core.security.markers import requires
from voronka.core.templating import format_money, render

from . import channel_report, charts
from .kinds import MANAGE


def _context(request: Request) -> dict[str, Any]:
    session = db(request)
    params = request.query_params
    settings = company_settings(session)
    period, problems = channel_report.parse_period(settings, params)
    sort = params.get("sort") or "leads"
    if sort not in channel_report.SORTS:
        problems.append(_("Unknown column to sort by; sorted by leads."))
        sort = "leads"
    descending = params.get("dir", "desc") != "asc"
    report = channel_report.build(session, request.app.state.voronka.host, period, sort, descending)
    keep = {"period": period.name}
    if period.name == "custom":
        keep.update({"from": period.start.isoformat(), "to": period.last.isoformat()})

    def sort_url(column: str) -> str:
        flip = "asc" if column == sort and descending else "desc"
        if column != sort and column == "label":
            flip = "asc"
        return "/leads/report?" + urlencode({**keep, "sort": column, "dir": flip})

    def whole(minor: int) -> str:
        return format_money(minor, report.base, whole=True)

    shown = [line for line in report.channels if line.leads][:12]
    legend = [_("Leads"), _("Qualified"), _("Won")]
    bars = [charts.Channel(line.label, line.leads, line.qualified, line.won,
                           f"{line.leads} · {line.qualified} · {line.won} · {whole(line.revenue)}")
            for line in sorted(shown, key=lambda line: -line.leads)]  # fmt: skip
    return {
        "report": report,
        "periods": channel_report.PERIODS,
        "problems": problems + report.problems,
        "sort": sort,
        "descending": descending,
        "sort_url": sort_url,
        "chart": charts.channel_bars(bars, _("Leads, qualified and won by channel"), legend) if bars else None,
        "extra_css": ["report.css"],
    }


@requires(MANAGE)  # company-wide sums cannot follow each viewer's visibility: for those who run lead capture
async def channel_report_page(request: Request) -> Response:
    return render(request, "leads/report_page.html", _context(request), block="report")


routes: list[Any] = [Route("/report", channel_report_page, methods=["GET"], name="leads_report")]

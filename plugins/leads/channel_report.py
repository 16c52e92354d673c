"""Channel effectiveness: per channel and per campaign, for leads that arrived in a period (their cohort),
how many there were, how many were qualified, became opportunities and won deals, the revenue won, and
what they cost.

Figures come from :mod:`.channel_rollups`' table (one grouped query over at most a row per day, channel
and campaign), never from the leads. Revenue is in base-currency minor units already (``deal_results``
converts each deal's amount at its close). Costs are the campaigns': a campaign's cost is spread evenly
over its days (start to end; no start: the day it was entered; no end: up to today, an ongoing campaign's
spend to date) and the report takes the part inside the period, converted to the base currency at the
rate of the campaign's last counted day; a missing rate is reported as missing, never as zero.

The report is company-wide for everyone with ``leads.view``, like a marketing report: the sums are kept
per day, channel and campaign, not per owner, so they cannot be cut by who may see which lead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voronka.core.company import CompanySettings, company_settings
from voronka.core.currency import RateBook, RateMissing
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.types import Money

from . import contract
from .models import Campaign, ChannelDay

PERIODS: dict[str, str] = {
    "this_month": N_("This month"),
    "this_quarter": N_("This quarter"),
    "this_year": N_("This year"),
    "last_12_months": N_("Last 12 months"),
    "custom": N_("Between dates"),
}
DEFAULT_PERIOD = "this_year"
SORTS = ("label", "leads", "qualified_rate", "opportunities", "won", "revenue", "won_rate", "days", "cost",
         "cost_per_lead", "cost_per_won", "roi")  # fmt: skip
SUMS = ("leads", "qualified", "disqualified", "opportunities", "won", "lost", "won_base_minor", "won_days_sum")
NO_CAMPAIGN = 0


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass
class Line:
    """One row of the report: a channel, a campaign, or the total."""

    label: str
    channel: str | None = None
    campaign_id: int | None = None
    leads: int = 0
    qualified: int = 0
    disqualified: int = 0
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    revenue: int = 0
    days_sum: int = 0
    campaign_leads: int = 0
    campaign_won: int = 0
    campaign_revenue: int = 0
    """Of the figures above, those of leads that came through a campaign: what the cost bought."""
    cost: int = 0
    """In base minor units; meaningless when ``cost_missing``."""
    cost_missing: bool = False
    """Part of the cost is in a currency with no stored rate: shown as missing, never as zero."""
    has_cost: bool = False
    url: str = ""

    def add(self, sums: Mapping[str, int], campaign: bool) -> None:
        if campaign:
            self.campaign_leads += sums["leads"]
            self.campaign_won += sums["won"]
            self.campaign_revenue += sums["won_base_minor"]
        self.leads += sums["leads"]
        self.qualified += sums["qualified"]
        self.disqualified += sums["disqualified"]
        self.opportunities += sums["opportunities"]
        self.won += sums["won"]
        self.lost += sums["lost"]
        self.revenue += sums["won_base_minor"]
        self.days_sum += sums["won_days_sum"]

    def add_cost(self, minor: int | None) -> None:
        self.has_cost = True
        if minor is None:
            self.cost_missing = True
        else:
            self.cost += minor

    @property
    def qualified_rate(self) -> float | None:
        return _ratio(self.qualified, self.leads)

    @property
    def opportunity_rate(self) -> float | None:
        """Qualified → opportunity."""
        return _ratio(self.opportunities, self.qualified)

    @property
    def won_rate(self) -> float | None:
        """Opportunity → won."""
        return _ratio(self.won, self.opportunities)

    @property
    def lead_to_won(self) -> float | None:
        return _ratio(self.won, self.leads)

    @property
    def days(self) -> float | None:
        """Average days from the lead's arrival to the deal won."""
        return _ratio(self.days_sum, self.won)

    @property
    def known_cost(self) -> int | None:
        return None if self.cost_missing or not self.has_cost else self.cost

    @property
    def cost_per_lead(self) -> float | None:
        """The campaigns' cost per lead they brought (leads from no campaign cost nothing to count)."""
        cost = self.known_cost
        return None if cost is None else _ratio(cost, self.campaign_leads)

    @property
    def cost_per_won(self) -> float | None:
        cost = self.known_cost
        return None if cost is None else _ratio(cost, self.campaign_won)

    @property
    def roi(self) -> float | None:
        """(revenue − cost) / cost, over the campaigns' leads: organic leads did not cost anything."""
        cost = self.known_cost
        return None if not cost else (self.campaign_revenue - cost) / cost


@dataclass
class Period:
    name: str
    start: dt.date
    end: dt.date
    """Exclusive."""

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


@dataclass
class Report:
    period: Period
    base: str
    channels: list[Line]
    campaigns: list[Line]
    total: Line
    missing_rates: list[tuple[str, str, dt.date]] = field(default_factory=list)
    """(campaign name, currency, day) for each cost left out for want of a rate."""
    problems: list[str] = field(default_factory=list)


# -- the period ---------------------------------------------------------------------------------------------


def _date(raw: str | None) -> dt.date | None:
    """A date typed in a filter, None when it is not one; years outside 1900–2100 count as not one (the
    day after 9999-12-31 does not exist, and nobody means them)."""
    try:
        day = dt.date.fromisoformat(raw.strip()) if raw and raw.strip() else None
    except ValueError:
        return None
    return day if day is None or 1900 <= day.year <= 2100 else None


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def named_period(settings: CompanySettings, name: str, today: dt.date) -> Period:
    if name == "this_month":
        start = today.replace(day=1)
        return Period(name, start, _months_back(start, -1))
    if name == "this_quarter":
        return Period(name, *settings.fiscal_quarter_bounds(today))
    if name == "last_12_months":
        return Period(name, _months_back(today.replace(day=1), 11), today + dt.timedelta(days=1))
    return Period(DEFAULT_PERIOD, *settings.fiscal_year_bounds(today))


def parse_period(settings: CompanySettings, params: Mapping[str, str]) -> tuple[Period, list[str]]:
    """The period a query string asks for; junk falls back to this year, with a message (never a 4xx)."""
    today = settings.today()
    name = (params.get("period") or DEFAULT_PERIOD).strip()
    problems: list[str] = []
    if name == "custom":
        start, last = _date(params.get("from")), _date(params.get("to"))
        if (params.get("from") and start is None) or (params.get("to") and last is None):
            problems.append(_("Write dates as YYYY-MM-DD."))
        start = start or (last or today).replace(day=1)
        last = last or today
        if last < start:
            problems.append(_("The period ends before it starts; showing this year."))
            return named_period(settings, DEFAULT_PERIOD, today), problems
        if (last - start).days > 366 * 20:
            problems.append(_("Choose a period of at most twenty years; showing this year."))
            return named_period(settings, DEFAULT_PERIOD, today), problems
        return Period("custom", start, last + dt.timedelta(days=1)), problems
    if name not in PERIODS:
        problems.append(_("Unknown period; showing this year."))
        name = DEFAULT_PERIOD
    return named_period(settings, name, today), problems


# -- campaign costs -----------------------------------------------------------------------------------------


def cost_in_period(cost: int, first: dt.date, last: dt.date, period: Period) -> int:
    """The part of ``cost``, spread evenly over the days ``first``…``last``, that falls in ``period``."""
    if last < first:
        last = first
    days = (last - first).days + 1
    inside = (min(last, period.last) - max(first, period.start)).days + 1
    if inside <= 0:
        return 0
    return cost if inside >= days else cost * inside // days


@dataclass
class CampaignInfo:
    id: int
    name: str
    channel: str
    cost: int | None
    """The cost inside the period in base minor units; None: no rate for its currency."""
    counted: bool
    """It has a cost in the period (costs of campaigns outside it are not counted)."""


def _campaigns(session: Session, period: Period, settings: CompanySettings,
               missing: list[tuple[str, str, dt.date]]) -> dict[int, CampaignInfo]:  # fmt: skip
    today = settings.today()
    rows = list(session.execute(select(Campaign.id, Campaign.name, Campaign.channel, Campaign.cost_minor,
                                       Campaign.cost_currency, Campaign.starts_on, Campaign.ends_on,
                                       Campaign.created_at, Campaign.deleted_at)))  # fmt: skip
    book = RateBook.load(session, {r.cost_currency for r in rows if r.cost_currency}, today)
    found: dict[int, CampaignInfo] = {}
    for r in rows:
        first = r.starts_on or settings.local_date(r.created_at)
        last = r.ends_on or max(today, first)
        part = cost_in_period(int(r.cost_minor or 0), first, last, period) if r.deleted_at is None else 0
        cost: int | None = part
        if part and r.cost_currency and r.cost_currency != settings.base_currency:
            on = min(last, period.last, today)
            try:
                cost = book.to_base(Money(part, r.cost_currency), on).minor
            except RateMissing:
                cost = None
                missing.append((r.name, r.cost_currency, on))
        found[r.id] = CampaignInfo(r.id, r.name, r.channel, cost, bool(part))
    return found


# -- the report ---------------------------------------------------------------------------------------------


def lead_list_url(period: Period, channel: str | None = None, campaign_id: int | None = None) -> str:
    """The lead list (pages task's ``lead_queries.parse``) filtered to a row's leads: every status, every
    lead the viewer may see, created in the period; "" for the no-campaign row, which the list cannot
    filter on yet."""
    if campaign_id == NO_CAMPAIGN:
        return ""
    params = {"view": "all", "status": "all"}
    if channel is not None:
        params["channel"] = channel
    if campaign_id is not None:
        params["campaign"] = str(campaign_id)
    params.update({"period": "custom", "from": period.start.isoformat(), "to": period.last.isoformat()})
    return "/leads/?" + urlencode(params)


def channel_labels(host: Any) -> dict[str, str]:
    try:
        return {key: _(channel.label) for key, channel in contract.channels(host).items()}
    except Exception:  # a broken plugin answer must not take the report down; keys are shown instead
        return {}


def sums(session: Session, period: Period) -> list[tuple[str, int, dict[str, int]]]:
    """(channel, campaign, sums) for the cohorts of ``period``: one grouped query over the day rows."""
    c = ChannelDay
    query = (select(c.channel, c.campaign_id, *(func.sum(getattr(c, n)) for n in SUMS))
             .where(c.day >= period.start, c.day < period.end).group_by(c.channel, c.campaign_id))  # fmt: skip
    return [(row[0], row[1], {n: int(v or 0) for n, v in zip(SUMS, row[2:], strict=True)})
            for row in session.execute(query)]  # fmt: skip


def build(session: Session, host: Any, period: Period, sort: str = "leads", descending: bool = True) -> Report:
    settings = company_settings(session)
    missing: list[tuple[str, str, dt.date]] = []
    campaigns = _campaigns(session, period, settings, missing)
    labels = channel_labels(host)
    channels: dict[str, Line] = {}
    by_campaign: dict[int, Line] = {}
    total = Line(_("Total"), url=lead_list_url(period))

    def channel_line(key: str) -> Line:
        if key not in channels:
            channels[key] = Line(labels.get(key, key), channel=key, url=lead_list_url(period, channel=key))
        return channels[key]

    def campaign_line(campaign_id: int) -> Line:
        if campaign_id not in by_campaign:
            info = campaigns.get(campaign_id)
            label = (info.name if info else f"#{campaign_id}") if campaign_id else _("No campaign")
            by_campaign[campaign_id] = Line(label, campaign_id=campaign_id,
                                            url=lead_list_url(period, campaign_id=campaign_id))  # fmt: skip
        return by_campaign[campaign_id]

    for channel, campaign_id, found in sums(session, period):
        paid = campaign_id != NO_CAMPAIGN
        channel_line(channel).add(found, paid)
        campaign_line(campaign_id).add(found, paid)
        total.add(found, paid)
    for info in campaigns.values():
        if not info.counted:
            continue
        campaign_line(info.id).add_cost(info.cost)
        channel_line(info.channel).add_cost(info.cost)
        total.add_cost(info.cost)
    report = Report(period, settings.base_currency, sort_lines(list(channels.values()), sort, descending),
                    sort_lines(list(by_campaign.values()), sort, descending), total, missing)  # fmt: skip
    return report


def sort_lines(lines: list[Line], sort: str, descending: bool) -> list[Line]:
    """Sorted by ``sort`` (a column of :data:`SORTS`); rows without the figure go last either way."""
    if sort not in SORTS:
        sort = "leads"
    if sort == "label":
        return sorted(lines, key=lambda line: line.label.casefold(), reverse=descending)
    figure = {"cost": lambda line: line.known_cost, "revenue": lambda line: line.revenue}.get(
        sort, lambda line: getattr(line, sort)
    )
    known = [line for line in lines if figure(line) is not None]
    unknown = [line for line in lines if figure(line) is None]
    known.sort(key=lambda line: (figure(line), line.label.casefold()), reverse=descending)
    return known + sorted(unknown, key=lambda line: line.label.casefold())

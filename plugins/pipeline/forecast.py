"""The weighted forecast for a filter: by month, by fiscal quarter and by forecast category, in the base
currency, won deals as the actual; and forecast against actual for past months and quarters.

"Forecast as of D" is read from :class:`ForecastSnapshot`: the open pipeline copied at the start of each
month before any write of that month changed it (:func:`deal_rollups.ensure_snapshot`), and never
touched again, so editing a deal after D cannot change what the forecast said on D. Amounts in a snapshot
convert at the rate of its day. Periods before the first snapshot show no forecast rather than a guess.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from voronka.core.company import company_settings

from .analytics import Converted, Converter, deal_rows, next_month, owner_clauses, source
from .analytics_models import ForecastSnapshot
from .deal_filters import DealFilter
from .deal_rollups import month_start
from .models import OPEN, WON, Opportunity

CATEGORIES = ("commit", "best_case", "pipeline", "omitted")
"""Open deals' forecast categories, most certain first; won deals are the actual."""


@dataclass
class Line:
    """One period (or category) of the forecast, in base minor units."""

    start: dt.date
    end: dt.date
    won: int = 0
    won_deals: int = 0
    open_deals: int = 0
    weighted: int = 0
    by_category: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))

    @property
    def commit(self) -> int:
        return self.won + self.by_category["commit"]

    @property
    def best_case(self) -> int:
        return self.commit + self.by_category["best_case"]

    @property
    def expected(self) -> int:
        """Won plus the weighted open pipeline (omitted deals left out)."""
        return self.won + self.weighted

    def add(self, other: Line) -> None:
        self.won += other.won
        self.won_deals += other.won_deals
        self.open_deals += other.open_deals
        self.weighted += other.weighted
        for name, value in other.by_category.items():
            self.by_category[name] += value


@dataclass(frozen=True)
class Past:
    """What the forecast said when a period began, and what was won in it."""

    start: dt.date
    end: dt.date
    taken: bool
    weighted: int
    commit: int
    pipeline: int
    won: int

    @property
    def accuracy(self) -> float | None:
        return self.won / self.weighted if self.taken and self.weighted else None


@dataclass
class Forecast:
    start: dt.date
    end: dt.date
    months: list[Line]
    quarters: list[Line]
    total: Line
    past_months: list[Past]
    past_quarters: list[Past]
    converted: Converted


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    found, day = [], month_start(start)
    while day < end:
        found.append(day)
        day = next_month(day)
    return found


def build(session: Session, viewer: Any, flt: DealFilter, *, past: int = 6) -> Forecast:
    settings = company_settings(session)
    today = settings.today()
    start, end = flt.start, flt.end
    if start is None or end is None:
        start, end = settings.fiscal_year_bounds(today)
    src = source(session, viewer, flt, today)
    edges = owner_clauses(Opportunity, viewer, flt, today)
    rows = deal_rows(session, src.deal_clauses, edges, (OPEN, WON), start, end, by_stage=False, model=src.deals)
    past_start = _add_months(month_start(today), -past)
    quarter_starts = [settings.fiscal_quarter_bounds(_add_months(settings.fiscal_quarter_bounds(today)[0], -3 * n))
                      for n in range(4, 0, -1)]  # fmt: skip
    won_from = min(past_start, quarter_starts[0][0])
    won_rows = deal_rows(session, src.deal_clauses, edges, (WON,), won_from, month_start(today), by_stage=False,
                         by_category=False, model=src.deals)  # fmt: skip
    money = Converter(session, {r.currency for r in (*rows, *won_rows)} | _snapshot_currencies(session))
    lines = {m: Line(m, next_month(m)) for m in _months(start, end)}
    for row in rows:
        line = lines.get(month_start(row.bucket))
        if line is None:
            continue
        if row.status == WON:
            line.won += money.row(row)
            line.won_deals += row.deals
            continue
        line.open_deals += row.deals
        line.by_category[row.category if row.category in CATEGORIES else "pipeline"] += money.row(row)
        if row.category != "omitted":
            line.weighted += money.row(row, weighted=True)
    months = list(lines.values())
    quarters: dict[dt.date, Line] = {}
    total = Line(start, end)
    for line in months:
        q_start, q_end = settings.fiscal_quarter_bounds(line.start)
        quarters.setdefault(q_start, Line(q_start, q_end)).add(line)
        total.add(line)
    won_by_month: dict[dt.date, int] = defaultdict(int)
    for row in won_rows:
        won_by_month[month_start(row.bucket)] += money.row(row)
    month_periods = [(m, next_month(m)) for m in _months(past_start, month_start(today))]
    snaps = _snapshots(session, viewer, flt, today, [*month_periods, *quarter_starts], money)
    return Forecast(start, end, months, list(quarters.values()), total,
                    [_past(p, snaps, won_by_month) for p in month_periods],
                    [_past(p, snaps, won_by_month) for p in quarter_starts], money.report)  # fmt: skip


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _snapshot_currencies(session: Session) -> set[str]:
    return set(session.scalars(select(ForecastSnapshot.currency).distinct()))


def _snapshots(session: Session, viewer: Any, flt: DealFilter, today: dt.date, days: list[tuple[dt.date, dt.date]],
               money: Converter) -> dict[dt.date, tuple[bool, dict[dt.date, list[int]]]]:  # fmt: skip
    """Per snapshot day: whether it was taken, and per close month (weighted, commit, pipeline) in base."""
    s = ForecastSnapshot
    from .analytics_models import SnapshotTaken

    starts = [day for day, _end in days]
    taken = set(session.scalars(select(SnapshotTaken.taken_on).where(SnapshotTaken.taken_on.in_(starts))))
    found: dict[dt.date, tuple[bool, dict[dt.date, list[int]]]] = {d: (d in taken, {}) for d in starts}
    # each snapshot read only for the close months of its own period (the index is taken_on, bucket)
    periods = or_(*(and_(s.taken_on == day, s.bucket >= day, s.bucket < end) for day, end in days))
    query = (select(s.taken_on, s.bucket, s.forecast_category, s.currency, func.sum(s.amount_minor),
                    func.sum(s.weighted))
             .where(*owner_clauses(s, viewer, flt, today), periods)
             .group_by(s.taken_on, s.bucket, s.forecast_category, s.currency))  # fmt: skip
    for day, bucket, category, currency, amount, weighted in session.execute(query):
        sums = found[day][1].setdefault(bucket, [0, 0, 0])
        if category != "omitted":
            sums[0] += money.amount(Decimal(int(weighted or 0)) / 100, currency, day, report=False) or 0
            sums[2] += money.amount(int(amount or 0), currency, day) or 0
        if category == "commit":
            sums[1] += money.amount(int(amount or 0), currency, day, report=False) or 0
    return found


def _past(period: tuple[dt.date, dt.date], snaps: dict[dt.date, tuple[bool, dict[dt.date, list[int]]]],
          won_by_month: dict[dt.date, int]) -> Past:  # fmt: skip
    start, end = period
    taken, by_bucket = snaps.get(start, (False, {}))
    weighted = commit = pipeline = 0
    for bucket, (w, c, p) in by_bucket.items():
        if start <= bucket < end:
            weighted, commit, pipeline = weighted + w, commit + c, pipeline + p
    won = sum(v for m, v in won_by_month.items() if start <= m < end)
    return Past(start, end, taken, weighted, commit, pipeline, won)


__all__ = ["CATEGORIES", "Forecast", "Line", "Past", "build"]
_ = replace

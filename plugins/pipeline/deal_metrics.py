"""Pipeline's metrics on the host's contract, per owner (a user) and period, in the base currency.

- ``pipeline.revenue_won``: amounts of deals won in the period, each at the rate of its close date; in
  progress, the weighted amount (amount × probability) of open deals expected to close in the period.
- ``pipeline.deals_won``: deals won in the period; in progress, open deals expected to close in it.
- ``pipeline.pipeline_value``: full amounts of open deals expected to close in the period; in progress,
  the part of it in the committed and best-case forecast categories.
- ``pipeline.weighted_pipeline``: amount × probability of open deals expected to close in the period
  (omitted deals left out); in progress, the part of it in the committed category.

Open amounts convert at the latest rate. An amount in a currency with no stored rate is left out (a figure
must be a number; the funnel and forecast pages list such amounts). Periods are read in company time:
``start`` and ``end`` become the company-local days they fall on. ``values`` reads the sums kept by
:mod:`.deal_rollups` summed per owner in SQL (plus, for a period that starts or ends inside a month, the deals
of those partial months), keeping apart only the sums the conversion rounds one by one (per currency, day or
month and category, as the funnel does), converted with exact integer arithmetic at one rate look-up per
currency and day; ``records`` lists the deals behind a figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select, true
from sqlalchemy.orm import Session

from voronka.core.company import company_settings
from voronka.core.currency import RateBook, RateMissing, convert
from voronka.core.i18n import N_
from voronka.core.metrics import Metric, MetricRecord
from voronka.core.security.visibility import visible
from voronka.core.types import Money, currency_exponent

from .analytics import Converter, Row, SumColumns, owner_clauses, owner_sums
from .analytics_models import DealRollup
from .kinds import deal_url
from .models import OPEN, WON, Opportunity

DEALS, AMOUNT, WEIGHTED = "deals", "amount", "weighted"
OMITTED = "omitted"


@dataclass(frozen=True)
class Figure:
    """One side of a metric: the deals, amounts or weighted amounts (amount × probability) of one status."""

    status: str
    kind: str
    categories: tuple[str, ...] | None = None
    """Only deals in these forecast categories (None: every one; weighted amounts always leave "omitted" out)."""

    def counts(self, category: str | None) -> bool:
        return (self.categories is None or category in self.categories) and (
            self.kind != WEIGHTED or category != OMITTED
        )

    @property
    def reads_category(self) -> bool:
        return self.categories is not None or self.kind == WEIGHTED

    def category_clause(self, category: Any) -> ColumnElement[bool]:
        picked = category.in_(self.categories) if self.categories is not None else true()
        return and_(picked, category != OMITTED) if self.kind == WEIGHTED else picked

    def of(self, row: Row, money: Converter) -> float:
        """The figure of one summed row, converted as the funnel and forecast convert it."""
        if not self.counts(row.category):
            return 0
        if self.kind == DEALS:
            return row.deals
        return money.row(row, weighted=self.kind == WEIGHTED)


def _days(session: Session, start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
    zone = company_settings(session).zone
    return start.astimezone(zone).date(), end.astimezone(zone).date()


def _round_half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    return quotient + 1 if twice > denominator or (twice == denominator and quotient & 1) else quotient


_DIGITS = 10**28
"""Below this, :class:`Rate`'s integer arithmetic gives what ``Decimal``'s default 28-digit context gives."""


class Rate:
    """One currency's rate on one day as an exact fraction: converts many summed amounts with integer arithmetic
    that rounds exactly as :meth:`.analytics.Converter.amount` does (half to even, once per amount; a weighted
    sum with a fraction of a minor unit is not scaled between minor units, as there)."""

    def __init__(self, rate: Decimal, currency: str, base: str):
        self.rate, self.currency, self.base = rate, currency, base
        self.numerator, self.denominator = rate.as_integer_ratio()
        digits = rate.as_tuple().digits
        self.coefficient = int("".join(map(str, digits))) if digits else 0
        shift = currency_exponent(base) - currency_exponent(currency)
        self.up, self.down = 10 ** max(shift, 0), 10 ** max(-shift, 0)

    def amount(self, minor: int) -> int:
        found = _round_half_even(minor * self.numerator * self.up, self.denominator * self.down)
        return found if -_DIGITS < found < _DIGITS else self._decimal(Decimal(minor))

    def weighted(self, weighted: int) -> int:
        """``weighted`` (amount × probability in percent) / 100, converted."""
        if abs(weighted) * self.coefficient >= _DIGITS:
            return self._decimal(Decimal(weighted) / 100)
        if weighted % 100 == 0:
            return self.amount(weighted // 100)
        return _round_half_even(weighted * self.numerator, 100 * self.denominator)

    def _decimal(self, exact: Decimal) -> int:
        """The reference arithmetic, for amounts too large for the shortcuts to be sure to match it."""
        if exact == int(exact):
            return convert(Money(int(exact), self.currency), self.rate, self.base).minor
        return int((exact * self.rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class Rates:
    """Rates of the period's days (and today's, for open amounts), each looked up once per currency and day."""

    def __init__(self, session: Session, currencies: set[str], since: dt.date):
        self.book = RateBook.load(session, currencies, since=since)
        self.found: dict[tuple[str, Any], Rate | None] = {}

    def on(self, currency: str, day: Any) -> Rate | None:
        """``day``: a closed bucket's day, or None for open amounts (the latest rate)."""
        key = (currency, day)
        if key not in self.found:
            on = self.book.today if day is None else day
            try:
                self.found[key] = Rate(self.book.rate_on(currency, on), currency, self.book.base)
            except RateMissing:
                self.found[key] = None
        return self.found[key]


def _values(actual: Figure, progress: Figure) -> Any:
    """``values`` of two figures on :func:`.analytics.owner_sums`: one summed column (a figure reads only the
    rows of its status), and apart only the rows today's conversion rounds one by one (amounts in another
    currency, weighted amounts), so their sums round exactly as before."""
    figures = (actual, progress)
    statuses = list(dict.fromkeys(f.status for f in figures))
    by_category = any(f.reads_category for f in figures)
    kinds = list(dict.fromkeys(f.kind for f in figures))
    one_column = len(kinds) == 1 or len(statuses) == 2
    column_of = [0 if one_column else kinds.index(f.kind) for f in figures]

    def sums(c: SumColumns) -> list[Any]:
        if one_column and len(kinds) == 2:
            return [case((c.status == actual.status, getattr(c, actual.kind)), else_=getattr(c, progress.kind))]
        return [getattr(c, kind) for kind in kinds]

    def values(session: Session, viewer: Any, owner_ids: Sequence[int], start: dt.datetime,
               end: dt.datetime) -> dict[int, tuple[float, float]]:  # fmt: skip
        if not owner_ids:
            return {}
        first, last = _days(session, start, end)
        settings = company_settings(session)
        today, base = settings.today(), settings.base_currency
        owners = set(owner_ids)
        rows = owner_sums(session,
                          [*owner_clauses(DealRollup, viewer, None, today), DealRollup.owner_user_id.in_(owners)],
                          [*owner_clauses(Opportunity, viewer, None, today), Opportunity.owner_user_id.in_(owners)],
                          statuses, first, last, sums=sums, unit=_unit(figures, base),
                          by_category=by_category)  # fmt: skip
        foreign = {row[2] for row in rows if row[3] is not None and row[2] != base}
        rates = Rates(session, foreign, first) if foreign else None
        found: dict[int, list[int]] = {}
        plans: dict[tuple[str, str | None], list[tuple[int, str, int]]] = {}
        for owner, status, currency, bucket, category, *summed in rows:
            pair = found.get(owner)
            if pair is None:
                pair = found[owner] = [0, 0]
            plan = plans.get((status, category))
            if plan is None:
                plan = plans[(status, category)] = [(index, f.kind, column_of[index]) for index, f in enumerate(figures)
                                                    if f.status == status and f.counts(category)]  # fmt: skip
            for index, kind, column in plan:
                value = int(summed[column] or 0)
                if kind == DEALS or (kind == AMOUNT and currency == base):
                    pair[index] += value
                elif currency == base:
                    pair[index] += _round_half_even(value, 100)
                else:
                    rate = rates.on(currency, bucket if status != OPEN else None)  # type: ignore[union-attr]
                    if rate is not None:
                        pair[index] += rate.amount(value) if kind == AMOUNT else rate.weighted(value)
        return {owner: (pair[0], pair[1]) for owner, pair in found.items() if owner in owners}

    return values


def _unit(figures: Sequence[Figure], base: str) -> Any:
    """Which rows a figure converts and rounds on their own: amounts in another currency, weighted amounts."""
    money = [f for f in figures if f.kind != DEALS]
    if not money:
        return None

    def unit(c: SumColumns) -> ColumnElement[bool]:
        return or_(*(and_(c.status == f.status, f.category_clause(c.category),
                          c.currency != base if f.kind == AMOUNT else true()) for f in money))  # fmt: skip

    return unit


def _records(actual: Figure, progress: Figure) -> Any:
    def records(session: Session, viewer: Any, owner_id: int, start: dt.datetime, end: dt.datetime, which: str,
                limit: int) -> list[MetricRecord]:  # fmt: skip
        first, last = _days(session, start, end)
        figure = progress if which == "in_progress" else actual
        status = figure.status
        o = Opportunity
        day = o.expected_close if status == OPEN else o.closed_on
        query = (select(o.id, o.name, o.status, o.stage_id, o.forecast_category, o.amount_currency, o.amount_minor,
                        o.probability, day.label("day"), o.updated_at)
                 .where(o.owner_user_id == owner_id, o.deleted_at.is_(None), visible(o, viewer), o.status == status,
                        day >= first, day < last)
                 .order_by(day.desc(), o.id.desc()))  # fmt: skip
        if figure.categories is not None:
            query = query.where(o.forecast_category.in_(figure.categories))
        elif figure.kind == WEIGHTED:
            query = query.where(o.forecast_category != OMITTED)
        rows = list(session.execute(query.limit(limit)))
        money = Converter(session, {r.amount_currency for r in rows})
        found: list[MetricRecord] = []
        for r in rows:
            row = Row(r.status, r.stage_id, r.forecast_category, r.amount_currency, r.day, 1, r.amount_minor,
                      r.amount_minor * r.probability, 0)  # fmt: skip
            found.append(MetricRecord(title=r.name, url=deal_url(r.id), value=figure.of(row, money), at=r.updated_at))
        return found

    return records


FIGURES: dict[str, tuple[Figure, Figure]] = {}
"""Each metric's (actual, in progress) figures, by key."""


def _metric(key: str, label: str, unit: str, in_progress: str, actual: Figure, progress: Figure) -> Metric:
    FIGURES[key] = (actual, progress)
    return Metric(key=key, label=label, unit=unit, in_progress=in_progress, values=_values(actual, progress),
                  records=_records(actual, progress))  # fmt: skip


REVENUE_WON = _metric("pipeline.revenue_won", N_("Revenue won"), "money",
                      N_("Weighted amount (amount × probability) of open deals expected to close in the period"),
                      Figure(WON, AMOUNT), Figure(OPEN, WEIGHTED))  # fmt: skip
DEALS_WON = _metric("pipeline.deals_won", N_("Deals won"), "count",
                    N_("Open deals expected to close in the period"),
                    Figure(WON, DEALS), Figure(OPEN, DEALS))  # fmt: skip
PIPELINE_VALUE = _metric("pipeline.pipeline_value", N_("Pipeline value"), "money",
                         N_("Of the open deals expected to close in the period, those committed or best case"),
                         Figure(OPEN, AMOUNT), Figure(OPEN, AMOUNT, ("commit", "best_case")))  # fmt: skip
WEIGHTED_PIPELINE = _metric("pipeline.weighted_pipeline", N_("Weighted pipeline"), "money",
                            N_("Of the weighted open pipeline expected to close in the period, the committed part"),
                            Figure(OPEN, WEIGHTED), Figure(OPEN, WEIGHTED, ("commit",)))  # fmt: skip

METRICS: list[Metric] = [REVENUE_WON, DEALS_WON, PIPELINE_VALUE, WEIGHTED_PIPELINE]

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
:mod:`.deal_rollups` grouped by owner (plus, for a period that starts or ends inside a month, the deals of
those partial months); ``records`` lists the deals behind a figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.company import company_settings
from voronka.core.i18n import N_
from voronka.core.metrics import Metric, MetricRecord
from voronka.core.security.visibility import visible

from .analytics import Converter, Row, deal_rows, owner_clauses
from .analytics_models import DealRollup
from .kinds import deal_url
from .models import OPEN, WON, Opportunity

Figure = Callable[[Row, Converter], float]


def _days(session: Session, start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
    zone = company_settings(session).zone
    return start.astimezone(zone).date(), end.astimezone(zone).date()


def _values(actual: tuple[str, Figure], progress: tuple[str, Figure]) -> Any:
    """``values`` from two (status, figure of a row) pairs."""

    def values(session: Session, viewer: Any, owner_ids: Sequence[int], start: dt.datetime,
               end: dt.datetime) -> dict[int, tuple[float, float]]:  # fmt: skip
        if not owner_ids:
            return {}
        first, last = _days(session, start, end)
        today = company_settings(session).today()
        owners = list(owner_ids)
        rows = deal_rows(session,
                         [*owner_clauses(DealRollup, viewer, None, today), DealRollup.owner_user_id.in_(owners)],
                         [*owner_clauses(Opportunity, viewer, None, today), Opportunity.owner_user_id.in_(owners)],
                         (OPEN, WON), first, last, by_stage=False, by_owner=True)  # fmt: skip
        money = Converter(session, {r.currency for r in rows})
        found: dict[int, list[float]] = {}
        for row in rows:
            for index, (status, figure) in enumerate((actual, progress)):
                if row.status == status:
                    found.setdefault(row.owner_user_id, [0, 0])[index] += figure(row, money)
        return {owner: (pair[0], pair[1]) for owner, pair in found.items() if owner in owners}

    return values


def _records(actual: tuple[str, Figure], progress: tuple[str, Figure]) -> Any:
    def records(session: Session, viewer: Any, owner_id: int, start: dt.datetime, end: dt.datetime, which: str,
                limit: int) -> list[MetricRecord]:  # fmt: skip
        first, last = _days(session, start, end)
        status, figure = progress if which == "in_progress" else actual
        o = Opportunity
        day = o.expected_close if status == OPEN else o.closed_on
        query = (select(o.id, o.name, o.status, o.stage_id, o.forecast_category, o.amount_currency, o.amount_minor,
                        o.probability, day.label("day"), o.updated_at)
                 .where(o.owner_user_id == owner_id, o.deleted_at.is_(None), visible(o, viewer), o.status == status,
                        day >= first, day < last)
                 .order_by(day.desc(), o.id.desc()))  # fmt: skip
        categories = getattr(figure, "categories", None)
        if categories is not None:
            query = query.where(o.forecast_category.in_(categories))
        elif figure is _weighted:
            query = query.where(o.forecast_category != "omitted")
        rows = list(session.execute(query.limit(limit)))
        money = Converter(session, {r.amount_currency for r in rows})
        found: list[MetricRecord] = []
        for r in rows:
            row = Row(r.status, r.stage_id, r.forecast_category, r.amount_currency, r.day, 1, r.amount_minor,
                      r.amount_minor * r.probability, 0)  # fmt: skip
            found.append(MetricRecord(title=r.name, url=deal_url(r.id), value=figure(row, money), at=r.updated_at))
        return found

    return records


def _amount(row: Row, money: Converter) -> float:
    return money.row(row)


def _weighted(row: Row, money: Converter) -> float:
    return money.row(row, weighted=True) if row.category != "omitted" else 0


def _one(row: Row, _money: Converter) -> float:
    return row.deals


def _in(categories: tuple[str, ...], figure: Figure) -> Figure:
    def picked(row: Row, money: Converter) -> float:
        return figure(row, money) if row.category in categories else 0

    picked.categories = categories  # type: ignore[attr-defined]
    return picked


def _metric(key: str, label: str, unit: str, in_progress: str, actual: tuple[str, Figure],
            progress: tuple[str, Figure]) -> Metric:  # fmt: skip
    return Metric(key=key, label=label, unit=unit, in_progress=in_progress, values=_values(actual, progress),
                  records=_records(actual, progress))  # fmt: skip


REVENUE_WON = _metric("pipeline.revenue_won", N_("Revenue won"), "money",
                      N_("Weighted amount (amount × probability) of open deals expected to close in the period"),
                      (WON, _amount), (OPEN, _weighted))  # fmt: skip
DEALS_WON = _metric("pipeline.deals_won", N_("Deals won"), "count",
                    N_("Open deals expected to close in the period"), (WON, _one), (OPEN, _one))  # fmt: skip
PIPELINE_VALUE = _metric("pipeline.pipeline_value", N_("Pipeline value"), "money",
                         N_("Of the open deals expected to close in the period, those committed or best case"),
                         (OPEN, _amount), (OPEN, _in(("commit", "best_case"), _amount)))  # fmt: skip
WEIGHTED_PIPELINE = _metric("pipeline.weighted_pipeline", N_("Weighted pipeline"), "money",
                            N_("Of the weighted open pipeline expected to close in the period, the committed part"),
                            (OPEN, _weighted), (OPEN, _in(("commit",), _weighted)))  # fmt: skip

METRICS: list[Metric] = [REVENUE_WON, DEALS_WON, PIPELINE_VALUE, WEIGHTED_PIPELINE]

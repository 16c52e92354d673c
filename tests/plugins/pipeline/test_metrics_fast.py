"""Pipeline's metric ``values`` on per-owner sums give exactly what the row-by-row reading gave: same owners,
same integers, for whole and ragged periods, every kind of viewer, rates by day, a currency with no rate, a
currency with other minor units, and sums that round."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import insert, select

from voronka.core.company import company_settings
from voronka.core.currency import RateBook, RateMissing, convert, set_rate
from voronka.core.db import write_transaction
from voronka.core.security.visibility import AsOf
from voronka.core.types import Money
from voronka.plugins.pipeline import deal_rollups
from voronka.plugins.pipeline.analytics import Converter, Row, deal_rows, owner_clauses
from voronka.plugins.pipeline.analytics_models import DealRollup
from voronka.plugins.pipeline.deal_metrics import FIGURES, METRICS, Figure, Rate
from voronka.plugins.pipeline.models import LOST, OPEN, WON, Opportunity

OWNERS = ("sales", "sales2", "manager", "operator", "admin")
CURRENCIES = ("UAH", "UAH", "EUR", "EUR", "USD", "GBP", "JPY")
"""GBP has no rate; JPY has no minor units (a weighted sum is scaled differently there)."""


def _reference(figures: tuple[Figure, Figure], session: Any, viewer: Any, owner_ids: Sequence[int],
               start: dt.datetime, end: dt.datetime) -> dict[int, tuple[float, float]]:  # fmt: skip
    """``values`` as it was: every grouped row of :func:`deal_rows` converted on its own by :class:`Converter`."""
    zone = company_settings(session).zone
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    today = company_settings(session).today()
    owners = list(owner_ids)
    rows = deal_rows(session,
                     [*owner_clauses(DealRollup, viewer, None, today), DealRollup.owner_user_id.in_(owners)],
                     [*owner_clauses(Opportunity, viewer, None, today), Opportunity.owner_user_id.in_(owners)],
                     (OPEN, WON), first, last, by_stage=False, by_owner=True)  # fmt: skip
    money = Converter(session, {r.currency for r in rows})
    found: dict[int, list[float]] = {}
    for row in rows:
        for index, figure in enumerate(figures):
            if row.status == figure.status:
                found.setdefault(row.owner_user_id, [0, 0])[index] += _old_figure(figure, row, money)
    return {owner: (pair[0], pair[1]) for owner, pair in found.items() if owner in owners}


def _old_figure(figure: Figure, row: Row, money: Converter) -> float:
    """The figure functions as they were (``_one``, ``_amount``, ``_weighted`` and ``_in``)."""
    if figure.categories is not None and row.category not in figure.categories:
        return 0
    if figure.kind == "deals":
        return row.deals
    if figure.kind == "amount":
        return money.row(row)
    return money.row(row, weighted=True) if row.category != "omitted" else 0


def _seed(pipeline: Any) -> dict[str, int]:
    """A few hundred deals straight into the table (then the sums recounted): every status, currency and
    category, close dates from last year to next year, several deals in one owner's day and month."""
    ids = {name: pipeline.uid(name) for name in OWNERS}
    template = pipeline.get(Opportunity, pipeline.deal("Template"))
    stages = pipeline.stages()
    rng = random.Random(7)
    with write_transaction(pipeline.runtime.sessions) as session:
        today = company_settings(session).today()
        for currency, rates in (("EUR", ((-500, "41.123456789"), (-60, "42.5"), (-20, "43.000001"), (5, "44"))),
                                ("USD", ((-30, "38.5555"), (-3, "39.17"))), ("JPY", ((-400, "0.27123"),))):  # fmt: skip
            for days, rate in rates:
                set_rate(session, currency, today + dt.timedelta(days=days), rate)
        queue = session.scalar(select(Opportunity.owner_team_id).where(Opportunity.owner_team_id.is_not(None)))
        rows = []
        for number in range(600):
            status = rng.choice((OPEN, OPEN, WON, WON, LOST))
            day = today + dt.timedelta(days=rng.randint(-200, 450))
            category = {OPEN: rng.choice(("pipeline", "best_case", "commit", "omitted")),
                        WON: rng.choice(("won", "won", "won", "commit")), LOST: "lost"}[status]  # fmt: skip
            stage = {OPEN: rng.choice(("Qualified", "Commitment")), WON: "Won", LOST: "Lost"}[status]
            owner = rng.choice((*OWNERS, None))
            rows.append({"name": f"Deal {number}", "name_key": f"deal {number}", "pipeline_id": template.pipeline_id,
                         "stage_id": stages[stage], "amount_minor": rng.choice((0, 1, 99, 12_345, 1_000_050,
                                                                                rng.randint(1, 50_000_000))),
                         "amount_currency": rng.choice(CURRENCIES),
                         "expected_close": None if rng.random() < 0.05 else day,
                         "probability": rng.choice((0, 1, 15, 33, 50, 67, 99, 100)), "forecast_category": category,
                         "status": status, "closed_on": day if status != OPEN else None,
                         "owner_user_id": ids[owner] if owner else None,
                         "owner_team_id": queue if owner is None else None,
                         "customer_id": template.customer_id})  # fmt: skip
        session.execute(insert(Opportunity), rows)
        deal_rollups.rebuild(session)
    return ids


def _periods(today: dt.date) -> list[tuple[dt.date, dt.date]]:
    month = today.replace(day=1)
    quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
    after = (quarter + dt.timedelta(days=95)).replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    return [
        (quarter, after),  # whole months
        (month - dt.timedelta(days=40), next_month + dt.timedelta(days=9)),  # starts and ends inside a month
        (month + dt.timedelta(days=3), month + dt.timedelta(days=17)),  # inside one month
        (next_month - dt.timedelta(days=5), next_month + dt.timedelta(days=5)),  # two partial months, no whole one
        (dt.date(today.year + 1, 1, 1), dt.date(today.year + 1, 4, 1)),  # in the future
        (today - dt.timedelta(days=250), today + dt.timedelta(days=500)),  # everything, ragged both ends
    ]


def test_values_equal_the_row_by_row_reading(pipeline: Any) -> None:
    ids = _seed(pipeline)
    owners = list(ids.values())
    with pipeline.runtime.sessions() as session:
        settings = company_settings(session)
        today = settings.today()
        viewers = {name: pipeline.viewer(name) for name in ("admin", "manager", "sales", "operator")}
        viewers["manager as of last year"] = AsOf(viewers["manager"], today - dt.timedelta(days=365))
        compared = 0
        for first, after in _periods(today):
            start, end = settings.utc_range(first, after)
            for name, viewer in viewers.items():
                for metric in METRICS:
                    expected = _reference(FIGURES[metric.key], session, viewer, owners, start, end)
                    found = metric.values(session, viewer, owners, start, end)
                    assert found == expected, (metric.key, name, first, after)
                    assert all(type(v) is int for pair in found.values() for v in pair)
                    compared += bool(expected)
    assert compared > 60  # most combinations have figures: the comparison is not of empty dicts


def test_sums_round_per_currency_day_and_category_as_before(pipeline: Any) -> None:
    """Deals of one owner, currency, day (month for open ones) and category convert as one sum and round once;
    another category rounds on its own: 1 cent at 42.5 is 42 kopiyky, 2 cents 85 (not 3 cents at once, 128)."""
    sales = pipeline.uid("sales")
    template = pipeline.get(Opportunity, pipeline.deal("Template", expected_close=None))
    stages = pipeline.stages()
    with write_transaction(pipeline.runtime.sessions) as session:
        day = company_settings(session).today().replace(day=1)
        set_rate(session, "EUR", day, "42.5")
        base = {"pipeline_id": template.pipeline_id, "customer_id": template.customer_id, "owner_user_id": sales}
        won = [{**base, "name": "Won", "stage_id": stages["Won"], "status": WON, "amount_currency": "EUR",
                "amount_minor": 1, "probability": 100, "forecast_category": category, "closed_on": day}
               for category in ("won", "won", "commit")]  # fmt: skip
        # 1.01 at 50 %: 50.5 kopiyky, 50 each when rounded per category, 101 if added first
        open_ = [{**base, "name": "Open", "stage_id": stages["Qualified"], "status": OPEN, "amount_currency": "UAH",
                  "amount_minor": 101, "probability": 50, "forecast_category": category, "expected_close": day}
                 for category in ("commit", "best_case")]  # fmt: skip
        session.execute(insert(Opportunity), won + open_)
        deal_rollups.rebuild(session)
    next_month = (day + dt.timedelta(days=32)).replace(day=1)
    revenue = METRICS[0]
    with pipeline.runtime.sessions() as session:
        settings = company_settings(session)
        viewer = pipeline.viewer("manager")
        for first, after in ((day, day + dt.timedelta(days=1)), (day, next_month)):  # the deals, then the sums
            start, end = settings.utc_range(first, after)
            found = revenue.values(session, viewer, [sales], start, end)
            assert found == _reference(FIGURES[revenue.key], session, viewer, [sales], start, end)
            assert found == {sales: (127, 100)}


def _rate(book: RateBook, day: dt.date) -> Decimal | None:
    try:
        return book.rate_on("EUR", day)
    except RateMissing:
        return None


def test_rates_since_a_day_keep_the_rate_in_force_then(pipeline: Any) -> None:
    with write_transaction(pipeline.runtime.sessions) as session:
        today = company_settings(session).today()
        for days, rate in ((-90, "40"), (-30, "41"), (-10, "42"), (3, "45")):
            set_rate(session, "EUR", today + dt.timedelta(days=days), rate)
    with pipeline.runtime.sessions() as session:
        whole = RateBook.load(session, {"EUR", "USD"})
        for back in (100, 20, 0, -30):
            since = today - dt.timedelta(days=back)
            part = RateBook.load(session, {"EUR", "USD"}, since=since)
            assert [_rate(part, since + dt.timedelta(days=d)) for d in range(120)] == [
                _rate(whole, since + dt.timedelta(days=d)) for d in range(120)
            ]
        assert _rate(whole, today - dt.timedelta(days=95)) is None
        assert len(RateBook.load(session, {"EUR"}, since=today - dt.timedelta(days=20))._dates["EUR"]) == 2


def _old_amount(minor: int | Decimal, rate: Decimal, currency: str, base: str) -> int:
    """``Converter.amount`` for a currency with a rate, as it is."""
    exact = Decimal(minor)
    if exact == int(exact):
        return convert(Money(int(exact), currency), rate, base).minor
    return int((exact * rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _outcome(convert_it: Callable[..., int], *args: Any) -> int | str:
    """A conversion's result, or the error it raises (amounts beyond 28 digits are refused alike)."""
    try:
        return convert_it(*args)
    except InvalidOperation as error:
        return type(error).__name__


def test_integer_conversion_matches_the_decimal_one() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        rate = Decimal(rng.choice(("41.123456789", "0.27123", "42.5", "1", "0.000000000001", "123456789012.5")))
        currency, base = rng.choice((("EUR", "UAH"), ("JPY", "UAH"), ("EUR", "JPY"), ("KWD", "UAH")))
        minor = rng.choice((rng.randint(0, 10**6), rng.randint(0, 10**12), rng.randint(0, 10**19), 50, 150, 10**27))
        converted = Rate(rate, currency, base)
        assert _outcome(converted.amount, minor) == _outcome(_old_amount, minor, rate, currency, base)
        assert _outcome(converted.weighted, minor) == _outcome(_old_amount, Decimal(minor) / 100, rate, currency, base)

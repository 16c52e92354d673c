"""The weighted forecast by month, quarter and category in the base currency, and forecast against actual
from snapshots that later edits cannot change."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, func, select

from voronka.core.company import company_settings
from voronka.core.currency import set_rate
from voronka.core.db import write_transaction
from voronka.plugins.pipeline import deal_filters, deal_rollups, forecast
from voronka.plugins.pipeline.analytics_models import ForecastSnapshot, SnapshotTaken


def _forecast(pipeline: Any, username: str = "sales", **params: str) -> forecast.Forecast:
    with pipeline.runtime.sessions() as session:
        viewer = pipeline.viewer(username)
        return forecast.build(session, viewer, deal_filters.parse(session, viewer, params))


def _today(pipeline: Any) -> dt.date:
    with pipeline.runtime.sessions() as session:
        return company_settings(session).today()


def _last_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def test_months_quarters_and_categories_in_the_base_currency(pipeline: Any) -> None:
    with write_transaction(pipeline.runtime.sessions) as session:
        set_rate(session, "EUR", dt.date(2020, 1, 1), "40")
        set_rate(session, "EUR", _today(pipeline), "50")  # the latest rate is what open deals convert at
    today = _today(pipeline)
    month = today.replace(day=1)
    a = pipeline.deal("Committed", amount_minor=100_00, amount_currency="EUR", expected_close=today)
    pipeline.move(a, "Commitment")
    pipeline.deal("Early", amount_minor=1_000_00, expected_close=today)
    pipeline.deal("Omitted", amount_minor=9_00, expected_close=today, forecast_category="omitted")
    won = pipeline.deal("Won", amount_minor=300_00)
    pipeline.move(won, "Won")
    found = _forecast(pipeline, period="this_year")
    line = next(m for m in found.months if m.start == month)
    assert line.won == 300_00 and line.won_deals == 1
    assert line.by_category == {"commit": 5_000_00, "best_case": 0, "pipeline": 1_000_00, "omitted": 9_00}
    assert line.weighted == 5_000_00 * 85 // 100 + 100_00
    assert line.expected == 300_00 + line.weighted
    assert line.commit == 5_300_00 and line.best_case == 5_300_00
    quarter = next(q for q in found.quarters if q.start <= month < q.end)
    assert quarter.won == 300_00 and quarter.weighted == line.weighted
    assert found.total.by_category["omitted"] == 9_00
    assert len(found.quarters) == 4 and len(found.months) == 12


def test_forecast_as_of_a_day_does_not_change_when_deals_are_edited_later(pipeline: Any) -> None:
    today = _today(pipeline)
    last = _last_month(today)
    a = pipeline.deal("Slipped", amount_minor=400_00, expected_close=last + dt.timedelta(days=3))
    b = pipeline.deal("Landed", amount_minor=600_00, expected_close=last + dt.timedelta(days=9))
    pipeline.move(b, "Negotiation")
    with write_transaction(pipeline.runtime.sessions) as session:
        assert deal_rollups.take_snapshot(session, last)
    before = next(p for p in _forecast(pipeline).past_months if p.start == last)
    assert before.taken and before.weighted == 400_00 * 10 // 100 + 600_00 * 50 // 100
    assert before.pipeline == 1_000_00
    pipeline.save("opportunity", a, {"amount_minor": 9_999_00, "expected_close": today})
    pipeline.move(b, "Won")
    pipeline.deal("Late arrival", amount_minor=50_00, expected_close=last)
    after = next(p for p in _forecast(pipeline).past_months if p.start == last)
    assert (after.taken, after.weighted, after.commit, after.pipeline) == (
        before.taken, before.weighted, before.commit, before.pipeline)  # fmt: skip
    earlier = next(p for p in _forecast(pipeline).past_months if p.start == _last_month(last))
    assert not earlier.taken


def test_the_first_write_of_a_month_keeps_the_pipeline_as_the_month_began(pipeline: Any) -> None:
    today = _today(pipeline)
    pipeline.deal("Before", amount_minor=10_00, expected_close=today)
    with write_transaction(pipeline.runtime.sessions) as session:  # as if the month had just begun
        session.execute(delete(ForecastSnapshot))
        session.execute(delete(SnapshotTaken))
    pipeline.deal("After", amount_minor=20_00, expected_close=today)
    with pipeline.runtime.sessions() as session:
        taken = session.scalars(select(SnapshotTaken.taken_on)).all()
        amount = session.scalar(select(func.sum(ForecastSnapshot.amount_minor)))
    assert taken == [today.replace(day=1)] and amount == 10_00


def test_the_forecast_page_shows_the_tables(client: Any, pipeline: Any) -> None:
    pipeline.deal("Shown", amount_minor=12_345_00, expected_close=_today(pipeline))
    client.login("manager")
    page = client.get("/pipeline/forecast")
    assert page.status_code == 200, page.text[:800]
    for text in ("By month", "By fiscal quarter", "Forecast against actual", "not recorded", "<svg"):
        assert text in page.text


def test_the_snapshot_job_takes_the_month_once(pipeline: Any) -> None:
    pipeline.deal("Open", amount_minor=30_00, expected_close=_today(pipeline))
    with write_transaction(pipeline.runtime.sessions) as session:
        session.execute(delete(ForecastSnapshot))
        session.execute(delete(SnapshotTaken))
    job = deal_rollups.snapshot_job()
    context = SimpleNamespace(sessions=pipeline.runtime.sessions)
    job.handler(context)
    job.handler(context)
    with pipeline.runtime.sessions() as session:
        assert session.scalars(select(SnapshotTaken.taken_on)).all() == [_today(pipeline).replace(day=1)]
        assert session.scalar(select(func.sum(ForecastSnapshot.amount_minor))) == 30_00

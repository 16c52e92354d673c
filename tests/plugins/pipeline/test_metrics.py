"""Pipeline's metrics obey the host's contract and count won revenue, deals and the open pipeline per
owner and period, under the viewer's visibility."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from voronka.core.currency import set_rate
from voronka.core.db import write_transaction
from voronka.plugins.pipeline.deal_metrics import DEALS_WON, METRICS, PIPELINE_VALUE, REVENUE_WON, WEIGHTED_PIPELINE
from voronka.plugins.pipeline.models import Opportunity
from voronka.web.testkit.conformance import check_metric

UTC = dt.UTC


def _month(today: dt.date) -> tuple[dt.datetime, dt.datetime]:
    first = today.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return (dt.datetime.combine(first, dt.time(), UTC) - dt.timedelta(hours=2),
            dt.datetime.combine(nxt, dt.time(), UTC) - dt.timedelta(hours=2))  # fmt: skip


def _values(pipeline: Any, metric: Any, viewer: str, owners: list[str], start: Any, end: Any) -> dict[str, Any]:
    ids = {pipeline.uid(o): o for o in owners}
    with pipeline.runtime.sessions() as session:
        found = metric.values(session, pipeline.viewer(viewer), list(ids), start, end)
    return {ids[k]: v for k, v in found.items()}


def test_metrics_pass_the_contract_check(app: Any, pipeline: Any) -> None:
    a = pipeline.deal("Won one", amount_minor=10_00)
    pipeline.move(a, "Won")
    pipeline.deal("Open one", expected_close=dt.date.today())
    pipeline.deal("Team queue", owner="manager")
    owners = [pipeline.uid("sales"), pipeline.uid("sales2"), pipeline.uid("manager")]
    with app.state.voronka.sessions() as session:
        for metric in METRICS:
            assert check_metric(metric, session, pipeline.viewer("admin"), owners, "pipeline") == []
            assert check_metric(metric, session, pipeline.viewer("sales"), owners, "pipeline") == []
    keys = {m.key for found in app.state.voronka.host.hook.metrics() for m in found}
    assert {"pipeline.revenue_won", "pipeline.deals_won", "pipeline.pipeline_value",
            "pipeline.weighted_pipeline"} <= keys  # fmt: skip


def test_won_revenue_and_the_open_pipeline_per_owner(pipeline: Any) -> None:
    with write_transaction(pipeline.runtime.sessions) as session:
        set_rate(session, "EUR", dt.date(2020, 1, 1), "40")
    today = dt.date.today()
    won = pipeline.deal("Won", amount_minor=1_000_00, amount_currency="EUR")
    pipeline.move(won, "Won")
    lost = pipeline.deal("Lost", amount_minor=5_00)
    pipeline.move(lost, "Lost")
    committed = pipeline.deal("Committed", amount_minor=200_00, expected_close=today)
    pipeline.move(committed, "Commitment")
    pipeline.deal("Early", amount_minor=100_00, expected_close=today)
    pipeline.deal("Other owner", amount_minor=77_00, expected_close=today, owner="sales2")
    pipeline.deal("Next year", amount_minor=999_00, expected_close=today.replace(year=today.year + 1))
    start, end = _month(today)
    owners = ["sales", "sales2"]
    assert _values(pipeline, REVENUE_WON, "manager", owners, start, end)["sales"] == (40_000_00, 200_00 * 0.85 + 10_00)
    assert _values(pipeline, DEALS_WON, "manager", owners, start, end) == {"sales": (1, 2), "sales2": (0, 1)}
    assert _values(pipeline, PIPELINE_VALUE, "manager", owners, start, end)["sales"] == (300_00, 200_00)
    assert _values(pipeline, WEIGHTED_PIPELINE, "manager", owners, start, end)["sales"] == (180_00, 170_00)
    # sales sees only their own deals: sales2's figures are not theirs to see
    assert "sales2" not in _values(pipeline, DEALS_WON, "sales", owners, start, end)
    # a won deal belongs to the day it closed: a period that ended before it leaves it out
    with write_transaction(pipeline.runtime.sessions) as session:
        session.execute(
            update(Opportunity).where(Opportunity.id == won).values(closed_on=today.replace(year=today.year - 1))
        )
    with pipeline.runtime.sessions() as session:
        rows = REVENUE_WON.records(
            session, pipeline.viewer("manager"), pipeline.uid("sales"), start, end, "in_progress", 10
        )
    assert sorted(r.title for r in rows) == ["Committed", "Early"]

"""The funnel page and its figures: counts and values per stage, conversion from the stage history, win
rate, sales cycle, under the viewer's visibility and the filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from voronka.core.currency import set_rate
from voronka.core.db import write_transaction
from voronka.plugins.pipeline import analytics, deal_filters, funnel


def _funnel(pipeline: Any, username: str, **params: str) -> funnel.Funnel:
    with pipeline.runtime.sessions() as session:
        viewer = pipeline.viewer(username)
        flt = deal_filters.parse(session, viewer, params)
        found = funnel.build(session, viewer, flt)
        assert found is not None
        return found


def _by_name(found: funnel.Funnel) -> dict[str, funnel.FunnelStage]:
    return {row.stage.name: row for row in found.stages}


def test_stages_count_value_and_convert(pipeline: Any) -> None:
    with write_transaction(pipeline.runtime.sessions) as session:
        set_rate(session, "EUR", dt.date(2020, 1, 1), "40")
    a = pipeline.deal("A", amount_minor=100_00)
    b = pipeline.deal("B", amount_minor=50_00, amount_currency="EUR")
    c = pipeline.deal("C", amount_minor=30_00)
    pipeline.move(a, "Qualified")
    pipeline.move(b, "Qualified")
    pipeline.move(b, "Won")
    pipeline.move(c, "Lost", lost_reason="Price")
    found = _funnel(pipeline, "sales", owner="mine")
    stages = _by_name(found)
    assert (stages["Qualified"].deals, stages["Qualified"].value) == (1, 100_00)
    assert stages["Qualified"].weighted == 35_00
    assert stages["Initial contact"].deals == 0
    assert (found.won, found.won_value, found.lost) == (1, 50_00 * 40, 1)
    assert found.win_rate == 0.5 and found.cycle_days == 0
    flow = stages["Initial contact"].flow
    assert flow is not None and (flow.entered, flow.advanced, flow.stays) == (3, 2, 3)
    qualified = stages["Qualified"].flow
    assert qualified is not None and (qualified.entered, qualified.advanced) == (2, 1)
    assert qualified.conversion == 0.5


def test_a_missing_rate_is_reported_not_zero(pipeline: Any) -> None:
    pipeline.deal("Dollars", amount_minor=10_00, amount_currency="USD")
    pipeline.deal("Hryvnias", amount_minor=7_00)
    found = _funnel(pipeline, "sales", owner="mine")
    assert found.open_value == 7_00
    assert [(c, m.minor) for c, _d, m in found.converted.missing_list] == [("USD", 10_00)]


def test_visibility_and_owner_filters(pipeline: Any) -> None:
    pipeline.deal("Mine", owner="sales")
    pipeline.deal("Theirs", owner="sales2")
    pipeline.deal("Boss", owner="manager")
    assert _funnel(pipeline, "sales", owner="all").open_deals == 1  # sales sees only their own
    assert _funnel(pipeline, "manager", owner="under").open_deals == 3
    assert _funnel(pipeline, "manager", owner="mine").open_deals == 1
    assert _funnel(pipeline, "manager", owner=f"u:{pipeline.uid('sales2')}").open_deals == 1
    assert _funnel(pipeline, "admin", owner="all").open_deals == 3


def test_a_period_inside_a_month_is_exact(pipeline: Any) -> None:
    today = dt.date.today()
    first = today.replace(day=1)
    pipeline.deal("Early", expected_close=first)
    pipeline.deal("Later", expected_close=first + dt.timedelta(days=20))
    pipeline.deal("Next year", expected_close=first.replace(year=first.year + 1))
    end = first + dt.timedelta(days=10)
    found = _funnel(pipeline, "sales", owner="mine", period="custom", **{"from": first.isoformat(),
                                                                          "to": end.isoformat()})  # fmt: skip
    assert found.open_deals == 1
    wide = {"from": (first - dt.timedelta(days=40)).isoformat(), "to": (first + dt.timedelta(days=70)).isoformat()}
    whole = _funnel(pipeline, "sales", owner="mine", period="custom", **wide)
    assert whole.open_deals == 2
    assert _funnel(pipeline, "sales", owner="mine").open_deals == 3


def test_the_pages_render_for_both_tabs_and_htmx(client: Any, pipeline: Any) -> None:
    pipeline.deal("Shown", amount_minor=12_345_00)
    client.login("sales")
    page = client.get("/pipeline/funnel?period=")  # any close date (the page opens on this fiscal year)
    assert page.status_code == 200, page.text[:800]
    assert "<svg" in page.text and "Initial contact" in page.text
    part = client.get("/pipeline/funnel?owner=mine&period=", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text and "<svg" in part.text
    forecast = client.get("/pipeline/forecast?owner=junk&period=nonsense")
    assert forecast.status_code == 200 and "Unknown period" in forecast.text
    assert client.get("/pipeline/forecast?period=custom&from=2026-13-01").status_code == 200


def test_a_viewer_who_sees_every_owner_reads_the_totals(pipeline: Any) -> None:
    pipeline.deal("Mine", owner="sales")
    pipeline.deal("Boss", owner="manager")
    with pipeline.runtime.sessions() as session:
        for username, owner, totals in (("admin", "all", True), ("manager", "under", True), ("sales", "all", False),
                                        ("manager", "mine", False)):  # fmt: skip
            viewer = pipeline.viewer(username)
            flt = deal_filters.parse(session, viewer, {"owner": owner})
            assert analytics.source(session, viewer, flt, dt.date.today()).totals is totals, (username, owner)
    pipeline.deal("Elsewhere", owner="sales2")
    pipeline.deal("Admin's own", owner="admin")
    with pipeline.runtime.sessions() as session:
        viewer = pipeline.viewer("manager")
        flt = deal_filters.parse(session, viewer, {"owner": "under"})
        assert analytics.source(session, viewer, flt, dt.date.today()).totals is False
    assert _funnel(pipeline, "manager", owner="under").open_deals == 3
    assert _funnel(pipeline, "admin", owner="all").open_deals == 4

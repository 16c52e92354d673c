"""The "My plan" page and its drill-down: the figures after deals are won, the pace in words, what could still
close, the records behind a figure, the empty state, a switched-off metric, who may see whose plan, and junk
in the address (a 400 with a message, never a 500)."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from babel.numbers import format_percent

from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.models import PluginState
from voronka.core.state import bump
from voronka.core.templating import format_money
from voronka.core.types import utcnow
from voronka.plugins.planning import periods
from voronka.plugins.planning.periods import Period

from .conftest import Q1_2026


def this_quarter(planning: Any) -> tuple[Period, dt.date]:
    with planning.runtime.sessions() as session:
        settings = company_settings(session)
        return periods.current(settings, "quarter"), settings.today()


def text(response: Any) -> str:
    """The page's words without tags, entities decoded, spaces collapsed (what a reader sees)."""
    assert response.status_code == 200, response.text[:500]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def uah(minor: int) -> str:
    return format_money(minor, "UAH", whole=True)


def set_enabled(app: Any, name: str, enabled: bool) -> None:
    """What the admin page's plugin switch stores, then the poll every process does."""
    with write_transaction(app.state.voronka.sessions) as session:
        found = session.get(PluginState, name)
        if found is None:
            session.add(PluginState(name=name, enabled=enabled, changed_at=utcnow()))
        else:
            found.enabled = enabled
        bump(session, "plugins")
    app.state.voronka.sync(force=True)


def test_my_plan_shows_target_actual_percent_pace_and_projection(planning, client):
    quarter, today = this_quarter(planning)
    planning.plan("sales", 400_000_00, period=quarter, method="hand", stretch=500_000_00)
    planning.deal("sales", 100_000_00, closed=today, name="Kyiv Bakery")
    planning.deal("sales", 60_000_00, stage="Negotiation", expected=quarter.last, name="Lviv Mill")
    client.login("sales")

    page = text(client.get("/planning/"))

    pace = format_percent(quarter.elapsed(today), format="#,##0%", locale="en")
    assert "Revenue won" in page and quarter.label(company_settings_of(planning)) in page
    assert uah(400_000_00) in page and uah(500_000_00) in page and uah(100_000_00) in page
    assert "25%" in page  # 100,000 of 400,000
    should_be = uah(round(400_000_00 * quarter.elapsed(today)))
    assert f"By today you should be at {pace} ({should_be}); you are at 25%" in page
    in_progress = planning_in_progress(planning, quarter)
    assert in_progress > 0 and uah(round(100_000_00 + in_progress)) in page  # the projection: actual + in progress
    assert "What could still close" in page and "Lviv Mill" in page
    assert "Kyiv Bakery" not in page.split("What could still close")[1]


def company_settings_of(planning: Any) -> Any:
    with planning.runtime.sessions() as session:
        return company_settings(session)


def planning_in_progress(planning: Any, period: Period) -> float:
    from voronka.plugins.planning import progress

    with planning.runtime.sessions() as session:
        mine = progress.my_plan(session, planning.host, planning.viewer("sales"), planning.uid("sales"), period)
    return mine[0].figures.in_progress


def test_the_figures_move_when_another_deal_is_won(planning, client):
    planning.plan("sales", 1_000_00, method="hand")
    planning.deal("sales", 250_00, closed=dt.date(2026, 2, 1))
    client.login("sales")
    assert "25%" in text(client.get(f"/planning/?period={Q1_2026.key}"))

    planning.deal("sales", 800_00, closed=dt.date(2026, 3, 1))
    page = text(client.get(f"/planning/?period={Q1_2026.key}"))
    assert "105%" in page and uah(1_050_00) in page and "Met" in page
    assert "The period is over: 105% of the target reached." in page


def test_the_drill_down_lists_the_won_deal_and_the_open_one_apart(planning, client):
    planning.plan("sales", 1_000_00, method="hand")
    won = planning.deal("sales", 300_00, closed=dt.date(2026, 2, 1), name="Won in February")
    open_deal = planning.deal("sales", 700_00, stage="Negotiation", expected=dt.date(2026, 3, 20), name="Still open")
    planning.deal("sales", 900_00, closed=dt.date(2026, 4, 2), name="Next quarter")
    client.login("sales")

    actual = client.get(f"/planning/records?metric=pipeline.revenue_won&period={Q1_2026.key}&which=actual")
    assert f'href="/pipeline/deals/{won}"' in actual.text
    page = text(actual)
    assert "Won in February" in page and "Still open" not in page and "Next quarter" not in page
    assert format_money(300_00, "UAH") in page

    in_progress = client.get(f"/planning/records?metric=pipeline.deals_won&period={Q1_2026.key}&which=in_progress")
    assert "Still open" in text(in_progress) and "Won in February" not in text(in_progress)
    assert f'href="/pipeline/deals/{open_deal}"' in in_progress.text
    # the My plan page links its actual to that drill-down
    plan_page = client.get(f"/planning/?period={Q1_2026.key}").text
    assert html.escape(f"/planning/records?metric=pipeline.revenue_won&period={Q1_2026.key}&which=actual") in plan_page


def test_a_manager_drills_down_to_each_direct_report(planning, client):
    planning.plan("manager", 2_000_00, method="hand")
    planning.deal("sales", 300_00, closed=dt.date(2026, 2, 1), name="Sofiia's deal")
    planning.deal("sales2", 500_00, closed=dt.date(2026, 2, 2), name="Taras's deal")
    client.login("manager")

    response = client.get(f"/planning/records?metric=pipeline.revenue_won&period={Q1_2026.key}")
    page = text(response)
    assert "Direct reports" in page and "Sofiia Sales" in page and "Taras Sales" in page
    assert uah(300_00) in page and uah(500_00) in page
    sales = planning.uid("sales")
    link = f"/planning/records?user={sales}&amp;metric=pipeline.revenue_won&amp;period={Q1_2026.key}&amp;which=actual"
    assert link in response.text
    assert "Sofiia's deal" in text(client.get(html.unescape(link)))


def test_without_a_plan_the_page_says_who_sets_it_and_where_plans_are(planning, client):
    planning.plan("sales", 1_000_00, method="hand")
    client.login("sales")
    response = client.get("/planning/?period=month:2025-11-01")
    page = text(response)
    assert "You have no plan for November 2025" in page
    assert "Your manager, Maksym Manager, sets your targets" in page
    assert "Q1 2026" in page and f"/planning/?period={Q1_2026.key}" in response.text
    assert "/planning/targets" not in response.text

    client.login("manager")
    assert 'href="/planning/targets"' in client.get("/planning/?period=month:2025-11-01").text


def test_a_plan_of_a_switched_off_plugin_is_marked_and_keeps_its_target(planning, client, app):
    planning.plan("sales", 7, metric="leads.created", method="hand")
    set_enabled(app, "leads", False)
    client.login("sales")
    page = text(client.get(f"/planning/?period={Q1_2026.key}"))
    assert "The leads plugin is switched off" in page and "Unavailable" in page
    assert "of 7" in page


def test_a_sales_person_cannot_see_a_colleagues_plan(planning, client):
    planning.plan("sales2", 1_000_00, method="hand")
    sales2 = planning.uid("sales2")
    client.login("sales")
    for url in (f"/planning/?user={sales2}", f"/planning/records?user={sales2}&metric=pipeline.revenue_won",
                f"/planning/panel?user={sales2}", "/planning/?user=987654"):  # fmt: skip
        assert client.get(url).status_code == 404, url

    client.login("manager")
    page = text(client.get(f"/planning/?user={sales2}&period={Q1_2026.key}"))
    assert "Plan of Taras Sales" in page and uah(1_000_00) in page


@pytest.mark.parametrize("query", [
    "/planning/?user=abc", "/planning/?user=-3", "/planning/?user=99999999999999999999999",
    "/planning/?period=quarter:2026-02-01", "/planning/?period=week:2026-01-01", "/planning/?period=quarter:20x6",
    "/planning/records?period=quarter:2026-01-01", "/planning/records?metric=pipeline.revenue_won&which=all",
    "/planning/records?metric=%3Cscript%3E", "/planning/records?metric=pipeline.revenue_won&user=1.5",
])  # fmt: skip
def test_junk_in_the_address_is_a_400_with_a_message(client, query):
    client.login("sales")
    response = client.get(query)
    assert response.status_code == 400, (query, response.status_code)
    assert "<script>" not in response.text and "error-page" in response.text


def test_the_htmx_period_switch_renders_only_the_plan_block(planning, client):
    planning.plan("sales", 1_000_00, method="hand")
    client.login("sales")
    response = client.hx_get(f"/planning/?period={Q1_2026.key}")
    assert response.status_code == 200 and "<html" not in response.text and "Revenue won" in response.text


def test_the_pages_open_on_the_default_period_kind_from_the_settings(planning, client, app):
    with planning.runtime.sessions() as session:
        settings = company_settings(session)
        month = periods.current(settings, "month")
    with write_transaction(app.state.voronka.sessions) as session:
        app.state.voronka.settings_store.save(session, "planning", {"default_period": "month"})
    client.login("sales")
    assert month.label(settings) in text(client.get("/planning/"))
    assert month.label(settings) in text(client.get("/planning/team"))

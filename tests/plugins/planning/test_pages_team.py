"""The "My team" page: the tree with each person's figures after deals are won, a person who changed manager
mid-period under both managers with their dates, the gap when children's targets do not add up, the chart
with its numbers, the earlier periods, and who may open whose team."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest

from voronka.core.templating import format_money

from .conftest import Q1_2026

TEAM = f"/planning/team?period={Q1_2026.key}&metric=pipeline.revenue_won"


def text(response: Any) -> str:
    assert response.status_code == 200, response.text[:500]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def uah(minor: int) -> str:
    return format_money(minor, "UAH", whole=True)


def row_of(response: Any, name: str) -> list[str]:
    """The words of every tree row that names ``name`` (a mover has one row under each manager)."""
    rows = re.findall(r'<(?:summary|div) class="tree-row status-edge-[a-z_]+">(.*?)</(?:summary|div)>\s*(?:<ul|</li)',
                      response.text, re.S)  # fmt: skip
    found = [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", row))).strip() for row in rows]
    return [row for row in found if row.startswith(name) or f" {name} " in f" {row} "]


def test_the_tree_shows_each_persons_figures_after_deals_are_won(planning, client):
    planning.plan("manager", 1_000_00, method="hand")
    planning.plan("sales", 400_00, method="hand")
    planning.plan("sales2", 400_00, method="hand")
    planning.deal("sales", 300_00, closed=dt.date(2026, 2, 1))
    client.login("manager")
    before = client.get(TEAM)
    assert "75%" in row_of(before, "Sofiia Sales")[0] and "0%" in row_of(before, "Taras Sales")[0]

    planning.deal("sales2", 500_00, closed=dt.date(2026, 3, 1))
    after = client.get(TEAM)
    sofiia, taras = row_of(after, "Sofiia Sales")[0], row_of(after, "Taras Sales")[0]
    assert uah(400_00) in sofiia and uah(300_00) in sofiia and "75%" in sofiia and "Missed" in sofiia
    assert uah(500_00) in taras and "125%" in taras and "Met" in taras
    manager = row_of(after, "Maksym Manager")[0]
    assert uah(1_000_00) in manager and uah(800_00) in manager and "80%" in manager
    page = text(after)
    assert "Everyone under Maksym Manager" in page and "3 people under Maksym Manager" in page


def test_a_person_who_moved_mid_period_shows_under_both_managers_with_their_dates(planning, client):
    planning.user("manager2", manager="admin", roles=("manager",))
    planning.deal("sales", 100_00, closed=dt.date(2026, 1, 20))
    planning.move("sales", "manager2", dt.date(2026, 2, 15))
    planning.deal("sales", 400_00, closed=dt.date(2026, 3, 1))
    client.login("admin")

    response = client.get(TEAM)
    rows = row_of(response, "Sofiia Sales")
    assert len(rows) == 2, rows
    first = next(r for r in rows if "here 1 Jan – 14 Feb" in r)
    second = next(r for r in rows if "here 15 Feb – 31 Mar" in r)
    assert uah(100_00) in first and uah(400_00) in second
    assert uah(500_00) in row_of(response, "Olena Admin")[0]  # counted once above both

    client.login("manager")
    mine = row_of(client.get(TEAM), "Sofiia Sales")
    assert len(mine) == 1 and "here 1 Jan – 14 Feb" in mine[0] and uah(100_00) in mine[0]


def test_a_manager_whose_childrens_targets_do_not_add_up_sees_the_gap(planning, client):
    planning.plan("manager", 1_000_00, method="hand")
    planning.plan("sales", 300_00, method="hand")
    planning.plan("sales2", 300_00, method="hand")
    client.login("manager")
    page = text(client.get(TEAM))
    assert f"Their people's targets add up to {uah(600_00)}: −{uah(400_00)} against this target." in page


def test_the_chart_has_titles_and_the_same_numbers_in_a_table(planning, client):
    planning.plan("sales", 400_00, method="hand")
    planning.deal("sales", 100_00, closed=dt.date(2026, 2, 1))
    client.login("manager")
    response = client.get(TEAM)
    chart = re.search(r'<svg class="chart team-chart".*?</svg>', response.text, re.S)
    assert chart is not None and "<title>Revenue won: actual against target per direct report</title>" in chart.group(0)
    assert html.escape(f"Sofiia Sales · Actual: {uah(100_00)} of {uah(400_00)} · 25%") in chart.group(0)
    table = response.text[chart.end() :]
    assert "Sofiia Sales" in table and uah(100_00) in table and "25%" in table
    assert "style=" not in response.text


def test_earlier_periods_show_the_roots_figures(planning, client):
    previous = Q1_2026.start.replace(year=2025, month=10)
    planning.plan("manager", 1_000_00, method="hand",
                  period=type(Q1_2026)(previous, Q1_2026.start, "quarter"))  # fmt: skip
    planning.deal("sales", 250_00, closed=dt.date(2025, 11, 3))
    client.login("manager")
    page = client.get("/planning/team?period=quarter:2026-04-01&metric=pipeline.revenue_won")
    assert "/planning/team/past?" in page.text
    past = text(client.get("/planning/team/past?period=quarter:2026-04-01&metric=pipeline.revenue_won"))
    assert "Q1 2026" in past and "Q4 2025" in past and "Q3 2025" in past
    q4 = past.split("Q4 2025")[1].split("Q3 2025")[0]
    assert uah(1_000_00) in q4 and uah(250_00) in q4 and "25%" in q4


def test_metrics_with_plans_in_the_period_come_first(planning, client):
    planning.plan("sales", 3, metric="pipeline.deals_won", method="hand")
    client.login("sales")
    response = client.get(f"/planning/team?period={Q1_2026.key}")
    options = re.findall(r'<option value="([^"]+)"', response.text)
    assert options[0] == "pipeline.deals_won" and "pipeline.revenue_won" in options
    assert "Deals won" in text(response) and "Nobody reported to Sofiia Sales in this period." in text(response)


def test_a_sales_person_cannot_open_someone_elses_team(planning, client):
    client.login("sales")
    for root in ("manager", "sales2"):
        assert client.get(f"/planning/team?root={planning.uid(root)}").status_code == 404
    past = f"/planning/team/past?root={planning.uid('manager')}&metric=pipeline.revenue_won"
    assert client.get(past).status_code == 404
    client.login("manager")
    assert "Team of Sofiia Sales" in text(client.get(f"/planning/team?root={planning.uid('sales')}"))


@pytest.mark.parametrize("query", [
    "/planning/team?root=x", "/planning/team?root=0", "/planning/team?metric=DROP%20TABLE",
    "/planning/team?period=year:2026-02-01", "/planning/team/past?metric=pipeline.revenue_won&period=q",
    "/planning/team/past", "/planning/team?metric=nobody.measures_this",
    "/planning/team/past?metric=nobody.measures_this",
])  # fmt: skip
def test_junk_in_the_address_is_a_400(client, query):
    client.login("manager")
    assert client.get(query).status_code == 400


def test_a_big_tree_folds_its_deeper_levels(planning, client):
    planning.user("lead", manager="sales", roles=("manager",))
    planning.user("junior", manager="lead")
    client.login("manager")
    response = client.get(TEAM)
    opened = re.findall(r"<details( open)?>\s*<summary[^>]*>.*?<a href=\"[^\"]+\">([^<]+)</a>", response.text, re.S)
    state = {name: bool(flag) for flag, name in opened}
    assert state == {"Maksym Manager": True, "Sofiia Sales": True, "Lead": False}
    assert "Junior" in text(response)

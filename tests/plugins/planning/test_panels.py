"""Planning's panels: "My plan" on the start page (with a line for the team of someone who has reports) and a
person's plans on their page, only for a viewer who may see them. Both load their figures after the page."""

from __future__ import annotations

import html
import re
from typing import Any

from babel.numbers import format_percent

from voronka.core.company import company_settings
from voronka.core.templating import format_money
from voronka.plugins.planning import periods
from voronka.plugins.planning.periods import Period


def text(response: Any) -> str:
    assert response.status_code == 200, response.text[:500]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def this_quarter(planning: Any) -> tuple[Period, Any]:
    with planning.runtime.sessions() as session:
        settings = company_settings(session)
        return periods.current(settings, "quarter"), settings


def test_the_home_panel_shows_my_plans_percent_pace_and_status(planning, client):
    quarter, settings = this_quarter(planning)
    planning.plan("sales", 200_000_00, period=quarter, method="hand")
    planning.deal("sales", 50_000_00, closed=settings.today())
    client.login("sales")

    home = client.get("/")
    assert home.status_code == 200 and 'hx-get="/planning/panel"' in home.text and "My plan" in text(home)
    panel = client.get("/planning/panel", headers={"HX-Request": "true"})
    assert "<html" not in panel.text
    words = text(panel)
    pace = format_percent(quarter.elapsed(settings.today()), format="#,##0%", locale="en")
    whole = format_money(50_000_00, "UAH", whole=True)
    target = format_money(200_000_00, "UAH", whole=True)
    assert "Revenue won" in words and f"{whole} of {target} · 25%, pace {pace}" in words
    assert quarter.label(settings) in words and "Your team" not in words
    assert re.search(r'class="badge plan-status status-(on_track|behind|off_track|met)"', panel.text)


def test_a_manager_gets_a_line_for_the_team(planning, client):
    client.login("manager")
    words = text(client.get("/planning/panel"))
    assert "No plan for" in words and "Your team: 3 people report to you" in words


def test_a_persons_page_shows_their_plan_to_their_manager_only(planning, client):
    quarter, _settings = this_quarter(planning)
    planning.plan("sales", 9, metric="pipeline.deals_won", period=quarter, method="hand")
    sales = planning.uid("sales")
    client.login("manager")
    page = client.get(f"/users/{sales}")
    assert page.status_code == 200 and f'hx-get="/planning/panel?user={sales}"' in page.text
    words = text(client.get(f"/planning/panel?user={sales}"))
    assert "Deals won" in words and "0 of 9" in words

    assert "Team:" not in words  # nobody reports to Sofiia

    client.login("admin")
    words = text(client.get(f"/planning/panel?user={planning.uid('manager')}"))
    assert "Team: 3 people report to Maksym Manager" in words

    client.login("sales2")
    page = client.get(f"/users/{sales}")
    assert page.status_code == 200 and "/planning/panel" not in page.text
    assert client.get(f"/planning/panel?user={sales}").status_code == 404


def test_ones_own_profile_shows_the_own_plan_panel(planning, client):
    client.login("sales")
    page = client.get("/me")
    assert page.status_code == 200 and 'hx-get="/planning/panel"' in page.text

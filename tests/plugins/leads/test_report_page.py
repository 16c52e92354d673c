"""The channel report: figures per channel and campaign for a cohort period, campaign costs (converted, or
shown missing), ROI, sorting, drill-down links, bad parameters, permission."""

from __future__ import annotations

import datetime as dt
from typing import Any

from voronka.core.company import company_settings
from voronka.core.currency import set_rate
from voronka.core.db import write_transaction
from voronka.core.security.users import create_user
from voronka.plugins.leads import channel_report
from voronka.plugins.leads.channel_report import Period
from voronka.web.testkit.users import TEST_PASSWORD

from .test_report_rollups import _deal_result, _qualify


def _report(leads: Any, period: Period, sort: str = "leads") -> channel_report.Report:
    with leads.runtime.sessions() as session:
        return channel_report.build(session, leads.runtime.host, period, sort)


def _this_year(leads: Any) -> Period:
    with leads.runtime.sessions() as session:
        period, problems = channel_report.parse_period(company_settings(session), {})
    assert not problems
    return period


def _fixture(leads: Any) -> dict[str, int]:
    today = dt.date.today()
    start = today - dt.timedelta(days=9)
    webinar = leads.campaign("Webinar", "webinar", channel="leads.campaign", cost_minor=1_000_00,
                             starts_on=start, ends_on=today)  # fmt: skip
    fair = leads.campaign("Fair in Lviv", "fair", channel="leads.web_form", cost_minor=300_00, cost_currency="EUR",
                          starts_on=start, ends_on=today)  # fmt: skip
    ids = {"webinar": webinar, "fair": fair}
    for n in range(4):
        ids[f"w{n}"] = leads.lead(f"W{n}", "Lead", campaign_id=webinar)
    ids["f0"] = leads.lead("F0", "Lead", campaign_id=fair)
    ids["p0"] = leads.lead("P0", "Lead", channel="leads.phone")
    outcome = _qualify(leads, ids["w0"], deal_id=11)
    assert outcome is not None
    _deal_result(leads, outcome, "won", 5_000_00, today)
    _qualify(leads, ids["w1"], deal_id=12)
    leads.save("lead", ids["w2"], {"status": "disqualified", "disqualify_reason": "lost"})
    return ids


def test_figures_per_channel_and_campaign_with_costs_and_roi(leads: Any) -> None:
    ids = _fixture(leads)
    report = _report(leads, _this_year(leads))
    by_campaign = {line.campaign_id: line for line in report.campaigns}
    webinar = by_campaign[ids["webinar"]]
    assert (webinar.leads, webinar.qualified, webinar.opportunities, webinar.won) == (4, 2, 2, 1)
    assert webinar.qualified_rate == 0.5 and webinar.opportunity_rate == 1 and webinar.won_rate == 0.5
    assert webinar.revenue == 5_000_00 and webinar.known_cost == 1_000_00
    assert webinar.cost_per_lead == 250_00 and webinar.cost_per_won == 1_000_00 and webinar.roi == 4.0
    assert webinar.days is not None and 0 <= webinar.days <= 1
    # the fair's cost is in euro, with no rate stored: missing, never zero
    fair = by_campaign[ids["fair"]]
    assert fair.cost_missing and fair.known_cost is None and fair.cost_per_lead is None and fair.roi is None
    assert report.missing_rates and report.missing_rates[0][:2] == ("Fair in Lviv", "EUR")
    assert by_campaign[0].label == "No campaign" and by_campaign[0].leads == 1 and not by_campaign[0].has_cost
    by_channel = {line.channel: line for line in report.channels}
    assert by_channel["leads.phone"].label == "Phone / contact centre"
    assert by_channel["leads.campaign"].known_cost == 1_000_00
    assert report.total.leads == 6 and report.total.cost_missing
    with write_transaction(leads.runtime.sessions) as session:
        set_rate(session, "EUR", dt.date(2020, 1, 1), "45")
    report = _report(leads, _this_year(leads), sort="cost")
    assert report.total.known_cost == 1_000_00 + 300_00 * 45 and not report.missing_rates
    assert [line.campaign_id for line in report.campaigns][:2] == [ids["fair"], ids["webinar"]]


def test_a_campaign_cost_is_spread_over_its_days() -> None:
    period = Period("custom", dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    assert channel_report.cost_in_period(3100, dt.date(2026, 3, 1), dt.date(2026, 3, 31), period) == 3100
    assert channel_report.cost_in_period(6000, dt.date(2026, 2, 15), dt.date(2026, 3, 16), period) == 3200
    assert channel_report.cost_in_period(500, dt.date(2026, 5, 1), dt.date(2026, 5, 2), period) == 0


def test_the_page_shows_the_chart_tables_and_drill_down_links(leads: Any, client: Any) -> None:
    ids = _fixture(leads)
    client.login("manager")
    page = client.get("/leads/report")
    assert page.status_code == 200
    html = page.text
    assert "<svg" in html and "Webinar" in html and "Phone / contact centre" in html and "no rate" in html
    assert f"/leads/?view=all&amp;status=all&amp;campaign={ids['webinar']}&amp;period=custom&amp;from=" in html
    assert "/leads/?view=all&amp;status=all&amp;channel=leads.phone&amp;period=custom&amp;from=" in html
    assert "company-wide" in html
    part = client.get("/leads/report?period=custom&from=2020-01-01&to=2020-01-31&sort=roi&dir=asc",
                      headers={"HX-Request": "true"})  # fmt: skip
    assert part.status_code == 200 and "<html" not in part.text and "No leads in this period" in part.text


def test_junk_parameters_give_a_message_not_an_error(leads: Any, client: Any) -> None:
    leads.lead()
    client.login("manager")
    junk = [
        ("period=forever", "Unknown period"),
        ("period=custom&from=31.12.2025", "YYYY-MM-DD"),
        ("period=custom&from=2026-05-01&to=2026-01-01", "ends before it starts"),
        ("sort=drop%20table", "Unknown column"),
        ("period=custom&from=1950-01-01", "twenty years"),
        ("period=custom&from=0001-01-01", "YYYY-MM-DD"),
        ("period=custom&from=2026-01-01&to=9999-12-31", "YYYY-MM-DD"),
    ]
    for query, message in junk:
        page = client.get(f"/leads/report?{query}")
        assert page.status_code == 200, query
        assert message in page.text, query


def test_only_people_who_manage_lead_capture_see_it(leads: Any, client: Any) -> None:
    """Company-wide sums: a sales person, who sees only some leads, is refused."""
    with write_transaction(leads.runtime.sessions) as session:
        create_user(session, "nobody", TEST_PASSWORD, display_name="No Body", roles=())
    for username in ("nobody", "sales"):
        client.login(username)
        assert client.get("/leads/report").status_code == 403, username

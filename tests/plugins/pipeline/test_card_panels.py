"""Pipeline's panels on the customer card: open deals (and those the party is a stakeholder of), the "New
deal" button preset with the customer, and the sales history in the base currency, never adding currencies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from voronka.core.currency import set_rate
from voronka.core.db import write_transaction
from voronka.core.writes import save
from voronka.plugins.pipeline.card_panels import sales_context
from voronka.plugins.pipeline.models import Stakeholder
from voronka.plugins.pipeline.totals_guard import priced_write


def _rate(pipeline: Any, currency: str, on: dt.date, rate: str) -> None:
    with write_transaction(pipeline.runtime.sessions) as session:
        set_rate(session, currency, on, rate)


def test_the_card_shows_open_deals_and_a_new_deal_button(client, pipeline):
    org = pipeline.organisation("ТОВ «Світанок»")
    person = pipeline.person("Ігор", "Стасюк")
    open_id = pipeline.deal("Сервери", customer_id=org, amount_minor=990_000, expected_close=dt.date(2026, 12, 1))
    pipeline.move(open_id, "Negotiation")
    won_id = pipeline.deal("Already won", customer_id=org)
    pipeline.move(won_id, "Won")
    pipeline.deal("Someone else's", customer_id=org, owner="sales2")
    staked = pipeline.deal("Their deal", customer_id=person)
    with pipeline.runtime.sessions() as session:
        session.add(Stakeholder(opportunity_id=staked, party_id=org, role="influencer"))
        session.commit()
    client.login("sales")
    html = client.get(f"/contacts/{org}").text
    panel = html[html.index('data-panel="pipeline.deals"') :]
    panel = panel[: panel.index("</section>")]
    assert "Сервери" in panel and "Negotiation" in panel and "9,900.00" in panel
    assert "Already won" not in panel and "Someone else" not in panel
    assert "As a stakeholder" in panel and "Their deal" in panel
    assert f'href="/pipeline/deals/new?customer={org}"' in panel
    assert 'data-panel="pipeline.sales"' in html and f'hx-get="/pipeline/customers/{org}/sales"' in html
    # a person's card: their own deal, not labelled as a stakeholder
    person_html = client.get(f"/contacts/{person}").text
    assert "Their deal" in person_html and "As a stakeholder" not in person_html


def test_the_panel_is_empty_but_helpful_without_deals(client, pipeline):
    org = pipeline.organisation("New customer")
    client.login("sales")
    html = client.get(f"/contacts/{org}").text
    assert "No open deals." in html and f"/pipeline/deals/new?customer={org}" in html
    client.login("operator")  # may see deals, may not create them
    op_org = pipeline.organisation("Operator's", owner="operator")
    html = client.get(f"/contacts/{op_org}").text
    assert "No open deals." in html and "/pipeline/deals/new?customer=" not in html


def _priced(pipeline, kind, values):
    """A quote or an order with its totals given, as the pricing code writes them (the guard refuses them
    anywhere else)."""
    with write_transaction(pipeline.runtime.sessions) as session, priced_write(session):
        return save(session, pipeline.kind(kind), None, values, actor=pipeline.uid("sales")).id


def test_sales_history_in_the_base_currency(client, pipeline):
    org = pipeline.organisation("Customer")
    _rate(pipeline, "EUR", dt.date(2020, 1, 1), "40")
    a = pipeline.deal("UAH deal", customer_id=org, amount_minor=100_000, amount_currency="UAH")
    b = pipeline.deal("EUR deal", customer_id=org, amount_minor=1_000, amount_currency="EUR")
    c = pipeline.deal("USD deal", customer_id=org, amount_minor=500, amount_currency="USD")
    d = pipeline.deal("Lost deal", customer_id=org)
    for deal_id in (a, b, c):
        pipeline.move(deal_id, "Won")
    pipeline.move(d, "Lost", lost_reason="Price")
    _priced(
        pipeline,
        "order",
        {
            "number": "SO-1",
            "customer_id": org,
            "currency": "EUR",
            "total_minor": 250,
            "ordered_on": dt.date(2025, 5, 1),
            "owner_user_id": pipeline.uid("sales"),
        },
    )
    _priced(
        pipeline,
        "order",
        {
            "number": "SO-2",
            "customer_id": org,
            "currency": "UAH",
            "total_minor": 999,
            "status": "cancelled",
            "owner_user_id": pipeline.uid("sales"),
        },
    )
    _priced(
        pipeline,
        "quote",
        {
            "number": "Q-7",
            "customer_id": org,
            "currency": "UAH",
            "total_minor": 12_345,
            "owner_user_id": pipeline.uid("sales"),
        },
    )
    with pipeline.runtime.sessions() as session:
        sales = sales_context(session, pipeline.viewer("sales"), org)
    # 1,000.00 UAH + 10.00 EUR × 40 = 1,400.00 UAH; the USD deal has no rate and is named, not added
    assert (sales["won"].count, sales["won"].total.minor, sales["won"].total.currency) == (3, 140_000, "UAH")
    assert [(m.minor, m.currency) for m in sales["won"].missing] == [(500, "USD")]
    assert (sales["orders"].count, sales["orders"].total.minor) == (1, 10_000)
    assert sales["lost_count"] == 1 and sales["win_rate"] == 75
    assert [(q.number, status) for q, status in sales["quotes"]] == [("Q-7", "Draft")]
    client.login("sales")
    panel = client.hx_get(f"/pipeline/customers/{org}/sales")
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "1,400.00" in panel.text and "100.00" in panel.text and "$5.00" in panel.text and "Q-7" in panel.text
    assert "no exchange rate" in panel.text
    page = client.get(f"/pipeline/customers/{org}/sales")
    assert page.status_code == 200 and "<html" in page.text


def test_sales_history_follows_visibility_and_404s(client, pipeline):
    org = pipeline.organisation("Customer")
    theirs = pipeline.organisation("Theirs", owner="sales2")
    hidden = pipeline.deal("Hidden", customer_id=org, owner="sales2", amount_minor=777)
    pipeline.move(hidden, "Won", actor="sales2")
    with pipeline.runtime.sessions() as session:
        assert sales_context(session, pipeline.viewer("sales"), org)["won"].count == 0
        assert sales_context(session, pipeline.viewer("manager"), org)["won"].count == 1
    client.login("sales")
    for url in (
        f"/pipeline/customers/{theirs}/sales",
        "/pipeline/customers/999999/sales",
        "/pipeline/customers/abc/sales",
    ):
        assert client.get(url).status_code == 404, url

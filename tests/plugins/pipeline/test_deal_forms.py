"""Creating a deal: the form (a page, or a fragment for a dialog), the customer preset from the card, and
bad input answered next to the field with a 400 and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.plugins.pipeline.deal_forms import amount_text, read_money, weighted_minor
from voronka.plugins.pipeline.models import Opportunity, StageChange


def _count(pipeline: Any) -> int:
    with pipeline.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Opportunity))


def _form(pipeline: Any, customer_id: int, **values: str) -> dict[str, str]:
    stages = pipeline.stages()
    return {
        "name": "Laptops",
        "customer": str(customer_id),
        "amount": "1500",
        "currency": "UAH",
        "expected_close": "2026-12-15",
        "stage": str(stages["Qualified"]),
        "owner": f"u:{pipeline.uid('sales')}",
        "description": "",
        **values,
    }


def test_new_deal_form_presets_the_customer_from_the_card(client, pipeline):
    org = pipeline.organisation("ПрАТ «Карпати»")
    client.login("sales")
    page = client.get(f"/pipeline/deals/new?customer={org}")
    assert page.status_code == 200 and "ПрАТ «Карпати»" in page.text
    assert f'name="customer" value="{org}" checked' in page.text and "<html" in page.text
    fragment = client.hx_get(f"/pipeline/deals/new?customer={org}")
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="deal-new-form"' in fragment.text
    # the base currency is the default, the first stage of the default pipeline is chosen
    assert '<option value="UAH" selected>' in page.text


def test_a_customer_the_user_may_not_see_is_not_preset(client, pipeline):
    theirs = pipeline.organisation("Not mine", owner="sales2")
    client.login("sales")
    for raw in (str(theirs), "junk", "99999999999", "-3"):
        page = client.get(f"/pipeline/deals/new?customer={raw}")
        assert page.status_code == 200 and "Not mine" not in page.text and 'name="customer" value=' not in page.text


def test_create_writes_the_deal_and_goes_to_it(client, pipeline):
    stages = pipeline.stages()
    org = pipeline.organisation("Customer")
    client.login("sales")
    created = client.hx_post("/pipeline/deals/new", data=_form(pipeline, org, amount="1 250,50", currency="eur"))
    assert created.status_code == 204
    deal_id = int(created.headers["HX-Redirect"].rsplit("/", 1)[1])
    deal = pipeline.get(Opportunity, deal_id)
    assert (
        deal.name,
        deal.customer_id,
        deal.amount_minor,
        deal.amount_currency,
        deal.stage_id,
        deal.probability,
        deal.owner_user_id,
        str(deal.expected_close),
    ) == ("Laptops", org, 125_050, "EUR", stages["Qualified"], 35, pipeline.uid("sales"), "2026-12-15")
    with pipeline.runtime.sessions() as session:
        assert session.scalar(select(func.count()).where(StageChange.opportunity_id == deal_id)) == 1
    plain = client.post("/pipeline/deals/new", data=_form(pipeline, org, name="Second"))
    assert plain.status_code == 200 and "Second" in plain.text and str(plain.url).startswith("http")


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"amount": "-100"}, "amount", "cannot be negative"),
        ({"amount": "сто"}, "amount", "as a number"),
        ({"amount": "1e400"}, "amount", "too large"),
        ({"amount": "NaN"}, "amount", "as a number"),
        ({"amount": "12.345"}, "amount", "decimal places"),
        ({"currency": "XYZ"}, "currency", "not a currency code"),
        ({"currency": "EURO"}, "currency", "not a currency code"),
        ({"name": ""}, "name", "Give the deal a name"),
        ({"customer": ""}, "customer", "Find the customer"),
        ({"customer": "abc"}, "customer", "not yours to see"),
        ({"stage": "0"}, "stage", "Pick a stage"),
        ({"owner": "x:1"}, "owner", "active user"),
        ({"expected_close": "2026-02-30"}, "expected_close", "YYYY-MM-DD"),
    ],
)
def test_bad_input_is_a_400_and_nothing_is_written(client, pipeline, values, field, message):
    org = pipeline.organisation("Customer")
    client.login("sales")
    before = _count(pipeline)
    response = client.hx_post("/pipeline/deals/new", data=_form(pipeline, org, **values))
    assert response.status_code == 400
    assert message in response.text and "field-error" in response.text
    assert _count(pipeline) == before


def test_a_hidden_customer_is_refused(client, pipeline):
    theirs = pipeline.organisation("Not mine", owner="sales2")
    client.login("sales")
    response = client.hx_post("/pipeline/deals/new", data=_form(pipeline, theirs))
    assert response.status_code == 400 and "not yours to see" in response.text and _count(pipeline) == 0


def test_only_editors_create(client, pipeline):
    org = pipeline.organisation("Customer", owner="operator")
    client.login("operator")
    assert client.get("/pipeline/deals/new").status_code == 403
    assert client.post("/pipeline/deals/new", data=_form(pipeline, org)).status_code == 403
    assert _count(pipeline) == 0


def test_money_helpers(pipeline):
    with pipeline.runtime.sessions() as session:
        assert read_money(session, "1 234,5", "usd") == ({"amount_minor": 123_450, "amount_currency": "USD"}, {})
        assert read_money(session, "", "") == ({"amount_minor": 0, "amount_currency": "UAH"}, {})
        assert read_money(session, "100", "JPY")[0]["amount_minor"] == 100
        assert "amount" in read_money(session, "1.5", "JPY")[1]
    assert amount_text(125_050, "EUR") == "1250.50" and amount_text(100, "JPY") == "100"
    assert weighted_minor(1_250_050, 50) == 625_025 and weighted_minor(5, 50) == 2 and weighted_minor(15, 50) == 8

"""The contact-centre screen (plugins/leads/contact_centre.py): customers and leads found as the operator
types (phone prefix, name prefix) under visibility, the minimal fact about a customer the operator may not
see, and the lead created in one click (channel leads.phone, the operator or the default queue)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.models import SettingValue
from voronka.core.state import bump
from voronka.core.types import utcnow
from voronka.plugins.leads.models import Lead


def test_the_call_screen_finds_customers_and_leads_as_you_type(client: Any, leads: Any) -> None:
    person = leads.person("Mykola", "Bondar", owner="operator", primary_phone="+380 67 555 44 33")
    hidden = leads.person("Secret", "Caller", owner="sales", primary_phone="+380 50 999 88 77")
    lead_id = leads.lead("Mykhailo", "Lysenko", owner="operator", phone="067 555 11 22")
    client.login("operator")
    page = client.get("/leads/call")
    assert page.status_code == 200 and 'name="phone"' in page.text and "/leads/call/search" in page.text
    found = client.hx_get("/leads/call/search?phone=067 555&name=")
    assert found.status_code == 200
    assert f"/contacts/{person}" in found.text and f"/leads/{lead_id}" in found.text
    by_name = client.hx_get("/leads/call/search?phone=&name=myk")
    assert f"/contacts/{person}" in by_name.text and f"/leads/{lead_id}" in by_name.text
    secret = client.hx_get("/leads/call/search?phone=050 999 88 77&name=")
    assert "cannot see has this number" in secret.text and "Sofiia Sales" in secret.text
    assert "Secret" not in secret.text and f"/contacts/{hidden}" not in secret.text
    assert client.get("/leads/call/search?phone=1", follow_redirects=False).status_code == 303


def test_create_the_lead_from_the_call(client: Any, leads: Any, app: Any) -> None:
    client.login("operator")
    refused = client.post("/leads/call", data={"phone": "", "name": ""})
    assert refused.status_code == 400 and "number or name" in refused.text
    bad = client.post("/leads/call", data={"phone": "12", "name": "Ivan"})
    assert bad.status_code == 400
    with leads.runtime.sessions() as session:
        assert session.scalar(select(Lead.id)) is None
    made = client.post("/leads/call", data={"phone": "067 777 66 55", "name": "Ivan Franko", "company": "Kameniar",
                                            "then": "open"}, follow_redirects=False)  # fmt: skip
    assert made.status_code == 303
    lead = leads.get(Lead, int(made.headers["location"].rsplit("/", 1)[1]))
    assert (lead.first_name, lead.last_name, lead.company) == ("Ivan", "Franko", "Kameniar")
    assert lead.channel == "leads.phone" and lead.owner_user_id == leads.uid("operator")
    assert lead.phone_key == "+380677776655"
    with write_transaction(app.state.voronka.sessions) as session:
        session.merge(SettingValue(plugin="leads", key="default_queue", value="Inbound sales", changed_at=utcnow()))
        bump(session, "settings")
    queued = client.post("/leads/call", data={"phone": "067 777 66 56", "name": "Lesia", "owner": "queue"},
                         follow_redirects=False)  # fmt: skip
    assert queued.status_code == 303
    lead = leads.get(Lead, int(queued.headers["location"].rsplit("/", 1)[1]))
    assert lead.owner_team_id == leads.team_id("Inbound sales") and lead.owner_user_id is None


def test_sales_without_edit_rights_cannot_open_it(client: Any) -> None:
    assert client.get("/leads/call", follow_redirects=False).status_code in (302, 303, 401)

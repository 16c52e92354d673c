"""The lead page and the new-lead form (plugins/leads/lead_pages.py, lead_forms.py, lead_duplicates.py):
header, click-to-edit with optimistic concurrency, disqualify / reopen / take, duplicate hints that never
show a record the viewer may not see, the lead's timeline and the customer card's "came from lead" panel."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.records import Ref
from voronka.plugins.leads import lead_timeline
from voronka.plugins.leads.models import Lead, LeadOutcome


def version(leads: Any, lead_id: int) -> int:
    return leads.get(Lead, lead_id).version


def test_the_lead_page_shows_header_fields_source_and_actions(client: Any, leads: Any) -> None:
    campaign = leads.campaign("Spring webinar", "spring", channel="leads.web_form")
    lead_id = leads.lead("Olena", "Koval", company="Sonyakh", email="olena@example.com", campaign_id=campaign,
                         utm_source="newsletter", payload={"form": {"name": "Olena"}})  # fmt: skip
    client.login("sales")
    page = client.get(f"/leads/{lead_id}")
    assert page.status_code == 200, page.text[:500]
    text = page.text
    assert "Olena Koval" in text and "Sonyakh" in text and "Spring webinar" in text
    assert "Web site form" in text and 'data-status="new"' in text and "newsletter" in text
    assert f'href="/leads/{lead_id}/qualify"' in text and f'action="/leads/{lead_id}/script"' in text
    assert "Disqualify" in text and "leads.css" in text and ("&#34;form&#34;" in text or "&quot;form&quot;" in text)


def test_a_lead_the_viewer_may_not_see_is_a_404(client: Any, leads: Any) -> None:
    lead_id = leads.lead(owner="sales2")
    client.login("sales")
    assert client.get(f"/leads/{lead_id}").status_code == 404
    assert client.get("/leads/999999").status_code == 404
    client.login("manager")
    assert client.get(f"/leads/{lead_id}").status_code == 200


def test_click_to_edit_saves_with_the_version_and_refuses_a_stale_form(client: Any, leads: Any) -> None:
    lead_id = leads.lead()
    client.login("sales")
    form = client.hx_get(f"/leads/{lead_id}/fields/company/edit")
    assert form.status_code == 200 and 'name="company"' in form.text
    seen = version(leads, lead_id)
    saved = client.hx_post(f"/leads/{lead_id}/fields/company", data={"company": "Acme", "version": seen})
    assert saved.status_code == 200 and "Acme" in saved.text and 'hx-swap-oob="true"' in saved.text
    stale = client.hx_post(f"/leads/{lead_id}/fields/company", data={"company": "Other", "version": seen})
    assert stale.status_code == 409 and "Someone else saved" in stale.text
    assert leads.get(Lead, lead_id).company == "Acme"


def test_bad_input_is_a_400_next_to_the_field_and_nothing_is_written(client: Any, leads: Any) -> None:
    lead_id = leads.lead(email="a@example.com")
    client.login("sales")
    bad = client.hx_post(
        f"/leads/{lead_id}/fields/email", data={"email": "not an address", "version": version(leads, lead_id)}
    )
    assert bad.status_code == 400 and "field-error" in bad.text
    assert leads.get(Lead, lead_id).email == "a@example.com"
    junk = client.hx_post(
        f"/leads/{lead_id}/fields/campaign", data={"campaign": "abc", "version": version(leads, lead_id)}
    )
    assert junk.status_code == 400
    assert client.hx_post(f"/leads/{lead_id}/fields/colour", data={"version": 1}).status_code == 404
    incomplete = client.hx_post(f"/leads/{lead_id}/fields/city", data={"city": "Lviv"})
    assert incomplete.status_code == 400 and leads.get(Lead, lead_id).city == ""


def test_disqualify_needs_a_reason_then_reopen(client: Any, leads: Any) -> None:
    lead_id = leads.lead()
    client.login("sales")
    assert "Choose the reason" in client.hx_get(f"/leads/{lead_id}/disqualify").text
    refused = client.hx_post(
        f"/leads/{lead_id}/disqualify", data={"reason": "bored", "version": version(leads, lead_id)}
    )
    assert refused.status_code == 400 and leads.get(Lead, lead_id).status == "new"
    form = {"reason": "not_interested", "note": "Bought elsewhere", "version": version(leads, lead_id)}
    done = client.post(f"/leads/{lead_id}/disqualify", data=form, follow_redirects=False)
    assert done.status_code == 303
    lead = leads.get(Lead, lead_id)
    assert lead.status == "disqualified" and lead.disqualify_reason == "not_interested"
    assert lead.disqualify_note == "Bought elsewhere"
    assert "No longer interested" in client.get(f"/leads/{lead_id}").text
    again = client.post(f"/leads/{lead_id}/reopen", data={"version": version(leads, lead_id)}, follow_redirects=False)
    assert again.status_code == 303
    reopened = leads.get(Lead, lead_id)
    assert reopened.status == "contacted" and reopened.disqualify_reason == "" and reopened.closed_at is None


def test_take_a_queue_lead_and_the_second_taker_is_told(client: Any, leads: Any) -> None:
    queue = leads.team_id("Inbound sales")
    lead_id = leads.lead(owner=None, owner_team_id=queue)
    seen = version(leads, lead_id)
    client.login("operator")
    taken = client.post(f"/leads/{lead_id}/take", data={"version": seen}, follow_redirects=False)
    assert taken.status_code == 303
    lead = leads.get(Lead, lead_id)
    assert lead.owner_user_id == leads.uid("operator") and lead.owner_team_id is None
    client.login("manager")
    late = client.hx_post(f"/leads/{lead_id}/take", data={"version": seen})
    assert late.status_code == 409 and "Oksana Operator" in late.text


def test_new_lead_form_creates_and_refuses_bad_input(client: Any, leads: Any) -> None:
    client.login("sales")
    page = client.get("/leads/new")
    assert page.status_code == 200 and 'name="first_name"' in page.text
    bad = client.post("/leads/new", data={"first_name": "", "email": "nope", "channel": "leads.manual"})
    assert bad.status_code == 400 and "field-error" in bad.text
    junk = client.post("/leads/new", data={"first_name": "A", "channel": "nobody.knows", "owner": "u:abc"})
    assert junk.status_code == 400
    with leads.runtime.sessions() as session:
        assert session.scalar(select(Lead.id)) is None
    made = client.post("/leads/new", data={"first_name": "Ivan", "last_name": "Petrenko", "phone": "067 111 22 33",
                                           "channel": "leads.referral"}, follow_redirects=False)  # fmt: skip
    assert made.status_code == 303
    lead_id = int(made.headers["location"].rsplit("/", 1)[1])
    lead = leads.get(Lead, lead_id)
    assert lead.channel == "leads.referral" and lead.owner_user_id == leads.uid("sales")
    assert lead.phone_key == "+380671112233"


def test_duplicate_hints_name_only_what_the_viewer_may_see(client: Any, leads: Any) -> None:
    leads.lead("Olena", "Koval", email="olena@example.com", owner="sales2")
    mine = leads.lead("Olena", "K", email="olena@example.com", owner="sales")
    leads.person("Petro", "Shevchenko", owner="sales2", primary_email="petro@example.com")
    client.login("sales")
    hints = client.hx_get("/leads/new/hints?email=OLENA@example.com")
    assert hints.status_code == 200
    assert "A record you cannot see matches" in hints.text and "Taras Sales" in hints.text
    assert f"/leads/{mine}" in hints.text  # the one the viewer may open is linked
    hidden = client.hx_get("/leads/new/hints?first_name=Petro&last_name=Shevchenko&email=petro@example.com")
    assert "A record you cannot see matches" in hidden.text and "Shevchenko" not in hidden.text
    assert "No lead or customer matches" in client.hx_get("/leads/new/hints?first_name=Zzz").text


def _qualified(leads: Any, lead_id: int, kind: str, record_id: int) -> None:
    with write_transaction(leads.runtime.sessions) as session:
        session.add(LeadOutcome(lead_id=lead_id, outcome=f"leads.{kind}", kind=kind, record_id=record_id,
                                by_id=leads.uid("sales")))  # fmt: skip


def test_timelines_and_the_card_panel_tell_where_a_customer_came_from(client: Any, leads: Any) -> None:
    campaign = leads.campaign("Expo", "expo", channel="leads.campaign")
    lead_id = leads.lead("Olena", "Koval", campaign_id=campaign, email="ok@example.com")
    person = leads.person("Olena", "Koval", primary_email="ok@example.com")
    _qualified(leads, lead_id, "person", person)
    client.login("sales")
    own = client.get(f"/leads/{lead_id}")
    assert "Lead captured via Marketing campaign" in own.text and "Qualified into Olena Koval" in own.text
    assert "What it became" in own.text and f'href="/contacts/{person}"' in own.text
    assert "No other lead or customer has this" in own.text  # what it became is not a duplicate of it
    card = client.get(f"/contacts/{person}")
    assert card.status_code == 200
    assert "Came from lead" in card.text and "Expo" in card.text
    assert "Lead captured via Marketing campaign: Olena Koval" in card.text
    client.login("sales2")  # cannot see the lead: no panel, no entries
    with leads.runtime.sessions() as session:
        assert lead_timeline.entries(session, leads.viewer("sales2"), Ref("person", person), None, None, 10) == []
    assert re.search(r"Came from lead", client.get(f"/contacts/{person}").text) is None

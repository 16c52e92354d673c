"""The capture service: field mapping, UTM, consent, size limits, campaigns, the default queue."""

from __future__ import annotations

from typing import Any

import pytest

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.plugins.leads import assignment, capture
from voronka.plugins.leads.models import Lead


def run(app: Any, channel: str, data: dict[str, Any], **kw: Any) -> int:
    runtime = app.state.voronka
    capture.remember(runtime)
    with write_transaction(runtime.sessions) as session:
        return capture.capture(session, channel, data, **kw).id


def test_mapping_of_names_utm_from_the_landing_url_and_consent(app, leads):
    lead_id = run(app, "leads.web_form", {
        "Full Name": "Koval, Olena", "E-Mail": "Olena@Example.com", "Tel": "+380 44 123 4567",
        "organization": "  Dnipro   Foods ", "Position": "Buyer", "Country": "Ukraine",
        "comments": "40 seats\r\nplease", "landing_url": "https://shop.example.com/?utm_source=google&utm_medium=cpc",
        "utm_medium": "email", "gdpr": "on", "referer": "https://google.com/", "extra": "kept",
    })  # fmt: skip
    lead = leads.get(Lead, lead_id)
    assert (lead.first_name, lead.last_name, lead.name) == ("Olena", "Koval", "Olena Koval")
    assert lead.email.casefold() == "olena@example.com" and lead.email_key == "olena@example.com"
    assert lead.phone_key == "+380441234567"
    assert (lead.company, lead.job_title, lead.country) == ("Dnipro Foods", "Buyer", "UA")
    assert lead.message == "40 seats\nplease"
    assert (lead.utm_source, lead.utm_medium) == ("google", "email")  # a field wins over the URL
    assert lead.referrer == "https://google.com/"
    assert lead.marketing_consent and lead.consent_at is not None
    assert lead.payload["extra"] == "kept" and lead.payload["Full Name"] == "Koval, Olena"
    assert lead.channel == "leads.web_form" and lead.status == "new"


def test_one_name_is_split_and_a_single_word_is_a_first_name():
    assert capture.split_name("Olena  Maria Koval") == ("Olena", "Maria Koval")
    assert capture.split_name("Olena") == ("Olena", "")
    assert capture.normal_name("FirstName") == "firstname" or capture.map_fields({"FirstName": "x"}) == {
        "first_name": "x"
    }
    assert capture.map_fields({"First-Name": "a", "first_name": "b"}) == {"first_name": "a"}


def test_free_text_is_cut_and_noted_identifiers_are_refused(app, leads):
    lead_id = run(app, "leads.api", {"first_name": "A" * 500, "message": "m" * 20_000, "email": "a@example.com"})
    lead = leads.get(Lead, lead_id)
    assert len(lead.first_name) == 120 and len(lead.message) == capture.MESSAGE_MAX
    assert sorted(lead.payload["truncated"]) == ["first_name", "message"]
    with pytest.raises(ValidationError) as refused:
        run(app, "leads.api", {"first_name": "A", "email": "a" * 400 + "@example.com"})
    assert "email" in refused.value.errors


def test_too_large_or_too_many_fields_is_refused_whole(app, leads):
    with pytest.raises(capture.CaptureTooLarge, match="larger than 64 KB"):
        run(app, "leads.api", {"first_name": "A", "email": "a@example.com", "blob": "x" * 70_000})
    with pytest.raises(capture.CaptureTooLarge, match="more than 100 fields"):
        run(app, "leads.api", {f"f{i}": "x" for i in range(101)})


def test_bad_email_or_nothing_to_name_the_lead_by_is_refused(app, leads):
    with pytest.raises(ValidationError) as bad:
        run(app, "leads.web_form", {"first_name": "A", "email": "not-an-address"})
    assert "email" in bad.value.errors
    with pytest.raises(ValidationError, match="at least a name"):
        run(app, "leads.web_form", {"message": "hello"})


def test_a_campaign_gives_its_channel_and_a_tracking_code_links_one(app, leads):
    campaign_id = leads.campaign(code="spring", channel="leads.campaign")
    first = leads.get(Lead, run(app, "leads.web_form", {"name": "Ann Lee", "email": "a@example.com"},
                                campaign=campaign_id))  # fmt: skip
    assert (first.channel, first.campaign_id) == ("leads.campaign", campaign_id)
    second = leads.get(Lead, run(app, "leads.api", {"name": "Bo", "utm_campaign": "spring", "email": "b@example.com"}))
    assert (second.channel, second.campaign_id) == ("leads.api", campaign_id)
    third = leads.get(Lead, run(app, "leads.api", {"name": "Cy", "landing_url": "https://x.example/?c=spring"}))
    assert third.campaign_id == campaign_id


def test_a_new_lead_is_placed_by_the_assignment_service_unless_given_an_owner(app, leads, monkeypatch):
    team = leads.team_id()
    seen: list[Any] = []

    def place(session: Any, lead: Any) -> None:
        seen.append(lead.get("id"))
        lead["owner_team_id"] = team

    monkeypatch.setattr(assignment, "place_new_lead", place)
    placed = leads.get(Lead, run(app, "leads.web_form", {"name": "Ann", "email": "a@example.com"}))
    assert placed.owner_team_id == team and seen == [None]  # called before the lead is saved
    owned = leads.get(Lead, run(app, "leads.phone", {"name": "Bo"}, values={"owner_user_id": leads.uid("sales")}))
    assert owned.owner_user_id == leads.uid("sales") and owned.owner_team_id is None and len(seen) == 1


def test_country_names_and_codes():
    assert capture.country_code("ua") == "UA"
    assert capture.country_code("Україна") == "UA"
    assert capture.country_code("Atlantis") == ""

"""The rules every lead write obeys (plugins/leads/rules.py), on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from voronka.core.errors import ValidationError
from voronka.plugins.leads.models import Lead


def test_a_lead_gets_its_name_keys_and_normalised_contact_points(leads: Any) -> None:
    lead_id = leads.lead("Олена", "Коваль", email=" Olena.Koval@Example.COM ", phone="067 123 45 67",
                         company="ТОВ «Сонях»")  # fmt: skip
    lead = leads.get(Lead, lead_id)
    assert lead.name == "Олена Коваль"
    assert lead.name_key.startswith("olena")
    assert lead.email_key == "olena.koval@example.com"
    assert lead.phone_key == "+380671234567"
    assert lead.company_key and lead.status == "new" and lead.channel == "leads.manual"


@pytest.mark.parametrize(
    ("values", "field"),
    [({"email": "not an address"}, "email"), ({"phone": "12"}, "phone"), ({"channel": "Web Form"}, "channel")],
)
def test_bad_contact_points_and_channels_are_refused_with_the_field(leads: Any, values: dict, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        leads.lead(**values)
    assert field in str(refused.value.errors if hasattr(refused.value, "errors") else refused.value)


def test_a_lead_with_nothing_to_call_it_by_is_refused(leads: Any) -> None:
    with pytest.raises(ValidationError):
        leads.lead("", "")


def test_only_the_qualify_service_marks_a_lead_qualified(leads: Any) -> None:
    lead_id = leads.lead()
    with pytest.raises(ValidationError):
        leads.save("lead", lead_id, {"status": "qualified"})
    assert leads.get(Lead, lead_id).status == "new"


def test_disqualify_needs_a_reason_and_reopening_clears_it(leads: Any) -> None:
    lead_id = leads.lead()
    with pytest.raises(ValidationError):
        leads.save("lead", lead_id, {"status": "disqualified"})
    leads.save("lead", lead_id, {"status": "disqualified", "disqualify_reason": "not_interested"})
    closed = leads.get(Lead, lead_id)
    assert closed.closed_at is not None and closed.closed_by_id == leads.uid("sales")
    leads.save("lead", lead_id, {"status": "contacted"})
    reopened = leads.get(Lead, lead_id)
    assert reopened.disqualify_reason == "" and reopened.closed_at is None


def test_a_campaign_gives_its_channel_to_its_leads(leads: Any) -> None:
    campaign_id = leads.campaign(channel="leads.web_form")
    lead = leads.get(Lead, leads.lead(campaign_id=campaign_id))
    assert lead.channel == "leads.web_form"

"""Stakeholders on a deal: roles from contacts' influence relationship types (plus "involved"), anyone the
user may see, added and removed in place with an audit entry on the deal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from voronka.core.models_records import AuditEntry
from voronka.plugins.pipeline.models import Stakeholder
from voronka.plugins.pipeline.stakeholders import roles


def _stakeholders(pipeline: Any, deal_id: int) -> list[tuple[int, str, str]]:
    with pipeline.runtime.sessions() as session:
        query = select(Stakeholder.party_id, Stakeholder.role, Stakeholder.note).where(
            Stakeholder.opportunity_id == deal_id
        )
        return sorted(tuple(row) for row in session.execute(query))


def test_roles_are_contacts_influence_types_and_involved(pipeline):
    with pipeline.runtime.sessions() as session:
        keys = [key for key, _label in roles(session)]
    assert keys == ["decision_maker", "influencer", "champion", ""]


def test_add_and_remove_in_place(client, pipeline):
    org = pipeline.organisation("Customer")
    boss = pipeline.person("Ірина", "Бойко")
    deal_id = pipeline.deal("Deal", customer_id=org)
    client.login("sales")
    page = client.get(f"/pipeline/deals/{deal_id}").text
    assert "Add a stakeholder" in page and "/contacts/lookup?kind=any&amp;field=party" in page
    found = client.hx_get("/contacts/lookup?kind=any&field=party&party_q=Ірин")
    assert f'name="party" value="{boss}"' in found.text
    added = client.hx_post(
        f"/pipeline/deals/{deal_id}/stakeholders",
        data={"party": str(boss), "role": "decision_maker", "note": "Signs the contract"},
    )
    assert added.status_code == 200 and "Ірина Бойко" in added.text and "Decision maker" in added.text
    assert _stakeholders(pipeline, deal_id) == [(boss, "decision_maker", "Signs the contract")]
    twice = client.hx_post(
        f"/pipeline/deals/{deal_id}/stakeholders", data={"party": str(boss), "role": "decision_maker"}
    )
    assert twice.status_code == 400 and "already has this role" in twice.text
    other_role = client.post(f"/pipeline/deals/{deal_id}/stakeholders", data={"party": str(boss), "role": ""})
    assert other_role.status_code == 200 and len(_stakeholders(pipeline, deal_id)) == 2
    with pipeline.runtime.sessions() as session:
        row_id = session.scalar(select(Stakeholder.id).where(Stakeholder.role == "decision_maker"))
        audited = session.scalars(
            select(AuditEntry.field).where(AuditEntry.kind == "opportunity", AuditEntry.record_id == deal_id)
        ).all()
    assert audited.count("stakeholders") == 2
    removed = client.hx_post(f"/pipeline/deals/{deal_id}/stakeholders/{row_id}/remove")
    assert removed.status_code == 200 and "removed" in removed.text
    assert _stakeholders(pipeline, deal_id) == [(boss, "", "")]


def test_bad_input_is_a_400_and_nothing_is_written(client, pipeline):
    deal_id = pipeline.deal("Deal")
    person = pipeline.person("Anna")
    hidden = pipeline.person("Hidden", owner="sales2")
    client.login("sales")
    cases = [
        ({"party": str(person), "role": "spouse"}, "Choose a role"),
        ({"party": str(person), "role": "nonsense"}, "Choose a role"),
        ({"party": "", "role": ""}, "Find the person"),
        ({"party": "abc", "role": ""}, "not yours to see"),
        ({"party": str(hidden), "role": ""}, "not yours to see"),
        ({"party": "999999", "role": ""}, "not yours to see"),
        ({"party": str(person), "role": "", "note": "x" * 301}, "under 300"),
    ]
    for data, message in cases:
        response = client.hx_post(f"/pipeline/deals/{deal_id}/stakeholders", data=data)
        assert response.status_code == 400 and message in response.text, data
    assert _stakeholders(pipeline, deal_id) == []


def test_hidden_deals_and_junk_rows_are_404(client, pipeline):
    theirs = pipeline.deal("Theirs", owner="sales2")
    mine = pipeline.deal("Mine")
    person = pipeline.person("Anna")
    client.login("sales")
    assert (
        client.hx_post(f"/pipeline/deals/{theirs}/stakeholders", data={"party": str(person), "role": ""}).status_code
        == 404
    )
    assert client.hx_post(f"/pipeline/deals/{mine}/stakeholders/999999/remove").status_code == 404
    assert client.get(f"/pipeline/deals/{mine}/stakeholders").status_code == 200
    assert _stakeholders(pipeline, theirs) == []


def test_people_the_viewer_may_not_see_are_counted_not_named(client, pipeline):
    deal_id = pipeline.deal("Deal", owner="sales")
    hidden = pipeline.person("Secret", "Person", owner="sales2")
    with pipeline.runtime.sessions() as session:
        session.add(Stakeholder(opportunity_id=deal_id, party_id=hidden, role="influencer"))
        session.commit()
    client.login("sales")
    html = client.get(f"/pipeline/deals/{deal_id}").text
    assert "Secret Person" not in html and "+1 you cannot see" in html

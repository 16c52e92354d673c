"""The qualify screen and the mapping page: what they offer, what they post, and how they refuse."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.plugins.contacts.api import Party
from voronka.plugins.leads.models import FieldMapping, Lead, LeadOutcome, Qualification, Script, ScriptVersion
from voronka.plugins.pipeline import leads_answers
from voronka.plugins.pipeline.models import Opportunity


def acme(leads: Any, **values: Any) -> int:
    values = {"company": "Acme Trading LLC", "email": "olena@acme.example", "city": "Lviv", "country": "UA",
              "message": "We need 40 laptops", **values}  # fmt: skip
    return leads.lead("Olena", "Koval", **values)


ALL = ["leads.organisation", "leads.person", "pipeline.opportunity"]


def test_the_screen_offers_outcomes_duplicates_and_the_preview(client: Any, leads: Any) -> None:
    mine = leads.organisation("Acme Trading LLC", city="Kyiv")
    leads.person("Olena", "Koval", owner="sales2", primary_email="olena@acme.example")
    lead_id = acme(leads)
    client.login("sales")
    page = client.get(f"/leads/{lead_id}/qualify")
    assert page.status_code == 200
    html = page.text
    for key in ALL:
        assert f'value="{key}" checked' in html
    assert f'name="link:leads.organisation" value="{mine}"' in html and f'href="/contacts/{mine}"' in html
    assert "An existing record you cannot see matches — ask its owner" in html
    person_section = html.split('id="outcome-leads-person"')[1].split("</section>")[0]
    assert "/contacts/" not in person_section  # the hidden person is neither named nor linked
    assert "Acme Trading LLC — Entered by hand" not in html  # the deal name is made at create time
    assert "We need 40 laptops" in html and 'name="fill_empty_only" value="1" checked' in html


def test_posting_qualifies_and_goes_to_the_new_customer(client: Any, leads: Any) -> None:
    lead_id = acme(leads)
    client.login("sales")
    response = client.post(f"/leads/{lead_id}/qualify", data={"outcome": ALL, "fill_empty_only": "1"},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    org_id = int(re.search(r"/contacts/(\d+)\?qualified_lead=", response.headers["location"]).group(1))
    assert leads.get(Party, org_id).name == "Acme Trading LLC"
    assert leads.get(Lead, lead_id).status == "qualified"
    again = client.post(f"/leads/{lead_id}/qualify", data={"outcome": ALL})
    assert again.status_code == 409
    assert client.get(f"/leads/{lead_id}/qualify").status_code == 409


def test_linking_from_the_screen(client: Any, leads: Any) -> None:
    org_id = leads.organisation("Acme Trading LLC", city="Kyiv")
    lead_id = acme(leads)
    client.login("sales")
    response = client.post(f"/leads/{lead_id}/qualify",
                           data={"outcome": ["leads.organisation"], "link:leads.organisation": str(org_id)},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and response.headers["location"].startswith(f"/contacts/{org_id}?")
    org = leads.get(Party, org_id)
    assert org.city == "Lviv"  # "fill empty fields only" was not ticked


def test_a_failing_outcome_rerenders_with_the_reason_and_the_choices(client: Any, leads: Any, monkeypatch: Any) -> None:
    def broken(ctx: Any) -> int:
        raise RuntimeError("pipeline went away")

    monkeypatch.setattr(leads_answers, "create", broken)
    lead_id = acme(leads)
    client.login("sales")
    response = client.post(f"/leads/{lead_id}/qualify", data={"outcome": ["leads.person", "pipeline.opportunity"]})
    assert response.status_code == 400
    html = response.text
    assert "pipeline went away" in html and "Nothing was saved" in html
    assert 'value="leads.person" checked' in html and 'value="leads.organisation">' in html
    assert leads.get(Lead, lead_id).status == "new"
    with leads.runtime.sessions() as session:
        assert session.scalar(select(Party.id).where(Party.name == "Olena Koval")) is None
        assert session.scalar(select(LeadOutcome.id)) is None


@pytest.mark.parametrize(
    "data",
    [{}, {"outcome": ["nobody.thing"]}, {"outcome": ["leads.organisation"], "link:leads.organisation": "999999"},
     {"outcome": ["leads.person"], "link:leads.person": "abc", "run": "x" * 5000}],
)  # fmt: skip
def test_junk_posts_are_refused_cleanly(client: Any, leads: Any, data: dict[str, Any]) -> None:
    lead_id = acme(leads)
    client.login("sales")
    response = client.post(f"/leads/{lead_id}/qualify", data=data, follow_redirects=False)
    assert response.status_code in (303, 400, 404), response.text[:500]
    if response.status_code != 303:
        assert leads.get(Lead, lead_id).status == "new"


def test_hidden_and_missing_leads_are_404(client: Any, leads: Any) -> None:
    theirs = acme(leads, owner="sales2")
    client.login("sales")
    assert client.get(f"/leads/{theirs}/qualify").status_code == 404
    assert client.post(f"/leads/{theirs}/qualify", data={"outcome": ALL}).status_code == 404
    assert client.get("/leads/999999/qualify").status_code == 404
    assert client.get(f"/leads/{theirs}/qualify?run=abc").status_code == 404


def _script_run(leads: Any, lead_id: int, answers: dict[str, Any], ticks: list[str] | None = None) -> int:
    with write_transaction(leads.runtime.sessions) as session:
        script = Script(key="intro", name="Intro call")
        session.add(script)
        session.flush()
        steps = [
            {"key": "budget", "title": "What is the budget?", "type": "number"},
            {"key": "seats", "title": "How many seats?", "type": "number"},
            {"key": "done", "type": "outcome", "result": "qualify", **({"outcomes": ticks} if ticks else {})},
        ]
        version = ScriptVersion(script_id=script.id, number=1, definition={"steps": steps})
        session.add(version)
        session.flush()
        script.current_version_id = version.id
        run = Qualification(lead_id=lead_id, script_version_id=version.id, status="finished", answers=answers,
                            step="done", finished_at=dt.datetime.now(dt.UTC))  # fmt: skip
        session.add(run)
        session.flush()
        return run.id


def test_the_answers_of_a_script_run_reach_the_deal(client: Any, leads: Any) -> None:
    lead_id = acme(leads)
    run_id = _script_run(leads, lead_id, {"budget": "5000", "seats": "40"})
    client.login("sales")
    page = client.get(f"/leads/{lead_id}/qualify?run={run_id}")
    assert page.status_code == 200 and "Intro call" in page.text and ">5000<" in page.text
    response = client.post(f"/leads/{lead_id}/qualify", data={"outcome": ALL, "run": str(run_id)},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    with leads.runtime.sessions() as session:
        assert session.scalar(select(Opportunity.amount_minor)) == 500_000


def test_the_scripts_last_step_ticks_its_outcomes(client: Any, leads: Any) -> None:
    lead_id = acme(leads)
    run_id = _script_run(leads, lead_id, {"budget": "5000"}, ticks=["leads.person"])
    client.login("sales")
    html = client.get(f"/leads/{lead_id}/qualify?run={run_id}").text
    assert 'value="leads.person" checked' in html and 'value="leads.organisation">' in html
    assert 'value="pipeline.opportunity">' in html and "done" not in re.findall(r'value="answer\.(\w+)"', html)


@pytest.mark.voronka(disabled=("pipeline",))
def test_without_pipeline_only_person_and_organisation_are_offered(client: Any, leads: Any) -> None:
    lead_id = acme(leads)
    client.login("sales")
    html = client.get(f"/leads/{lead_id}/qualify").text
    assert 'value="leads.person"' in html and "pipeline.opportunity" not in html
    response = client.post(f"/leads/{lead_id}/qualify", data={"outcome": ["pipeline.opportunity"]})
    assert response.status_code == 400 and leads.get(Lead, lead_id).status == "new"


# -- the mapping page ---------------------------------------------------------------------------------------


def test_the_mapping_page_lists_targets_and_sources(client: Any, leads: Any) -> None:
    _script_run(leads, acme(leads), {})
    client.login("sales")
    assert client.get("/leads/settings/mapping").status_code == 403
    client.login("admin")
    page = client.get("/leads/settings/mapping")
    assert page.status_code == 200
    html = page.text
    assert 'name="map:leads.person:first_name"' in html and 'name="map:pipeline.opportunity:amount"' in html
    assert 'value="answer.seats"' in html and "How many seats? (Intro call)" in html
    assert 'value="lead.first_name" selected' in html


def test_the_mapping_saves_in_one_go_and_refuses_unknown_names(client: Any, leads: Any) -> None:
    client.login("admin")
    ok = client.post("/leads/settings/mapping", data={
        "map:pipeline.opportunity:amount": "answer.how_much", "map:leads.person:description": "lead.message",
        "map:leads.person:first_name": "lead.first_name", "map:leads.person:job_title": ""},
        follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303 and ok.headers["location"].endswith("saved=1")

    def rows() -> set[tuple[str, str, str]]:
        with leads.runtime.sessions() as session:
            return {(r.outcome, r.target, r.source) for r in session.scalars(select(FieldMapping))}

    saved = {("pipeline.opportunity", "amount", "answer.how_much"), ("leads.person", "description", "lead.message"),
             ("leads.person", "job_title", "")}  # fmt: skip
    assert rows() == saved
    for bad in ({"map:leads.person:password": "lead.email"}, {"map:leads.person:first_name": "lead.password"},
                {"map:nobody.thing:x": "lead.email"}, {"map:leads.person:first_name": "answer.a b"}):  # fmt: skip
        refused = client.post("/leads/settings/mapping", data={"map:leads.person:last_name": "lead.email", **bad})
        assert refused.status_code == 400 and "Nothing was saved" in refused.text
        assert rows() == saved

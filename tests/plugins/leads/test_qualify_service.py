"""Qualify in one click (plugins/leads/qualify.py): what a lead becomes, linking with "fill empty fields
only", the mapping, one transaction when an outcome fails, two qualifications at once, and the deal
results that come back through pipeline's events — on both engines."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.events import Event
from voronka.core.models_jobs import OutboxEvent
from voronka.core.models_records import AuditEntry
from voronka.plugins.contacts.api import Party, Relationship
from voronka.plugins.leads import deal_results, qualify
from voronka.plugins.leads.models import FieldMapping, Lead, LeadOutcome
from voronka.plugins.pipeline import leads_answers
from voronka.plugins.pipeline.models import Opportunity
from voronka.plugins.pipeline.stages import catalogue


def run(leads: Any, lead_id: int, actor: str = "sales", **kw: Any) -> dict[str, tuple[str, int]]:
    runtime = leads.runtime
    with write_transaction(runtime.sessions) as session:
        return qualify.qualify(session, runtime, leads.viewer(actor), lead_id, **kw)


def acme_lead(leads: Any, **values: Any) -> int:
    values = {"company": "Acme Trading LLC", "email": "olena@acme.example", "phone": "067 123 45 67",
              "job_title": "Buyer", "city": "Lviv", "country": "UA", "marketing_consent": True,
              "consent_text": "I agree to hear about offers", **values}  # fmt: skip
    return leads.lead("Olena", "Koval", **values)


def test_one_click_makes_the_organisation_the_person_and_the_deal(leads: Any) -> None:
    lead_id = acme_lead(leads, message="We need 40 laptops for the new office in Lviv")
    before = leads.get(Lead, lead_id).version
    made = run(leads, lead_id)
    assert set(made) == {"leads.organisation", "leads.person", "pipeline.opportunity"}
    org = leads.get(Party, made["leads.organisation"][1])
    person = leads.get(Party, made["leads.person"][1])
    deal = leads.get(Opportunity, made["pipeline.opportunity"][1])
    sales = leads.uid("sales")
    assert (org.kind, org.name, org.city, org.country, org.owner_user_id) == ("organisation", "Acme Trading LLC",
                                                                              "Lviv", "UA", sales)  # fmt: skip
    assert (person.first_name, person.last_name, person.job_title, person.primary_email) == (
        "Olena", "Koval", "Buyer", "olena@acme.example")  # fmt: skip
    assert person.primary_phone and person.marketing_consent and person.consent_source.startswith("I agree")
    assert deal.customer_id == org.id and deal.owner_user_id == sales and deal.status == "open"
    assert deal.name == "Acme Trading LLC — Entered by hand"
    assert deal.description.startswith("We need 40 laptops")
    with leads.runtime.sessions() as session:
        first = catalogue(session).default().first_open()
        assert deal.stage_id == first.id
        tie = session.scalars(select(Relationship).where(Relationship.a_id == person.id)).one()
        assert tie.b_id == org.id
        rows = session.scalars(select(LeadOutcome).where(LeadOutcome.lead_id == lead_id)).all()
        assert {(r.outcome, r.kind, r.created) for r in rows} == {
            ("leads.organisation", "organisation", True), ("leads.person", "person", True),
            ("pipeline.opportunity", "opportunity", True)}  # fmt: skip
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.name == qualify.EVENT)).one()
        assert event.payload["lead_id"] == lead_id and event.payload["channel"] == "leads.manual"
        assert event.payload["outcomes"]["pipeline.opportunity"] == {"kind": "opportunity", "id": deal.id,
                                                                     "created": True}  # fmt: skip
        story = session.scalars(select(AuditEntry).where(AuditEntry.kind == "lead", AuditEntry.record_id == lead_id,
                                                         AuditEntry.field == qualify.AUDIT_FIELD)).one()  # fmt: skip
        assert f"opportunity:{deal.id}" in story.new
    lead = leads.get(Lead, lead_id)
    assert lead.status == "qualified" and lead.version > before and lead.closed_at is not None


def test_only_person_without_a_company_and_the_deal_goes_to_the_person(leads: Any) -> None:
    lead_id = leads.lead("Taras", "Shevchuk", email="taras@example.com")
    made = run(leads, lead_id, outcomes=["leads.person", "pipeline.opportunity"])
    deal = leads.get(Opportunity, made["pipeline.opportunity"][1])
    assert deal.customer_id == made["leads.person"][1] and deal.name.startswith("Taras Shevchuk — ")


def test_the_mapping_and_the_script_answers_fill_the_records(leads: Any) -> None:
    with write_transaction(leads.runtime.sessions) as session:
        session.add_all([
            FieldMapping(outcome="pipeline.opportunity", target="amount", source="answer.how_much"),
            FieldMapping(outcome="leads.person", target="description", source="answer.needs"),
            FieldMapping(outcome="leads.person", target="job_title", source=""),  # unmapped
        ])  # fmt: skip
    lead_id = acme_lead(leads)
    made = run(leads, lead_id, answers={"how_much": "12 500,50", "needs": "Laptops and support"})
    deal = leads.get(Opportunity, made["pipeline.opportunity"][1])
    person = leads.get(Party, made["leads.person"][1])
    assert deal.amount_minor == 1_250_050 and deal.amount_currency == "UAH"
    assert person.description == "Laptops and support" and person.job_title == ""


def test_an_answer_that_is_no_amount_leaves_the_deal_at_zero(leads: Any) -> None:
    made = run(leads, acme_lead(leads), answers={"budget": "not sure yet"})
    assert leads.get(Opportunity, made["pipeline.opportunity"][1]).amount_minor == 0


def test_linking_fills_only_the_empty_fields(leads: Any) -> None:
    org_id = leads.organisation("Acme Trading LLC", city="Kyiv")
    lead_id = acme_lead(leads)
    made = run(leads, lead_id, links={"leads.organisation": org_id})
    assert made["leads.organisation"] == ("organisation", org_id)
    org = leads.get(Party, org_id)
    assert org.city == "Kyiv" and org.country == "UA"
    with leads.runtime.sessions() as session:
        row = session.scalars(
            select(LeadOutcome).where(LeadOutcome.kind == "organisation", LeadOutcome.record_id == org_id)
        ).one()
        assert row.created is False
        assert session.scalar(select(Relationship.b_id).where(Relationship.a_id == made["leads.person"][1])) == org_id
    assert leads.get(Opportunity, made["pipeline.opportunity"][1]).customer_id == org_id


def test_linking_can_overwrite_when_asked(leads: Any) -> None:
    org_id = leads.organisation("Acme Trading LLC", city="Kyiv")
    run(leads, acme_lead(leads), outcomes=["leads.organisation"], links={"leads.organisation": org_id},
        fill_empty_only=False)  # fmt: skip
    assert leads.get(Party, org_id).city == "Lviv"


def test_a_record_the_user_cannot_see_is_not_linked(leads: Any) -> None:
    theirs = leads.organisation("Acme Trading LLC", owner="sales2")
    lead_id = acme_lead(leads)
    with pytest.raises(qualify.QualifyError) as refused:
        run(leads, lead_id, links={"leads.organisation": theirs})
    assert "cannot see" in str(refused.value)
    assert leads.get(Lead, lead_id).status == "new"


def test_a_lead_is_qualified_once_and_not_when_disqualified(leads: Any) -> None:
    lead_id = acme_lead(leads)
    run(leads, lead_id, outcomes=["leads.person"])
    with pytest.raises(qualify.QualifyError) as twice:
        run(leads, lead_id, outcomes=["leads.person"])
    assert "qualified already" in str(twice.value)
    other = acme_lead(leads)
    leads.save("lead", other, {"status": "disqualified", "disqualify_reason": "lost"})
    with pytest.raises(qualify.QualifyError):
        run(leads, other)


@pytest.mark.parametrize("keys", [[], ["nobody.thing"], ["leads.person", "leads.person "]])
def test_unknown_or_no_outcomes_are_refused(leads: Any, keys: list[str]) -> None:
    lead_id = acme_lead(leads)
    with pytest.raises(qualify.QualifyError):
        run(leads, lead_id, outcomes=keys)
    assert leads.get(Lead, lead_id).status == "new"


def test_a_failing_outcome_of_another_plugin_rolls_everything_back(leads: Any, monkeypatch: Any) -> None:
    def broken(ctx: Any) -> int:
        leads_answers.save(ctx.session, ctx.kinds["opportunity"], None, {"name": "half"}, actor=ctx.actor)
        raise RuntimeError("the pipeline is on fire")

    monkeypatch.setattr(leads_answers, "create", broken)
    lead_id = acme_lead(leads)
    before = leads.get(Lead, lead_id)
    with pytest.raises(qualify.QualifyError) as failed:
        run(leads, lead_id)
    assert failed.value.outcome == "pipeline.opportunity"
    assert "the pipeline is on fire" in str(failed.value) and "pipeline" in str(failed.value)
    after = leads.get(Lead, lead_id)
    assert (after.status, after.version) == (before.status, before.version) == ("new", before.version)
    with leads.runtime.sessions() as session:
        assert session.scalar(select(Party.id).where(Party.name == "Acme Trading LLC")) is None
        assert session.scalar(select(Opportunity.id)) is None
        assert session.scalar(select(LeadOutcome.id)) is None
        assert session.scalar(select(OutboxEvent.id).where(OutboxEvent.name == qualify.EVENT)) is None


def test_the_caller_may_go_on_after_a_failed_qualification(leads: Any) -> None:
    """The savepoint keeps the caller's transaction usable: its other work still commits."""
    lead_id = acme_lead(leads, first_name="", last_name="")
    runtime = leads.runtime
    with write_transaction(runtime.sessions) as session:
        with pytest.raises(qualify.QualifyError) as failed:
            qualify.qualify(session, runtime.host, leads.viewer("sales"), lead_id, outcomes=["leads.person"])
        assert failed.value.outcome == "leads.person" and "no name" in str(failed.value)
        session.get(Lead, lead_id).message = "tried to qualify"
    assert leads.get(Lead, lead_id).message == "tried to qualify"


def test_two_qualifications_at_once_make_one_set_of_records(leads: Any) -> None:
    lead_id = acme_lead(leads)
    viewer = leads.viewer("sales")
    runtime = leads.runtime
    results: list[Any] = []
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        try:
            with write_transaction(runtime.sessions) as session:
                results.append(qualify.qualify(session, runtime, viewer, lead_id, outcomes=["leads.organisation"]))
        except qualify.QualifyError as exc:
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    made = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, qualify.QualifyError)]
    assert len(made) == 1 and len(refused) == 1, results
    assert "qualified already" in str(refused[0]) or "changed this lead" in str(refused[0])
    with runtime.sessions() as session:
        assert len(session.scalars(select(Party.id).where(Party.name == "Acme Trading LLC")).all()) == 1
        assert len(session.scalars(select(LeadOutcome.id)).all()) == 1


def _deliver(leads: Any, names: tuple[str, ...]) -> None:
    with write_transaction(leads.runtime.sessions) as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.name.in_(names)).order_by(OutboxEvent.id)).all()
        for row in rows:
            deal_results.on_event(session, Event(row.id, row.name, dict(row.payload), row.occurred_at))


def test_won_lost_and_reopened_deals_follow_on_the_lead_outcome(leads: Any) -> None:
    made = run(leads, acme_lead(leads), answers={"budget": "1000"})
    deal_id = made["pipeline.opportunity"][1]
    with leads.runtime.sessions() as session:
        stages = {s.name: s.id for s in catalogue(session).default().stages}
    leads.save("opportunity", deal_id, {"stage_id": stages["Won"]})
    _deliver(leads, (deal_results.DEAL_WON,))
    _deliver(leads, (deal_results.DEAL_WON,))  # at least once: a second delivery changes nothing

    def row() -> LeadOutcome:
        with leads.runtime.sessions() as session:
            return session.scalars(select(LeadOutcome).where(LeadOutcome.kind == "opportunity")).one()

    won = row()
    assert won.deal_status == "won" and won.deal_amount_base_minor == 100_000 and won.deal_base_currency == "UAH"
    assert won.deal_closed_on is not None
    leads.save("opportunity", deal_id, {"status": "open"})
    with write_transaction(leads.runtime.sessions) as session:
        last = session.scalars(select(OutboxEvent).where(OutboxEvent.name == deal_results.STAGE_CHANGED)
                               .order_by(OutboxEvent.id.desc())).first()  # fmt: skip
        deal_results.on_event(session, Event(last.id, last.name, dict(last.payload), last.occurred_at))
    reopened = row()
    assert (reopened.deal_status, reopened.deal_amount_base_minor, reopened.deal_closed_on) == ("", None, None)
    leads.save("opportunity", deal_id, {"stage_id": stages["Lost"], "lost_reason": "price"})
    _deliver(leads, (deal_results.DEAL_LOST,))
    assert row().deal_status == "lost"


def test_the_rollups_hear_of_outcomes_and_deal_results(leads: Any, monkeypatch: Any) -> None:
    from voronka.plugins.leads import channel_rollups

    heard: list[tuple[Any, ...]] = []
    monkeypatch.setattr(channel_rollups, "outcome_added", lambda s, lead, row: heard.append(("added", row.kind)),
                        raising=False)  # fmt: skip
    monkeypatch.setattr(channel_rollups, "deal_result",
                        lambda s, row, old_status, old_amount: heard.append(("deal", row.deal_status, old_status)),
                        raising=False)  # fmt: skip
    made = run(leads, acme_lead(leads))
    assert sorted(h[1] for h in heard) == ["opportunity", "organisation", "person"]
    with leads.runtime.sessions() as session:
        stages = {s.name: s.id for s in catalogue(session).default().stages}
    leads.save("opportunity", made["pipeline.opportunity"][1], {"stage_id": stages["Won"]})
    _deliver(leads, (deal_results.DEAL_WON,))
    assert heard[-1] == ("deal", "won", "")


def test_nobody_qualifies_into_a_kind_they_may_not_create(leads: Any) -> None:
    """The operator works leads but may not create deals: the service refuses, whoever calls it (bulk too)."""
    lead_id = acme_lead(leads, owner_user_id=leads.uid("operator"))
    with pytest.raises(qualify.QualifyError, match="may not create"):
        run(leads, lead_id, actor="operator", outcomes=["leads.organisation", "leads.person", "pipeline.opportunity"])
    assert leads.get(Lead, lead_id).status == "new"
    made = run(leads, lead_id, actor="operator", outcomes=["leads.organisation", "leads.person"])
    assert set(made) == {"leads.organisation", "leads.person"}

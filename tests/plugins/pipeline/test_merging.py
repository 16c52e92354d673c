"""A merged customer's deals, quotes and stakeholder roles move to the kept party (audited); a purged party
leaves the company's deals without a customer rather than blocking the purge."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.models_records import AuditEntry
from voronka.core.recycle import merge, purge
from voronka.plugins.pipeline.models import Opportunity, Stakeholder


def _merge(pipeline: Any, kind: str, kept: int, merged: int) -> None:
    with write_transaction(pipeline.runtime.sessions) as session:
        merge(session, pipeline.kind(kind), kept, merged, actor=pipeline.uid("manager"))


def test_deals_and_roles_follow_the_kept_customer(pipeline: Any) -> None:
    kept, merged = pipeline.organisation("Acme"), pipeline.organisation("ACME Ltd")
    olena, petro = pipeline.person("Olena", "Shevchenko"), pipeline.person("Petro", "Bondar")
    won = pipeline.deal("Old deal", customer_id=merged)
    pipeline.move(won, "Won")
    open_deal = pipeline.deal("New deal", customer_id=merged)
    with write_transaction(pipeline.runtime.sessions) as session:
        session.add_all([Stakeholder(opportunity_id=open_deal, party_id=petro, role="influencer"),
                         Stakeholder(opportunity_id=open_deal, party_id=olena, role="influencer")])  # fmt: skip
    _merge(pipeline, "organisation", kept, merged)
    _merge(pipeline, "person", olena, petro)
    assert pipeline.get(Opportunity, won).customer_id == kept
    moved = pipeline.get(Opportunity, open_deal)
    assert (moved.customer_id, moved.version) == (kept, 2)
    with pipeline.runtime.sessions() as session:
        roles = list(session.execute(select(Stakeholder.party_id, Stakeholder.role)
                                     .where(Stakeholder.opportunity_id == open_deal)))  # fmt: skip
        audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "opportunity",
                                                         AuditEntry.record_id == open_deal,
                                                         AuditEntry.field == "customer_id")).one()  # fmt: skip
    assert roles == [(olena, "influencer")]
    assert (audit.old, audit.new, audit.actor_id) == (merged, kept, pipeline.uid("manager"))


def test_a_purged_customer_leaves_its_deals_without_one(pipeline: Any) -> None:
    gone = pipeline.organisation("Gone Ltd")
    deal_id = pipeline.deal("Kept history", customer_id=gone)
    with write_transaction(pipeline.runtime.sessions) as session:
        purge(session, pipeline.kind("organisation"), [gone], actor=None, source="bulk")
    deal = pipeline.get(Opportunity, deal_id)
    assert deal is not None and deal.customer_id is None

"""A merged customer's deals, quotes and stakeholder roles move to the kept party (audited); a purged party
leaves the company's deals without a customer rather than blocking the purge."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.models_records import AuditEntry
from voronka.core.recycle import delete, merge, purge
from voronka.plugins.pipeline import products, quotes
from voronka.plugins.pipeline.models import Opportunity, Order, OrderLine, QuoteLine, Stakeholder


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


def test_a_merge_touches_only_the_merged_customers_rows(pipeline: Any) -> None:
    """Live deals move once through the write path (one audit entry, version + 1); a deal of the merged
    customer in the recycle bin follows by id (version + 1, so a stale form on it is refused); another
    customer's deal and one already with the kept customer are not touched."""
    kept, merged, other = (pipeline.organisation(n) for n in ("Acme", "ACME Ltd", "Zorya"))
    live = pipeline.deal("Live", customer_id=merged)
    binned = pipeline.deal("Binned", customer_id=merged)
    theirs, ours = pipeline.deal("Theirs", customer_id=other), pipeline.deal("Ours", customer_id=kept)
    with write_transaction(pipeline.runtime.sessions) as session:
        delete(session, pipeline.kind("opportunity"), binned, actor=pipeline.uid("manager"))
    versions = {d: pipeline.get(Opportunity, d).version for d in (binned, theirs, ours)}
    _merge(pipeline, "organisation", kept, merged)
    found = {d: pipeline.get(Opportunity, d) for d in (live, binned, theirs, ours)}
    assert (found[live].customer_id, found[live].version) == (kept, 2)
    assert (found[binned].customer_id, found[binned].version) == (kept, versions[binned] + 1)
    assert (found[theirs].customer_id, found[theirs].version) == (other, versions[theirs])
    assert (found[ours].customer_id, found[ours].version) == (kept, versions[ours])
    with pipeline.runtime.sessions() as session:
        moved = select(AuditEntry.record_id).where(AuditEntry.kind == "opportunity", AuditEntry.field == "customer_id")
        moves = session.scalars(moved).all()
    assert moves == [live]


def test_purging_a_product_or_a_quote_leaves_lines_and_orders_without_it(pipeline: Any) -> None:
    customer = pipeline.organisation("Zorya")
    with write_transaction(pipeline.runtime.sessions) as session:
        product = products.save_product(session, pipeline.kind("product"), None,
                                        {"name": "Laptop", "code": "L1", "tax_rate_bp": 2000, "active": True},
                                        {"EUR": 50_000}, actor=pipeline.uid("manager")).id  # fmt: skip
    line = quotes.LineInput(product, "Laptop", 1000, 50_000, 0, 2000)
    kind = pipeline.kind("quote")
    with write_transaction(pipeline.runtime.sessions) as session:
        quote = quotes.create_quote(session, kind, actor=pipeline.uid("sales"), customer_id=customer,
                                    currency="EUR", owner={"owner_user_id": pipeline.uid("sales")},
                                    lines=[line]).id  # fmt: skip
        other = quotes.create_quote(session, kind, actor=pipeline.uid("sales"), customer_id=customer,
                                    currency="EUR", owner={"owner_user_id": pipeline.uid("sales")},
                                    lines=[line]).id  # fmt: skip
    with write_transaction(pipeline.runtime.sessions) as session:
        quotes.send(session, kind, quote, actor=pipeline.uid("sales"))
    with write_transaction(pipeline.runtime.sessions) as session:
        order = quotes.accept(session, pipeline.runtime.record_kinds, quote, actor=pipeline.uid("sales")).id
    with write_transaction(pipeline.runtime.sessions) as session:
        purge(session, pipeline.kind("product"), [product], actor=None, source="bulk")
        purge(session, kind, [quote], actor=None, source="bulk")
    with pipeline.runtime.sessions() as session:
        lines = session.execute(select(QuoteLine.quote_id, QuoteLine.product_id, QuoteLine.description)).all()
        order_lines = session.execute(select(OrderLine.product_id, OrderLine.description)).all()
    assert lines == [(other, None, "Laptop")] and order_lines == [(None, "Laptop")]
    found = pipeline.get(Order, order)
    assert (found.quote_id, found.customer_id, found.total_minor) == (None, customer, 60_000)

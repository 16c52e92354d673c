"""Keeping pipeline's rows consistent when customers merge or records go for good (called on every
installed plugin, enabled or not, so no deal is left pointing at a merged or purged party).

A merged customer's deals, quotes and orders move to the kept party through core's write path (audited,
versions raised, so an open form on them gets a 409 rather than writing the old customer back); its
stakeholder roles move too, a role the kept party already has on the same deal is dropped.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.orm import Session, aliased

from voronka.core.recycle import KINDS_KEY
from voronka.core.writes import save_many

from .models import Opportunity, Order, Quote, Stakeholder

PARTY_KINDS = ("person", "organisation")
CUSTOMER_OF = {"opportunity": Opportunity, "quote": Quote, "order": Order}


def records_merged(session: Session, kind: str, kept: int, merged: int, actor_id: int | None) -> None:
    if kind not in PARTY_KINDS:
        return
    session.flush()
    kinds = session.info.get(KINDS_KEY)
    for name, model in CUSTOMER_OF.items():
        live = select(model.id).where(model.customer_id == merged, model.deleted_at.is_(None)).order_by(model.id)
        ids = list(session.scalars(live))
        if ids and kinds is not None and name in kinds:
            save_many(session, kinds[name], ids, {"customer_id": kept}, actor=actor_id, source="bulk")
        # rows in the recycle bin follow without an audit entry of their own: restoring one shows the kept party
        session.execute(update(model).where(model.customer_id == merged).values(customer_id=kept))
    _move_stakeholders(session, kept, merged)


def _move_stakeholders(session: Session, kept: int, merged: int) -> None:
    other = aliased(Stakeholder)
    repeated = exists(select(other.id).where(and_(other.opportunity_id == Stakeholder.opportunity_id,
                                                  other.party_id == kept, other.role == Stakeholder.role)))  # fmt: skip
    session.execute(delete(Stakeholder).where(Stakeholder.party_id == merged, repeated))
    session.execute(update(Stakeholder).where(Stakeholder.party_id == merged).values(party_id=kept))


def records_deleted(session: Session, kind: str, ids: list[int]) -> None:
    """A party purged for good leaves its deals, quotes and orders without a customer (they are the company's
    sales history and stay); a purged deal leaves its quotes and orders without a deal."""
    if not ids:
        return
    if kind in PARTY_KINDS:
        for model in CUSTOMER_OF.values():
            session.execute(update(model).where(model.customer_id.in_(list(ids))).values(customer_id=None))
    elif kind == "opportunity":
        for model in (Quote, Order):
            session.execute(update(model).where(model.opportunity_id.in_(list(ids))).values(opportunity_id=None))

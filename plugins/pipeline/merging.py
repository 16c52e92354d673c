"""Keeping pipeline's rows consistent when customers merge or records go for good (called on every
installed plugin, enabled or not, so no deal is left pointing at a merged or purged party).

A merged customer's live deals, quotes and orders move to the kept party through core's write path
(audited, versions raised, so an open form on them gets a 409 rather than writing the old customer back);
its stakeholder roles move too, a role the kept party already has on the same deal is dropped. Rows in the
recycle bin (and live rows of a kind whose write path is not there: the plugin installed but disabled) are
repointed by id, their versions raised. Every UPDATE here names the rows it changes by id, found by the
merged or purged record: nothing else is touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.orm import Session, aliased

from voronka.core.recycle import KINDS_KEY
from voronka.core.writes import save_many

from .models import Opportunity, Order, OrderLine, Quote, QuoteLine, Stakeholder

PARTY_KINDS = ("person", "organisation")
CUSTOMER_OF = {"opportunity": Opportunity, "quote": Quote, "order": Order}
CHUNK = 1000
REFERENCES: dict[str, tuple[tuple[Any, str], ...]] = {
    "opportunity": ((Quote, "opportunity_id"), (Order, "opportunity_id")),
    "quote": ((Order, "quote_id"),),
    "product": ((QuoteLine, "product_id"), (OrderLine, "product_id")),
}
"""What refers to a record of a pipeline kind and is left without it when that record is purged: a purged
deal's quotes and orders stay (the company's sales history), so do the order of a purged quote and the lines
of a purged product (they keep its name and price as quoted)."""


def records_merged(session: Session, kind: str, kept: int, merged: int, actor_id: int | None) -> None:
    if kind not in PARTY_KINDS:
        return
    session.flush()
    kinds = session.info.get(KINDS_KEY)
    for name, model in CUSTOMER_OF.items():
        writable = kinds is not None and name in kinds
        rows = session.execute(
            select(model.id, model.deleted_at.is_(None)).where(model.customer_id == merged).order_by(model.id)
        ).all()
        live = [row_id for row_id, alive in rows if alive and writable]
        if live:
            save_many(session, kinds[name], live, {"customer_id": kept}, actor=actor_id, source="bulk")
        # rows in the bin follow without an audit entry of their own: restoring one shows the kept party
        _repoint(session, model, "customer_id", [row_id for row_id, alive in rows if not alive or not writable], kept)
    _move_stakeholders(session, kept, merged)


def _repoint(session: Session, model: Any, column: str, ids: list[int], value: int | None) -> None:
    """Set ``column`` of the rows ``ids`` (and only those) to ``value``; a versioned row's version rises."""
    extra = {"version": model.version + 1} if hasattr(model, "version") else {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        session.execute(update(model).where(model.id.in_(chunk)).values({column: value, **extra}),
                        execution_options={"synchronize_session": "fetch"})  # fmt: skip


def _move_stakeholders(session: Session, kept: int, merged: int) -> None:
    other = aliased(Stakeholder)
    repeated = exists(select(other.id).where(and_(other.opportunity_id == Stakeholder.opportunity_id,
                                                  other.party_id == kept, other.role == Stakeholder.role)))  # fmt: skip
    session.execute(delete(Stakeholder).where(Stakeholder.party_id == merged, repeated))
    session.execute(update(Stakeholder).where(Stakeholder.party_id == merged).values(party_id=kept))


def records_deleted(session: Session, kind: str, ids: list[int]) -> None:
    """A party purged for good leaves its deals, quotes and orders without a customer (they are the company's
    sales history and stay); see :data:`REFERENCES` for pipeline's own kinds."""
    if not ids:
        return
    if kind in PARTY_KINDS:
        references: Iterable[tuple[Any, str]] = ((model, "customer_id") for model in CUSTOMER_OF.values())
    else:
        references = REFERENCES.get(kind, ())
    wanted = sorted({int(i) for i in ids})
    for model, column in references:
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            found = list(session.scalars(select(model.id).where(getattr(model, column).in_(chunk))))
            _repoint(session, model, column, found, None)

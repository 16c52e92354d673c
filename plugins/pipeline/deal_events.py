"""Pipeline's events: ``pipeline.stage_changed``, ``pipeline.deal_won`` and ``pipeline.deal_lost``.

The rules queue them while a deal is being saved (a new deal has no id yet); they go to the outbox right
after the flush that gives it one, in the same transaction, so they commit or vanish with the deal.

Payloads are plain data (documented in docs and in :data:`PAYLOAD_KEYS`)::

    {"opportunity_id": 12, "name": "…", "customer_id": 7 | None, "owner_user_id": 3 | None,
     "owner_team_id": None, "pipeline_id": 1, "stage_id": 6, "stage": "Won", "from_stage_id": 5 | None,
     "status": "won", "from_status": "open", "probability": 100,
     "amount": {"minor": 1250000, "currency": "EUR"},
     "amount_base": {"minor": 55012345, "currency": "UAH"} | None,   # None: no exchange rate stored
     "expected_close": "2026-12-01" | None, "closed_on": "2026-11-28" | None,
     "lost_reason": "", "competitor": "", "actor_id": 3 | None, "at": "2026-11-28T10:15:00+00:00"}

``amount_base`` converts a closed deal at the rate of its close date and an open one at the latest rate.
``pipeline.deal_won`` / ``pipeline.deal_lost`` follow the ``stage_changed`` of the move that closed the deal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from voronka.core.currency import RateMissing, to_base, to_base_latest
from voronka.core.events import emit
from voronka.core.types import Money, utcnow

from .models import LOST, OPEN, WON, Opportunity
from .stages import catalogue

STAGE_CHANGED, DEAL_WON, DEAL_LOST = "pipeline.stage_changed", "pipeline.deal_won", "pipeline.deal_lost"
EVENTS = (STAGE_CHANGED, DEAL_WON, DEAL_LOST)
PAYLOAD_KEYS = ("opportunity_id", "name", "customer_id", "owner_user_id", "owner_team_id", "pipeline_id", "stage_id",
                "stage", "from_stage_id", "status", "from_status", "probability", "amount", "amount_base",
                "expected_close", "closed_on", "lost_reason", "competitor", "actor_id", "at")  # fmt: skip
_PENDING = "pipeline.pending_events"


def stage_changed(
    session: Session, deal: Opportunity, from_stage_id: int | None, from_status: str, actor_id: int | None
) -> None:
    """Queue the events of a deal that entered a stage (created, moved, won, lost or reopened)."""
    pending: dict[int, tuple[Opportunity, int | None, str, int | None]] = session.info.setdefault(_PENDING, {})
    earlier = pending.get(id(deal))
    if earlier is not None:  # moved twice before the flush: one move from where it was
        from_stage_id, from_status = earlier[1], earlier[2]
    pending[id(deal)] = (deal, from_stage_id, from_status, actor_id)


def payload(session: Session, deal: Opportunity, from_stage_id: int | None, from_status: str,
            actor_id: int | None) -> dict[str, Any]:  # fmt: skip
    stage = catalogue(session).stage(deal.stage_id)
    money = Money(deal.amount_minor or 0, deal.amount_currency)
    try:
        base = to_base(session, money, on=deal.closed_on) if deal.closed_on else to_base_latest(session, money)
        amount_base: dict[str, Any] | None = {"minor": base.minor, "currency": base.currency}
    except RateMissing:
        amount_base = None
    return {
        "opportunity_id": deal.id, "name": deal.name, "customer_id": deal.customer_id,
        "owner_user_id": deal.owner_user_id, "owner_team_id": deal.owner_team_id, "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id, "stage": stage.name if stage else "", "from_stage_id": from_stage_id,
        "status": deal.status, "from_status": from_status, "probability": deal.probability,
        "amount": {"minor": money.minor, "currency": money.currency}, "amount_base": amount_base,
        "expected_close": deal.expected_close.isoformat() if deal.expected_close else None,
        "closed_on": deal.closed_on.isoformat() if deal.closed_on else None,
        "lost_reason": deal.lost_reason or "", "competitor": deal.competitor or "", "actor_id": actor_id,
        "at": utcnow().isoformat(),
    }  # fmt: skip


@event.listens_for(Session, "after_flush_postexec")
def _write_pending(session: Session, _context: Any) -> None:
    pending: dict[int, Any] | None = session.info.get(_PENDING)
    if not pending:
        return
    for key, (deal, from_stage_id, from_status, actor_id) in list(pending.items()):
        state = inspect(deal)
        if state.pending:
            continue  # not flushed yet: the next flush writes it
        del pending[key]
        if not state.persistent:
            continue  # rolled back with its savepoint: a redo queues it again
        data = payload(session, deal, from_stage_id, from_status, actor_id)
        emit(session, STAGE_CHANGED, data)
        if deal.status == WON and from_status != WON:
            emit(session, DEAL_WON, data)
        elif deal.status == LOST and from_status != LOST:
            emit(session, DEAL_LOST, data)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


__all__ = ["DEAL_LOST", "DEAL_WON", "EVENTS", "OPEN", "PAYLOAD_KEYS", "STAGE_CHANGED", "payload", "stage_changed"]

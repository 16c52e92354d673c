"""What became of the deals that leads turned into, learnt from pipeline's events (never by importing it).

``pipeline.deal_won``/``pipeline.deal_lost`` (payload documented in pipeline's ``deal_events``) set the
deal's status, amount in the base currency and close date on its :class:`~.models.LeadOutcome` rows;
``pipeline.stage_changed`` back to open (a reopened deal) clears them. The channel report's aggregates move
in the same transaction (``channel_rollups.deal_result``). Delivery is at least once: applying the same
event twice leaves the same row, and the aggregates are told only about real changes.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import channel_rollups
from .models import LeadOutcome

log = logging.getLogger(__name__)

STAGE_CHANGED, DEAL_WON, DEAL_LOST = "pipeline.stage_changed", "pipeline.deal_won", "pipeline.deal_lost"
OPPORTUNITY = "opportunity"
WON, LOST, OPEN = "won", "lost", "open"


def _day(text: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def _result(name: str, payload: dict[str, Any]) -> tuple[str, int | None, str, dt.date | None] | None:
    """(status, base amount, base currency, closed on) the event leaves the deal with; None: no change."""
    status = payload.get("status")
    if name == DEAL_WON or (name == DEAL_LOST and status != OPEN):
        status = WON if name == DEAL_WON else LOST
        base = payload.get("amount_base") or {}
        minor = base.get("minor") if isinstance(base, dict) else None
        currency = base.get("currency") if isinstance(base, dict) else ""
        return (status, int(minor) if isinstance(minor, int) else None, str(currency or "")[:3],
                _day(payload.get("closed_on")))  # fmt: skip
    if name == STAGE_CHANGED and status == OPEN and payload.get("from_status") in (WON, LOST):
        return ("", None, "", None)
    return None


def on_event(session: Session, event: Any) -> None:
    """Called for every ``pipeline.*`` event delivered from the outbox."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    result = _result(event.name, payload)
    deal_id = payload.get("opportunity_id")
    if result is None or not isinstance(deal_id, int):
        return
    status, minor, currency, closed_on = result
    rows = session.scalars(
        select(LeadOutcome).where(LeadOutcome.kind == OPPORTUNITY, LeadOutcome.record_id == deal_id)
    ).all()
    for row in rows:
        old_status, old_amount = row.deal_status, row.deal_amount_base_minor
        if (old_status, old_amount, row.deal_base_currency, row.deal_closed_on) == (status, minor, currency,
                                                                                   closed_on):  # fmt: skip
            continue  # delivered again: nothing moved
        row.deal_status = status
        row.deal_amount_base_minor = minor
        row.deal_base_currency = currency
        row.deal_closed_on = closed_on
        session.flush()
        if hasattr(channel_rollups, "deal_result"):
            channel_rollups.deal_result(session, row, old_status, old_amount)

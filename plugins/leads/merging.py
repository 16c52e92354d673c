"""Keeping leads' references whole when other records are merged or purged (called on every installed
plugin, enabled or not): what a lead became points at the kept record; a purged record's outcome rows go,
and the channel report takes back what they counted."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, aliased

from voronka.core.db import runtime_of
from voronka.core.errors import VoronkaError
from voronka.core.writes import save_many

from . import channel_rollups
from .models import Lead, LeadOutcome


def records_merged(session: Session, kind: str, kept: int, merged: int, actor_id: int | None) -> None:
    if kind == "campaign":
        _repoint_campaign(session, [merged], kept, actor_id)
        return
    if kind == "lead":  # what the merged lead became now belongs to the kept one (the report follows)
        _move_outcomes(session, merged, kept)
        return
    both = select(LeadOutcome.lead_id).where(LeadOutcome.kind == kind, LeadOutcome.record_id == kept)
    # a lead that became both records keeps one outcome row: the kept record's
    doubled = list(
        session.scalars(
            select(LeadOutcome.id).where(
                LeadOutcome.kind == kind, LeadOutcome.record_id == merged, LeadOutcome.lead_id.in_(both)
            )
        )
    )
    if doubled:
        channel_rollups.outcomes_removed(session, doubled)
        session.execute(delete(LeadOutcome).where(LeadOutcome.id.in_(doubled)))
    session.execute(
        update(LeadOutcome).where(LeadOutcome.kind == kind, LeadOutcome.record_id == merged).values(record_id=kept)
    )


def _repoint_campaign(session: Session, campaign_ids: list[int], to: int | None, actor_id: int | None) -> None:
    """Leads of merged or purged campaigns move to ``to`` through the write path (audit, rules, and the
    channel report's sums, which are kept per campaign)."""
    rows = session.execute(select(Lead.id, Lead.deleted_at).where(Lead.campaign_id.in_(campaign_ids))).all()
    live = [lead_id for lead_id, deleted_at in rows if deleted_at is None]
    if live:
        runtime = runtime_of(session)
        if runtime is None:
            raise VoronkaError("leads: a campaign's leads can be moved only by a session of the app")
        save_many(session, runtime.record_kinds["lead"], live, {"campaign_id": to}, actor=actor_id)
    binned = [lead_id for lead_id, deleted_at in rows if deleted_at is not None]
    if binned:  # in the recycle bin: counted nowhere, so the report has nothing to move
        session.execute(update(Lead).where(Lead.id.in_(binned)).values(campaign_id=to))


def _move_outcomes(session: Session, merged: int, kept: int) -> None:
    theirs = aliased(LeadOutcome)
    already = (
        select(theirs.id)
        .where(theirs.lead_id == kept, theirs.kind == LeadOutcome.kind, theirs.record_id == LeadOutcome.record_id)
        .exists()
    )
    doubled = list(session.scalars(select(LeadOutcome.id).where(LeadOutcome.lead_id == merged, already)))
    if doubled:  # both leads became the same record: the kept lead's row stays
        channel_rollups.outcomes_removed(session, doubled)
        session.execute(delete(LeadOutcome).where(LeadOutcome.id.in_(doubled)))
    moved = list(session.scalars(select(LeadOutcome.id).where(LeadOutcome.lead_id == merged)))
    if moved:
        channel_rollups.outcomes_moved(session, moved, kept)
        session.execute(update(LeadOutcome).where(LeadOutcome.id.in_(moved)).values(lead_id=kept))


def records_deleted(session: Session, kind: str, ids: list[int]) -> None:
    if not ids:
        return
    if kind == "campaign":  # its leads stay, without a campaign
        _repoint_campaign(session, ids, None, None)
        return
    if kind == "lead":
        channel_rollups.leads_purged(session, ids)
        session.execute(delete(LeadOutcome).where(LeadOutcome.lead_id.in_(ids)))
        return
    outcome_ids = list(
        session.scalars(select(LeadOutcome.id).where(LeadOutcome.kind == kind, LeadOutcome.record_id.in_(ids)))
    )
    if outcome_ids:
        channel_rollups.outcomes_removed(session, outcome_ids)
        session.execute(delete(LeadOutcome).where(LeadOutcome.id.in_(outcome_ids)))

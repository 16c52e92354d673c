"""The "notes.created" metric: notes written per owner and period, drafts (no text yet) in progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from voronka.core.metrics import Metric, MetricRecord
from voronka.core.security.visibility import visible

from .models import Note


def _period(start: dt.datetime, end: dt.datetime) -> Any:
    """Live notes created in [start, end): one in the recycle bin no longer counts."""
    return (Note.created_at >= start) & (Note.created_at < end) & Note.deleted_at.is_(None)


def created_values(
    session: Session, viewer: Any, owner_ids: Sequence[int], start: dt.datetime, end: dt.datetime
) -> dict[int, tuple[float, float]]:
    """One grouped query: per owner, notes with text (actual) and drafts without text (in progress)."""
    if not owner_ids:
        return {}
    is_draft = case((Note.body == "", 1), else_=0)
    rows = session.execute(
        select(Note.owner_user_id, func.count() - func.sum(is_draft), func.sum(is_draft))
        .where(Note.owner_user_id.in_(list(owner_ids)), _period(start, end), visible(Note, viewer))
        .group_by(Note.owner_user_id)
    )
    return {owner: (int(actual or 0), int(drafts or 0)) for owner, actual, drafts in rows}


def created_records(
    session: Session, viewer: Any, owner_id: int, start: dt.datetime, end: dt.datetime, which: str, limit: int
) -> list[MetricRecord]:
    """The notes behind a figure, newest first: ``which`` is "actual" (with text) or "in_progress"."""
    drafts = which == "in_progress"
    rows = session.execute(
        select(Note.id, Note.title, Note.created_at)
        .where(
            Note.owner_user_id == owner_id,
            _period(start, end),
            (Note.body == "") if drafts else (Note.body != ""),
            visible(Note, viewer),
        )
        .order_by(Note.created_at.desc(), Note.id.desc())
        .limit(limit)
    )
    return [MetricRecord(title=r.title, url=f"/notes/{r.id}", value=1, at=r.created_at) for r in rows]


NOTES_CREATED = Metric(
    key="notes.created",
    label="Notes written",
    unit="count",
    in_progress="Notes created in the period that have no text yet (drafts)",
    values=created_values,
    records=created_records,
)

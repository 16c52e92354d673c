"""Leads' metrics on the host contract, per owner (the lead's owner user) and period, under the viewer's
visibility; leads in the recycle bin count nowhere.

- ``leads.created``: leads created in the period; in progress, those of them still open (new or contacted).
- ``leads.qualified``: leads qualified in the period (by when they were closed as qualified); in progress,
  open leads created in the period, which may still be.

Both read the leads table with one grouped query (``ix_leads_lead_owner_status`` covers owner, status and
creation); ``start`` and ``end`` are instants, compared with the stored ones as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from voronka.core.i18n import N_
from voronka.core.metrics import Metric, MetricRecord
from voronka.core.security.visibility import visible

from .kinds import lead_display, lead_url
from .models import OPEN_STATUSES, QUALIFIED, Lead


def _created(start: dt.datetime, end: dt.datetime) -> list[ColumnElement[bool]]:
    return [Lead.created_at >= start, Lead.created_at < end]


def _qualified(start: dt.datetime, end: dt.datetime) -> list[ColumnElement[bool]]:
    return [Lead.status == QUALIFIED, Lead.closed_at >= start, Lead.closed_at < end]


def _open_created(start: dt.datetime, end: dt.datetime) -> list[ColumnElement[bool]]:
    return [Lead.status.in_(OPEN_STATUSES), *_created(start, end)]


Where = Any


def _count(session: Session, viewer: Any, owners: list[int], where: list[ColumnElement[bool]]) -> dict[int, int]:
    query = (select(Lead.owner_user_id, func.count()).where(Lead.owner_user_id.in_(owners), Lead.deleted_at.is_(None),
                                                            visible(Lead, viewer), *where)
             .group_by(Lead.owner_user_id))  # fmt: skip
    return {owner: int(n) for owner, n in session.execute(query)}


def _metric(key: str, label: str, in_progress: str, actual: Where, progress: Where, day: Any) -> Metric:
    def values(session: Session, viewer: Any, owner_ids: Sequence[int], start: dt.datetime,
               end: dt.datetime) -> dict[int, tuple[float, float]]:  # fmt: skip
        owners = list(owner_ids)
        if not owners:
            return {}
        done = _count(session, viewer, owners, actual(start, end))
        going = _count(session, viewer, owners, progress(start, end))
        return {o: (float(done.get(o, 0)), float(going.get(o, 0))) for o in owners if o in done or o in going}

    def records(session: Session, viewer: Any, owner_id: int, start: dt.datetime, end: dt.datetime, which: str,
                limit: int) -> list[MetricRecord]:  # fmt: skip
        where = progress(start, end) if which == "in_progress" else actual(start, end)
        column = Lead.created_at if which == "in_progress" else day
        query = (select(Lead).where(Lead.owner_user_id == owner_id, Lead.deleted_at.is_(None), visible(Lead, viewer),
                                    *where)
                 .order_by(column.desc(), Lead.id.desc()).limit(limit))  # fmt: skip
        return [MetricRecord(title=lead_display(lead), url=lead_url(lead.id), value=1.0, at=getattr(lead, day.key))
                for lead in session.scalars(query)]  # fmt: skip

    return Metric(key=key, label=label, unit="count", in_progress=in_progress, values=values, records=records)


CREATED = _metric("leads.created", N_("Leads created"), N_("Of the leads created in the period, those still open"),
                  _created, _open_created, Lead.created_at)  # fmt: skip
QUALIFIED_LEADS = _metric("leads.qualified", N_("Leads qualified"),
                          N_("Open leads created in the period, which may still be qualified"),
                          _qualified, _open_created, Lead.closed_at)  # fmt: skip

METRICS: list[Metric] = [CREATED, QUALIFIED_LEADS]

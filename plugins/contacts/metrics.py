"""Contacts' metrics: new customers and activities completed, per owner and period (the host's contract).

``contacts.new_customers``: people and organisations created in the period; in progress, those among them
nobody has logged an activity with yet (new, not yet worked). ``contacts.activities_completed``: tasks done
in the period plus calls and meetings held in it (started by now); in progress, open tasks due in the
period and meetings of the period still ahead. Each ``values`` is one grouped query under the viewer's
visibility; ``records`` lists the rows behind a figure, newest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, not_, or_, select, type_coerce
from sqlalchemy.orm import Session

from voronka.core.i18n import N_
from voronka.core.metrics import Metric, MetricRecord
from voronka.core.security.visibility import visible
from voronka.core.types import UTCDateTime, utcnow

from .models import Activity, Party

HELD_TYPES = ("call", "meeting")


# -- new customers ----------------------------------------------------------------------------------------


def _new_party(start: dt.datetime, end: dt.datetime, viewer: Any) -> ColumnElement[bool]:
    return and_(Party.created_at >= start, Party.created_at < end, Party.deleted_at.is_(None), visible(Party, viewer))


def _untouched() -> ColumnElement[bool]:
    """No live activity is attached to the party yet (the activity timeline index answers it)."""
    return not_(
        exists(
            select(Activity.id).where(
                Activity.ref_kind == Party.kind, Activity.ref_id == Party.id, Activity.deleted_at.is_(None)
            )
        )
    )


def new_customer_values(
    session: Session, viewer: Any, owner_ids: Sequence[int], start: dt.datetime, end: dt.datetime
) -> dict[int, tuple[float, float]]:
    if not owner_ids:
        return {}
    untouched = func.sum(case((_untouched(), 1), else_=0))
    rows = session.execute(
        select(Party.owner_user_id, func.count(), untouched)
        .where(Party.owner_user_id.in_(list(owner_ids)), _new_party(start, end, viewer))
        .group_by(Party.owner_user_id)
    )
    return {owner: (int(actual), int(fresh or 0)) for owner, actual, fresh in rows}


def new_customer_records(
    session: Session, viewer: Any, owner_id: int, start: dt.datetime, end: dt.datetime, which: str, limit: int
) -> list[MetricRecord]:
    query = select(Party.id, Party.name, Party.created_at).where(
        Party.owner_user_id == owner_id, _new_party(start, end, viewer)
    )
    if which == "in_progress":
        query = query.where(_untouched())
    rows = session.execute(query.order_by(Party.created_at.desc(), Party.id.desc()).limit(limit))
    return [MetricRecord(title=r.name, url=f"/contacts/{r.id}", value=1, at=r.created_at) for r in rows]


# -- activities completed ---------------------------------------------------------------------------------


def _in(column: Any, start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _completed(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> ColumnElement[bool]:
    done_task = and_(Activity.type == "task", Activity.done.is_(True), _in(Activity.done_at, start, end))
    held = and_(Activity.type.in_(HELD_TYPES), _in(Activity.occurred_at, start, end), Activity.occurred_at <= now)
    return or_(done_task, held)


def _pending(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> ColumnElement[bool]:
    open_task = and_(Activity.type == "task", Activity.done.is_(False), _in(Activity.due_at, start, end))
    ahead = and_(Activity.type == "meeting", _in(Activity.occurred_at, start, end), Activity.occurred_at > now)
    return or_(open_task, ahead)


def completed_values(
    session: Session, viewer: Any, owner_ids: Sequence[int], start: dt.datetime, end: dt.datetime
) -> dict[int, tuple[float, float]]:
    if not owner_ids:
        return {}
    now = utcnow()
    done, pending = _completed(start, end, now), _pending(start, end, now)
    rows = session.execute(
        select(Activity.owner_user_id, func.sum(case((done, 1), else_=0)), func.sum(case((pending, 1), else_=0)))
        .where(
            Activity.owner_user_id.in_(list(owner_ids)),
            Activity.deleted_at.is_(None),
            visible(Activity, viewer),
            or_(done, pending),
        )
        .group_by(Activity.owner_user_id)
    )
    return {owner: (int(actual or 0), int(later or 0)) for owner, actual, later in rows}


def completed_records(
    session: Session, viewer: Any, owner_id: int, start: dt.datetime, end: dt.datetime, which: str, limit: int
) -> list[MetricRecord]:
    now = utcnow()
    wanted = _pending(start, end, now) if which == "in_progress" else _completed(start, end, now)
    when = (
        type_coerce(func.coalesce(Activity.done_at, Activity.occurred_at), UTCDateTime())
        if which != "in_progress"
        else Activity.occurred_at
    )
    rows = session.execute(
        select(Activity.id, Activity.subject, when.label("at"))
        .where(Activity.owner_user_id == owner_id, Activity.deleted_at.is_(None), visible(Activity, viewer), wanted)
        .order_by(when.desc(), Activity.id.desc())
        .limit(limit)
    )
    return [MetricRecord(title=r.subject, url=f"/contacts/activities/{r.id}", value=1, at=r.at) for r in rows]


NEW_CUSTOMERS = Metric(
    key="contacts.new_customers",
    label=N_("New customers"),
    unit="count",
    in_progress=N_("Customers created in the period that nobody has logged an activity with yet"),
    values=new_customer_values,
    records=new_customer_records,
)

ACTIVITIES_COMPLETED = Metric(
    key="contacts.activities_completed",
    label=N_("Activities completed"),
    unit="count",
    in_progress=N_("Open tasks due in the period and meetings of the period still ahead"),
    values=completed_values,
    records=completed_records,
)

METRICS: list[Metric] = [NEW_CUSTOMERS, ACTIVITIES_COMPLETED]

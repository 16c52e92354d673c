"""The channel report's sums (``leads_channel_day``), kept current in the transaction of every change that
moves them, so the report reads a few thousand rows instead of a million leads.

What one lead adds is a pure function of the lead and of its opportunity outcome rows (:func:`lead_part`,
:func:`outcome_part`), keyed by its cohort: the company-local day it was created, its channel and its
campaign (0 for none). A change subtracts what the lead added before and adds what it adds now, so a
status change, a reopening, a channel or campaign change (the lead's counts and its deals' results move to
the other row), a deletion or a restore are all handled the same way, and :func:`counted` can recount the
sums from scratch to check them (:func:`recount` rebuilds the table from it).

Leads in the recycle bin count nowhere, like everywhere else: deleting one takes back what it added (its
deals' results too), restoring it adds them again, purging a live one takes them back before its rows go.

When it runs:

- ``rules.before_save`` calls :func:`lead_saved` on every save of a lead (create, edit, close, reopen);
- the recycle bin (delete, restore, merge) sets ``deleted_at`` on the ORM object: a ``before_flush``
  listener sees it;
- the qualify service calls :func:`outcome_added` for each outcome row it writes, and ``deal_results``
  calls :func:`deal_result` when a deal a lead became is won, lost or reopened;
- ``merging`` calls :func:`outcomes_removed` / :func:`leads_purged` before deleting rows (and should call
  :func:`outcomes_moved` before moving a merged lead's outcome rows to the kept lead);
- bulk inserts (seed, bench) bypass all of this: call :func:`recount` after them (or ``voronka`` job).

Upserts are ``INSERT … ON CONFLICT DO UPDATE`` (PostgreSQL, SQLite ≥ 3.24) with keys in a fixed order, so
concurrent writers add to the same row without losing counts or deadlocking; rows that fall to zero go.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, bindparam, case, cast, delete, event, func, insert, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NEVER_SET, NO_VALUE

from voronka.core.company import company_settings
from voronka.core.models_trash import RecycleBinEntry
from voronka.core.types import utcnow

from .models import DISQUALIFIED, QUALIFIED, ChannelDay, Lead, LeadOutcome

OPPORTUNITY = "opportunity"
"""The record kind of pipeline's deals: only these outcome rows count as opportunities."""
WON, LOST = "won", "lost"
KEY = ("day", "channel", "campaign_id")
VALUES = ("leads", "qualified", "disqualified", "opportunities", "won", "lost", "won_base_minor", "won_days_sum")
Key = tuple[dt.date, str, int]
Sums = dict[Key, list[int]]
_UNSET: Any = object()

_APPLIED = "leads.rollups.applied"
"""``session.info``: lead object id → (lead, state the table counts for it), until the next flush."""
_PURGED = "leads.rollups.purged"
_CLOSED_BEFORE = "_leads_rollups_closed_before"
"""Instance-dict key: a :class:`LeadOutcome`'s close date before its result changed (see :func:`deal_result`)."""


# -- what one lead adds -------------------------------------------------------------------------------------


def cohort(created_at: dt.datetime, channel: str, campaign_id: int | None, zone: ZoneInfo) -> Key:
    """The row a lead counts in: the company-local day it arrived, its channel, its campaign (0: none)."""
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=dt.UTC)
    return created_at.astimezone(zone).date(), channel, campaign_id or 0


def lead_part(status: str) -> list[int]:
    return [1, int(status == QUALIFIED), int(status == DISQUALIFIED), 0, 0, 0, 0, 0]


def outcome_part(kind: str, deal_status: str | None, amount: int | None, closed_on: dt.date | None,
                 day: dt.date) -> list[int]:  # fmt: skip
    """An outcome row's share: an opportunity, won or lost; a won one adds its amount (base minor units)
    and the days from the lead's arrival to the close (never negative)."""
    if kind != OPPORTUNITY:
        return [0] * len(VALUES)
    won = deal_status == WON
    days = max(0, (closed_on - day).days) if won and closed_on is not None else 0
    return [0, 0, 0, 1, int(won), int(deal_status == LOST), int(amount or 0) if won else 0, days]


def _add(into: Sums, key: Key, values: list[int], sign: int = 1) -> None:
    found = into.setdefault(key, [0] * len(VALUES))
    for index, value in enumerate(values):
        found[index] += sign * value


# -- following writes ---------------------------------------------------------------------------------------

State = tuple[Key, str, bool]
"""(cohort, status, live): what the table counts for a lead."""


def _zone(session: Session) -> ZoneInfo:
    return company_settings(session).zone


def _old(lead: Lead, column: str) -> Any:
    history = inspect(lead).attrs[column].history
    return history.deleted[0] if history.deleted else getattr(lead, column)


def _state_now(lead: Lead, zone: ZoneInfo) -> State:
    return cohort(lead.created_at, lead.channel, lead.campaign_id, zone), lead.status, lead.deleted_at is None


def _state_before(session: Session, lead: Lead, zone: ZoneInfo, old_status: Any = _UNSET) -> State | None:
    """What the table counts for ``lead`` right now: what this transaction applied last, else the lead as
    it was loaded (None for a lead not in the database yet)."""
    applied = session.info.get(_APPLIED, {}).get(id(lead))
    if applied is not None:
        return applied[1]
    state = inspect(lead)
    if state.transient or state.pending:
        return None
    status = _old(lead, "status") if old_status is _UNSET or old_status is None else old_status
    key = cohort(_old(lead, "created_at"), _old(lead, "channel"), _old(lead, "campaign_id"), zone)
    return key, status, _old(lead, "deleted_at") is None


def _outcomes(session: Session, lead: Lead) -> list[tuple[str, str, int | None, dt.date | None]]:
    """The lead's outcome rows (kind, deal status, amount, close date), those not flushed yet included."""
    rows: list[Any] = []
    if lead.id is not None:
        o = LeadOutcome
        with session.no_autoflush:
            rows = list(session.execute(
                select(o.kind, o.deal_status, o.deal_amount_base_minor, o.deal_closed_on).where(o.lead_id == lead.id)
            ))  # fmt: skip
    rows += [(o.kind, o.deal_status, o.deal_amount_base_minor, o.deal_closed_on) for o in session.new
             if isinstance(o, LeadOutcome) and lead.id is not None and o.lead_id == lead.id]  # fmt: skip
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _follow(session: Session, lead: Lead, before: State | None, now: State) -> None:
    """Move the lead's counts from ``before`` to ``now`` (its outcomes' too when its row or liveness changed)."""
    session.info.setdefault(_APPLIED, {})[id(lead)] = (lead, now)
    if before == now:
        return
    delta: Sums = {}
    if before is not None and before[2]:
        _add(delta, before[0], lead_part(before[1]), -1)
    if now[2]:
        _add(delta, now[0], lead_part(now[1]))
    if before is not None and (before[0] != now[0] or before[2] != now[2]):
        for kind, status, amount, closed_on in _outcomes(session, lead):
            if before[2]:
                _add(delta, before[0], outcome_part(kind, status, amount, closed_on, before[0][0]), -1)
            if now[2]:
                _add(delta, now[0], outcome_part(kind, status, amount, closed_on, now[0][0]))
    apply(session, delta)


def lead_saved(session: Session, lead: Lead, old_status: str | None) -> None:
    """Called from the lead rules on every save (``old_status`` None for a new lead), before the flush."""
    if lead.created_at is None:
        lead.created_at = utcnow()  # the column default, taken now so the cohort day is known
    zone = _zone(session)
    _follow(session, lead, _state_before(session, lead, zone, old_status), _state_now(lead, zone))


def _counted_key(session: Session, lead: Lead) -> Key | None:
    """The row ``lead`` counts in now, None when it counts nowhere (in the bin)."""
    zone = _zone(session)
    state = _state_before(session, lead, zone) or _state_now(lead, zone)
    return state[0] if state[2] else None


def outcome_added(session: Session, lead: Lead, outcome_row: LeadOutcome) -> None:
    """Called by the qualify service for each outcome row it writes: an opportunity counts."""
    key = _counted_key(session, lead)
    if key is None or outcome_row.kind != OPPORTUNITY:
        return
    part = outcome_part(outcome_row.kind, outcome_row.deal_status, outcome_row.deal_amount_base_minor,
                        outcome_row.deal_closed_on, key[0])  # fmt: skip
    apply(session, {key: part})


def deal_result(session: Session, outcome_row: LeadOutcome, old_status: str | None, old_amount: int | None,
                old_closed_on: dt.date | None = _UNSET) -> None:  # fmt: skip
    """Called by ``deal_results`` after it changed an opportunity's result on ``outcome_row`` (won, lost or
    reopened; ``old_*`` are what the row held). The close date it held is ``old_closed_on`` when given,
    else the one kept when the row's ``deal_closed_on`` was set through the ORM, else taken as unchanged."""
    if outcome_row.kind != OPPORTUNITY:
        return
    stashed = outcome_row.__dict__.pop(_CLOSED_BEFORE, _UNSET)
    if old_closed_on is _UNSET:
        old_closed_on = outcome_row.deal_closed_on if stashed is _UNSET else stashed
    with session.no_autoflush:
        lead = session.get(Lead, outcome_row.lead_id)
    if lead is None:
        return
    key = _counted_key(session, lead)
    if key is None:
        return
    delta: Sums = {}
    _add(delta, key, outcome_part(OPPORTUNITY, old_status, old_amount, old_closed_on, key[0]), -1)
    _add(delta, key, outcome_part(OPPORTUNITY, outcome_row.deal_status, outcome_row.deal_amount_base_minor,
                                  outcome_row.deal_closed_on, key[0]))  # fmt: skip
    apply(session, delta)


@event.listens_for(LeadOutcome.deal_closed_on, "set", active_history=True)
def _closing_day_set(target: LeadOutcome, _value: Any, old: Any, _initiator: Any) -> None:
    """Keep the close date a stored row had before this transaction's first change to it, for
    :func:`deal_result` (the caller may flush the row before telling us, which clears its history)."""
    if inspect(target).persistent and _CLOSED_BEFORE not in target.__dict__:
        target.__dict__[_CLOSED_BEFORE] = None if old in (NO_VALUE, NEVER_SET) else old


def outcomes_removed(session: Session, outcome_ids: list[int]) -> None:
    """Called before :class:`~.models.LeadOutcome` rows are deleted (their record was purged for good), so
    the sums they counted in are taken back (rows of leads in the bin counted nowhere)."""
    if not outcome_ids:
        return
    zone = _zone(session)
    delta: Sums = {}
    o, lead = LeadOutcome, Lead
    for start in range(0, len(outcome_ids), 1000):
        query = (select(lead.created_at, lead.channel, lead.campaign_id, o.kind, o.deal_status,
                        o.deal_amount_base_minor, o.deal_closed_on)
                 .join(lead, lead.id == o.lead_id)
                 .where(o.id.in_(outcome_ids[start : start + 1000]), o.kind == OPPORTUNITY,
                        lead.deleted_at.is_(None)))  # fmt: skip
        for created_at, channel, campaign_id, kind, status, amount, closed_on in session.execute(query):
            key = cohort(created_at, channel, campaign_id, zone)
            _add(delta, key, outcome_part(kind, status, amount, closed_on, key[0]), -1)
    apply(session, delta)


def outcomes_moved(session: Session, outcome_ids: list[int], lead_id: int) -> None:
    """Call before moving :class:`~.models.LeadOutcome` rows to lead ``lead_id`` (a merge of leads keeps
    what both became): their deals' counts leave their old lead's row and join the new lead's."""
    if not outcome_ids:
        return
    with session.no_autoflush:
        lead = session.get(Lead, lead_id)
    key = _counted_key(session, lead) if lead is not None else None
    zone = _zone(session)
    delta: Sums = {}
    o = LeadOutcome
    for start in range(0, len(outcome_ids), 1000):
        query = (select(Lead.created_at, Lead.channel, Lead.campaign_id, Lead.deleted_at, o.kind, o.deal_status,
                        o.deal_amount_base_minor, o.deal_closed_on)
                 .join(Lead, Lead.id == o.lead_id)
                 .where(o.id.in_(outcome_ids[start : start + 1000]), o.kind == OPPORTUNITY,
                        o.lead_id != lead_id))  # fmt: skip
        for created_at, channel, campaign_id, deleted_at, kind, status, amount, closed_on in session.execute(query):
            if deleted_at is None:
                old = cohort(created_at, channel, campaign_id, zone)
                _add(delta, old, outcome_part(kind, status, amount, closed_on, old[0]), -1)
            if key is not None:
                _add(delta, key, outcome_part(kind, status, amount, closed_on, key[0]))
    apply(session, delta)


def leads_purged(session: Session, lead_ids: list[int]) -> None:
    """Called before leads are deleted for good: live ones (not in the recycle bin, where they were taken
    back already) leave the sums with their deals' results. A second call for the same ids does nothing."""
    if not lead_ids:
        return
    binned = set(session.scalars(select(RecycleBinEntry.record_id).where(
        RecycleBinEntry.kind == "lead", RecycleBinEntry.record_id.in_(lead_ids))))  # fmt: skip
    done: set[int] = session.info.setdefault(_PURGED, set())
    live = [i for i in lead_ids if i not in binned and i not in done]
    done.update(live)
    if not live:
        return
    delta: Sums = {}
    for start in range(0, len(live), 1000):
        chunk = live[start : start + 1000]
        for key, values in _sums(session, [Lead.id.in_(chunk)]).items():
            _add(delta, key, values, -1)
    apply(session, delta)


@event.listens_for(Session, "before_flush")
def _deleted_or_restored(session: Session, _context: Any, _instances: Any) -> None:
    """The recycle bin (delete, restore, merge) sets ``deleted_at`` on the ORM object: follow it."""
    for obj in list(session.dirty):
        if isinstance(obj, Lead) and inspect(obj).attrs.deleted_at.history.has_changes():
            zone = _zone(session)
            with session.no_autoflush:
                _follow(session, obj, _state_before(session, obj, zone), _state_now(obj, zone))


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    """Once flushed, the leads hold in the database what the sums count: their history starts afresh."""
    session.info.pop(_APPLIED, None)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, _previous: Any) -> None:
    session.info.pop(_APPLIED, None)
    if not session.in_transaction():
        session.info.pop(_PURGED, None)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_PURGED, None)
    session.info.pop(_APPLIED, None)


# -- writing sums -------------------------------------------------------------------------------------------


def _order(key: Key) -> tuple[str, str, int]:
    return key[0].isoformat(), key[1], key[2]


def apply(session: Session, delta: Sums) -> None:
    """Add ``delta`` to the table (one upsert, keys in a fixed order) and drop rows that fall to zero."""
    sums = {k: v for k, v in delta.items() if any(v)}
    if not sums:
        return
    upsert, prune = _sum_statements(session.get_bind().dialect.name)
    keys = sorted(sums, key=_order)
    session.execute(upsert, [{**dict(zip(KEY, k, strict=True)), **dict(zip(VALUES, sums[k], strict=True))}
                             for k in keys])  # fmt: skip
    if any(v < 0 for k in keys for v in sums[k]):
        session.execute(prune, [{f"k_{n}": part for n, part in zip(KEY, k, strict=True)} for k in keys])


@functools.cache
def _sum_statements(dialect: str) -> tuple[Any, Any]:
    """The adding upsert and the delete of rows at zero, built once per dialect (every lead save runs them;
    building them cost a submission to the public form more than executing them)."""
    table = ChannelDay.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert_of
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert_of
    upsert = upsert_of(table)
    upsert = upsert.on_conflict_do_update(
        index_elements=[table.c[n] for n in KEY], set_={n: table.c[n] + upsert.excluded[n] for n in VALUES}
    )
    condition = and_(*(table.c[n] == bindparam(f"k_{n}") for n in KEY), *(table.c[n] == 0 for n in VALUES))
    return upsert, delete(table).where(condition)


# -- recounting ---------------------------------------------------------------------------------------------


def _utc_offsets(zone: ZoneInfo, low: dt.datetime, high: dt.datetime) -> list[tuple[dt.datetime | None, int]]:
    """(until, offset in minutes) spans covering ``low``…``high``: the zone's offset from UTC, and the
    instant it changes (daylight saving), the last span open-ended."""
    minute, hour = dt.timedelta(minutes=1), dt.timedelta(hours=1)

    def offset(moment: dt.datetime) -> int:
        return int(moment.astimezone(zone).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]

    spans: list[tuple[dt.datetime | None, int]] = []
    moment = low.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    current = offset(moment)
    while moment <= high:
        following = moment + hour
        if offset(following) != current:
            before, after = moment, following
            while after - before > minute:
                middle = before + (after - before) / 2
                before, after = (middle, after) if offset(middle) == current else (before, middle)
            spans.append((after.replace(second=0, microsecond=0), current))
            current = offset(following)
        moment = following
    spans.append((None, current))
    return spans


def _local_day(session: Session, conditions: list[Any]) -> Any:
    """A SQL expression for the company-local day of ``Lead.created_at`` (None when no lead matches):
    ``timezone()`` on PostgreSQL; on SQLite, which has no time zones, the UTC offset of each span between
    the zone's changes (a CASE over the leads' range)."""
    zone = _zone(session)
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(zone.key, Lead.created_at), Date)
    low, high = session.execute(select(func.min(Lead.created_at), func.max(Lead.created_at)).where(*conditions)).one()
    if low is None:
        return None
    spans = _utc_offsets(zone, low, high)
    whens = [(Lead.created_at < until, func.date(Lead.created_at, f"{minutes:+d} minutes"))
             for until, minutes in spans[:-1]]  # fmt: skip
    last = func.date(Lead.created_at, f"{spans[-1][1]:+d} minutes")
    return case(*whens, else_=last) if whens else last


def _sums(session: Session, where: Iterable[Any]) -> Sums:
    """The sums of the leads matching ``where`` (live or not: the caller says), from their rows: leads
    grouped by cohort in SQL, opportunity rows streamed."""
    conditions = list(where)
    day = _local_day(session, conditions)
    if day is None:
        return {}
    days: dict[Any, dt.date] = {}

    def as_date(value: Any) -> dt.date:
        if isinstance(value, dt.date):
            return value
        found = days.get(value)
        if found is None:
            found = days[value] = dt.date.fromisoformat(str(value)[:10])
        return found

    found: Sums = {}
    inner = select(day.label("day"), Lead.channel, Lead.campaign_id, Lead.status).where(*conditions).subquery()
    query = select(inner.c.day, inner.c.channel, inner.c.campaign_id, inner.c.status, func.count()).group_by(
        inner.c.day, inner.c.channel, inner.c.campaign_id, inner.c.status
    )
    for local, channel, campaign_id, status, count in session.execute(query):
        _add(found, (as_date(local), channel, campaign_id or 0), [n * count for n in lead_part(status)])
    o = LeadOutcome
    query = (select(day, Lead.channel, Lead.campaign_id, o.kind, o.deal_status, o.deal_amount_base_minor,
                    o.deal_closed_on)
             .join(Lead, Lead.id == o.lead_id).where(o.kind == OPPORTUNITY, *conditions)
             .execution_options(yield_per=20_000))  # fmt: skip
    for local, channel, campaign_id, kind, status, amount, closed_on in session.execute(query):
        key = (as_date(local), channel, campaign_id or 0)
        _add(found, key, outcome_part(kind, status, amount, closed_on, key[0]))
    return found


def counted(session: Session) -> Sums:
    """What the table should hold, counted from the live leads and their outcome rows (zero rows left out)."""
    return {k: v for k, v in _sums(session, [Lead.deleted_at.is_(None)]).items() if any(v)}


def stored(session: Session) -> Sums:
    """What the table holds, as :func:`counted` returns it."""
    columns = [ChannelDay.__table__.c[n] for n in (*KEY, *VALUES)]
    found = {(r[0], r[1], r[2]): list(r[3:]) for r in session.execute(select(*columns))}
    return {k: v for k, v in found.items() if any(v)}


def recount(session: Session) -> int:
    """Rebuild the table from scratch (after bulk inserts, or to repair it); returns the rows written."""
    sums = counted(session)
    session.execute(delete(ChannelDay))
    rows = [{**dict(zip(KEY, k, strict=True)), **dict(zip(VALUES, v, strict=True))}
            for k, v in sorted(sums.items(), key=lambda item: _order(item[0]))]  # fmt: skip
    for start in range(0, len(rows), 5000):
        session.execute(insert(ChannelDay.__table__), rows[start : start + 5000])
    return len(rows)

"""Sums of deals and of their stage history, kept current in the transaction of every write of a deal.

The funnel, the forecast and the metrics read :mod:`.analytics_models`' tables instead of a million deals
and five million history rows. What one deal adds to them is a pure function of the deal and its stage
history (:func:`deal_part`, :func:`history_part`): a write subtracts what the deal added before and adds
what it adds now, so any change (a move, a win, an amount, a currency, an owner) is handled the same way,
and :func:`recount` can rebuild the sums from the deals to check them.

When it runs:

- ``deal_rules.before_save`` calls :func:`follow` with the tracked fields as they were (None on create);
  what the deal adds now is computed after the flush (new deals have ids, the history row is written);
- soft delete, restore and merge (core's recycle bin) change ``deleted_at`` through the ORM: a
  ``before_flush`` listener sees it, with no hook needed;
- purging a live deal for good changes ``deleted_at`` in SQL: pipeline's ``records_deleted`` hook calls
  :func:`purged` first (deals already in the bin were subtracted when they went there);
- bulk inserts (seed, bench) bypass all of this: call :func:`rebuild` after them.

The open pipeline is also copied, once a month, into :class:`ForecastSnapshot` by the first write of the
month (before it changes anything, so the copy is the pipeline as it stood when the month began), or by
:func:`take_snapshot` from a job, whichever comes first.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, event, func, insert, inspect, literal, select
from sqlalchemy.orm import Session

from voronka.core.company import company_settings
from voronka.core.models_trash import RecycleBinEntry
from voronka.core.types import utcnow

from .analytics_models import (
    NO_DATE,
    DealRollup,
    DealTotal,
    ForecastSnapshot,
    OwnerTotal,
    SnapshotTaken,
    StageRollup,
    StageTotal,
)
from .models import OPEN, WON, Opportunity, StageChange
from .stages import Catalogue, catalogue

DEAL_KEY = ("status", "owner_user_id", "owner_team_id", "pipeline_id", "bucket", "stage_id", "forecast_category",
            "currency")  # fmt: skip
DEAL_VALUES = ("deals", "amount_minor", "weighted", "cycle_days")
STAGE_KEY = ("owner_user_id", "owner_team_id", "pipeline_id", "month", "stage_id")
STAGE_VALUES = ("entered", "advanced", "stays", "stay_seconds")
TOTAL_KEY = ("status", "owner_team_id", "pipeline_id", "bucket", "stage_id", "forecast_category", "currency")
STAGE_TOTAL_KEY = ("owner_team_id", "pipeline_id", "month", "stage_id")
OWNER_KEY = ("owner_user_id", "owner_team_id")
HISTORY_FIELDS = ("owner_user_id", "owner_team_id")
"""Besides a move, what changes the deal's history sums (they are kept by the deal's owner)."""

_PENDING = "pipeline.rollups.pending"
_PURGED = "pipeline.rollups.purged"
"""Deals subtracted by :func:`purged` in this transaction (a second call for the same ids does nothing)."""
Sums = dict[tuple[Any, ...], list[int]]


@dataclass
class _Pending:
    deal: Opportunity
    deal_before: Sums
    history_before: Sums | None
    """None: the history sums do not change with this write (not computed again after the flush)."""


@dataclass
class Delta:
    """Changes to both tables, added up over many deals before one upsert per table."""

    deals: Sums = field(default_factory=dict)
    stages: Sums = field(default_factory=dict)

    def add(self, sums: Sums, into: Sums, sign: int) -> None:
        for key, values in sums.items():
            found = into.setdefault(key, [0] * len(values))
            for index, value in enumerate(values):
                found[index] += sign * value


# -- what one deal adds ---------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def deal_part(values: Mapping[str, Any], created_at: dt.datetime | None, base: str) -> Sums:
    """The deal-table row one deal adds to: key and (1, amount, amount × probability, cycle days)."""
    status = values["status"]
    currency = values["amount_currency"] or base
    amount = int(values["amount_minor"] or 0)
    if status == OPEN:
        expected = _date(values["expected_close"])
        bucket = month_start(expected) if expected else NO_DATE
        cycle = 0
    else:
        closed = _date(values["closed_on"]) or NO_DATE
        bucket = month_start(closed) if currency == base else closed
        cycle = (closed - created_at.astimezone(dt.UTC).date()).days if created_at and closed != NO_DATE else 0
    key = (status, values["owner_user_id"] or 0, values["owner_team_id"] or 0, values["pipeline_id"], bucket,
           values["stage_id"], values["forecast_category"] or "pipeline", currency)  # fmt: skip
    return {key: [1, amount, amount * int(values["probability"] or 0), cycle]}


def _seconds(moment: dt.datetime) -> int:
    return int(moment.replace(microsecond=0).timestamp())


def history_part(owner: tuple[int, int], rows: Iterable[tuple[int, int, dt.datetime, dt.datetime | None]],
                 book: Catalogue) -> Sums:  # fmt: skip
    """The stage-table rows one deal's history adds to. ``rows`` are (pipeline, stage, entered, left)."""
    stays = sorted(rows, key=lambda r: r[2])
    found: Sums = defaultdict(lambda: [0, 0, 0, 0])
    first: dict[int, tuple[int, dt.datetime]] = {}
    for pipeline_id, stage_id, entered, left in stays:
        if stage_id not in first:
            first[stage_id] = (pipeline_id, entered)
        if left is not None:
            values = found[(*owner, pipeline_id, month_start(entered.astimezone(dt.UTC).date()), stage_id)]
            values[2] += 1
            values[3] += _seconds(left) - _seconds(entered)
    for stage_id, (pipeline_id, entered) in first.items():
        values = found[(*owner, pipeline_id, month_start(entered.astimezone(dt.UTC).date()), stage_id)]
        values[0] += 1
        stage = book.stage(stage_id)
        if stage is not None and any(_later(book, stage, other) for _p, other, when, _l in stays if when > entered):
            values[1] += 1
    return dict(found)


def _later(book: Catalogue, stage: Any, other_id: int) -> bool:
    other = book.stage(other_id)
    if other is None or other.pipeline_id != stage.pipeline_id:
        return False
    return other.outcome == WON or (other.outcome == OPEN and other.position > stage.position)


def _values(deal: Opportunity) -> dict[str, Any]:
    from .deal_rules import TRACKED

    return {name: getattr(deal, name) for name in TRACKED}


def _history_rows(
    session: Session, ids: list[int]
) -> dict[int, list[tuple[int, int, dt.datetime, dt.datetime | None]]]:
    found: dict[int, list[Any]] = defaultdict(list)
    for start in range(0, len(ids), 1000):
        query = select(StageChange.opportunity_id, StageChange.pipeline_id, StageChange.stage_id,
                       StageChange.entered_at, StageChange.left_at).where(
            StageChange.opportunity_id.in_(ids[start : start + 1000]))  # fmt: skip
        for deal_id, *row in session.execute(query):
            found[deal_id].append(tuple(row))
    return found


# -- following writes -------------------------------------------------------------------------------------


def follow(session: Session, deal: Opportunity, before: dict[str, Any] | None) -> None:
    """Remember what ``deal`` added before this write (``before``: its tracked fields then, None when new);
    the difference is applied right after the flush that writes it."""
    pending: dict[int, _Pending] = session.info.setdefault(_PENDING, {})
    if id(deal) in pending:
        return  # saved twice before a flush: the first ``before`` is what the tables hold
    if before is None:
        pending[id(deal)] = _Pending(deal, {}, {})
        return
    with session.no_autoflush:
        base = company_settings(session).base_currency
        moved = before["stage_id"] != deal.stage_id
        history: Sums | None = None
        if moved or any(before[name] != getattr(deal, name) for name in HISTORY_FIELDS):
            rows = _history_rows(session, [deal.id]).get(deal.id, [])
            if moved:
                rows = _before_move(rows, deal.stage_id, deal.stage_entered_at)
            owner = (before["owner_user_id"] or 0, before["owner_team_id"] or 0)
            history = history_part(owner, rows, catalogue(session))
        pending[id(deal)] = _Pending(deal, deal_part(before, deal.created_at, base), history)


def _before_move(rows: list[Any], stage_id: int, entered: dt.datetime) -> list[Any]:
    """The history as it was before deal_rules recorded this move: without the new stay (an earlier
    autoflush may have written it) and with the stay it closed still open."""
    kept = [r for r in rows if not (r[1] == stage_id and r[2] == entered)]
    return [(p, s, e, None if left is not None and left == entered else left) for p, s, e, left in kept]


@event.listens_for(Session, "before_flush")
def _deleted_or_restored(session: Session, _context: Any, _instances: Any) -> None:
    """Soft delete, restore and merge set ``deleted_at`` on the ORM object: subtract or add the deal."""
    pending: dict[int, _Pending] | None = None
    for obj in session.dirty:
        if not isinstance(obj, Opportunity):
            continue
        changed = inspect(obj).attrs.deleted_at.history
        if not changed.has_changes():
            continue
        pending = session.info.setdefault(_PENDING, {})
        if id(obj) in pending:
            continue
        was_live = not changed.deleted or changed.deleted[0] is None
        if was_live and obj.deleted_at is not None:
            with session.no_autoflush:
                rows = _history_rows(session, [obj.id]).get(obj.id, [])
                base = company_settings(session).base_currency
                owner = (obj.owner_user_id or 0, obj.owner_team_id or 0)
                pending[id(obj)] = _Pending(obj, deal_part(_values(obj), obj.created_at, base),
                                            history_part(owner, rows, catalogue(session)))  # fmt: skip
        elif not was_live and obj.deleted_at is None:
            pending[id(obj)] = _Pending(obj, {}, {})


@event.listens_for(Session, "after_flush_postexec")
def _apply_pending(session: Session, _context: Any) -> None:
    pending: dict[int, _Pending] | None = session.info.get(_PENDING)
    if not pending:
        return
    ready = []
    for key, item in list(pending.items()):
        state = inspect(item.deal)
        if state.pending:
            continue  # not flushed yet: the next flush applies it
        del pending[key]
        if state.persistent:
            ready.append(item)
    if not ready:
        return
    base = company_settings(session).base_currency
    delta = Delta()
    need_history = [i.deal.id for i in ready if i.history_before is not None and i.deal.deleted_at is None]
    rows = _history_rows(session, need_history) if need_history else {}
    book = catalogue(session)
    for item in ready:
        deal = item.deal
        live = deal.deleted_at is None
        delta.add(item.deal_before, delta.deals, -1)
        if live:
            delta.add(deal_part(_values(deal), deal.created_at, base), delta.deals, 1)
        if item.history_before is not None:
            delta.add(item.history_before, delta.stages, -1)
            if live:
                owner = (deal.owner_user_id or 0, deal.owner_team_id or 0)
                delta.add(history_part(owner, rows.get(deal.id, []), book), delta.stages, 1)
    apply(session, delta)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)
        session.info.pop(_PURGED, None)


@event.listens_for(Session, "after_commit")
def _forget_purged(session: Session) -> None:
    session.info.pop(_PURGED, None)


def purged(session: Session, kind: str, ids: list[int]) -> None:
    """For pipeline's ``records_deleted`` hook: deals purged for good straight from the live list (not from
    the recycle bin, where they were subtracted already) leave the sums."""
    if kind != "opportunity" or not ids:
        return
    binned = set(session.scalars(select(RecycleBinEntry.record_id).where(
        RecycleBinEntry.kind == "opportunity", RecycleBinEntry.record_id.in_(ids))))  # fmt: skip
    done: set[int] = session.info.setdefault(_PURGED, set())
    live = [i for i in ids if i not in binned and i not in done]
    done.update(live)
    if not live:
        return
    base = company_settings(session).base_currency
    book = catalogue(session)
    history = _history_rows(session, live)
    delta = Delta()
    columns = [getattr(Opportunity, name) for name in _tracked()]
    for row in session.execute(
        select(Opportunity.id, Opportunity.created_at, *columns).where(Opportunity.id.in_(live))
    ):
        values = dict(zip(_tracked(), row[2:], strict=True))
        delta.add(deal_part(values, row.created_at, base), delta.deals, -1)
        owner = (values["owner_user_id"] or 0, values["owner_team_id"] or 0)
        delta.add(history_part(owner, history.get(row.id, []), book), delta.stages, -1)
    apply(session, delta)


def _tracked() -> tuple[str, ...]:
    from .deal_rules import TRACKED

    return TRACKED


# -- writing sums -----------------------------------------------------------------------------------------


def apply(session: Session, delta: Delta) -> None:
    """Add ``delta`` to the per-owner tables and to the totals over owners (keys in a fixed order, so two
    writers lock rows in the same order), and drop rows that fall to zero. The month's forecast snapshot
    is taken first if it is missing."""
    deals = {k: v for k, v in delta.deals.items() if any(v)}
    stages = {k: v for k, v in delta.stages.items() if any(v)}
    if not deals and not stages:
        return
    ensure_snapshot(session)
    for model, key, names, sums, zero in _tables(deals, stages):
        if not sums:
            continue
        _upsert(session, model, key, names, sums)
        table = model.__table__
        session.execute(delete(table).where(*(table.c[n] == _bind(n) for n in key), *(table.c[n] == 0 for n in zero)),
                        [dict(zip(key, k, strict=True)) for k in sorted(sums, key=_order)])  # fmt: skip


def _tables(deals: Sums, stages: Sums) -> list[tuple[Any, tuple[str, ...], tuple[str, ...], Sums, tuple[str, ...]]]:
    """Each table with its key, value columns, sums and the columns that are all zero on an empty row."""
    deal_totals: Sums = {}
    stage_totals: Sums = {}
    owners: Sums = {}
    adding = Delta()
    for k, v in deals.items():  # a deal with a user owner counts with the users, whatever its team
        adding.add({(k[0], 0 if k[1] else k[2], *k[3:]): v}, deal_totals, 1)
        adding.add({(k[1], k[2]): v[:1]}, owners, 1)
    for k, v in stages.items():
        adding.add({(0 if k[0] else k[1], *k[2:]): v}, stage_totals, 1)
    return [
        (DealRollup, DEAL_KEY, DEAL_VALUES, deals, ("deals",)),
        (StageRollup, STAGE_KEY, STAGE_VALUES, stages, ("entered", "stays")),
        (DealTotal, TOTAL_KEY, DEAL_VALUES, {k: v for k, v in deal_totals.items() if any(v)}, ("deals",)),
        (StageTotal, STAGE_TOTAL_KEY, STAGE_VALUES, {k: v for k, v in stage_totals.items() if any(v)},
         ("entered", "stays")),
        (OwnerTotal, OWNER_KEY, ("deals",), {k: v for k, v in owners.items() if any(v)}, ("deals",)),
    ]  # fmt: skip


def _bind(name: str) -> Any:
    return bindparam(name)


def _order(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


def _upsert(session: Session, model: Any, key: tuple[str, ...], value_names: tuple[str, ...], sums: Sums) -> None:
    if not sums:
        return
    table = model.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    statement = upsert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[n] for n in key],
        set_={n: table.c[n] + statement.excluded[n] for n in value_names},
    )
    rows = [{**dict(zip(key, k, strict=True)), **dict(zip(value_names, sums[k], strict=True))}
            for k in sorted(sums, key=_order)]  # fmt: skip
    session.execute(statement, rows)


# -- the monthly forecast snapshot -------------------------------------------------------------------------


def ensure_snapshot(session: Session, day: dt.date | None = None) -> bool:
    """Take the snapshot of ``day`` (default the first of this month, company time) if nobody has: called
    before any change to the sums, so the copy is the open pipeline as it stood when the day began."""
    day = day or month_start(company_settings(session).today())
    if session.get(SnapshotTaken, day) is not None:
        return False
    return take_snapshot(session, day)


def take_snapshot(session: Session, day: dt.date) -> bool:
    """Copy the open pipeline (summed over stages) as the forecast of ``day``; False if taken already."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as claim
    else:
        from sqlalchemy.dialects.sqlite import insert as claim
    claimed = session.execute(
        claim(SnapshotTaken).values(taken_on=day, taken_at=utcnow()).on_conflict_do_nothing()
        .returning(SnapshotTaken.taken_on)
    ).first()  # fmt: skip
    if claimed is None:
        return False
    r = DealRollup
    columns = (r.owner_user_id, r.owner_team_id, r.pipeline_id, r.bucket, r.forecast_category, r.currency)
    source = (select(_day(day), *columns, func.sum(r.deals), func.sum(r.amount_minor), func.sum(r.weighted))
              .where(r.status == OPEN).group_by(*columns))  # fmt: skip
    names = ["taken_on", "owner_user_id", "owner_team_id", "pipeline_id", "bucket", "forecast_category", "currency",
             "deals", "amount_minor", "weighted"]  # fmt: skip
    session.execute(insert(ForecastSnapshot).from_select(names, source))
    return True


def _day(day: dt.date) -> Any:
    return literal(day, ForecastSnapshot.taken_on.type).label("taken_on")


# -- recounting -------------------------------------------------------------------------------------------


def recount(session: Session) -> tuple[Sums, Sums]:
    """Both tables' contents computed from the live deals and their history (streamed, for checks and
    :func:`rebuild`)."""
    base = company_settings(session).base_currency
    book = catalogue(session)
    delta = Delta()
    names = _tracked()
    columns = [getattr(Opportunity, name) for name in names]
    query = (select(Opportunity.id, Opportunity.created_at, *columns).where(Opportunity.deleted_at.is_(None))
             .order_by(Opportunity.id).execution_options(yield_per=5000))  # fmt: skip
    batch: list[Any] = []

    def flush_batch() -> None:
        history = _history_rows(session, [row.id for row in batch])
        for row in batch:
            values = dict(zip(names, row[2:], strict=True))
            delta.add(deal_part(values, row.created_at, base), delta.deals, 1)
            owner = (values["owner_user_id"] or 0, values["owner_team_id"] or 0)
            delta.add(history_part(owner, history.get(row.id, []), book), delta.stages, 1)
        batch.clear()

    for row in session.execute(query):
        batch.append(row)
        if len(batch) >= 1000:
            flush_batch()
    if batch:
        flush_batch()
    return ({k: v for k, v in delta.deals.items() if any(v)}, {k: v for k, v in delta.stages.items() if any(v)})


def stored(session: Session) -> tuple[Sums, Sums]:
    """Both per-owner tables' contents as :func:`recount` returns them (rows that sum to zero left out)."""
    return _read(session, DealRollup, DEAL_KEY, DEAL_VALUES), _read(session, StageRollup, STAGE_KEY, STAGE_VALUES)


def stored_totals(session: Session) -> tuple[Sums, Sums, Sums]:
    """The totals over owners, and live deals per owner, as stored."""
    return (_read(session, DealTotal, TOTAL_KEY, DEAL_VALUES),
            _read(session, StageTotal, STAGE_TOTAL_KEY, STAGE_VALUES),
            _read(session, OwnerTotal, OWNER_KEY, ("deals",)))  # fmt: skip


def totals_of(deals: Sums, stages: Sums) -> tuple[Sums, Sums, Sums]:
    """What the totals tables should hold for these per-owner sums."""
    found = _tables(deals, stages)
    return found[2][3], found[3][3], found[4][3]


def _read(session: Session, model: Any, key: tuple[str, ...], names: tuple[str, ...]) -> Sums:
    size = len(key)
    rows = session.execute(select(*(getattr(model, n) for n in (*key, *names))))
    found = {tuple(row[:size]): list(row[size:]) for row in rows}
    return {k: v for k, v in found.items() if any(v)}


def rebuild(session: Session) -> None:
    """Replace the sums with a recount (after bulk inserts that bypassed the write path)."""
    deals, stages = recount(session)
    for model in (DealRollup, StageRollup, DealTotal, StageTotal, OwnerTotal):
        session.execute(delete(model))
    write_sums(session, deals, stages)


def write_sums(session: Session, deals: Sums, stages: Sums) -> None:
    """Insert computed per-owner sums, and their totals, into empty tables (``rebuild``, the bench)."""
    for model, key, names, sums, _zero in _tables(deals, stages):
        rows = [{**dict(zip(key, k, strict=True)), **dict(zip(names, v, strict=True))} for k, v in sums.items()]
        for start in range(0, len(rows), 5000):
            session.execute(insert(model.__table__), rows[start : start + 5000])


def derive_totals(session: Session) -> None:
    """Fill the totals tables from the per-owner tables already stored (a database summed before the
    totals existed)."""
    for model in (DealTotal, StageTotal, OwnerTotal):
        session.execute(delete(model))
    deals, stages = stored(session)
    for model, key, names, sums, _zero in _tables(deals, stages)[2:]:
        rows = [{**dict(zip(key, k, strict=True)), **dict(zip(names, v, strict=True))} for k, v in sums.items()]
        for start in range(0, len(rows), 5000):
            session.execute(insert(model.__table__), rows[start : start + 5000])


SNAPSHOT_JOB = "pipeline.forecast_snapshot"


def snapshot_job(*, interval: float = 600.0) -> Any:
    """A periodic job that takes the month's forecast snapshot soon after the month begins, so the first
    person to save a deal that month does not wait for the copy (pipeline's ``jobs`` hook returns it)."""
    from voronka.core.db import write_transaction
    from voronka.core.i18n import N_
    from voronka.core.jobs import PERIODIC, JobDefinition

    def run(ctx: Any) -> None:
        with write_transaction(ctx.sessions) as session:
            ensure_snapshot(session)

    return JobDefinition(SNAPSHOT_JOB, PERIODIC, run, interval=interval, label=N_("Monthly forecast snapshot"))

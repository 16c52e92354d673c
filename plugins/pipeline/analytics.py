"""Reading the funnel and forecast sums: the rows behind a filter, in a few grouped queries.

The sums (:mod:`.analytics_models`) are bucketed by month (by day for closed deals in other currencies).
A period that starts or ends inside a month is read as whole months from the sums plus its ragged edges
straight from the deals (at most two partial months, through the close-date indexes), so "overdue" and
"between dates" are exact too. Every query applies the viewer's visibility on the owner columns, which
the sums keep, so a manager's figures are the sum of the owners they may see, queues included.

Amounts are converted to the base currency per currency and day (closed) or at the latest rate (open);
amounts in a currency with no rate are left out of totals and listed in :attr:`Converted.missing`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, literal_column, not_, null, or_, select
from sqlalchemy.orm import Session

from voronka.core.company import CompanySettings, company_settings
from voronka.core.currency import RateBook, RateMissing, convert
from voronka.core.security.visibility import under_query, visible
from voronka.core.types import Money

from .analytics_models import NO_DATE, DealRollup, DealTotal, OwnerTotal, StageRollup, StageTotal
from .deal_filters import DealFilter
from .deal_rollups import month_start
from .models import OPEN, Opportunity


@dataclass(frozen=True)
class Row:
    """Summed deals of one status, stage, category and currency in one bucket."""

    status: str
    stage_id: int
    category: str
    currency: str
    bucket: dt.date
    deals: int
    amount: int
    weighted: int
    """Amount × probability in percent: divide by 100 for money."""
    cycle_days: int
    owner_user_id: int = 0


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _ceil_month(day: dt.date) -> dt.date:
    return day if day.day == 1 else next_month(day)


def owner_clauses(model: Any, viewer: Any, flt: DealFilter | None, today: dt.date) -> list[ColumnElement[bool]]:
    """Visibility and the filter's owner and pipeline, on any table with owner_user_id/owner_team_id
    (0 there means none, which matches no user and no team)."""
    found: list[ColumnElement[bool]] = [visible(model, viewer)]
    if flt is None:
        return found
    if flt.pipeline_id is not None:
        found.append(model.pipeline_id == flt.pipeline_id)
    owner = flt.owner
    if owner == "mine":
        teams = list(getattr(viewer, "team_ids", ()) or ())
        mine = model.owner_user_id == viewer.id
        found.append(or_(mine, model.owner_team_id.in_(teams)) if teams else mine)
    elif owner == "under":
        # the very statement ``visible`` uses (same arguments, cached): two differently built trees named
        # alike in one query would not compile
        tree = under_query(viewer.id, dt.date.today())
        found.append(or_(model.owner_user_id == viewer.id, model.owner_user_id.in_(tree)))
    elif owner.startswith("u:"):
        found.append(model.owner_user_id == int(owner[2:]))
    elif owner.startswith("t:"):
        found.append(model.owner_team_id == int(owner[2:]))
    return found


@dataclass(frozen=True)
class Source:
    """Where a filter's sums come from: the per-owner tables under visibility and the owner filter, or,
    when the viewer may see every owner who has deals and asks for all of them, the totals over owners."""

    deals: Any
    stages: Any
    deal_clauses: list[ColumnElement[bool]]
    stage_clauses: list[ColumnElement[bool]]
    totals: bool


def source(session: Session, viewer: Any, flt: DealFilter, today: dt.date) -> Source:
    if flt.owner in ("all", "under") and _sees_every_user(session, viewer, flt, today):
        return Source(DealTotal, StageTotal, _total_clauses(DealTotal, viewer, flt, today),
                      _total_clauses(StageTotal, viewer, flt, today), True)  # fmt: skip
    return Source(DealRollup, StageRollup, owner_clauses(DealRollup, viewer, flt, today),
                  owner_clauses(StageRollup, viewer, flt, today), False)  # fmt: skip


def _total_clauses(model: Any, viewer: Any, flt: DealFilter, today: dt.date) -> list[ColumnElement[bool]]:
    """On the totals: the users' sums (every user is visible, checked before) and the queues the viewer
    may see; "everyone under me" counts users only, as on the deals."""
    found: list[ColumnElement[bool]] = []
    if flt.pipeline_id is not None:
        found.append(model.pipeline_id == flt.pipeline_id)
    if flt.owner == "under":
        found.append(model.owner_team_id == 0)
    else:
        teams = visible(_TeamOnly(model), viewer)
        found.append(or_(model.owner_team_id == 0, teams))
    return found


class _TeamOnly:
    """A totals table seen by :func:`visible`: its team column, and no user (0 matches nobody)."""

    def __init__(self, model: Any):
        self.owner_team_id = model.owner_team_id
        self.owner_user_id = literal(0)


def _sees_every_user(session: Session, viewer: Any, flt: DealFilter, today: dt.date) -> bool:
    """No user who owns live deals falls outside the viewer's visibility and the owner filter (a few
    hundred rows of :class:`OwnerTotal` say it)."""
    o = OwnerTotal
    wanted = owner_clauses(o, viewer, replace(flt, pipeline_id=None), today)
    hidden = select(o.id).where(o.deals != 0, o.owner_user_id != 0, not_(and_(*wanted))).limit(1)
    return session.scalar(hidden) is None


def deal_rows(
    session: Session,
    clauses: Sequence[ColumnElement[bool]],
    edge_clauses: Sequence[ColumnElement[bool]],
    statuses: Sequence[str],
    start: dt.date | None,
    end: dt.date | None,
    *,
    by_stage: bool = True,
    by_category: bool = True,
    by_owner: bool = False,
    model: Any = DealRollup,
) -> list[Row]:
    """Summed deals of ``statuses`` whose close date (expected for open deals, actual for closed ones) is in
    ``[start, end)`` (None: open-ended; both None: any date, open deals without one included).

    ``clauses`` filter ``model`` (:class:`DealRollup` or :class:`DealTotal`), ``edge_clauses`` the same
    on :class:`Opportunity`."""
    r = model
    group = [r.status, r.currency, r.bucket]
    group += [r.stage_id] if by_stage else []
    group += [r.forecast_category] if by_category else []
    group += [r.owner_user_id] if by_owner else []
    whole_from = _ceil_month(start) if start else None
    whole_to = end.replace(day=1) if end else None
    where = [*clauses, r.status.in_(list(statuses))]
    if start is not None or end is not None:
        where.append(r.bucket > NO_DATE)
    if whole_from is not None:
        where.append(r.bucket >= whole_from)
    if whole_to is not None:
        where.append(r.bucket < whole_to)
    found: list[Row] = []
    if whole_from is None or whole_to is None or whole_from < whole_to:
        query = select(*group, func.sum(r.deals), func.sum(r.amount_minor), func.sum(r.weighted),
                       func.sum(r.cycle_days)).where(*where).group_by(*group)  # fmt: skip
        for row in session.execute(query):
            found.append(_row(row, by_stage, by_category, by_owner))
    edges: list[tuple[dt.date | None, dt.date | None]] = []
    if start is not None and whole_from != start:
        edges.append((start, min(whole_from, end) if end and whole_from else whole_from))
    if end is not None and whole_to != end:
        edges.append((max(whole_to, start) if start and whole_to else whole_to, end))
    for edge_start, edge_end in dict.fromkeys(edges):
        found.extend(_edge_rows(session, edge_clauses, statuses, edge_start, edge_end, by_stage, by_category, by_owner))
    return found


def _row(row: Any, by_stage: bool, by_category: bool, by_owner: bool) -> Row:
    values = list(row)
    status, currency, bucket = values[:3]
    rest = values[3:]
    stage_id = rest.pop(0) if by_stage else 0
    category = rest.pop(0) if by_category else ""
    owner = rest.pop(0) if by_owner else 0
    deals, amount, weighted, cycle = (int(v or 0) for v in rest)
    return Row(status, stage_id, category, currency, bucket, deals, amount, weighted, cycle, owner)


def _edge_rows(session: Session, clauses: Sequence[ColumnElement[bool]], statuses: Sequence[str],
               start: dt.date | None, end: dt.date | None, by_stage: bool, by_category: bool,
               by_owner: bool) -> list[Row]:  # fmt: skip
    """The deals of a partial month, summed the way the rollup sums them (closed deals by day)."""
    o = Opportunity
    day = case((o.status == OPEN, o.expected_close), else_=o.closed_on)
    within = [day.is_not(None)]
    if start is not None:
        within.append(day >= start)
    if end is not None:
        within.append(day < end)
    group: list[Any] = [o.status, o.amount_currency, day]
    group += [o.stage_id] if by_stage else []
    group += [o.forecast_category] if by_category else []
    group += [func.coalesce(o.owner_user_id, 0)] if by_owner else []
    cycle = case((o.status != OPEN, _days_between(session, o.created_at, o.closed_on)), else_=0)
    query = (select(*group, func.count(), func.sum(o.amount_minor), func.sum(o.amount_minor * o.probability),
                    func.sum(cycle))
             .where(*clauses, o.deleted_at.is_(None), o.status.in_(list(statuses)), and_(*within))
             .group_by(*group))  # fmt: skip
    return [_row(row, by_stage, by_category, by_owner) for row in session.execute(query)]


def _days_between(session: Session, created: Any, closed: Any) -> Any:
    """Whole days from a creation instant's UTC date to a date, as the rollup counts them."""
    if session.get_bind().dialect.name == "postgresql":
        return closed - func.date(func.timezone("UTC", created))
    return func.cast(func.julianday(closed) - func.julianday(func.date(created)), DealRollup.deals.type)


# -- money ------------------------------------------------------------------------------------------------


@dataclass
class Converted:
    """Totals in the base currency, and what could not be converted (currency, day → amount)."""

    base: str
    missing: dict[tuple[str, dt.date], int] = field(default_factory=dict)

    def note(self, currency: str, on: dt.date, amount: int) -> None:
        self.missing[(currency, on)] = self.missing.get((currency, on), 0) + amount

    @property
    def missing_list(self) -> list[tuple[str, dt.date, Money]]:
        return [(c, d, Money(a, c)) for (c, d), a in sorted(self.missing.items())]


class Converter:
    """Converts summed amounts with one rate book: a closed bucket at its day's rate, open at the latest."""

    def __init__(self, session: Session, currencies: Iterable[str], settings: CompanySettings | None = None):
        self.settings = settings or company_settings(session)
        self.book = RateBook.load(session, set(currencies))
        self.report = Converted(self.settings.base_currency)

    @property
    def base(self) -> str:
        return self.settings.base_currency

    def amount(self, minor: int | Decimal, currency: str, on: dt.date | None, *, report: bool = True) -> int | None:
        """``minor`` (possibly fractional: weighted sums) in base minor units, or None (reported)."""
        if currency == self.base:
            return int(Decimal(minor).quantize(Decimal(1), rounding="ROUND_HALF_EVEN"))
        day = on or self.book.today
        try:
            rate = self.book.rate_on(currency, day)
        except RateMissing:
            if report:
                self.report.note(currency, day, int(minor))
            return None
        exact = Decimal(minor)
        return convert(Money(int(exact), currency), rate, self.base).minor if exact == int(exact) else int(
            (exact * rate).quantize(Decimal(1), rounding="ROUND_HALF_EVEN"))  # fmt: skip

    def row(self, row: Row, *, weighted: bool = False) -> int:
        """A row's amount (or weighted amount) in base minor units; 0 when it cannot be converted."""
        on = row.bucket if row.status != OPEN else None
        value: int | Decimal = Decimal(row.weighted) / 100 if weighted else row.amount
        found = self.amount(value, row.currency, on, report=not weighted)
        return found or 0


def converter_for(session: Session, rows: Iterable[Row]) -> Converter:
    return Converter(session, {r.currency for r in rows})


def group_sum(rows: Iterable[Row], key: Any) -> dict[Any, list[Row]]:
    found: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        found[key(row)].append(row)
    return found


# -- stage history ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFlow:
    entered: int
    advanced: int
    stays: int
    stay_seconds: int

    @property
    def conversion(self) -> float | None:
        return self.advanced / self.entered if self.entered else None

    @property
    def average_days(self) -> float | None:
        return self.stay_seconds / self.stays / 86400 if self.stays else None


def stage_flows(
    session: Session,
    clauses: Sequence[ColumnElement[bool]],
    start: dt.date | None,
    end: dt.date | None,
    model: Any = StageRollup,
) -> dict[int, StageFlow]:
    """Per stage: deals that entered it (first time) in the period's months, how many of them went on to a
    later stage, and finished stays with their total length."""
    s = model
    where = list(clauses)
    if start is not None:
        where.append(s.month >= month_start(start))
    if end is not None:
        where.append(s.month < end)
    query = (select(s.stage_id, func.sum(s.entered), func.sum(s.advanced), func.sum(s.stays), func.sum(s.stay_seconds))
             .where(*where).group_by(s.stage_id))  # fmt: skip
    return {stage: StageFlow(*(int(v or 0) for v in values)) for stage, *values in session.execute(query)}


# -- per-owner sums for metrics ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SumColumns:
    """The columns :func:`owner_sums`' callers build their conditions and sums on, alike on the sums and on
    the deals (where ``deals`` is 1 and ``weighted`` amount × probability)."""

    status: Any
    currency: Any
    category: Any
    deals: Any
    amount: Any
    weighted: Any


def owner_sums(
    session: Session,
    clauses: Sequence[ColumnElement[bool]],
    edge_clauses: Sequence[ColumnElement[bool]],
    statuses: Sequence[str],
    start: dt.date,
    end: dt.date,
    *,
    sums: Callable[[SumColumns], list[Any]],
    unit: Callable[[SumColumns], ColumnElement[bool]] | None = None,
    by_category: bool = False,
) -> list[tuple[Any, ...]]:
    """Plain (owner, status, currency, bucket, category, *sums) tuples for the deals of ``statuses`` that close
    in ``[start, end)``, read from the same sums and partial-month edges as :func:`deal_rows` with ``by_owner``.

    Rows are summed per owner and status (and category with ``by_category``, else None), except those
    ``unit`` picks, which stay apart per currency, bucket and category exactly as :func:`deal_rows` returns
    them (a figure converts and rounds each of them on its own); the others come back with bucket None.
    Without ``unit`` nothing is apart and currency is None too. A manager's figures span a few hundred
    owners: this reads a few hundred rows where :func:`deal_rows` reads thousands."""
    r = DealRollup
    whole_from, whole_to = _ceil_month(start), end.replace(day=1)
    connection = session.connection()
    found: list[tuple[Any, ...]] = []
    if whole_from < whole_to:
        columns = SumColumns(r.status, r.currency, r.forecast_category, r.deals, r.amount_minor, r.weighted)
        query = _owner_sum_query(r.owner_user_id, r.bucket, columns, sums, unit, by_category)
        query = query.where(*clauses, r.status.in_(list(statuses)), r.bucket > NO_DATE, r.bucket >= whole_from,
                            r.bucket < whole_to)  # fmt: skip
        found.extend(connection.execute(query).all())
    edges: list[tuple[dt.date, dt.date]] = []
    if whole_from != start:
        edges.append((start, min(whole_from, end)))
    if whole_to != end:
        edges.append((max(whole_to, start), end))
    o = Opportunity
    day = case((o.status == OPEN, o.expected_close), else_=o.closed_on)
    columns = SumColumns(o.status, o.amount_currency, o.forecast_category, literal_column("1"), o.amount_minor,
                         o.amount_minor * o.probability)  # fmt: skip
    for edge_start, edge_end in dict.fromkeys(edges):
        query = _owner_sum_query(func.coalesce(o.owner_user_id, 0), day, columns, sums, unit, by_category)
        query = query.where(*edge_clauses, o.deleted_at.is_(None), o.status.in_(list(statuses)), day.is_not(None),
                            day >= edge_start, day < edge_end)  # fmt: skip
        found.extend(connection.execute(query).all())
    return found


def _owner_sum_query(owner: Any, bucket: Any, columns: SumColumns, sums: Callable[[SumColumns], list[Any]],
                     unit: Callable[[SumColumns], ColumnElement[bool]] | None, by_category: bool) -> Any:  # fmt: skip
    """The grouped SELECT of :func:`owner_sums` on one source (a grouped expression is one object in both the
    columns and GROUP BY, so PostgreSQL sees its parameters as the same)."""
    keys: list[Any] = [owner, columns.status]
    if unit is None:
        picked: list[Any] = [*keys, null(), null()]
    else:
        apart = case((unit(columns), bucket))
        keys += [columns.currency, apart]
        picked = list(keys)
    keys += [columns.category] if by_category else []
    picked += [columns.category if by_category else null()]
    return select(*picked, *(func.sum(value) for value in sums(columns))).group_by(*keys)


__all__ = [
    "Converted",
    "Converter",
    "Row",
    "Source",
    "StageFlow",
    "SumColumns",
    "deal_rows",
    "owner_clauses",
    "owner_sums",
    "source",
    "stage_flows",
]

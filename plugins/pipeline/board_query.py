"""What the board reads: per-column counts and totals, the cards of a column, the won/lost zones, one card.

Every read is SQLAlchemy Core under a :class:`~.deal_filters.DealFilter` (so under the viewer's visibility);
nothing here loads ORM objects. A whole board is five queries (:func:`board_figures`, :func:`board_cards`,
:func:`owner_labels`): the open columns' sums grouped by stage and currency, the won and lost zones' sums
grouped by stage, currency and close day, the rates both convert with, the first cards of every column
ranked per stage in one statement, and the owners' names. The filter's deals are the UNION ALL of its
:meth:`~.deal_filters.DealFilter.branches` ("mine" with team queues: the viewer's, then the queues'), each a
range of one owner's board index, which covers what the sums and the ranking read (pipeline_0005).

Money: a column's total and weighted total are in the base currency, each currency's sum converted once at
the latest rate (open deals); the zones convert each close day's sum at that day's rate. When a rate is
missing the column keeps its per-currency sums and names the currencies it could not convert. Amounts are
written by core's ``money`` filter function (:func:`voronka.core.templating.format_money`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from babel.dates import format_date
from markupsafe import Markup
from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from voronka.core import i18n
from voronka.core.company import company_settings
from voronka.core.currency import RateBook, RateMissing
from voronka.core.i18n import ngettext
from voronka.core.models import Team, User
from voronka.core.models_company import ExchangeRate
from voronka.core.templating import format_money
from voronka.core.types import Money, utcnow
from voronka.plugins.contacts.api import Party

from .deal_filters import DealFilter
from .models import LOST, OPEN, WON, Opportunity
from .stages import PipelineInfo, StageInfo

CARD_COLUMNS = (
    Opportunity.id,
    Opportunity.version,
    Opportunity.name,
    Opportunity.customer_id,
    Opportunity.stage_id,
    Opportunity.status,
    Opportunity.amount_minor,
    Opportunity.amount_currency,
    Opportunity.expected_close,
    Opportunity.probability,
    Opportunity.owner_user_id,
    Opportunity.owner_team_id,
    Opportunity.stage_entered_at,
)


@dataclass
class Card:
    """One deal as a card shows it."""

    id: int
    version: int
    name: str
    customer_id: int | None
    customer: str
    stage_id: int
    status: str
    amount: Money
    expected_close: dt.date | None
    probability: int
    owner_initials: str
    owner_name: str
    days_in_stage: int
    overdue: bool
    lingering: bool
    """In the stage longer than the stage's ``expected_days``."""
    amount_text: str = ""
    close_text: str = ""
    days_text: str = ""
    html: Markup = field(default_factory=Markup)
    """The card's markup (:mod:`.card_markup`), set by the board for its viewer."""


@dataclass
class Figures:
    """A column's (or zone's) count and money: base-currency totals, or per currency when a rate is missing."""

    count: int = 0
    total: Money | None = None
    weighted: Money | None = None
    by_currency: list[tuple[Money, Money]] = field(default_factory=list)
    """(total, weighted) per currency, shown when a rate is missing."""
    missing: tuple[str, ...] = ()


@dataclass
class Column:
    stage: StageInfo
    figures: Figures
    cards: list[Card] = field(default_factory=list)
    more: bool = False


def rate_book(session: Session, currencies: set[str], start: dt.date | None = None,
              end: dt.date | None = None) -> RateBook:  # fmt: skip
    """The rates a board converts with, in one query: per currency the one in force on ``start`` (default
    today) and any dated after it up to ``end`` (exclusive) or today. ``RateBook.load`` would read every
    rate ever stored (two years of daily rates: 1,500 rows, 7 ms, three times a board)."""
    company = company_settings(session)
    today = company.today()
    first = min(start or today, today)
    last = min(end - dt.timedelta(days=1), today) if end is not None else today
    wanted = sorted({c.upper() for c in currencies if c} - {company.base_currency})
    rates: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    if wanted:
        columns = (ExchangeRate.currency, ExchangeRate.valid_on, ExchangeRate.rate)
        parts = [select(*columns).where(ExchangeRate.currency == code, ExchangeRate.valid_on <= first)
                 .order_by(ExchangeRate.valid_on.desc()).limit(1).subquery() for code in wanted]  # fmt: skip
        queries = [select(*part.c) for part in parts]
        if last > first:
            queries.append(select(*columns).where(ExchangeRate.currency.in_(wanted), ExchangeRate.valid_on > first,
                                                  ExchangeRate.valid_on <= last))  # fmt: skip
        rows = session.execute(union_all(*queries) if len(queries) > 1 else queries[0]).all()
        for code, on, rate in sorted(rows, key=lambda row: (row[0], row[1])):
            rates[code].append((on, Decimal(rate)))
    return RateBook(company.base_currency, dict(rates), today)


def _half_even(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def open_filter(flt: DealFilter, pipeline: PipelineInfo) -> DealFilter:
    """The board's columns: the filter's owner, period and name, open deals of this pipeline."""
    return replace(flt, pipeline_id=pipeline.id, status=OPEN)


def deals(flt: DealFilter, viewer: Any, today: dt.date, columns: list[Any], *extra: Any) -> Any:
    """The filter's deals with ``columns``, as a subquery: the UNION ALL of the filter's
    :meth:`~.deal_filters.DealFilter.branches` (so each part reads one owner index)."""
    parts = [select(*columns).where(*branch, *extra) for branch in flt.branches(viewer, today)]
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("deals")


def open_sums(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, today: dt.date,
    only: set[int] | None = None,
) -> list[Any]:  # fmt: skip
    """(stage, currency, count, total, amount × probability) of the open columns (or of the stages in
    ``only``: a move reads the two columns it changed), in one grouped query."""
    extra = [Opportunity.stage_id.in_(sorted(only))] if only is not None else []
    columns = [Opportunity.stage_id, Opportunity.amount_currency, Opportunity.amount_minor, Opportunity.probability]
    found = deals(open_filter(flt, pipeline), viewer, today, columns, *extra)
    return session.execute(
        select(
            found.c.stage_id,
            found.c.amount_currency,
            func.count(),
            func.sum(found.c.amount_minor),
            func.sum(found.c.amount_minor * found.c.probability),
        ).group_by(found.c.stage_id, found.c.amount_currency)
    ).all()


def figures_of(book: RateBook, pipeline: PipelineInfo, rows: list[Any], base: str,
               only: set[int] | None = None) -> dict[int, Figures]:  # fmt: skip
    """Count, total and weighted total of every open column (or of those in ``only``) from :func:`open_sums`."""
    sums: dict[int, list[tuple[str, int, int, int]]] = defaultdict(list)
    for stage_id, currency, count, total, weighted in rows:
        sums[stage_id].append((currency or base, int(count), int(total or 0), int(weighted or 0)))
    stages = [s for s in pipeline.open_stages if only is None or s.id in only]
    return {stage.id: _figures(book, sums.get(stage.id, []), base) for stage in stages}


def column_figures(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, today: dt.date, base: str,
    only: set[int] | None = None,
) -> dict[int, Figures]:  # fmt: skip
    """Figures of every open column (or of the stages in ``only``), by stage id."""
    rows = open_sums(session, viewer, flt, pipeline, today, only)
    return figures_of(rate_book(session, {row[1] for row in rows if row[1]}), pipeline, rows, base, only)


def board_figures(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, today: dt.date, base: str,
    start: dt.date | None, end: dt.date | None,
) -> tuple[dict[int, Figures], dict[int, Figures]]:  # fmt: skip
    """The columns' and the won/lost zones' figures of a whole board: two grouped queries and one of rates."""
    open_rows = open_sums(session, viewer, flt, pipeline, today)
    closed_rows = closed_sums(session, viewer, flt, pipeline, today, start, end)
    dates = [row[2] for row in closed_rows if row[2] is not None]
    currencies = {row[1] for row in open_rows if row[1]} | {row[1] for row in closed_rows if row[1]}
    book = rate_book(session, currencies, min(dates) if dates else None)
    return figures_of(book, pipeline, open_rows, base), zones_of(book, pipeline, closed_rows, base)


def _figures(book: RateBook, rows: list[tuple[str, int, int, int]], base: str) -> Figures:
    found = Figures(count=sum(r[1] for r in rows))
    total = weighted = 0
    missing: list[str] = []
    for currency, _count, amount, weight in sorted(rows):
        money = Money(amount, currency)
        weighted_money = Money(_half_even(Decimal(weight) / 100), currency)
        found.by_currency.append((money, weighted_money))
        try:
            total += book.to_base(money).minor
            weighted += book.to_base(weighted_money).minor
        except RateMissing:
            missing.append(currency)
    if missing:
        found.missing = tuple(missing)
    else:
        found.total, found.weighted = Money(total, base), Money(weighted, base)
    return found


def closed_sums(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, today: dt.date,
    start: dt.date | None, end: dt.date | None,
) -> list[Any]:  # fmt: skip
    """(closing stage, currency, close day, count, total) of the won and lost deals closed in ``[start, end)``,
    in one grouped query (one owner's: the (owner, status, closed_on) indexes of pipeline_0004)."""
    outcomes = [o for o in (WON, LOST) if any(s.outcome == o for s in _closing(pipeline))]
    if not outcomes:
        return []
    # the pipeline behind a CASE: (owner, status, pipeline, ...) of the board index would otherwise look as
    # good as (owner, status, closed_on) to SQLite's planner without statistics, and read every closed deal
    closed = replace(flt, pipeline_id=None, status="all", start=None, end=None)
    in_pipeline = case((Opportunity.pipeline_id == pipeline.id, 1), else_=0) == 1
    columns = [Opportunity.stage_id, Opportunity.amount_currency, Opportunity.closed_on, Opportunity.amount_minor]
    found = deals(closed, viewer, today, columns, in_pipeline, Opportunity.status.in_(outcomes),
                  closed_between(start, end))  # fmt: skip
    return session.execute(
        select(found.c.stage_id, found.c.amount_currency, found.c.closed_on, func.count(),
               func.sum(found.c.amount_minor))
        .group_by(found.c.stage_id, found.c.amount_currency, found.c.closed_on)
    ).all()  # fmt: skip


def _closing(pipeline: PipelineInfo) -> list[StageInfo]:
    return [s for s in pipeline.stages if s.closed and not s.archived]


def zones_of(book: RateBook, pipeline: PipelineInfo, rows: list[Any], base: str) -> dict[int, Figures]:
    """Won and lost figures by closing stage from :func:`closed_sums`: each close day's sum at that day's rate."""
    by_stage: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_stage[row[0]].append(row)
    return {stage.id: _closed_figures(book, by_stage.get(stage.id, []), base) for stage in _closing(pipeline)}


def zone_figures(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, today: dt.date, base: str,
    start: dt.date | None, end: dt.date | None,
) -> dict[int, Figures]:  # fmt: skip
    """Won and lost deals of the period by closing stage: count and total in the base currency."""
    rows = closed_sums(session, viewer, flt, pipeline, today, start, end)
    dates = [row[2] for row in rows if row[2] is not None]
    book = rate_book(session, {row[1] for row in rows if row[1]}, min(dates) if dates else None,
                     max(dates) + dt.timedelta(days=1) if dates else None)  # fmt: skip
    return zones_of(book, pipeline, rows, base)


def closed_between(start: dt.date | None, end: dt.date | None) -> Any:
    """Closed in ``[start, end)``: a range of the (owner, status, closed_on) and (status, closed_on) indexes."""
    parts = [Opportunity.closed_on.is_not(None)]
    if start is not None:
        parts.append(Opportunity.closed_on >= start)
    if end is not None:
        parts.append(Opportunity.closed_on < end)
    return and_(*parts)


def _closed_figures(book: RateBook, rows: list[Any], base: str) -> Figures:
    found = Figures(count=sum(int(r[3]) for r in rows))
    per_currency: dict[str, int] = defaultdict(int)
    total = 0
    missing: set[str] = set()
    for _stage, currency, closed_on, _count, amount in rows:
        money = Money(int(amount or 0), currency or base)
        per_currency[money.currency] += money.minor
        try:
            total += book.to_base(money, closed_on).minor
        except RateMissing:
            missing.add(money.currency)
    found.by_currency = [(Money(v, c), Money(v, c)) for c, v in sorted(per_currency.items())]
    if missing:
        found.missing = tuple(sorted(missing))
    else:
        found.total = Money(total, base)
    return found


def _card_query() -> Any:
    return select(*CARD_COLUMNS, Party.name.label("customer")).outerjoin(Party, Party.id == Opportunity.customer_id)


def board_cards(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, today: dt.date, limit: int,
) -> dict[int, tuple[list[Any], bool]]:  # fmt: skip
    """Every open column's first ``limit`` card rows (soonest close first, undated last) and whether more
    follow, by stage id, in one query instead of one a column: ROW_NUMBER per stage over the ids of the
    filter's open deals (one owner's: read from the owner's board index alone), then the card rows of the
    few ranked high enough."""
    found = deals(open_filter(flt, pipeline), viewer, today,
                  [Opportunity.id, Opportunity.stage_id, Opportunity.expected_close])  # fmt: skip
    rank = func.row_number().over(partition_by=found.c.stage_id,
                                  order_by=(found.c.expected_close.asc().nulls_last(), found.c.id))  # fmt: skip
    ranked = select(found.c.id, rank.label("rank")).subquery("ranked")
    rows = session.execute(
        select(*CARD_COLUMNS, Party.name.label("customer"))
        .select_from(ranked)
        .join(Opportunity, Opportunity.id == ranked.c.id)
        .outerjoin(Party, Party.id == Opportunity.customer_id)
        .where(ranked.c.rank <= limit + 1)
        .order_by(Opportunity.stage_id, ranked.c.rank)
    ).all()
    by_stage: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_stage[row.stage_id].append(row)
    return {s.id: (by_stage[s.id][:limit], len(by_stage[s.id]) > limit) for s in pipeline.open_stages}


def column_ids(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, stage: StageInfo, today: dt.date,
    limit: int, offset: int = 0,
) -> tuple[list[int], bool]:  # fmt: skip
    """Ids of up to ``limit`` deals of a column from ``offset`` (soonest close first, undated last), and whether
    more follow. Ids only, so the sort reads the board index rather than whole rows; :func:`rows_by_id`
    fetches the few cards shown."""
    found = deals(open_filter(flt, pipeline), viewer, today, [Opportunity.id, Opportunity.expected_close],
                  Opportunity.stage_id == stage.id)  # fmt: skip
    ids = session.scalars(
        select(found.c.id)
        .order_by(found.c.expected_close.asc().nulls_last(), found.c.id)
        .limit(limit + 1)
        .offset(offset)
    ).all()
    return list(ids[:limit]), len(ids) > limit


def rows_by_id(session: Session, ids: list[int]) -> list[Any]:
    """Card rows of ``ids`` (already filtered by the caller), in the order of ``ids``."""
    if not ids:
        return []
    found = {row.id: row for row in session.execute(_card_query().where(Opportunity.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def column_cards(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, stage: StageInfo, today: dt.date,
    limit: int, offset: int = 0,
) -> tuple[list[Any], bool]:  # fmt: skip
    """Up to ``limit`` card rows of a column from ``offset``, and whether more follow."""
    ids, more = column_ids(session, viewer, flt, pipeline, stage, today, limit, offset)
    return rows_by_id(session, ids), more


def card_row(session: Session, viewer: Any, deal_id: int, today: dt.date) -> Any:
    """One live deal the viewer may see, as a card row (any status), or None."""
    where = DealFilter(owner="all", status="all").clauses(viewer, today)
    return session.execute(_card_query().where(*where, Opportunity.id == deal_id)).first()


def owner_labels(session: Session, rows: list[Any]) -> dict[tuple[str, int], tuple[str, str]]:
    """(initials, full name) of the users and teams owning ``rows``, in one query."""
    users = sorted({r.owner_user_id for r in rows if r.owner_user_id})
    teams = sorted({r.owner_team_id for r in rows if r.owner_team_id})
    parts = []
    if users:
        parts.append(select(literal("u"), User.id, func.coalesce(func.nullif(User.display_name, ""), User.username))
                     .where(User.id.in_(users)))  # fmt: skip
    if teams:
        parts.append(select(literal("t"), Team.id, Team.name).where(Team.id.in_(teams)))
    if not parts:
        return {}
    found = session.execute(union_all(*parts) if len(parts) > 1 else parts[0]).all()
    return {(kind, row_id): (_initials(name), name) for kind, row_id, name in found}


def _initials(name: str) -> str:
    parts = [p for p in (name or "").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


@functools.lru_cache(maxsize=4096)
def _date_text(day: dt.date, language: str) -> str:
    return format_date(day, format="d MMM y", locale=language)


@functools.lru_cache(maxsize=1024)
def _days_text(days: int, language: str) -> str:
    return ngettext("%(num)s day", "%(num)s days", days) % {"num": days}


def cards(rows: list[Any], labels: dict[tuple[str, int], tuple[str, str]], stages: dict[int, StageInfo],
          today: dt.date, now: dt.datetime | None = None) -> list[Card]:  # fmt: skip
    """Card view models of ``rows``: owner initials, days in stage and the overdue and lingering flags, the
    amount, close date and days already written out (the template only places them)."""
    now = now or utcnow()
    language = i18n.current_language.get()
    found = []
    for r in rows:
        owner = labels.get(("u", r.owner_user_id)) if r.owner_user_id else labels.get(("t", r.owner_team_id or 0))
        entered = r.stage_entered_at
        days = max(0, (now - entered).days) if entered is not None else 0
        stage = stages.get(r.stage_id)
        expected = stage.expected_days if stage is not None else None
        money = Money(int(r.amount_minor or 0), r.amount_currency)
        found.append(
            Card(
                r.id, r.version, r.name, r.customer_id, r.customer or "", r.stage_id, r.status, money,
                r.expected_close, r.probability, owner[0] if owner else "", owner[1] if owner else "", days,
                r.status == OPEN and r.expected_close is not None and r.expected_close < today,
                r.status == OPEN and expected is not None and days > expected,
                format_money(money), _date_text(r.expected_close, language) if r.expected_close else "",
                _days_text(days, (language)),
            )
        )  # fmt: skip
    return found

"""What the board reads: per-column counts and totals, the cards of a column, the won/lost zones, one card.

Every read is SQLAlchemy Core under a :class:`~.deal_filters.DealFilter` (so under the viewer's visibility)
and walks the board indexes of :mod:`.models`: one grouped query for every column's figures, one short
ordered query per column for its cards, one grouped query per closed outcome for the zones. Nothing here
loads ORM objects: a board of 250 cards is read in a few milliseconds.

Money: a column's total and weighted total are in the base currency, each currency's sum converted once at
the latest rate (open deals); the zones convert each close day's sum at that day's rate. When a rate is
missing the column keeps its per-currency sums and names the currencies it could not convert.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from babel.dates import format_date
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from voronka.core import i18n
from voronka.core.company import company_settings
from voronka.core.currency import RateBook, RateMissing
from voronka.core.i18n import ngettext
from voronka.core.models import Team, User
from voronka.core.models_company import ExchangeRate
from voronka.core.templating import format_money
from voronka.core.types import Money, currency_exponent, utcnow
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
    """The rates a board converts with: per currency the one in force on ``start`` (default today) and any
    dated after it up to ``end`` (exclusive) or today. ``RateBook.load`` would read every rate ever stored
    (two years of daily rates: 1,500 rows, 7 ms, three times a board)."""
    company = company_settings(session)
    today = company.today()
    first = min(start or today, today)
    last = min(end - dt.timedelta(days=1), today) if end is not None else today
    rates: dict[str, list[tuple[dt.date, Decimal]]] = {}
    for code in sorted({c.upper() for c in currencies if c} - {company.base_currency}):
        rows = list(session.execute(
            select(ExchangeRate.valid_on, ExchangeRate.rate)
            .where(ExchangeRate.currency == code, ExchangeRate.valid_on <= first)
            .order_by(ExchangeRate.valid_on.desc()).limit(1)
        ))  # fmt: skip
        if last > first:
            rows += list(session.execute(
                select(ExchangeRate.valid_on, ExchangeRate.rate)
                .where(ExchangeRate.currency == code, ExchangeRate.valid_on > first, ExchangeRate.valid_on <= last)
                .order_by(ExchangeRate.valid_on)
            ))  # fmt: skip
        if rows:
            rates[code] = [(on, Decimal(rate)) for on, rate in rows]
    return RateBook(company.base_currency, rates, today)


def _half_even(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def open_filter(flt: DealFilter, pipeline: PipelineInfo) -> DealFilter:
    """The board's columns: the filter's owner, period and name, open deals of this pipeline."""
    return replace(flt, pipeline_id=pipeline.id, status=OPEN)


def column_figures(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, today: dt.date, base: str,
    only: set[int] | None = None,
) -> dict[int, Figures]:  # fmt: skip
    """Count, total and weighted total of every open column (or of the stages in ``only``: a move reads
    the two columns it changed), by stage id, in one grouped query."""
    where = open_filter(flt, pipeline).clauses(viewer, today)
    if only is not None:
        where.append(Opportunity.stage_id.in_(sorted(only)))
    rows = session.execute(
        select(
            Opportunity.stage_id,
            Opportunity.amount_currency,
            func.count(),
            func.sum(Opportunity.amount_minor),
            func.sum(Opportunity.amount_minor * Opportunity.probability),
        )
        .where(*where)
        .group_by(Opportunity.stage_id, Opportunity.amount_currency)
    ).all()
    book = rate_book(session, {row[1] for row in rows if row[1]})
    sums: dict[int, list[tuple[str, int, int, int]]] = defaultdict(list)
    for stage_id, currency, count, total, weighted in rows:
        sums[stage_id].append((currency or base, int(count), int(total or 0), int(weighted or 0)))
    stages = [s for s in pipeline.open_stages if only is None or s.id in only]
    return {stage.id: _figures(book, sums.get(stage.id, []), base) for stage in stages}


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


def zone_figures(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, today: dt.date, base: str,
    start: dt.date | None, end: dt.date | None,
) -> dict[int, Figures]:  # fmt: skip
    """Won and lost deals of the period by closing stage: count and total in the base currency, each close
    day's sum at that day's rate."""
    found: dict[int, Figures] = {}
    closing = [s for s in pipeline.stages if s.closed and not s.archived]
    for outcome in (WON, LOST):
        if not any(s.outcome == outcome for s in closing):
            continue
        where = replace(flt, pipeline_id=pipeline.id, status=outcome, start=None, end=None).clauses(viewer, today)
        where.append(closed_between(start, end, narrow=flt.owner == "mine" or flt.owner.startswith(("u:", "t:"))))
        rows = session.execute(
            select(Opportunity.stage_id, Opportunity.amount_currency, Opportunity.closed_on, func.count(),
                   func.sum(Opportunity.amount_minor))
            .where(*where)
            .group_by(Opportunity.stage_id, Opportunity.amount_currency, Opportunity.closed_on)
        ).all()  # fmt: skip
        dates = [row[2] for row in rows if row[2] is not None]
        book = rate_book(session, {row[1] for row in rows if row[1]}, min(dates) if dates else None,
                         max(dates) + dt.timedelta(days=1) if dates else None)  # fmt: skip
        by_stage: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            by_stage[row[0]].append(row)
        for stage in (s for s in closing if s.outcome == outcome):
            found[stage.id] = _closed_figures(book, by_stage.get(stage.id, []), base)
    return found


def closed_between(start: dt.date | None, end: dt.date | None, narrow: bool) -> Any:
    """Closed in ``[start, end)``. For one owner (``narrow``) behind a CASE, so SQLite reads the owner's
    index rather than every owner's deals closed in the period (a quarter at a million deals: 50,000 rows
    instead of the owner's 3,000; an index on (owner, status, closed_on) would make it a few dozen)."""
    parts = [Opportunity.closed_on.is_not(None)]
    if start is not None:
        parts.append(Opportunity.closed_on >= start)
    if end is not None:
        parts.append(Opportunity.closed_on < end)
    return case((and_(*parts), 1), else_=0) == 1 if narrow else and_(*parts)


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


def column_ids(
    session: Session, viewer: Any, flt: DealFilter, pipeline: PipelineInfo, stage: StageInfo, today: dt.date,
    limit: int, offset: int = 0,
) -> tuple[list[int], bool]:  # fmt: skip
    """Ids of up to ``limit`` deals of a column from ``offset`` (soonest close first, undated last), and whether
    more follow. Ids only, so the sort reads the board index rather than whole rows; :func:`rows_by_id`
    fetches the few cards shown."""
    where = open_filter(flt, pipeline).clauses(viewer, today)
    ids = session.scalars(
        select(Opportunity.id)
        .where(*where, Opportunity.stage_id == stage.id)
        .order_by(Opportunity.expected_close.asc().nulls_last(), Opportunity.id)
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
    """(initials, full name) of the users and teams owning ``rows``: two queries for a board."""
    users = {r.owner_user_id for r in rows if r.owner_user_id}
    teams = {r.owner_team_id for r in rows if r.owner_team_id}
    found: dict[tuple[str, int], tuple[str, str]] = {}
    if users:
        for uid, name, username in session.execute(
            select(User.id, User.display_name, User.username).where(User.id.in_(users))
        ):
            found[("u", uid)] = (_initials(name or username), name or username)
    if teams:
        for tid, name in session.execute(select(Team.id, Team.name).where(Team.id.in_(teams))):
            found[("t", tid)] = (_initials(name), name)
    return found


def _initials(name: str) -> str:
    parts = [p for p in (name or "").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


@functools.lru_cache(maxsize=512)
def _money_shape(currency: str, language: str) -> tuple[str, str, str, str]:
    """(prefix, group separator, decimal separator, suffix) of money in ``currency`` as the viewer's locale
    writes it, read once from the shared ``money`` filter: Babel costs a hundred microseconds or more per
    amount, which a board of 250 cards cannot pay."""
    exponent = currency_exponent(currency)
    probe = format_money(1234567 * 10**exponent + (12 if exponent >= 2 else 1 if exponent else 0), currency)
    digits = [i for i, ch in enumerate(probe) if ch.isdigit()]
    first, last = digits[0], digits[-1]
    body = probe[first : last + 1]
    group = body[1] if not body[1].isdigit() else ""
    decimal = body[-(exponent + 1)] if exponent else ""
    return probe[:first], group, decimal, probe[last + 1 :]


def money_text(money: Money) -> str:
    """``money`` as the ``money`` filter shows it (amounts are never negative here), fast."""
    language = i18n.current_language.get()
    prefix, group, decimal, suffix = _money_shape(money.currency, language)
    exponent = currency_exponent(money.currency)
    whole, fraction = divmod(money.minor, 10**exponent)
    text = f"{whole:,}".replace(",", group)
    if exponent:
        text += decimal + f"{fraction:0{exponent}d}"
    return prefix + text + suffix


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
                money_text(money), _date_text(r.expected_close, language) if r.expected_close else "",
                _days_text(days, (language)),
            )
        )  # fmt: skip
    return found

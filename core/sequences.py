"""Gap-free numbering (quotes, orders, invoices), safe across processes.

:func:`next_number` takes the number inside the caller's transaction with one
``UPDATE … SET next_value = next_value + 1 … RETURNING``: on PostgreSQL the row stays locked until the
caller commits or rolls back, so concurrent writers queue on it; on SQLite the caller's write transaction
(``write_transaction``, ``BEGIN IMMEDIATE``) already excludes every other writer. A transaction that rolls
back gives its number back, so committed numbers have no gaps.

With ``per_year`` the counter starts again at 1 in a new year (the calendar year in the company time
zone) and the year is part of the number: ``Q-2026-00042``. A date from an earlier year than the counter's
keeps numbering in the counter's year, so numbers never repeat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, insert, or_, select, update
from sqlalchemy.orm import Session

from .company import company_settings
from .errors import VoronkaError
from .models_company import NumberSequence

_table = NumberSequence.__table__


class UnknownSequence(VoronkaError):
    """``next_number`` was asked for a sequence nobody defined."""


@dataclass(frozen=True)
class SequenceInfo:
    key: str
    label: str
    prefix: str
    digits: int
    per_year: bool
    year: int | None
    next_value: int


def format_number(prefix: str, digits: int, per_year: bool, year: int | None, value: int) -> str:
    parts = [prefix] if prefix else []
    if per_year and year is not None:
        parts.append(str(year))
    parts.append(f"{value:0{digits}d}")
    return "-".join(parts)


def define_sequence(
    session: Session, key: str, *, prefix: str = "", digits: int = 5, per_year: bool = True, label: str = ""
) -> None:
    """Create the sequence unless it exists (an existing one keeps its settings and counter).

    Safe when several processes do it at once (``INSERT … ON CONFLICT DO NOTHING`` on both engines), so a
    plugin can call it from ``startup`` or ``seed``.
    """
    if not key or len(key) > 60:
        raise ValueError("a sequence key is 1 to 60 characters")
    if not 1 <= digits <= 12:
        raise ValueError("digits must be between 1 and 12")
    values = {"key": key, "label": label[:120], "prefix": prefix[:20], "digits": digits, "per_year": per_year,
              "year": None, "next_value": 1}  # fmt: skip
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(_table).values(values).on_conflict_do_nothing(index_elements=["key"]))
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(_table).values(values).on_conflict_do_nothing(index_elements=["key"]))
    else:  # pragma: no cover - the two supported engines are handled above
        if session.get(NumberSequence, key) is None:
            session.execute(insert(_table).values(values))


def _take(session: Session, key: str, on: dt.date | None) -> Any:
    year = (on or company_settings(session).today()).year
    c = _table.c
    restart = and_(c.per_year, or_(c.year.is_(None), c.year < year))
    row = session.execute(
        update(_table)
        .where(c.key == key)
        .values(
            next_value=case((restart, 2), else_=c.next_value + 1),
            year=case((restart, year), else_=c.year),
        )
        .returning(c.next_value, c.year, c.prefix, c.digits, c.per_year)
    ).one_or_none()
    if row is None:
        raise UnknownSequence(f"No numbering sequence {key!r}; define it first with define_sequence().")
    return row


def next_number(session: Session, key: str, *, on: dt.date | None = None) -> str:
    """The next formatted number of ``key`` (like ``Q-2026-00042``), taken in the caller's transaction.

    Call it inside the transaction that saves the numbered record, so a rollback gives the number back.
    """
    row = _take(session, key, on)
    return format_number(row.prefix, row.digits, row.per_year, row.year, row.next_value - 1)


def next_value(session: Session, key: str, *, on: dt.date | None = None) -> tuple[int, int | None]:
    """Like :func:`next_number`, unformatted: (value, year)."""
    row = _take(session, key, on)
    return row.next_value - 1, row.year


def sequences(session: Session) -> list[SequenceInfo]:
    rows = session.execute(select(_table).order_by(_table.c.key)).mappings()
    return [SequenceInfo(**row) for row in rows]


def upcoming(session: Session, info: SequenceInfo, on: dt.date | None = None) -> str:
    """The number the next call would hand out (for display; another writer may take it first)."""
    year = (on or company_settings(session).today()).year
    if info.per_year and (info.year is None or info.year < year):
        return format_number(info.prefix, info.digits, True, year, 1)
    return format_number(info.prefix, info.digits, info.per_year, info.year, info.next_value)


__all__ = [
    "SequenceInfo",
    "UnknownSequence",
    "define_sequence",
    "format_number",
    "next_number",
    "next_value",
    "sequences",
    "upcoming",
]

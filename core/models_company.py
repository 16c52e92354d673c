"""Company tables: exchange rates by date and gap-free numbering sequences (settings live in core_setting)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base
from .types import UTCDateTime, utcnow


class ExchangeRate(Base):
    """One unit of ``currency`` was worth ``rate`` units of the base currency from ``valid_on`` on.

    ``rate`` is an exact decimal kept as text (SQLite would turn a ``Numeric`` into a float); it is read
    back with :class:`decimal.Decimal`.
    """

    __tablename__ = "core_exchange_rate"

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    valid_on: Mapped[dt.date] = mapped_column(Date)
    rate: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("currency", "valid_on"),)


class NumberSequence(Base):
    """A gap-free counter such as quote numbers; ``next_value`` is the number the next call hands out.

    With ``per_year`` the counter restarts at 1 when the year changes and the year appears in the number.
    """

    __tablename__ = "core_sequence"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    prefix: Mapped[str] = mapped_column(String(20), default="")
    digits: Mapped[int] = mapped_column(Integer, default=5)
    per_year: Mapped[bool] = mapped_column(Boolean, default=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_value: Mapped[int] = mapped_column(BigInteger, default=1)

    __table_args__ = (
        CheckConstraint("next_value >= 1", name="next_value"),
        CheckConstraint("digits >= 1 AND digits <= 12", name="digits"),
    )


__all__ = ["ExchangeRate", "NumberSequence"]

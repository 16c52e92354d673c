"""Column types that behave the same on SQLite and PostgreSQL: UTC time and money in minor units."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from .i18n import gettext as _
from .i18n import ngettext

UTC = dt.UTC


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC, returns timezone-aware UTC values on both engines; naive input is refused.

    SQLite has no time zones, so values are stored as naive UTC there; PostgreSQL stores timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class SearchKey(TypeDecorator[str]):
    """A text column compared byte-wise on both engines, so prefix ranges use a plain B-tree index."""

    impl = String(200)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(String(200, collation="C"))
        return dialect.type_descriptor(String(200))


CURRENCY_EXPONENTS = {"JPY": 0, "KRW": 0, "HUF": 2, "KWD": 3, "BHD": 3, "TND": 3, "OMR": 3, "JOD": 3}


def currency_exponent(code: str) -> int:
    return CURRENCY_EXPONENTS.get(code.upper(), 2)


MAX_MINOR_DIGITS = 17
"""Amounts are stored as 64-bit integers of minor units: more digits than this is never an amount."""


class AmountTooLarge(ValueError):
    """An amount with more digits than any stored amount can have (a form says so rather than "not a number")."""


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (kopiyky, cents) with its ISO 4217 currency; never a float.

    Store it as two columns, ``<name>_minor`` (BigInteger) and ``<name>_currency`` (String(3)), and map it
    with ``composite(Money, ...)`` when a model wants one attribute. Adding different currencies is an error:
    totals in the base currency go through stored exchange rates.
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int of minor units")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code")

    @classmethod
    def parse(cls, amount: str | Decimal | int, currency: str) -> Money:
        """Parse a decimal amount as typed by a person ("1 234,50" or "1234.50") into minor units."""
        currency = currency.strip().upper()
        if isinstance(amount, str):
            cleaned = amount.replace("\u00a0", "").replace(" ", "").replace(",", ".")
            if cleaned.count(".") > 1:
                raise ValueError(_("%(amount)s is not an amount") % {"amount": repr(amount)})
            try:
                amount = Decimal(cleaned)
            except Exception:
                raise ValueError(_("%(amount)s is not an amount") % {"amount": repr(amount)}) from None
        exp = currency_exponent(currency)
        if not Decimal(amount).is_finite():
            raise ValueError(_("%(amount)s is not an amount") % {"amount": repr(amount)})
        scaled = Decimal(amount) * (10**exp)
        if scaled and scaled.adjusted() > MAX_MINOR_DIGITS:  # before int(): "9e999999" would take hours
            raise AmountTooLarge(_("%(amount)s is too large for an amount") % {"amount": str(amount)[:40]})
        if scaled != scaled.to_integral_value():
            raise ValueError(
                ngettext(
                    "%(amount)s has more than %(num)d decimal place for %(currency)s",
                    "%(amount)s has more than %(num)d decimal places for %(currency)s",
                    exp,
                )
                % {"amount": amount, "num": exp, "currency": currency}
            )
        return cls(int(scaled), currency)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money can only be combined with Money")
        if other.currency != self.currency:
            raise ValueError(f"Cannot combine {self.currency} with {other.currency} without a rate")

    def __composite_values__(self) -> tuple[int, str]:
        return self.minor, self.currency

    def __str__(self) -> str:
        return f"{self.amount:,.{currency_exponent(self.currency)}f} {self.currency}".replace(",", "\u00a0")

"""Exchange rates by date and conversion into the company's base currency.

A rate says what one unit of a currency was worth in the base currency from its date on; the rate for a
day is the latest one dated on or before it. Closed amounts (a won deal) convert at the rate of their
close date, open amounts at the latest rate (on or before today in the company time zone).

Rounding: an amount is converted exactly (``minor × rate``, scaled between the two currencies' minor
units) and rounded once, half to even, to whole minor units of the base currency. Totals convert each
amount first and add the converted amounts; different currencies are never added to each other.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from .company import company_settings, currency_codes
from .errors import ValidationError, VoronkaError
from .i18n import gettext as _
from .models_company import ExchangeRate
from .types import Money, currency_exponent, utcnow

RATE_PLACES = 12
"""The most decimal places a stored rate keeps."""

RATE_DIGITS = 24
"""The most significant digits a stored rate keeps."""

_EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN)


class RateMissing(VoronkaError):
    """No exchange rate is stored for a currency on or before the day asked for."""

    def __init__(self, currency: str, on: dt.date, base: str):
        self.currency, self.on, self.base = currency, on, base
        super().__init__(
            _(
                "No exchange rate from %(currency)s to %(base)s on or before %(date)s. "
                "An administrator can add one under Administration, Company."
            )
            % {"currency": currency, "base": base, "date": on.isoformat()}
        )


def parse_rate(raw: str | Decimal | int) -> Decimal:
    """A rate as typed ("41,25" or "41.25"): positive, finite, at most 12 decimal places; else ValueError."""
    if isinstance(raw, str):
        text = raw.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        if not text:
            raise ValueError(_("Enter the rate."))
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("Enter the rate as a number such as 41.25.")) from None
    else:
        value = Decimal(raw)
    if not value.is_finite() or value <= 0:
        raise ValueError(_("The rate must be a number above zero."))
    if -value.normalize().as_tuple().exponent > RATE_PLACES:  # type: ignore[operator]
        raise ValueError(_("Keep the rate to at most %(num)d decimal places.") % {"num": RATE_PLACES})
    if len(value.normalize().as_tuple().digits) > RATE_DIGITS or value >= Decimal(10) ** 15:
        raise ValueError(_("The rate is too large."))
    return value.normalize()


def rate_text(rate: Decimal) -> str:
    """The canonical stored text of a rate (plain notation, no exponent, no trailing zeros)."""
    return format(rate.normalize(), "f")


def convert(money: Money, rate: Decimal, target: str) -> Money:
    """``money`` at ``rate`` (target units per unit of ``money``'s currency), half-even to minor units."""
    shift = currency_exponent(target) - currency_exponent(money.currency)
    exact = _EXACT.multiply(Decimal(money.minor), rate).scaleb(shift, _EXACT)
    return Money(int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), target)


def _check_currency(code: str) -> str:
    code = code.strip().upper()
    if code not in currency_codes():
        raise ValueError(_("%(code)s is not an ISO 4217 currency code such as UAH, EUR or USD.") % {"code": code[:10]})
    return code


def rate_on(session: Session, currency: str, on: dt.date) -> Decimal:
    """The rate of ``currency`` to the base currency on ``on``: the latest dated on or before it.

    The base currency's own rate is 1. Raises :class:`RateMissing` when no rate is that old.
    """
    base = company_settings(session).base_currency
    currency = currency.upper()
    if currency == base:
        return Decimal(1)
    found = session.scalar(
        select(ExchangeRate.rate)
        .where(ExchangeRate.currency == currency, ExchangeRate.valid_on <= on)
        .order_by(ExchangeRate.valid_on.desc())
        .limit(1)
    )
    if found is None:
        raise RateMissing(currency, on, base)
    return Decimal(found)


def latest_rate(session: Session, currency: str) -> Decimal:
    """The rate for today in the company time zone (a rate entered for a future day is not used yet)."""
    return rate_on(session, currency, company_settings(session).today())


def to_base(session: Session, money: Money, *, on: dt.date) -> Money:
    """A closed amount in the base currency, at the rate of ``on`` (its close date)."""
    base = company_settings(session).base_currency
    if money.currency == base:
        return money
    return convert(money, rate_on(session, money.currency, on), base)


def to_base_latest(session: Session, money: Money) -> Money:
    """An open amount in the base currency, at the latest rate."""
    return to_base(session, money, on=company_settings(session).today())


class RateBook:
    """Rates for many currencies and dates, loaded with one query, for reports that convert many amounts."""

    def __init__(self, base: str, rates: dict[str, list[tuple[dt.date, Decimal]]], today: dt.date):
        self.base = base
        self.today = today
        self._dates = {c: [d for d, _r in rows] for c, rows in rates.items()}
        self._rates = {c: [r for _d, r in rows] for c, rows in rates.items()}

    @classmethod
    def load(
        cls, session: Session, currencies: Iterable[str], up_to: dt.date | None = None, since: dt.date | None = None
    ) -> RateBook:
        """Every rate of ``currencies`` dated on or before ``up_to`` (default today), in one query.

        With ``since``, only the rates days from ``since`` on can need: the latest one on or before it and
        those after it (a report of one period need not read years of history)."""
        company = company_settings(session)
        today = company.today()
        wanted = sorted({c.upper() for c in currencies} - {company.base_currency})
        rates: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
        if wanted:
            upper = max(up_to or today, today)
            query = select(ExchangeRate.currency, ExchangeRate.valid_on, ExchangeRate.rate).where(
                ExchangeRate.currency.in_(wanted), ExchangeRate.valid_on <= upper
            )
            if since is not None:  # per currency, from the rate in force on that day (one indexed lookup each)
                bounds = []
                for currency in wanted:
                    in_force = (
                        select(func.max(ExchangeRate.valid_on))
                        .where(ExchangeRate.currency == currency, ExchangeRate.valid_on <= min(since, upper))
                        .scalar_subquery()
                    )
                    floor = func.coalesce(in_force, min(since, upper))
                    bounds.append(and_(ExchangeRate.currency == currency, ExchangeRate.valid_on >= floor))
                query = query.where(or_(*bounds))
            rows = session.execute(query.order_by(ExchangeRate.currency, ExchangeRate.valid_on))
            for currency, valid_on, rate in rows:
                rates[currency].append((valid_on, Decimal(rate)))
        return cls(company.base_currency, dict(rates), today)

    def rate_on(self, currency: str, on: dt.date) -> Decimal:
        if currency == self.base:
            return Decimal(1)
        dates = self._dates.get(currency, [])
        index = bisect.bisect_right(dates, on) - 1
        if index < 0:
            raise RateMissing(currency, on, self.base)
        return self._rates[currency][index]

    def to_base(self, money: Money, on: dt.date | None = None) -> Money:
        """At the rate of ``on`` for a closed amount; ``None`` means open (today's rate)."""
        if money.currency == self.base:
            return money
        return convert(money, self.rate_on(money.currency, on or self.today), self.base)

    def total(self, items: Iterable[tuple[Money, dt.date | None]]) -> Money:
        """The sum in the base currency of amounts converted one by one (see the module's rounding rule)."""
        minor = sum(self.to_base(m, on).minor for m, on in items)
        return Money(minor, self.base)


def to_base_many(session: Session, items: Sequence[tuple[Money, dt.date | None]]) -> list[Money]:
    """Convert many amounts with one query: each pair is (amount, close date), or (amount, None) when open."""
    dates = [on for _m, on in items if on is not None]
    book = RateBook.load(session, {m.currency for m, _on in items}, max(dates) if dates else None)
    return [book.to_base(m, on) for m, on in items]


def set_rate(session: Session, currency: str, on: dt.date, rate: str | Decimal) -> ExchangeRate:
    """Store (or replace) the rate of ``currency`` from ``on``; raise ValidationError on bad input."""
    errors: dict[str, str] = {}
    base = company_settings(session).base_currency
    code = ""
    try:
        code = _check_currency(currency)
        if code == base:
            errors["currency"] = _("%(code)s is the base currency: its rate is always 1.") % {"code": code}
    except ValueError as exc:
        errors["currency"] = str(exc)
    value = Decimal(0)
    try:
        value = parse_rate(rate)
    except ValueError as exc:
        errors["rate"] = str(exc)
    if errors:
        raise ValidationError(errors)
    row = session.scalar(select(ExchangeRate).where(ExchangeRate.currency == code, ExchangeRate.valid_on == on))
    if row is None:
        row = ExchangeRate(currency=code, valid_on=on, rate=rate_text(value), created_at=utcnow())
        session.add(row)
    else:
        row.rate, row.created_at = rate_text(value), utcnow()
    session.flush()
    return row


def delete_rate(session: Session, rate_id: int) -> bool:
    result = session.execute(delete(ExchangeRate).where(ExchangeRate.id == rate_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def rate_table(session: Session) -> dict[str, list[ExchangeRate]]:
    """Every stored rate by currency, newest first (the admin page's list)."""
    grouped: dict[str, list[ExchangeRate]] = defaultdict(list)
    for row in session.scalars(select(ExchangeRate).order_by(ExchangeRate.currency, ExchangeRate.valid_on.desc())):
        grouped[row.currency].append(row)
    return dict(grouped)


def rate_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ExchangeRate)) or 0


__all__ = [
    "RateBook",
    "RateMissing",
    "convert",
    "delete_rate",
    "latest_rate",
    "parse_rate",
    "rate_on",
    "set_rate",
    "to_base",
    "to_base_latest",
    "to_base_many",
]

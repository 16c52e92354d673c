"""Line and total arithmetic of quotes and orders, and the parsers for what people type into a line.

Each line is rounded on its own, to whole minor units of its currency (kopiyky, cents; yen have none):

    gross    = quantity × unit price                       → rounded
    discount = gross × discount %                          → rounded
    net      = gross − discount
    tax      = net × tax rate %                            → rounded
    total    = net + tax

Rounding is **half up** (0.5 of a minor unit goes away from zero, "commercial rounding"), the rule
invoices and VAT returns use here, done in :class:`~decimal.Decimal` from the stored integers, so the
result never depends on floating point or on the database engine. A document's totals are the sums of its
rounded lines: the printed lines always add up to the printed total, and the tax per rate is the sum of
the tax of that rate's lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from voronka.core.i18n import gettext as _
from voronka.core.types import currency_exponent

from .models import PERCENT_BP, QUANTITY_SCALE

ROUNDING = ROUND_HALF_UP
MAX_QUANTITY_MILLI = 10**12
"""A billion units: more is a typing slip, and products of quantity and price stay inside 64 bits."""
MAX_PRICE_MINOR = 10**13
"""A hundred billion units of a currency per item."""
MAX_LINE_MINOR = 10**15
"""The largest line total (the same bound as a deal's amount)."""


@dataclass(frozen=True)
class LineAmounts:
    """One priced line, every amount in minor units of the document's currency."""

    gross: int
    discount: int
    net: int
    tax: int
    total: int


@dataclass(frozen=True)
class Totals:
    """A document's header totals: sums of its rounded lines; ``taxes`` is the tax per rate (basis points)."""

    subtotal: int = 0
    discount: int = 0
    tax: int = 0
    total: int = 0
    taxes: tuple[tuple[int, int, int], ...] = ()
    """(tax rate in basis points, net of the lines at that rate, their tax), by rate."""

    @property
    def net(self) -> int:
        return self.subtotal - self.discount

    def columns(self) -> dict[str, int]:
        """The header columns the write path stores."""
        return {"subtotal_minor": self.subtotal, "discount_minor": self.discount, "tax_minor": self.tax,
                "total_minor": self.total}  # fmt: skip


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUNDING))


def price_line(quantity_milli: int, unit_price_minor: int, discount_bp: int, tax_rate_bp: int) -> LineAmounts:
    """One line's amounts, each rounded half up to whole minor units (see the module's docstring)."""
    gross = _round(Decimal(quantity_milli) * Decimal(unit_price_minor) / QUANTITY_SCALE)
    discount = _round(Decimal(gross) * Decimal(discount_bp) / PERCENT_BP)
    net = gross - discount
    tax = _round(Decimal(net) * Decimal(tax_rate_bp) / PERCENT_BP)
    return LineAmounts(gross, discount, net, tax, net + tax)


def totals(lines: Iterable[tuple[int, LineAmounts]]) -> Totals:
    """Header totals of ``(tax rate in basis points, amounts)`` per line: plain sums of the rounded lines."""
    subtotal = discount = tax = 0
    by_rate: dict[int, list[int]] = {}
    for rate, amounts in lines:
        subtotal += amounts.gross
        discount += amounts.discount
        tax += amounts.tax
        entry = by_rate.setdefault(rate, [0, 0])
        entry[0] += amounts.net
        entry[1] += amounts.tax
    taxes = tuple((rate, net, tax_sum) for rate, (net, tax_sum) in sorted(by_rate.items()))
    return Totals(subtotal, discount, tax, subtotal - discount + tax, taxes)


# -- what people type ----------------------------------------------------------------------------------


def _decimal(raw: str, message: str) -> Decimal:
    text = (raw or "").strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not text:
        raise ValueError(message)
    if len(text) > 30:
        raise ValueError(_("That number is too long."))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(message) from None
    if not value.is_finite():
        raise ValueError(message)
    return value


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_quantity(raw: str) -> int:
    """ "2,5" → 2500 (thousandths). Above zero, at most three decimal places."""
    value = _decimal(raw, _("Enter the quantity as a number such as 2 or 1.5."))
    if value <= 0:
        raise ValueError(_("The quantity must be above zero."))
    if _places(value) > 3:
        raise ValueError(_("Keep the quantity to at most three decimal places."))
    milli = int(value * QUANTITY_SCALE)
    if milli > MAX_QUANTITY_MILLI:
        raise ValueError(_("The quantity is too large."))
    return milli


def parse_percent(raw: str, *, what: str = "discount") -> int:
    """ "12.5" → 1250 basis points; 0 to 100 %, at most two decimal places; empty is 0."""
    if not (raw or "").strip():
        return 0
    message = (_("Enter the discount in percent, such as 10 or 12.5.") if what == "discount"
               else _("Enter the tax rate in percent, such as 20 or 7."))  # fmt: skip
    value = _decimal(raw, message)
    if value < 0 or value > 100:
        raise ValueError(_("A discount is a percentage from 0 to 100.") if what == "discount"
                         else _("A tax rate is a percentage from 0 to 100."))  # fmt: skip
    if _places(value) > 2:
        raise ValueError(_("Keep the percentage to at most two decimal places."))
    return int(value * 100)


def parse_price(raw: str, currency: str) -> int:
    """A unit price as typed ("1 234,50") in minor units of ``currency``; zero or more."""
    value = _decimal(raw, _("Enter the price as a number such as 1250.00."))
    if value < 0:
        raise ValueError(_("A price cannot be negative."))
    exponent = currency_exponent(currency)
    if _places(value) > exponent:
        if exponent == 0:
            raise ValueError(_("%(currency)s has no minor units: enter a whole number.") % {"currency": currency})
        raise ValueError(_("%(currency)s has %(n)d decimal places: round the price to them.")
                         % {"currency": currency, "n": exponent})  # fmt: skip
    minor = int(value.scaleb(exponent))
    if minor > MAX_PRICE_MINOR:
        raise ValueError(_("The price is too large."))
    return minor


def quantity_text(milli: int) -> str:
    """2500 → "2.5" (for a form's input)."""
    return format(Decimal(milli).scaleb(-3).normalize(), "f")


def percent_text(bp: int) -> str:
    """1250 → "12.5"."""
    return format(Decimal(bp).scaleb(-2).normalize(), "f")


def price_text(minor: int, currency: str) -> str:
    """123450 UAH → "1234.50"."""
    exponent = currency_exponent(currency)
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"

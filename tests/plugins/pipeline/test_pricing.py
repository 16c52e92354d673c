"""Line arithmetic: each line rounded half up to minor units, totals as sums of the rounded lines, and the
stored quote matching a total worked out by hand on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.plugins.pipeline import pricing, quotes
from voronka.plugins.pipeline.models import Quote, QuoteLine

# Worked out by hand, UAH (minor unit: kopiyka), rounding half up per line:
#  1. 3 × 199.99, no discount, VAT 20 %: gross 599.97; tax 119.994 → 119.99; total 719.96
#  2. 2.5 × 41.30, discount 12.5 %, VAT 20 %: gross 103.25; discount 12.90625 → 12.91; net 90.34;
#     tax 18.068 → 18.07; total 108.41
#  3. 1 × 10 001.50, no discount, 7 %: gross 10 001.50; tax 700.105 → 700.11 (half even would give 700.10);
#     total 10 701.61
#  subtotal 10 704.72, discount 12.91, tax 119.99 + 18.07 + 700.11 = 838.17, total 11 529.98
#  tax by rate: 20 % on 599.97 + 90.34 = 690.31 → 138.06; 7 % on 10 001.50 → 700.11
HAND_LINES = [
    quotes.LineInput(None, "Laptop stand", 3000, 19_999, 0, 2000),
    quotes.LineInput(None, "Cable, per metre", 2500, 4_130, 1250, 2000),
    quotes.LineInput(None, "Installation", 1000, 1_000_150, 0, 700),
]
HAND_LINE_AMOUNTS = [(59_997, 0, 59_997, 11_999, 71_996), (10_325, 1_291, 9_034, 1_807, 10_841),
                     (1_000_150, 0, 1_000_150, 70_011, 1_070_161)]  # fmt: skip
HAND_TOTALS = {"subtotal_minor": 1_070_472, "discount_minor": 1_291, "tax_minor": 83_817, "total_minor": 1_152_998}


def test_a_line_rounds_each_step_half_up() -> None:
    assert pricing.price_line(1000, 1_000_150, 0, 700) == pricing.LineAmounts(1_000_150, 0, 1_000_150, 70_011,
                                                                               1_070_161)  # fmt: skip
    # 0.5 of a kopiyka in the discount goes up: 1.25 × 0.10 = 0.125 → 0.13
    assert pricing.price_line(1000, 125, 1000, 0).discount == 13
    # the quantity's thousandths: 0.333 × 1.00 = 0.333 → 0.33
    assert pricing.price_line(333, 100, 0, 0).gross == 33


def test_totals_are_sums_of_the_rounded_lines() -> None:
    done, sums = quotes.priced(HAND_LINES)
    assert [(a.gross, a.discount, a.net, a.tax, a.total) for _l, a in done] == HAND_LINE_AMOUNTS
    assert sums.columns() == HAND_TOTALS
    assert sums.taxes == ((700, 1_000_150, 70_011), (2000, 69_031, 13_806))
    # summing before rounding would give a different tax: 0.2 × 690.31 = 138.062 → 138.06, but the
    # per-line taxes 119.99 + 18.07 make 138.06 too; the 7 % line shows why per line matters:
    assert sums.tax == sum(a.tax for _l, a in done)


@pytest.mark.parametrize(
    ("raw", "milli"), [("1", 1000), ("2,5", 2500), (" 0.125 ", 125), ("1 000", 1_000_000), ("1e2", 100_000)]
)
def test_quantities_are_parsed_to_thousandths(raw: str, milli: int) -> None:
    assert pricing.parse_quantity(raw) == milli


@pytest.mark.parametrize("raw", ["", "abc", "-1", "0", "0.0001", "NaN", "inf", "1" * 40, "1e20"])
def test_bad_quantities_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        pricing.parse_quantity(raw)


@pytest.mark.parametrize("raw", ["300", "-5", "100.01", "12.345", "ten", "nan"])
def test_bad_percentages_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        pricing.parse_percent(raw)


def test_prices_follow_the_currency_minor_unit() -> None:
    assert pricing.parse_price("1 234,50", "UAH") == 123_450
    assert pricing.parse_price("1500", "JPY") == 1500
    assert pricing.parse_price("1.234", "KWD") == 1234
    for raw, code in (("1.5", "JPY"), ("1.234", "EUR"), ("-1", "EUR"), ("x", "EUR"), ("1e30", "EUR")):
        with pytest.raises(ValueError):
            pricing.parse_price(raw, code)


def test_the_hand_computed_quote_is_what_the_database_holds(pipeline: Any) -> None:
    """Three lines, a discount and two tax rates, stored through the quote service on this engine."""
    customer = pipeline.organisation("ТОВ «Світанок»")
    kinds = pipeline.runtime.record_kinds
    with write_transaction(pipeline.runtime.sessions) as session:
        quote = quotes.create_quote(session, kinds["quote"], actor=pipeline.uid("sales"), customer_id=customer,
                                    currency="UAH", owner={"owner_user_id": pipeline.uid("sales")})  # fmt: skip
        quote_id, version = quote.id, quote.version
    with write_transaction(pipeline.runtime.sessions) as session:
        quotes.update_draft(session, kinds["quote"], quote_id, actor=pipeline.uid("sales"), expected_version=version,
                            lines=HAND_LINES)  # fmt: skip
    with pipeline.runtime.sessions() as session:
        stored = session.get(Quote, quote_id)
        assert {k: getattr(stored, k) for k in HAND_TOTALS} == HAND_TOTALS
        lines = session.scalars(select(QuoteLine).where(QuoteLine.quote_id == quote_id).order_by(QuoteLine.position))
        assert [(x.gross_minor, x.discount_minor, x.net_minor, x.tax_minor, x.total_minor) for x in lines] == (
            HAND_LINE_AMOUNTS)  # fmt: skip

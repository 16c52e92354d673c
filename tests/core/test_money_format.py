"""Money formatting's fast path (string work, shaped from Babel's output once per language and currency)
writes exactly what Babel writes, rounding whole amounts the way Decimal does."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from voronka.core import i18n, templating
from voronka.core.types import Money, currency_exponent


@pytest.mark.parametrize("language", ["en", "uk"])
@pytest.mark.parametrize("whole", [False, True])
def test_the_fast_path_writes_what_babel_writes(language: str, whole: bool) -> None:
    token = i18n.current_language.set(language)
    try:
        rng = random.Random(7)
        for code in ("UAH", "EUR", "USD", "JPY", "KWD"):
            exponent = currency_exponent(code)
            locale, pattern = templating._money_pattern(language, whole)
            assert templating._money_shape(language, code, exponent, whole) is not None
            for minor in [0, 1, 50, 150, 250, 999, *(rng.randrange(10 ** rng.randint(1, 14)) for _ in range(400))]:
                amount = Decimal(minor).scaleb(-exponent)
                expected = pattern.apply(
                    amount.to_integral_value() if whole else amount, locale, currency=code, currency_digits=not whole
                )
                assert templating.format_money(minor, code, whole=whole) == expected, (code, minor)
    finally:
        i18n.current_language.reset(token)


def test_negative_amounts_and_money_values_still_format() -> None:
    token = i18n.current_language.set("en")
    try:
        assert templating.format_money(-12345, "USD") == "-$123.45"
        assert templating.format_money(Money(250000, "EUR")) == "€2,500.00"
        assert templating.format_money(None) == ""
    finally:
        i18n.current_language.reset(token)

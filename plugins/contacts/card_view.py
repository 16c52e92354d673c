"""What makes the customer card cheap to show: dates formatted without re-reading the locale's patterns,
messages translated as the templates translate them (its statements are kept in
:class:`voronka.core.statements.StatementCache`, keyed by the viewer's visibility).

Much of what the most read page costs is Python around indexed SQL: Babel looks up and parses the same
date patterns for every timestamp; here a pattern is parsed once per language, zone and width.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import DateTimeFormat, get_date_format, get_datetime_format, get_time_format, parse_pattern
from markupsafe import Markup

from voronka.core import i18n

WIDTHS = ("full", "long", "medium", "short")


def tr(message: str, **variables: Any) -> Markup:
    """A message as the templates' ``_()`` gives it: the translation is trusted markup, values are escaped
    (the same text whether a view model or the template translates it)."""
    return Markup(i18n.gettext(message)) % variables


def _number(width: int, read: Callable[[Any], int]) -> Callable[[Any], str]:
    """A field Babel writes as the number zero-padded to the pattern's width."""
    return lambda value: f"{read(value):0{width}d}"


_NUMBERS: dict[str, Callable[[Any], str]] = {
    "y": _number(1, lambda v: v.year),
    "yy": lambda v: f"{v.year:02d}"[-2:],
    "yyyy": _number(4, lambda v: v.year),
}
for _width in (1, 2):
    _NUMBERS["d" * _width] = _number(_width, lambda v: v.day)
    _NUMBERS["M" * _width] = _number(_width, lambda v: v.month)
    _NUMBERS["H" * _width] = _number(_width, lambda v: v.hour)
    _NUMBERS["h" * _width] = _number(_width, lambda v: v.hour % 12 or 12)
    _NUMBERS["m" * _width] = _number(_width, lambda v: v.minute)
    _NUMBERS["s" * _width] = _number(_width, lambda v: v.second)


class _Fields(DateTimeFormat):
    """Babel's pattern fields, the plain numbers (day, month, year, hour, minute, second) computed directly
    as Babel computes them; every other field (names, periods, zones) through Babel itself."""

    def __getitem__(self, name: str) -> str:
        number = _NUMBERS.get(name)
        return number(self.value) if number is not None else super().__getitem__(name)


@functools.lru_cache(maxsize=64)
def _formatter(tz: str, lang: str, width: str) -> Callable[[dt.datetime], str]:
    """What Babel's ``format_datetime(value, width, locale=lang)`` does, with the patterns looked up once."""
    try:
        zone: dt.tzinfo = ZoneInfo(tz)
    except Exception:
        zone = ZoneInfo("UTC")
    locale = Locale.parse(lang)
    joined = get_datetime_format(width, locale=locale).replace("'", "")
    time_format = parse_pattern(get_time_format(width, locale=locale)).format
    date_format = parse_pattern(get_date_format(width, locale=locale)).format

    def format_one(value: dt.datetime) -> str:
        local = value.astimezone(zone)
        day = local.date()
        shown_time = time_format % _Fields(local.timetz(), locale, day)
        return joined.replace("{0}", shown_time).replace("{1}", date_format % _Fields(day, locale))

    return format_one


def datetime_format(tz: str | None, width: str = "short") -> Callable[[dt.datetime | None], str]:
    """A function formatting times as the templates' ``datetime`` filter does (same text), for ``tz`` (a
    zone name; UTC when unknown) in the request's language."""
    if width not in WIDTHS:
        raise ValueError(f"not a date width: {width}")
    one = _formatter(tz or "UTC", i18n.current_language.get(), width)

    def format_value(value: dt.datetime | None) -> str:
        return "" if value is None else one(value)

    return format_value


@functools.lru_cache(maxsize=64)
def _date_formatter(lang: str, width: str) -> Callable[[dt.date], str]:
    locale = Locale.parse(lang)
    pattern = parse_pattern(get_date_format(width, locale=locale)).format
    return lambda value: pattern % _Fields(value, locale)


def date_format(width: str = "medium") -> Callable[[dt.date | None], str]:
    """A function formatting dates as Babel's ``format_date(value, width, locale=<request's language>)`` does
    (same text), for pages that show many dates (a card's relationship periods)."""
    if width not in WIDTHS:
        raise ValueError(f"not a date width: {width}")
    one = _date_formatter(i18n.current_language.get(), width)

    def format_value(value: dt.date | None) -> str:
        return "" if value is None else one(value)

    return format_value

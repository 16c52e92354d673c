"""Plan periods: fiscal months, quarters and years in company time, named for people and for URLs.

A period is ``[start, end)`` in company-local days; the fiscal year starts in the month company settings
name. URLs carry a period as ``kind:start`` (``quarter:2026-10-01``); :func:`parse` refuses one that is not a
real period of that kind, with a message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from voronka.core.company import CompanySettings
from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _

from .models import MONTH, PERIOD_KINDS, QUARTER, YEAR

MONTHS = {MONTH: 1, QUARTER: 3, YEAR: 12}


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    """One plan period: ``kind`` (month, quarter, year) over ``[start, end)``."""

    start: dt.date
    end: dt.date
    kind: str

    @property
    def key(self) -> str:
        """How URLs and forms name the period: ``quarter:2026-10-01``."""
        return f"{self.kind}:{self.start.isoformat()}"

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def overlaps(self, start: dt.date, end: dt.date) -> bool:
        return start < self.end and self.start < end

    def elapsed(self, today: dt.date) -> float:
        """How much of the period is behind us at the end of ``today``, 0.0 to 1.0: the pace a plan should
        be at ("by today you should be at 45%")."""
        if today < self.start:
            return 0.0
        if today >= self.last:
            return 1.0
        return ((today - self.start).days + 1) / self.days

    def label(self, settings: CompanySettings) -> str:
        """ "November 2026", "Q2 FY2027", "FY2027" (a fiscal year is named by the calendar year it ends in)."""
        fiscal = settings.fiscal_year(self.start)
        if self.kind == YEAR:
            return _("FY%(year)s") % {"year": fiscal} if settings.fiscal_year_start_month != 1 else str(fiscal)
        if self.kind == QUARTER:
            quarter = settings.fiscal_quarter(self.start)
            if settings.fiscal_year_start_month == 1:
                return _("Q%(quarter)s %(year)s") % {"quarter": quarter, "year": fiscal}
            return _("Q%(quarter)s FY%(year)s") % {"quarter": quarter, "year": fiscal}
        return month_name(self.start)


def month_name(day: dt.date) -> str:
    names = (_("January"), _("February"), _("March"), _("April"), _("May"), _("June"), _("July"), _("August"),
             _("September"), _("October"), _("November"), _("December"))  # fmt: skip
    return f"{names[day.month - 1]} {day.year}"


def containing(settings: CompanySettings, kind: str, day: dt.date) -> Period:
    """The ``kind`` period that ``day`` falls in."""
    if kind == YEAR:
        start, end = settings.fiscal_year_bounds(day)
    elif kind == QUARTER:
        start, end = settings.fiscal_quarter_bounds(day)
    elif kind == MONTH:
        start = day.replace(day=1)
        end = add_months(start, 1)
    else:
        raise ValidationError({"period": _("Choose a month, a quarter or a year.")})
    return Period(start, end, kind)


def current(settings: CompanySettings, kind: str = QUARTER) -> Period:
    return containing(settings, kind, settings.today())


def shift(period: Period, steps: int) -> Period:
    """The period ``steps`` periods of the same kind later (earlier when negative)."""
    months = MONTHS[period.kind] * steps
    return Period(add_months(period.start, months), add_months(period.end, months), period.kind)


def previous(period: Period) -> Period:
    return shift(period, -1)


def parse(settings: CompanySettings, text: str | None, default_kind: str = QUARTER) -> Period:
    """The period a URL or form names (``kind:YYYY-MM-DD``); empty means the current ``default_kind`` period.

    Raises :class:`ValidationError` for anything else, so a hand-edited URL gets a message, not a 500.
    """
    text = (text or "").strip()
    if not text:
        return current(settings, default_kind)
    kind, _sep, start = text.partition(":")
    if kind not in PERIOD_KINDS:
        raise ValidationError({"period": _("Choose a month, a quarter or a year.")})
    try:
        day = dt.date.fromisoformat(start)
    except ValueError:
        raise ValidationError({"period": _("“%(text)s” is not a date (YYYY-MM-DD).") % {"text": start[:40]}}) from None
    if not dt.date(1900, 1, 1) <= day <= dt.date(2999, 12, 31):
        raise ValidationError({"period": _("Choose a period between 1900 and 2999.")})
    period = containing(settings, kind, day)
    if period.start != day:
        raise ValidationError({"period": _("A %(kind)s starts on %(start)s, not on %(day)s.")
                               % {"kind": kind_label(kind), "start": period.start.isoformat(),
                                  "day": day.isoformat()}})  # fmt: skip
    return period


def kind_label(kind: str) -> str:
    return {MONTH: _("month"), QUARTER: _("quarter"), YEAR: _("year")}.get(kind, kind)


def choices(settings: CompanySettings, kind: str, around: Period | None = None, before: int = 4,
            after: int = 2) -> list[Period]:  # fmt: skip
    """Periods of ``kind`` around ``around`` (default the current one) for a period picker."""
    middle = around if around is not None and around.kind == kind else current(settings, kind)
    return [shift(middle, step) for step in range(-before, after + 1)]

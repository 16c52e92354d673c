"""Company settings: base currency, fiscal year start, company time zone, phone region, company name.

They are core settings (``core_setting`` rows with plugin ``"core"``), read through a per-process cache
kept per engine. Saving bumps the "settings" version counter; every process re-reads the counter at most
once per :data:`POLL_SECONDS` and drops its copy when it moved, so all processes agree within a second.

Fiscal periods are calendar dates in the company time zone; :meth:`CompanySettings.utc_range` turns a
``[start, end)`` date range into the UTC instants to compare stored times with.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, replace
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .errors import ValidationError
from .i18n import gettext as _
from .models import SettingValue, StateVersion
from .state import bump
from .types import utcnow

PLUGIN = "core"
"""The ``plugin`` column of the company settings' rows in ``core_setting``."""

POLL_SECONDS = 1.0
"""How long a process trusts its cached copy before it re-reads the "settings" counter."""

FIELDS = ("company_name", "base_currency", "fiscal_year_start_month", "timezone", "phone_region")


@cache
def currency_codes() -> frozenset[str]:
    """Active ISO 4217 codes (from Babel's CLDR data)."""
    from babel.numbers import list_currencies

    return frozenset(c for c in list_currencies() if len(c) == 3 and c.isalpha() and c.isupper())


@cache
def active_currency_codes() -> frozenset[str]:
    """Codes that are legal tender somewhere today: what a base currency or the admin's pick list offers.

    Historic codes (DEM, HRK…) stay valid for exchange rates, since old amounts may be in them.
    """
    from babel.numbers import get_territory_currencies

    today = dt.date.today()
    found = set()
    for region in region_codes():
        found.update(get_territory_currencies(region, today))
    return frozenset(found & currency_codes()) or currency_codes()


@cache
def region_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 region codes (CLDR territories without the numeric UN regions)."""
    from babel import Locale

    return frozenset(c for c in Locale("en").territories if len(c) == 2 and c.isalpha() and c != "ZZ")


@cache
def time_zones() -> tuple[str, ...]:
    named = (z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return ("UTC", *sorted(named))


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class CompanySettings:
    company_name: str = ""
    base_currency: str = "UAH"
    fiscal_year_start_month: int = 1
    timezone: str = "Europe/Kyiv"
    phone_region: str = "UA"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """Today's date in the company time zone (``now`` is any aware instant, default the present)."""
        return (now or utcnow()).astimezone(self.zone).date()

    def local_date(self, instant: dt.datetime) -> dt.date:
        """The company-time-zone date of a stored (aware) instant: the day a deal "closed on"."""
        return instant.astimezone(self.zone).date()

    def fiscal_year_bounds(self, day: dt.date | None = None) -> tuple[dt.date, dt.date]:
        """``[start, end)`` of the fiscal year containing ``day`` (default today in the company zone)."""
        day = day or self.today()
        start_month = self.fiscal_year_start_month
        year = day.year if day.month >= start_month else day.year - 1
        start = dt.date(year, start_month, 1)
        return start, _add_months(start, 12)

    def fiscal_year(self, day: dt.date | None = None) -> int:
        """The fiscal year's number: the calendar year it ends in (April 2026–March 2027 is 2027)."""
        _start, end = self.fiscal_year_bounds(day)
        return (end - dt.timedelta(days=1)).year

    def fiscal_quarter(self, day: dt.date | None = None) -> int:
        """1 to 4: which quarter of its fiscal year ``day`` falls in."""
        day = day or self.today()
        return (day.month - self.fiscal_year_start_month) % 12 // 3 + 1

    def fiscal_quarter_bounds(self, day: dt.date | None = None) -> tuple[dt.date, dt.date]:
        """``[start, end)`` of the fiscal quarter containing ``day`` (default today in the company zone)."""
        day = day or self.today()
        fy_start, _end = self.fiscal_year_bounds(day)
        start = _add_months(fy_start, 3 * (self.fiscal_quarter(day) - 1))
        return start, _add_months(start, 3)

    def utc_range(self, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Local midnights of ``start`` and ``end`` in the company zone, as UTC instants (``[a, b)``)."""
        zone = self.zone
        return (
            dt.datetime.combine(start, dt.time(), zone).astimezone(dt.UTC),
            dt.datetime.combine(end, dt.time(), zone).astimezone(dt.UTC),
        )


DEFAULTS = CompanySettings()


def parse(form: dict[str, Any]) -> dict[str, Any]:
    """Validate submitted company settings; raise :class:`ValidationError` with a message per field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def text(key: str) -> str:
        raw = form.get(key)
        return raw.strip() if isinstance(raw, str) else ""

    name = text("company_name")
    if len(name) > 200:
        errors["company_name"] = _("Keep the company name under 200 characters.")
    values["company_name"] = name

    currency = text("base_currency").upper()
    if not currency:
        errors["base_currency"] = _("Choose the base currency.")
    elif currency not in active_currency_codes():
        errors["base_currency"] = _("%(code)s is not an ISO 4217 currency code such as UAH, EUR or USD.") % {
            "code": currency[:10]
        }
    values["base_currency"] = currency

    raw_month = text("fiscal_year_start_month")
    if not raw_month.isascii() or not raw_month.isdigit() or not 1 <= int(raw_month) <= 12:
        errors["fiscal_year_start_month"] = _("Choose the month the fiscal year starts in (1 to 12).")
        values["fiscal_year_start_month"] = raw_month
    else:
        values["fiscal_year_start_month"] = int(raw_month)

    zone = text("timezone")
    if zone not in time_zones():
        errors["timezone"] = _("Choose a time zone from the list, such as Europe/Kyiv.")
    values["timezone"] = zone

    region = text("phone_region").upper()
    if region not in region_codes():
        errors["phone_region"] = _("Enter a two-letter country code such as UA, PL or US.")
    values["phone_region"] = region

    if errors:
        raise ValidationError(errors)
    return values


@dataclass
class _Entry:
    version: int
    settings: CompanySettings
    checked: float


_cache: WeakKeyDictionary[Engine, _Entry] = WeakKeyDictionary()
_lock = threading.Lock()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _read(session: Session) -> CompanySettings:
    rows = session.execute(
        select(SettingValue.key, SettingValue.value).where(SettingValue.plugin == PLUGIN, SettingValue.key.in_(FIELDS))
    ).all()
    found = {key: value for key, value in rows}
    try:
        return replace(DEFAULTS, **found)
    except TypeError:  # a hand-edited row of the wrong shape: fall back to the defaults for all of it
        return DEFAULTS


def _version(session: Session) -> int:
    return session.scalar(select(StateVersion.version).where(StateVersion.key == "settings")) or 0


def company_settings(session: Session) -> CompanySettings:
    """The company settings, from this process's copy unless another process has changed them."""
    engine = _engine(session)
    now = time.monotonic()
    entry = _cache.get(engine)
    if entry is not None and now - entry.checked < POLL_SECONDS:
        return entry.settings
    version = _version(session)  # read before the values, so a change in between is seen next time
    if entry is not None and entry.version == version:
        entry.checked = now
        return entry.settings
    settings = _read(session)
    with _lock:
        _cache[engine] = _Entry(version, settings, now)
    return settings


def invalidate(session_or_engine: Session | Engine | None = None) -> None:
    """Drop the cached copy for one engine (or all): the next read goes to the database."""
    with _lock:
        if session_or_engine is None:
            _cache.clear()
        else:
            engine = session_or_engine if isinstance(session_or_engine, Engine) else _engine(session_or_engine)
            _cache.pop(engine, None)


def save_company_settings(session: Session, form: dict[str, Any]) -> CompanySettings:
    """Validate and store every company setting in the caller's transaction (all or nothing).

    The base currency cannot change while exchange rates are stored: they are rates *to* the base
    currency, and would silently mean something else.
    """
    from .models_company import ExchangeRate

    values = parse(form)
    current = _read(session)
    if values["base_currency"] != current.base_currency:
        has_rates = session.scalar(select(ExchangeRate.id).limit(1)) is not None
        if has_rates:
            raise ValidationError(
                {
                    "base_currency": _(
                        "Exchange rates are stored against %(code)s. Delete them before changing the base "
                        "currency, then enter rates against the new one."
                    )
                    % {"code": current.base_currency}
                }
            )
    for key, value in values.items():
        row = session.get(SettingValue, (PLUGIN, key))
        if row is None:
            session.add(SettingValue(plugin=PLUGIN, key=key, value=value, changed_at=utcnow()))
        else:
            row.value, row.changed_at = value, utcnow()
    bump(session, "settings")
    session.flush()
    invalidate(session)
    return CompanySettings(**values)


def fiscal_year_bounds(session: Session, day: dt.date | None = None) -> tuple[dt.date, dt.date]:
    return company_settings(session).fiscal_year_bounds(day)


def fiscal_quarter_bounds(session: Session, day: dt.date | None = None) -> tuple[dt.date, dt.date]:
    return company_settings(session).fiscal_quarter_bounds(day)


__all__ = [
    "CompanySettings",
    "active_currency_codes",
    "company_settings",
    "currency_codes",
    "fiscal_quarter_bounds",
    "fiscal_year_bounds",
    "invalidate",
    "parse",
    "region_codes",
    "save_company_settings",
    "time_zones",
]

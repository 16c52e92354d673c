"""Company settings, fiscal periods, exchange rates and conversion, and the /admin/company page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from voronka.core import company
from voronka.core.company import CompanySettings, company_settings, save_company_settings
from voronka.core.currency import (
    RateBook,
    RateMissing,
    convert,
    delete_rate,
    rate_on,
    set_rate,
    to_base,
    to_base_latest,
    to_base_many,
)
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.errors import ValidationError
from voronka.core.models import SettingValue
from voronka.core.models_company import ExchangeRate, NumberSequence
from voronka.core.sequences import define_sequence, next_number
from voronka.core.types import Money

GOOD = {
    "company_name": "Voronka Demo LLC",
    "base_currency": "UAH",
    "fiscal_year_start_month": "1",
    "timezone": "Europe/Kyiv",
    "phone_region": "UA",
}


@pytest.fixture
def db(db_url: str) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    engine = make_engine(db_url)
    company.invalidate()
    try:
        yield engine, make_sessionmaker(engine)
    finally:
        engine.dispose()


def save(sessions: sessionmaker[Session], **changes: str) -> CompanySettings:
    with write_transaction(sessions) as session:
        return save_company_settings(session, {**GOOD, **changes})


# -- settings ---------------------------------------------------------------------------------------------


def test_defaults_then_saved_values(db):
    _engine, sessions = db
    with sessions() as session:
        assert company_settings(session) == CompanySettings()
    saved = save(sessions, company_name="  Acme  ", base_currency="eur", fiscal_year_start_month="4",
                 timezone="America/New_York", phone_region="pl")  # fmt: skip
    assert saved.company_name == "Acme" and saved.base_currency == "EUR" and saved.phone_region == "PL"
    with sessions() as session:
        got = company_settings(session)
        assert (got.base_currency, got.fiscal_year_start_month, got.timezone) == ("EUR", 4, "America/New_York")
        stored = session.scalar(
            select(SettingValue.value).where(SettingValue.plugin == "core", SettingValue.key == "base_currency")
        )
        assert stored == "EUR"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("base_currency", "XYZ", "ISO 4217"),
        ("base_currency", "", "Choose the base currency"),
        ("base_currency", "US", "ISO 4217"),
        ("base_currency", "DEM", "ISO 4217"),  # historic: no longer legal tender anywhere
        ("fiscal_year_start_month", "0", "1 to 12"),
        ("fiscal_year_start_month", "13", "1 to 12"),
        ("fiscal_year_start_month", "abc", "1 to 12"),
        ("fiscal_year_start_month", "٣", "1 to 12"),
        ("timezone", "Mars/Olympus_Mons", "time zone"),
        ("timezone", "", "time zone"),
        ("timezone", "Etc/GMT+3", "time zone"),  # sign-inverted POSIX zones only confuse
        ("phone_region", "XX", "two-letter"),
        ("phone_region", "UKR", "two-letter"),
        ("phone_region", "001", "two-letter"),
        ("company_name", "x" * 201, "under 200"),
    ],
)
def test_each_setting_is_validated_and_nothing_is_saved(db, field, value, message):
    _engine, sessions = db
    save(sessions, company_name="x" * 200 if field == "company_name" else "Before")
    with pytest.raises(ValidationError) as caught:
        save(sessions, **{"company_name": "After", field: value})
    assert set(caught.value.errors) == {field} and message in caught.value.errors[field]
    company.invalidate()
    with sessions() as session:
        assert company_settings(session).company_name == ("x" * 200 if field == "company_name" else "Before")


def test_another_process_sees_the_change_within_the_poll_interval(db, db_url, monkeypatch):
    _engine, sessions = db
    other = make_engine(db_url)  # a second process: its own engine, its own cached copy
    try:
        other_sessions = make_sessionmaker(other)
        with other_sessions() as session:
            assert company_settings(session).base_currency == "UAH"
        save(sessions, base_currency="USD")
        with other_sessions() as session:  # inside the poll interval: the cached copy
            assert company_settings(session).base_currency == "UAH"
        monkeypatch.setattr(company, "POLL_SECONDS", 0.0)  # the interval has passed
        with other_sessions() as session:
            assert company_settings(session).base_currency == "USD"
    finally:
        other.dispose()


def test_cached_reads_do_not_query(db):
    engine, sessions = db
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with sessions() as session:
        company_settings(session)
        before = len(statements)
        for _ in range(100):
            company_settings(session)
        assert len(statements) == before


def test_base_currency_cannot_change_while_rates_exist(db):
    _engine, sessions = db
    with write_transaction(sessions) as session:
        set_rate(session, "EUR", dt.date(2026, 1, 1), "45.10")
    with pytest.raises(ValidationError) as caught:
        save(sessions, base_currency="USD")
    assert "Delete them before changing the base currency" in caught.value.errors["base_currency"]
    save(sessions, company_name="Renamed")  # other fields still save


# -- fiscal periods ---------------------------------------------------------------------------------------


def test_fiscal_year_and_quarter_bounds():
    april = CompanySettings(fiscal_year_start_month=4)
    assert april.fiscal_year_bounds(dt.date(2026, 3, 31)) == (dt.date(2025, 4, 1), dt.date(2026, 4, 1))
    assert april.fiscal_year_bounds(dt.date(2026, 4, 1)) == (dt.date(2026, 4, 1), dt.date(2027, 4, 1))
    assert april.fiscal_year(dt.date(2026, 4, 1)) == 2027
    assert april.fiscal_quarter(dt.date(2026, 4, 1)) == 1 and april.fiscal_quarter(dt.date(2027, 1, 15)) == 4
    assert april.fiscal_quarter_bounds(dt.date(2027, 2, 28)) == (dt.date(2027, 1, 1), dt.date(2027, 4, 1))
    assert april.fiscal_quarter_bounds(dt.date(2026, 11, 30)) == (dt.date(2026, 10, 1), dt.date(2027, 1, 1))
    calendar_year = CompanySettings()
    assert calendar_year.fiscal_year_bounds(dt.date(2026, 12, 31)) == (dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    assert calendar_year.fiscal_quarter_bounds(dt.date(2026, 12, 31)) == (dt.date(2026, 10, 1), dt.date(2027, 1, 1))
    december = CompanySettings(fiscal_year_start_month=12)
    assert december.fiscal_year_bounds(dt.date(2026, 11, 30)) == (dt.date(2025, 12, 1), dt.date(2026, 12, 1))
    assert december.fiscal_quarter_bounds(dt.date(2026, 2, 28)) == (dt.date(2025, 12, 1), dt.date(2026, 3, 1))


def test_periods_follow_the_company_time_zone(db):
    _engine, sessions = db
    save(sessions, timezone="Pacific/Kiritimati", fiscal_year_start_month="7")
    with sessions() as session:
        settings = company_settings(session)
    # 2026-06-30 12:00 UTC is already 1 July in Kiritimati (UTC+14): the new fiscal year has started.
    instant = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
    assert settings.today(instant) == dt.date(2026, 7, 1)
    assert settings.fiscal_year_bounds(settings.today(instant))[0] == dt.date(2026, 7, 1)
    start, end = settings.utc_range(*settings.fiscal_year_bounds(dt.date(2026, 7, 1)))
    assert start == dt.datetime(2026, 6, 30, 10, 0, tzinfo=dt.UTC)
    assert end == dt.datetime(2027, 6, 30, 10, 0, tzinfo=dt.UTC)
    kyiv = CompanySettings(timezone="Europe/Kyiv")  # summer time: UTC+3
    assert kyiv.utc_range(dt.date(2026, 7, 1), dt.date(2026, 7, 2))[0] == dt.datetime(2026, 6, 30, 21, tzinfo=dt.UTC)


# -- exchange rates ---------------------------------------------------------------------------------------


def add_rates(sessions: sessionmaker[Session], *rates: tuple[str, dt.date, str]) -> None:
    with write_transaction(sessions) as session:
        for currency, day, rate in rates:
            set_rate(session, currency, day, rate)


def test_rate_on_uses_the_latest_rate_on_or_before_the_day(db):
    _engine, sessions = db
    add_rates(sessions, ("USD", dt.date(2026, 1, 10), "41.50"), ("USD", dt.date(2026, 2, 1), "42.125"),
              ("EUR", dt.date(2026, 1, 1), "45.0000001"))  # fmt: skip
    with sessions() as session:
        assert rate_on(session, "USD", dt.date(2026, 1, 10)) == Decimal("41.5")
        assert rate_on(session, "USD", dt.date(2026, 1, 31)) == Decimal("41.5")
        assert rate_on(session, "usd", dt.date(2026, 2, 1)) == Decimal("42.125")
        assert rate_on(session, "USD", dt.date(2030, 1, 1)) == Decimal("42.125")
        assert rate_on(session, "EUR", dt.date(2026, 6, 1)) == Decimal("45.0000001")  # exact, never a float
        assert rate_on(session, "UAH", dt.date(1999, 1, 1)) == Decimal(1)
        with pytest.raises(RateMissing, match="No exchange rate from USD to UAH on or before 2026-01-09"):
            rate_on(session, "USD", dt.date(2026, 1, 9))
        with pytest.raises(RateMissing, match="PLN"):
            rate_on(session, "PLN", dt.date(2026, 1, 9))
        assert session.scalar(select(ExchangeRate.rate).where(ExchangeRate.currency == "EUR")) == "45.0000001"


def test_closed_amounts_at_their_date_open_amounts_at_the_latest_rate(db):
    _engine, sessions = db
    with sessions() as session:
        today = company_settings(session).today()
    add_rates(
        sessions, ("USD", dt.date(2026, 1, 1), "40"), ("USD", today, "42"), ("USD", today + dt.timedelta(days=30), "50")
    )  # fmt: skip  (a future rate is not used yet)
    with sessions() as session:
        deal = Money.parse("1000.00", "USD")
        assert to_base(session, deal, on=dt.date(2026, 1, 15)) == Money(4_000_000, "UAH")
        assert to_base_latest(session, deal) == Money(4_200_000, "UAH")
        assert to_base(session, Money(123, "UAH"), on=dt.date(1990, 1, 1)) == Money(123, "UAH")
        with pytest.raises(RateMissing):
            to_base(session, deal, on=dt.date(2025, 12, 31))


def test_rounding_is_half_even_on_minor_units():
    # 5 cents at 0.5 = 2.5 kopiyky -> 2; 15 cents -> 7.5 -> 8; -5 cents -> -2
    assert convert(Money(5, "USD"), Decimal("0.5"), "UAH") == Money(2, "UAH")
    assert convert(Money(15, "USD"), Decimal("0.5"), "UAH") == Money(8, "UAH")
    assert convert(Money(-5, "USD"), Decimal("0.5"), "UAH") == Money(-2, "UAH")
    # minor units of different sizes: 1,000 JPY (no minor unit) at 0.2725 UAH = 272.50 UAH
    assert convert(Money(1000, "JPY"), Decimal("0.2725"), "UAH") == Money(27250, "UAH")
    # 1.000 KWD (three decimals) at 135.123456 UAH = 135.123456 UAH -> 135.12
    assert convert(Money(1000, "KWD"), Decimal("135.123456"), "UAH") == Money(13512, "UAH")
    # into a currency without minor units: 10.00 USD at 150.5 JPY = 1505 JPY
    assert convert(Money(1000, "USD"), Decimal("150.5"), "JPY") == Money(1505, "JPY")
    big = Money(9_000_000_000_000_000, "USD")  # no precision lost on large amounts
    assert convert(big, Decimal("41.123456789012"), "UAH").minor == 370_111_111_101_108_000


def test_bulk_conversion_uses_one_query(db):
    engine, sessions = db
    add_rates(sessions, ("USD", dt.date(2026, 1, 1), "40"), ("USD", dt.date(2026, 3, 1), "41"),
              ("EUR", dt.date(2026, 1, 1), "44"), ("PLN", dt.date(2026, 1, 1), "10.5"))  # fmt: skip
    items: list[tuple[Money, dt.date | None]] = [
        (Money(100, "USD"), dt.date(2026, 2, 1)),
        (Money(100, "USD"), dt.date(2026, 3, 2)),
        (Money(100, "EUR"), dt.date(2026, 1, 1)),
        (Money(100, "PLN"), None),
        (Money(100, "UAH"), dt.date(2020, 1, 1)),
    ] * 200
    statements: list[str] = []
    with sessions() as session:
        company_settings(session)  # warm the settings cache, as a running process has it
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        converted = to_base_many(session, items)
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
        assert converted[:5] == [Money(4000, "UAH"), Money(4100, "UAH"), Money(4400, "UAH"), Money(1050, "UAH"),
                                 Money(100, "UAH")]  # fmt: skip
        assert converted == [to_base(session, m, on=on) if on else to_base_latest(session, m) for m, on in items]
        book = RateBook.load(session, ["USD", "EUR", "PLN"])
        assert book.total(items[:5]) == Money(4000 + 4100 + 4400 + 1050 + 100, "UAH")
        with pytest.raises(RateMissing):
            to_base_many(session, [(Money(1, "USD"), dt.date(2025, 1, 1))])


@pytest.mark.parametrize(
    ("currency", "rate", "field", "message"),
    [
        ("USD", "-1", "rate", "above zero"),
        ("USD", "0", "rate", "above zero"),
        ("USD", "abc", "rate", "as a number"),
        ("USD", "NaN", "rate", "above zero"),
        ("USD", "Infinity", "rate", "above zero"),
        ("USD", "1.0000000000001", "rate", "12 decimal places"),
        ("USD", "1e30", "rate", "too large"),
        ("USD", "", "rate", "Enter the rate"),
        ("XYZ", "1", "currency", "ISO 4217"),
        ("UAH", "1", "currency", "base currency"),
    ],
)
def test_bad_rates_are_refused(db, currency, rate, field, message):
    _engine, sessions = db
    with pytest.raises(ValidationError) as caught, write_transaction(sessions) as session:
        set_rate(session, currency, dt.date(2026, 1, 1), rate)
    assert message in caught.value.errors[field]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ExchangeRate)) == 0


def test_a_rate_for_the_same_day_replaces_the_old_one_and_can_be_deleted(db):
    _engine, sessions = db
    add_rates(sessions, ("USD", dt.date(2026, 1, 1), "40"), ("USD", dt.date(2026, 1, 1), "40,75"))
    with write_transaction(sessions) as session:
        rows = session.scalars(select(ExchangeRate)).all()
        assert [(r.currency, r.rate) for r in rows] == [("USD", "40.75")]
        assert delete_rate(session, rows[0].id) and not delete_rate(session, rows[0].id)


# -- the admin page ---------------------------------------------------------------------------------------


def rates_in(app: Any) -> list[tuple[str, dt.date, str]]:
    with app.state.voronka.sessions() as session:
        return [
            (r.currency, r.valid_on, r.rate) for r in session.scalars(select(ExchangeRate).order_by(ExchangeRate.id))
        ]


def test_admin_page_saves_settings_and_shows_errors_in_place(client, app):
    company.invalidate()
    client.login("admin")
    page = client.get("/admin/company")
    assert page.status_code == 200 and 'href="/admin/company" class="active"' in page.text
    assert 'name="base_currency" value="UAH"' in page.text
    saved = client.post("/admin/company", data={**GOOD, "company_name": "Acme", "fiscal_year_start_month": "7"})
    assert saved.status_code == 200 and "Saved. Every process uses the new company settings" in saved.text
    with app.state.voronka.sessions() as session:
        assert company_settings(session).fiscal_year_start_month == 7
    bad = client.hx_post("/admin/company", data={**GOOD, "company_name": "Broken", "base_currency": "ABC",
                                                  "timezone": "Nowhere/City", "phone_region": "1"})  # fmt: skip
    assert bad.status_code == 400 and "<html" not in bad.text
    assert "ABC is not an ISO 4217 currency code" in bad.text and "Choose a time zone" in bad.text
    assert "two-letter country code" in bad.text and 'value="Broken"' in bad.text
    company.invalidate()
    with app.state.voronka.sessions() as session:
        assert company_settings(session).company_name == "Acme"
    forged = client.post("/admin/company", data={"fiscal_year_start_month": "99999999999999999999999"})
    assert forged.status_code == 400


def test_admin_adds_and_deletes_rates_and_sees_sequences(client, app):
    client.login("admin")
    added = client.post("/admin/company/rates", data={"currency": "usd", "valid_on": "2026-01-01", "rate": "41,5"})
    assert added.status_code == 200 and "The exchange rate is saved." in added.text
    assert rates_in(app) == [("USD", dt.date(2026, 1, 1), "41.5")]
    hx = client.hx_post("/admin/company/rates", data={"currency": "EUR", "valid_on": "2026-01-01", "rate": "45"})
    assert hx.status_code == 200 and hx.headers["HX-Redirect"].startswith("/admin/company?")
    with write_transaction(app.state.voronka.sessions) as session:
        session.execute(delete(ExchangeRate).where(ExchangeRate.currency == "EUR"))
    assert "41.5" in added.text and 'id="rates-USD"' in added.text
    for data, problem in [
        ({"currency": "USD", "valid_on": "2026-13-01", "rate": "41"}, "YYYY-MM-DD"),
        ({"currency": "USD", "valid_on": "", "rate": "41"}, "Enter a date."),
        ({"currency": "QQQ", "valid_on": "2026-01-02", "rate": "41"}, "QQQ is not an ISO 4217"),
        ({"currency": "USD", "valid_on": "2026-01-02", "rate": "-3"}, "above zero"),
        ({"currency": "UAH", "valid_on": "2026-01-02", "rate": "1"}, "base currency"),
    ]:
        refused = client.hx_post("/admin/company/rates", data=data)
        assert refused.status_code == 400 and problem in refused.text, data
        assert "<html" not in refused.text
    assert rates_in(app) == [("USD", dt.date(2026, 1, 1), "41.5")]
    with app.state.voronka.sessions() as session:
        rate_id = session.scalar(select(ExchangeRate.id))
    deleted = client.post("/admin/company/rates/delete", data={"rate_id": str(rate_id)})
    assert deleted.status_code == 200 and "The exchange rate is deleted." in deleted.text and rates_in(app) == []
    again = client.post("/admin/company/rates/delete", data={"rate_id": str(rate_id)})
    assert again.status_code == 200  # twice (another admin, a second click): no error
    for forged in ("abc", "-1", "99999999999999999999999", ""):
        assert client.post("/admin/company/rates/delete", data={"rate_id": forged}).status_code == 200

    with write_transaction(app.state.voronka.sessions) as session:
        define_sequence(session, "pipeline.quote", prefix="Q", label="Quotes")
        first = next_number(session, "pipeline.quote")
    year = first.split("-")[1]
    page = client.get("/admin/company")
    assert "Quotes" in page.text and f"Q-{year}-00002" in page.text
    with app.state.voronka.sessions() as session:
        assert session.get(NumberSequence, "pipeline.quote").next_value == 2


@pytest.mark.parametrize("username", ["sales", "manager", "operator"])
def test_non_admins_are_refused(client, username):
    client.login(username)
    assert client.get("/admin/company").status_code == 403
    assert client.post("/admin/company", data=GOOD).status_code == 403
    data = {"currency": "USD", "valid_on": "2026-01-01", "rate": "1"}
    assert client.post("/admin/company/rates", data=data).status_code == 403
    assert client.post("/admin/company/rates/delete", data={"rate_id": "1"}).status_code == 403

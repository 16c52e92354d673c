"""Column types that behave the same on both engines: UTC time and money in minor units."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import BigInteger, Engine, MetaData, String, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, composite, mapped_column

from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.types import UTC, Money, UTCDateTime

KYIV = ZoneInfo("Europe/Kyiv")
NEW_YORK = ZoneInfo("America/New_York")


class _Local(DeclarativeBase):
    metadata = MetaData()


class Stamp(_Local):
    __tablename__ = "vtest_stamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Price(_Local):
    __tablename__ = "vtest_price"

    id: Mapped[int] = mapped_column(primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    amount_currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Money] = composite(Money, "amount_minor", "amount_currency")


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    """An engine on the test database with this module's own tables (outside ``Base``)."""
    bound = make_engine(db_url)
    _Local.metadata.create_all(bound)
    try:
        yield bound
    finally:
        bound.dispose()


# -- UTCDateTime ----------------------------------------------------------------------------------------

INSTANTS = [
    dt.datetime(2024, 7, 1, 10, 0, tzinfo=KYIV),  # summer, +03:00
    dt.datetime(2024, 1, 15, 23, 30, 15, 123456, tzinfo=KYIV),  # winter, +02:00
    dt.datetime(2024, 3, 10, 1, 59, 59, tzinfo=NEW_YORK),  # just before a DST jump
    dt.datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=NEW_YORK),  # the second 01:30 of the night
    dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    dt.datetime(2100, 2, 28, 12, tzinfo=dt.timezone(dt.timedelta(hours=-9, minutes=-30))),
]


def test_aware_values_round_trip_as_the_same_instant_in_utc(db):
    factory = make_sessionmaker(db)
    with write_transaction(factory) as session:
        session.add_all([Stamp(label=str(i), at=value) for i, value in enumerate(INSTANTS)])
        session.add(Stamp(label="none", at=None))
    with factory() as session:
        rows = {s.label: s.at for s in session.scalars(select(Stamp))}
    for i, value in enumerate(INSTANTS):
        back = rows[str(i)]
        # compare in UTC: Python never calls a time in a DST fold equal to one in another zone (PEP 495)
        assert back == value.astimezone(UTC), f"{value.isoformat()} came back as {back}"
        assert back.timestamp() == value.timestamp()
        assert back.utcoffset() == dt.timedelta(0) and back.tzinfo is not None
        assert back.replace(tzinfo=None) == value.astimezone(UTC).replace(tzinfo=None)
    assert rows["none"] is None


def test_values_are_stored_in_utc(db):
    factory = make_sessionmaker(db)
    with write_transaction(factory) as session:
        session.add(Stamp(label="kyiv", at=dt.datetime(2024, 7, 1, 10, 0, tzinfo=KYIV)))
    with db.connect() as conn:
        if db.dialect.name == "sqlite":
            raw = conn.exec_driver_sql("SELECT at FROM vtest_stamp").scalar()
            assert str(raw).startswith("2024-07-01 07:00:00")
        else:
            conn.exec_driver_sql("SET TIME ZONE 'UTC'")
            raw = conn.exec_driver_sql("SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS') FROM vtest_stamp").scalar()
            assert raw == "2024-07-01 07:00:00"


def test_filters_and_ordering_compare_instants_not_wall_clocks(db):
    factory = make_sessionmaker(db)
    with write_transaction(factory) as session:
        session.add(Stamp(label="ten utc", at=dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)))
        session.add(Stamp(label="noon utc", at=dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)))
        session.add(Stamp(label="eleven utc from new york", at=dt.datetime(2024, 5, 1, 7, 0, tzinfo=NEW_YORK)))
    bound = dt.datetime(2024, 5, 1, 13, 30, tzinfo=KYIV)  # 10:30 UTC, wall clock after every stored one
    with factory() as session:
        later = session.scalars(select(Stamp.label).where(Stamp.at >= bound).order_by(Stamp.at)).all()
        ordered = session.scalars(select(Stamp.label).order_by(Stamp.at)).all()
    assert later == ["eleven utc from new york", "noon utc"]
    assert ordered == ["ten utc", "eleven utc from new york", "noon utc"]


def test_a_naive_value_is_refused(db):
    factory = make_sessionmaker(db)
    with pytest.raises(StatementError, match="timezone-aware"), write_transaction(factory) as session:
        session.add(Stamp(label="naive", at=dt.datetime(2024, 1, 1, 12, 0)))
        session.flush()
    with factory() as session:
        assert session.scalar(select(Stamp.id)) is None
        with pytest.raises(StatementError, match="timezone-aware"):
            session.scalars(select(Stamp).where(Stamp.at > dt.datetime(2024, 1, 1))).all()


# -- Money ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("1234.50", "UAH", 123450),
        ("1 234,50", "UAH", 123450),
        ("1\u00a0234,5", "uah", 123450),
        ("0.10", "USD", 10),
        ("-12.34", "EUR", -1234),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("12345678901234.56", "USD", 1234567890123456),
        (Decimal("19.99"), "USD", 1999),
        (7, "EUR", 700),
    ],
)
def test_money_parse(typed, currency, minor):
    money = Money.parse(typed, currency)
    assert money.minor == minor and money.currency == currency.upper()


@pytest.mark.parametrize(
    ("typed", "currency"),
    [
        ("1500.5", "JPY"),  # yen has no minor unit
        ("0.001", "USD"),
        ("1.2345", "KWD"),
        ("1.2.3", "USD"),
        ("abc", "USD"),
        ("", "USD"),
        ("1,234.50", "USD"),  # ambiguous: a thousands comma becomes a second decimal point
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("-inf", "EUR"),
        ("12", "US"),
        ("12", "US1"),
    ],
)
def test_money_parse_refuses_what_is_not_an_amount(typed, currency):
    with pytest.raises(ValueError):
        Money.parse(typed, currency)


def test_money_arithmetic_is_exact_and_refuses_mixed_currencies():
    a, b = Money.parse("0.10", "USD"), Money.parse("0.20", "USD")
    assert a + b == Money.parse("0.30", "USD")
    assert sum([a] * 10, Money(0, "USD")) == Money(100, "USD")
    assert b - a == a
    assert (a - b).minor == -10
    with pytest.raises(ValueError, match="USD with EUR"):
        a + Money(10, "EUR")
    with pytest.raises(ValueError):
        a - Money(10, "UAH")
    with pytest.raises(TypeError):
        a + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")
    with pytest.raises(ValueError):
        Money(1, "usd")


def test_money_amount_and_format():
    assert Money(123450, "UAH").amount == Decimal("1234.50")
    assert str(Money(123450, "UAH")) == "1\u00a0234.50 UAH"
    assert str(Money(1500, "JPY")) == "1\u00a0500 JPY"
    assert Money(1500, "JPY").amount == Decimal(1500)
    assert str(Money(1234, "KWD")) == "1.234 KWD"
    assert str(Money(-5, "USD")) == "-0.05 USD"
    assert str(Money(0, "EUR")) == "0.00 EUR"
    for typed, currency in [("1234.50", "UAH"), ("1500", "JPY"), ("0.001", "KWD"), ("-99.99", "EUR")]:
        money = Money.parse(typed, currency)
        assert Money.parse(str(money).removesuffix(f" {currency}"), currency) == money


def test_money_round_trips_exactly_through_both_engines(db):
    factory = make_sessionmaker(db)
    beyond_float = 2**53 + 1  # a float cannot hold this; minor units in a BigInteger can
    values = [Money(beyond_float, "UAH"), Money(-1, "USD"), Money(1500, "JPY"), Money(10**15 + 7, "KWD")]
    with write_transaction(factory) as session:
        session.add_all([Price(amount=v) for v in values])
    with factory() as session:
        back = [p.amount for p in session.scalars(select(Price).order_by(Price.id))]
        total = session.scalar(select(Price.amount_minor).where(Price.amount_currency == "UAH"))
    assert back == values
    assert total == beyond_float

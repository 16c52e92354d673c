"""Search keys: casefolded and transliterated names, found by prefix through an index on both engines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.models import User
from voronka.core.search_keys import prefix_bounds, prefix_filter, search_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Олександр", "oleksandr"),
        ("ОЛЕКСАНДР", "oleksandr"),
        ("Ганна", "hanna"),
        ("Ґанна", "ganna"),
        ("Юлія", "iuliia"),
        ("Щербак", "shcherbak"),
        ("Їжак", "izhak"),
        ("Євген", "ievhen"),
        ("Соловйова", "soloviova"),
        ("Марʼяна", "mariana"),  # the Ukrainian apostrophe, and ’ and ' alike, vanish
        ("Мар’яна", "mariana"),
        ("Мар'яна", "mariana"),
        ("Фёдор Ыкэъ", "fedor yke"),  # the Russian letters Ukrainian lacks
        ("Zoë", "zoe"),
        ("Straße", "strasse"),
        ("José Ñúñez", "jose nunez"),
        ("  Олена   Петренко\t", "olena petrenko"),
        ("", ""),
    ],
)
def test_search_key(name, key):
    assert search_key(name) == key


def test_search_key_of_none_and_the_empty_prefix():
    assert search_key(None) == ""
    assert prefix_bounds("") is None
    assert prefix_filter(User.name_key, "   ") is None
    assert prefix_filter(User.name_key, "ʼ'’") is None
    assert prefix_bounds("olek") == ("olek", "olel")


PEOPLE = [
    "Олександр Петренко",
    "Олександра Коваль",
    "Олекса Довбуш",
    "Oleksii Latin",
    "Ганна Шевченко",
    "Ґанна Ґудзь",
    "Hanna Smith",
    "Юлія Тимошенко",
    "Zoë Ångström",
    "Olga Olenko",
    "Олег Оленко",
]


@pytest.fixture
def people(db_url: str) -> Iterator[tuple[Engine, Session]]:
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    with write_transaction(factory) as session:
        for i, name in enumerate(PEOPLE):
            session.add(User(username=f"person{i}", display_name=name, name_key=search_key(name)))
    try:
        with factory() as session:
            yield engine, session
    finally:
        engine.dispose()


def find(session: Session, query: str) -> set[str]:
    condition = prefix_filter(User.name_key, query)
    assert condition is not None
    return set(session.scalars(select(User.display_name).where(condition, User.username.like("person%"))))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("олекс", {"Олександр Петренко", "Олександра Коваль", "Олекса Довбуш", "Oleksii Latin"}),
        ("oleks", {"Олександр Петренко", "Олександра Коваль", "Олекса Довбуш", "Oleksii Latin"}),
        ("Oleks", {"Олександр Петренко", "Олександра Коваль", "Олекса Довбуш", "Oleksii Latin"}),
        ("ОЛЕКСАНДР", {"Олександр Петренко", "Олександра Коваль"}),
        ("oleksandr p", {"Олександр Петренко"}),
        ("Олександр  Петр", {"Олександр Петренко"}),
        ("hanna", {"Ганна Шевченко", "Hanna Smith"}),
        ("Ганна", {"Ганна Шевченко", "Hanna Smith"}),  # Cyrillic finds the Latin spelling too
        ("Ґанна", {"Ґанна Ґудзь"}),
        ("ganna", {"Ґанна Ґудзь"}),
        ("iuliia", {"Юлія Тимошенко"}),
        ("Юл", {"Юлія Тимошенко"}),
        ("zoe a", {"Zoë Ångström"}),
        ("ZOË ÅNG", {"Zoë Ångström"}),
        ("ole", {"Олександр Петренко", "Олександра Коваль", "Олекса Довбуш", "Oleksii Latin", "Олег Оленко"}),
        ("olg", {"Olga Olenko"}),
        ("petrenko", set()),  # a prefix of the whole name, not of any word
        ("oleksz", set()),
    ],
)
def test_prefix_search_on_both_engines(people, query, expected):
    _, session = people
    assert find(session, query) == expected


def test_prefix_search_uses_the_index(people):
    engine, session = people
    condition = prefix_filter(User.name_key, "олекс")
    stmt = select(User.id).where(condition)
    compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    if engine.dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "ix_core_user_name_key" in plan and "SEARCH" in plan, plan
    else:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_core_user_name_key" in plan and "Index" in plan, plan
        collation = session.scalar(
            text(
                "SELECT collation_name FROM information_schema.columns "
                "WHERE table_name = 'core_user' AND column_name = 'name_key'"
            )
        )
        assert collation == "C", "a SearchKey column compares bytes, so a range scan uses a B-tree"

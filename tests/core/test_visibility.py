"""The manager hierarchy on a date, visibility scopes as query filters, and the system scope's match facts.

Scopes are checked on a real table with ownership columns: the notes fixture plugin's ``notes_note``
when that plugin is there, otherwise a tiny table this test creates outside ``Base``. Both engines.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, MetaData, String, func, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.models import ManagerLink, Team, User
from voronka.core.search_keys import search_key
from voronka.core.security.system_scope import MatchFact, match_fact
from voronka.core.security.users import ANONYMOUS, CurrentUser, load_user
from voronka.core.security.visibility import everyone_under, manager_of, under_query, visible

NOTES_PACKAGE = Path(__file__).resolve().parents[1] / "fixture_plugins" / "voronka_test_notes"
HAS_NOTES = (NOTES_PACKAGE / "__init__.py").is_file()
pytestmark = pytest.mark.voronka(plugins=["notes=voronka_test_notes"] if HAS_NOTES else [])

D = dt.date


class _Local(DeclarativeBase):
    metadata = MetaData()


class LocalOwned(_Local):
    """Stand-in record table with the ownership columns of ``OwnedMixin`` (no FKs: not in ``Base``)."""

    __tablename__ = "vtest_owned"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    owner_team_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


@dataclasses.dataclass
class World:
    session: Session
    model: Any
    users: dict[str, int]
    teams: dict[str, int]

    def add_user(self, username: str, display_name: str | None = None) -> int:
        user = User(username=username, display_name=display_name or username.title(), name_key=search_key(username))
        self.session.add(user)
        self.session.flush()
        self.users[username] = user.id
        return user.id

    def link(self, user: str, manager: str, start: dt.date, end: dt.date | None = None) -> None:
        self.session.add(
            ManagerLink(user_id=self.users[user], manager_id=self.users[manager], valid_from=start, valid_to=end)
        )
        self.session.flush()

    def record(self, title: str, user: str | None = None, team: str | None = None) -> int:
        values: dict[str, Any] = {
            "title": title,
            "owner_user_id": self.users[user] if user else None,
            "owner_team_id": self.teams[team] if team else None,
        }
        if hasattr(self.model, "title_key"):
            values["title_key"] = search_key(title)
        row = self.model(**values)
        self.session.add(row)
        self.session.flush()
        return row.id

    def current(self, username: str) -> Any:
        found = load_user(self.session, self.users[username])
        assert found is not None
        return found

    def titles(self, user: Any, on: dt.date | None = None) -> set[str]:
        return set(self.session.scalars(select(self.model.title).where(visible(self.model, user, on))))

    wanted: str = "notes"

    def names(self, ids: set[int]) -> set[str]:
        by_id = {v: k for k, v in self.users.items()}
        return {by_id[i] for i in ids}


@pytest.fixture
def world(request: pytest.FixtureRequest, db_url: str) -> Iterator[World]:
    engine = make_engine(db_url)
    model: Any = LocalOwned
    wanted = getattr(request, "param", "notes")
    if wanted == "notes" and HAS_NOTES and inspect(engine).has_table("notes_note"):
        from voronka_test_notes.models import Note

        model = Note
    else:
        _Local.metadata.create_all(engine)
    try:
        with write_transaction(make_sessionmaker(engine)) as session:
            users = dict(session.execute(select(User.username, User.id)).all())
            teams = dict(session.execute(select(Team.name, Team.id)).all())
            yield World(session, model, users, teams, wanted)
            session.rollback()
    finally:
        engine.dispose()


@contextmanager
def deadline(session: Session, seconds: float = 10) -> Iterator[None]:
    """Abort a runaway query (a recursive CTE that never ends) instead of hanging the test run."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(seconds * 1000)}")
        yield
        return
    raw = conn.connection.dbapi_connection
    stop_at = time.monotonic() + seconds
    raw.set_progress_handler(lambda: int(time.monotonic() > stop_at), 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 10_000)


# -- the hierarchy on a date ----------------------------------------------------------------------------


def test_a_reorg_moves_a_subtree_on_its_date(world: World) -> None:
    for name in ("boss", "xena", "yuri", "anna", "borys", "cyril"):
        world.add_user(name)
    world.link("xena", "boss", D(2020, 1, 1))
    world.link("yuri", "boss", D(2020, 1, 1))
    world.link("anna", "xena", D(2020, 1, 1), D(2024, 6, 1))  # anna moves from xena ...
    world.link("anna", "yuri", D(2024, 6, 1))  # ... to yuri on 1 June 2024
    world.link("borys", "anna", D(2021, 1, 1))  # deeper levels follow anna
    world.link("cyril", "borys", D(2022, 1, 1), D(2025, 1, 1))
    s, u = world.session, world.users

    def under(manager: str, on: dt.date) -> set[str]:
        return world.names(everyone_under(s, u[manager], on))

    assert under("boss", D(2019, 12, 31)) == set()
    assert under("xena", D(2020, 6, 1)) == {"anna"}
    assert under("boss", D(2020, 6, 1)) == {"xena", "yuri", "anna"}
    assert under("xena", D(2023, 1, 1)) == {"anna", "borys", "cyril"}
    assert under("xena", D(2024, 5, 31)) == {"anna", "borys", "cyril"}  # the day before the move
    assert under("yuri", D(2024, 5, 31)) == set()
    assert under("xena", D(2024, 6, 1)) == set()  # valid_to is exclusive: from the move day on, yuri's
    assert under("yuri", D(2024, 6, 1)) == {"anna", "borys", "cyril"}
    assert under("boss", D(2024, 6, 1)) == {"xena", "yuri", "anna", "borys", "cyril"}
    assert under("yuri", D(2025, 1, 1)) == {"anna", "borys"}  # cyril's link ended
    assert under("anna", D(2030, 1, 1)) == {"borys"}
    assert manager_of(s, u["anna"], D(2024, 5, 31)) == u["xena"]
    assert manager_of(s, u["anna"], D(2024, 6, 1)) == u["yuri"]
    assert manager_of(s, u["cyril"], D(2025, 1, 1)) is None
    with_self = set(s.scalars(under_query(u["yuri"], D(2024, 6, 1), include_self=True)))
    assert world.names(with_self) == {"yuri", "anna", "borys", "cyril"}

    # visibility follows the same dates
    world.record("borys's deal", user="borys")
    xena = CurrentUser(id=u["xena"], username="xena", display_name="Xena", visibility="under")
    yuri = CurrentUser(id=u["yuri"], username="yuri", display_name="Yuri", visibility="under")
    assert "borys's deal" in world.titles(xena, D(2024, 5, 31))
    assert "borys's deal" not in world.titles(xena, D(2024, 6, 1))
    assert "borys's deal" in world.titles(yuri, D(2024, 6, 1))


def test_the_test_hierarchy(world: World) -> None:
    s, u = world.session, world.users
    assert world.names(everyone_under(s, u["manager"], D(2024, 1, 1))) == {"sales", "sales2", "operator"}
    assert world.names(everyone_under(s, u["admin"], D(2024, 1, 1))) == {"manager", "sales", "sales2", "operator"}
    assert everyone_under(s, u["sales"], D(2024, 1, 1)) == set()
    assert everyone_under(s, u["admin"], D(2019, 1, 1)) == set()


@pytest.mark.parametrize("size", [2, 3, 7])
def test_a_cycle_in_the_data_does_not_loop_forever(world: World, size: int) -> None:
    names = [f"loop{i}" for i in range(size)]
    for name in names:
        world.add_user(name)
    for i, name in enumerate(names):  # loop0 -> loop1 -> ... -> loop0 (written around any validation)
        world.link(name, names[(i + 1) % size], D(2020, 1, 1))
    world.add_user("hanger")
    world.link("hanger", names[0], D(2020, 1, 1))
    s, u = world.session, world.users
    with deadline(s):
        found = world.names(everyone_under(s, u[names[0]], D(2024, 1, 1)))
        assert found == {*names, "hanger"}
        world.record("hanger's deal", user="hanger")
        boss = CurrentUser(id=u[names[-1]], username=names[-1], display_name="Loop", visibility="under")
        assert "hanger's deal" in world.titles(boss, D(2024, 1, 1))


def test_a_deep_hierarchy_is_walked_to_the_bottom(world: World) -> None:
    chain = [f"level{i}" for i in range(60)]
    for name in chain:
        world.add_user(name)
    for upper, lower in itertools.pairwise(chain):
        world.link(lower, upper, D(2020, 1, 1))
    with deadline(world.session):
        assert world.names(everyone_under(world.session, world.users["level0"], D(2024, 1, 1))) == set(chain[1:])


# -- visibility scopes ----------------------------------------------------------------------------------


@pytest.fixture
def records(world: World) -> World:
    world.add_user("outsider", "Ostap Outsider")
    for title, user, team in [
        ("sales own", "sales", None),
        ("sales2 own", "sales2", None),
        ("operator own", "operator", None),
        ("manager own", "manager", None),
        ("admin own", "admin", None),
        ("sales team", None, "Sales"),
        ("inbound queue", None, "Inbound sales"),
        ("nobody's", None, None),
        ("outsider own", "outsider", None),
    ]:
        world.record(title, user=user, team=team)
    return world


@pytest.mark.parametrize("world", ["notes", "local table"], indirect=True)
def test_each_roles_scope_returns_exactly_its_rows(records: World) -> None:
    w = records
    everything = set(w.session.scalars(select(w.model.title)))
    assert len(everything) == 9
    if w.wanted == "local table":
        assert w.model is LocalOwned
    assert w.titles(w.current("sales")) == {"sales own", "sales team"}  # own + their team's queue
    assert w.titles(w.current("sales2")) == {"sales2 own", "sales team"}
    assert w.titles(w.current("operator")) == {"operator own", "inbound queue"}  # team: members of their teams
    assert w.titles(w.current("manager")) == {"manager own", "sales own", "sales2 own", "operator own"}
    assert w.titles(w.current("admin")) == everything
    assert w.titles(w.current("outsider")) == {"outsider own"}  # no role: own
    assert w.titles(ANONYMOUS) == set()


def test_each_scope_for_one_user(records: World) -> None:
    w = records
    sales_team = frozenset({w.teams["Sales"]})

    def as_sales(scope: str) -> CurrentUser:
        return CurrentUser(
            id=w.users["sales"], username="sales", display_name="S", visibility=scope, team_ids=sales_team
        )

    assert w.titles(as_sales("own")) == {"sales own", "sales team"}
    assert w.titles(as_sales("team")) == {"sales own", "sales2 own", "sales team"}
    assert w.titles(as_sales("under")) == {"sales own", "sales team"}  # nobody reports to sales
    assert len(w.titles(as_sales("all"))) == 9
    admin_under = CurrentUser(id=w.users["admin"], username="admin", display_name="A", visibility="under")
    assert w.titles(admin_under) == {"admin own", "manager own", "sales own", "sales2 own", "operator own"}
    assert w.titles(admin_under, on=D(2019, 12, 31)) == {"admin own"}  # before the links began
    lonely = CurrentUser(id=w.users["outsider"], username="outsider", display_name="O", visibility="team")
    assert w.titles(lonely) == {"outsider own"}  # a team scope without teams is just own


def test_visibility_composes_with_other_filters_and_counts(records: World) -> None:
    w = records
    manager = w.current("manager")
    count = w.session.scalar(
        select(func.count()).select_from(w.model).where(visible(w.model, manager), w.model.title.like("%own"))
    )
    assert count == 4


# -- the system scope -----------------------------------------------------------------------------------


def test_match_fact_tells_count_and_owner_not_the_record(records: World) -> None:
    w = records
    w.record("Acme Ltd", user="sales2")
    sales = w.current("sales")
    criterion = w.model.title == "Acme Ltd"
    assert w.session.scalar(select(func.count()).select_from(w.model).where(criterion, visible(w.model, sales))) == 0
    fact = match_fact(w.session, w.model, criterion)
    assert fact == MatchFact(count=1, owner="Taras Sales")
    assert {f.name for f in dataclasses.fields(MatchFact)} == {"count", "owner"}  # no id, no fields
    w.record("Acme Ltd", team="Sales")
    assert match_fact(w.session, w.model, criterion).count == 2
    assert match_fact(w.session, w.model, w.model.title == "sales team") == MatchFact(1, "Sales")
    assert match_fact(w.session, w.model, w.model.title == "nobody's") == MatchFact(1, None)
    assert match_fact(w.session, w.model, w.model.title == "no such thing") is None


def test_a_runaway_query_is_stopped_by_the_deadline(world: World) -> None:
    """The guard the cycle test relies on works: it turns a hang into an error."""
    forever = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    with pytest.raises(DBAPIError), deadline(world.session, seconds=0.5):
        world.session.connection().exec_driver_sql(forever)

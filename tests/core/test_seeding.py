"""Seeding at scale: the bulk-insert helper, ``events.emit_many``, core's organisation and a seeded app.

Every test runs on SQLite and PostgreSQL (COPY there, executemany here).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from voronka_test_notes.models import Note
from voronka_test_notes.seed import notes_for_scale

from voronka.core import seeding
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.events import PENDING_KEY, EventError, add_waker, database_key, emit, emit_many
from voronka.core.models import ManagerLink, Role, Team, TeamMember, User, UserRole
from voronka.core.models_jobs import OutboxEvent
from voronka.core.models_records import AuditEntry, TagLink
from voronka.core.security.visibility import everyone_under
from voronka.core.seeding import BulkInsertError, SeedContext, bulk_insert, seed_plugins
from voronka.core.types import UTC, SearchKey, UTCDateTime, utcnow
from voronka.web import seed_core
from voronka.web.seed_core import DEMO_DOMAIN, DEMO_PASSWORD, INBOUND_QUEUE, RENEWALS_QUEUE, build_org, dates
from voronka.web.testkit.users import TEST_PASSWORD

NOTES = "notes=voronka_test_notes"
KYIV = dt.timezone(dt.timedelta(hours=2))


@contextmanager
def scratch_table(db_url: str, autoincrement: bool = False) -> Iterator[tuple[Any, Table, Table]]:
    """An engine with two identical tables of every column type we use (one for bulk, one for INSERT)."""
    metadata = MetaData()
    tables = [
        Table(
            name,
            metadata,
            Column("id", Integer, primary_key=True),
            Column("name", String(80), nullable=True),
            Column("body", Text, default="(empty)"),
            Column("active", Boolean, default=True),
            Column("day", Date, nullable=True),
            Column("at", UTCDateTime(), nullable=True),
            Column("made_at", UTCDateTime(), default=utcnow),
            Column("data", JSON, nullable=True),
            Column("name_key", SearchKey(), default=""),
            Column("amount_minor", BigInteger, nullable=True),
            Column("amount_currency", String(3), nullable=True),
            Column("ratio", Float, nullable=True),
            Column("exact", Numeric(12, 2), nullable=True),
            Column("blob", LargeBinary, nullable=True),
            Column("custom", JSON, default=dict),
            sqlite_autoincrement=autoincrement,
        )
        for name in ("zz_seed_bulk", "zz_seed_insert")
    ]
    engine = make_engine(db_url)
    metadata.create_all(engine)
    try:
        yield engine, tables[0], tables[1]
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def sample_rows(n: int, rng: random.Random | None = None) -> list[dict[str, Any]]:
    """Rows with awkward values: tabs, newlines, backslashes, quotes, Cyrillic, NULLs, nested JSON."""
    rng = rng or random.Random(7)
    rows = []
    for i in range(n):
        rows.append(
            {
                "name": None if i % 5 == 4 else f"Олена\t«{i}»\\N 'x'\n\"y\"",
                "active": i % 2 == 0,
                "day": None if i % 3 == 2 else dt.date(2024, 2, 29) + dt.timedelta(days=i),
                "at": None if i % 4 == 3 else dt.datetime(2025, 3, 30, 2, 30, i % 60, 123456, tzinfo=KYIV),
                "data": None if i % 6 == 5 else {"n": i, "list": [1, "два", None, True], "nested": {"k": "\\"}},
                "name_key": f"olena {i}",
                "amount_minor": None if i % 7 == 6 else rng.randint(-(10**15), 10**15),
                "amount_currency": "UAH" if i % 2 else "EUR",
                "ratio": None if i % 8 == 7 else i / 3,
                "exact": None if i % 9 == 8 else Decimal("1234.50") + i,
                "blob": None if i % 2 else bytes([0, 1, 92, 255, i % 256]),
            }
        )
    return rows


def read_back(engine: Any, table: Table) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


def raw(engine: Any, table: Table) -> list[tuple[Any, ...]]:
    """What the driver returns, with no SQLAlchemy processing: the stored values themselves."""
    columns = [c.name for c in table.columns if c.name != "made_at"]
    with engine.connect() as conn:
        quoted = ", ".join(columns)
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {quoted} FROM {table.name} ORDER BY id")]


# -- bulk_insert ----------------------------------------------------------------------------------------------


def test_bulk_insert_stores_every_column_type_exactly_as_an_insert_would(engine: str, db_url: str):
    rows = sample_rows(40)
    with scratch_table(db_url) as (db, bulk, plain):
        sessions = make_sessionmaker(db)
        started = utcnow()
        with write_transaction(sessions) as session:
            cache = session.connection().exec_driver_sql("PRAGMA cache_size").scalar() if engine == "sqlite" else None
            assert bulk_insert(session, bulk, rows) == 40
            session.execute(insert(plain), rows)
            if cache is not None:  # the big page cache of the insert is given back
                assert session.connection().exec_driver_sql("PRAGMA cache_size").scalar() == cache
        assert raw(db, bulk) == raw(db, plain)  # byte for byte what SQLAlchemy's INSERT stores

        back = read_back(db, bulk)
        assert [r.id for r in back] == list(range(1, 41))
        for row, got in zip(rows, back, strict=True):
            for key, value in row.items():
                assert getattr(got, key) == value, key
            assert got.body == "(empty)" and got.custom == {}  # scalar and callable defaults
            assert got.made_at.tzinfo is not None and got.made_at >= started - dt.timedelta(seconds=1)
        aware = back[0].at
        assert aware.tzinfo is not None and aware.utcoffset() == dt.timedelta(0)
        assert aware == dt.datetime(2025, 3, 30, 0, 30, 0, 123456, tzinfo=UTC)
        assert back[0].data == {"n": 0, "list": [1, "два", None, True], "nested": {"k": "\\"}}


@pytest.mark.parametrize("block", [7, 20_000])
def test_bulk_insert_returns_the_ids_of_its_rows_in_order(
    engine: str, db_url: str, block: int, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(seeding, "PG_BLOCK", block)
    monkeypatch.setattr(seeding, "SQLITE_BATCH", block)
    with scratch_table(db_url) as (db, bulk, _):
        sessions = make_sessionmaker(db)
        with write_transaction(sessions) as session:  # rows already there, the newest one deleted
            session.execute(insert(bulk), [{"name": "old"} for _ in range(5)])
            session.execute(delete(bulk).where(bulk.c.id == 5))
        rows = ({"name": f"row {i}", "name_key": f"row {i}"} for i in range(50))  # a generator: streamed
        with write_transaction(sessions) as session:
            ids = bulk_insert(session, bulk, rows, returning_ids=True)
            after = session.execute(insert(bulk).values(name="after")).inserted_primary_key[0]
        assert len(ids) == len(set(ids)) == 50
        assert min(ids) > 4 and after > max(ids)  # the table's own numbering carries on after them
        with db.connect() as conn:
            names = dict(conn.execute(select(bulk.c.id, bulk.c.name)).all())
        assert [names[i] for i in ids] == [f"row {i}" for i in range(50)]
        if engine == "sqlite":
            assert ids == list(range(5, 55))  # plain rowid table: the deleted top id is free again


def test_bulk_insert_keeps_given_ids_and_never_reuses_autoincrement_ids(engine: str, db_url: str):
    with scratch_table(db_url, autoincrement=True) as (db, bulk, _):
        sessions = make_sessionmaker(db)
        with write_transaction(sessions) as session:
            assert bulk_insert(
                session, bulk, [{"id": 100, "name": "a"}, {"id": 7, "name": "b"}], returning_ids=True
            ) == [
                100,
                7,
            ]
        with write_transaction(sessions) as session:
            session.execute(insert(bulk).values(name="c"))
            session.execute(delete(bulk))
            ids = bulk_insert(session, bulk, [{"name": "d"}, {"name": "e"}], returning_ids=True)
        assert len(set(ids)) == 2
        if engine == "sqlite":  # AUTOINCREMENT: ids of deleted rows (up to 101) are never handed out again
            assert ids == [102, 103]


def test_a_large_sqlite_insert_indexes_at_the_end_and_keeps_unique_checks(
    engine: str, db_url: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(seeding, "SQLITE_BATCH", 10)
    monkeypatch.setattr(seeding, "PG_BLOCK", 10)
    metadata = MetaData()
    table = Table(
        "zz_seed_indexed",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("code", String(20), unique=True),
        Column("city", String(40), index=True),
        Index("ix_zz_seed_indexed_city_code", "city", "code"),
    )
    db = make_engine(db_url)
    metadata.create_all(db)
    try:
        indexes = sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspect(db).get_indexes(table.name)
        )
        sessions = make_sessionmaker(db)
        with write_transaction(sessions) as session:
            rows = [{"code": f"c{i}", "city": "Львів" if i % 2 else "Kyiv"} for i in range(45)]
            assert len(bulk_insert(session, table, rows, returning_ids=True)) == 45
        assert (
            sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspect(db).get_indexes(table.name)
            )
            == indexes
        )
        with pytest.raises(IntegrityError), write_transaction(sessions) as session:
            bulk_insert(session, table, [{"code": f"new{i}" if i != 33 else "c3", "city": "Odesa"} for i in range(40)])
        with db.connect() as conn:
            assert (
                conn.execute(select(func.count()).select_from(table)).scalar() == 45
            )  # the failed insert left nothing
        assert (
            sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspect(db).get_indexes(table.name)
            )
            == indexes
        )
    finally:
        metadata.drop_all(db)
        db.dispose()


def test_bulk_insert_refuses_rows_it_cannot_write(engine: str, db_url: str):
    with scratch_table(db_url) as (db, bulk, _):
        sessions = make_sessionmaker(db)
        with sessions() as session:
            with pytest.raises(BulkInsertError, match="no column 'colour'"):
                bulk_insert(session, bulk, [{"name": "a", "colour": "red"}])
            with pytest.raises(BulkInsertError, match="has no 'day'"):
                bulk_insert(session, bulk, [{"name": "a", "day": None}, {"name": "b"}])
            session.rollback()
            assert bulk_insert(session, bulk, []) == 0
            assert bulk_insert(session, bulk, iter(()), returning_ids=True) == []
            with pytest.raises(BulkInsertError, match="no single integer primary key"):
                bulk_insert(
                    session, TagLink.__table__, [{"kind": "note", "record_id": 1, "tag_id": 1}], returning_ids=True
                )
        assert read_back(db, bulk) == []


def test_bulk_insert_flushes_what_the_session_holds_first(app: Any, engine: str):
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        user_id = session.scalar(select(User.id).where(User.username == "sales"))
        session.add(Team(id=900_001, name="Added, not flushed"))  # the foreign key below needs it written
        ctx = SeedContext(engine=runtime.engine, session=session)
        assert ctx.bulk_insert(TeamMember, [{"team_id": 900_001, "user_id": user_id}]) == 1  # a mapped class works
        assert ctx.rows == 1
    with runtime.sessions() as session:
        assert session.scalar(select(TeamMember.user_id).where(TeamMember.team_id == 900_001)) == user_id


# -- emit_many --------------------------------------------------------------------------------------------------


def outbox(session: Session) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def test_emit_many_writes_what_emit_writes_in_order(app: Any, engine: str):
    runtime = app.state.voronka
    woken: list[int] = []
    remove = add_waker(database_key(runtime.engine), lambda: woken.append(1))
    try:
        with write_transaction(runtime.sessions) as session:
            before = len(outbox(session))
            emit(session, "seed_test.made", {"n": 0, "tags": ("a", "b")})
            assert emit_many(session, "seed_test.made", [{"n": 1, "tags": ("a", "b")}, None, {"n": 3}]) == 3
            assert session.info[PENDING_KEY] is True
        assert woken  # the dispatcher in this process is told after the commit, as for emit
    finally:
        remove()
    with runtime.sessions() as session:
        events = outbox(session)[before:]
    assert [e.name for e in events] == ["seed_test.made"] * 4
    assert [e.payload for e in events] == [{"n": 0, "tags": ["a", "b"]}, {"n": 1, "tags": ["a", "b"]}, {}, {"n": 3}]
    assert all(e.delivered_at is None and e.occurred_at.tzinfo is not None for e in events)
    assert [e.id for e in events] == sorted(e.id for e in events)


@pytest.mark.parametrize(
    ("name", "payloads", "message"),
    [
        ("NoDots", [{}], "must be namespaced"),
        ("seed_test.bad", [{"ok": 1}, ["not", "a", "dict"]], "payload 1 of seed_test.bad must be a dict"),
        ("seed_test.bad", [{"ok": 1}, {"when": dt.date(2025, 1, 1)}], r"payload 1\['when'\] is a date"),
        ("seed_test.bad", [{"x": float("nan")}], "JSON cannot carry"),
        ("seed_test.bad", [{1: "key"}], "not a string"),
    ],
)
def test_emit_many_refuses_bad_names_and_payloads_and_writes_none(app: Any, engine: str, name, payloads, message):
    runtime = app.state.voronka
    with runtime.sessions() as session:
        before = len(outbox(session))
        with pytest.raises(EventError, match=message):
            emit_many(session, name, payloads)
        assert len(outbox(session)) == before
        assert PENDING_KEY not in session.info
        assert emit_many(session, "seed_test.none", []) == 0 and PENDING_KEY not in session.info


# -- core's organisation ------------------------------------------------------------------------------------------


def test_org_size_caps_at_about_two_hundred_users():
    founded, reorganised = dates(dt.date(2026, 11, 27))
    sizes = {}
    for scale in (1, 2, 3, 13, 14, 1000):
        ctx = SeedContext(engine=None, session=None, scale=scale)  # type: ignore[arg-type]
        sizes[scale] = len(build_org(ctx, founded, reorganised).people)
    assert sizes == {1: 15, 2: 30, 3: 45, 13: 195, 14: 195, 1000: 195}


@pytest.mark.voronka(plugins=[NOTES])
def test_a_large_org_has_five_levels_no_cycles_and_a_manager_for_everyone(app: Any, engine: str):
    runtime = app.state.voronka
    today = dt.date.today()
    founded, reorganised = dates(today)
    with write_transaction(runtime.sessions) as session:
        ctx = SeedContext(engine=runtime.engine, session=session, scale=40)
        summary = seed_core.seed_core(ctx)
    assert summary is not None and summary.users == 195

    with runtime.sessions() as session:
        demo = dict(session.execute(select(User.id, User.username).where(User.email.like(f"%@{DEMO_DOMAIN}"))).all())
        assert set(demo) == set(ctx.ids["core.users"]) and len(demo) == 195
        links = session.scalars(select(ManagerLink).where(ManagerLink.user_id.in_(demo))).all()
        current = {}
        for link in links:
            if link.valid_from <= today and (link.valid_to is None or link.valid_to > today):
                assert link.user_id not in current, "two managers today"
                current[link.user_id] = link.manager_id
        director = next(i for i, name in demo.items() if name == summary.director)
        crm_admin = next(i for i, name in demo.items() if name == "vira.marchenko")
        assert set(demo) - set(current) == {director, crm_admin}  # the administrator is outside the sales line

        depth = {}
        for user_id in demo:
            chain, at = [user_id], user_id
            while at in current:
                at = current[at]
                assert at not in chain, "a cycle in the hierarchy"
                chain.append(at)
            depth[user_id] = len(chain)
        assert max(depth.values()) == 5
        assert {depth[u] for u in everyone_under(session, director, today)} == {2, 3, 4, 5}
        assert everyone_under(session, director, today) == set(demo) - {director, crm_admin}
        deepest = [u for u, d in depth.items() if d == 5]
        roles = dict(session.execute(select(UserRole.user_id, Role.key).join(Role)).all())
        assert {roles[u] for u in deepest} == {"sales"}

        for user_id in demo:  # dated links never overlap
            mine = sorted((k.valid_from, k.valid_to or dt.date.max) for k in links if k.user_id == user_id)
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(mine))
        moved = [k for k in links if k.valid_to == reorganised]
        assert len(moved) >= 14  # Lviv, James Carter, Poltava's head and one sales person per branch
        assert all(k.valid_from == founded for k in moved)

        teams = {t.id: t for t in session.scalars(select(Team).where(Team.id.in_(ctx.ids["core.teams"])))}
        assert len(teams) == 16  # Kyiv, Lviv, 12 city branches, two queues
        members = dict(
            session.execute(
                select(TeamMember.team_id, func.count())
                .where(TeamMember.team_id.in_(teams))
                .group_by(TeamMember.team_id)
            ).all()
        )
        assert all(members.get(team_id, 0) >= 3 for team_id in teams), "an empty team"
        assert {teams[i].name for i in ctx.ids["core.queues"]} == {INBOUND_QUEUE, RENEWALS_QUEUE}
        assert all(teams[i].is_queue for i in ctx.ids["core.queues"])
        assert len(ctx.ids["core.sales"]) > 130 and len(ctx.ids["core.operators"]) == 4 + 2 * 12


# -- a seeded app -----------------------------------------------------------------------------------------------


@pytest.mark.voronka(plugins=[NOTES], entry_points=False)
def test_a_scale_20_demo_seeds_fast_and_its_pages_answer_quickly(app: Any, client: Any, engine: str):
    runtime = app.state.voronka
    with runtime.sessions() as session:
        events_before = session.scalar(select(func.count()).select_from(OutboxEvent))
        audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
    started = time.perf_counter()
    with write_transaction(runtime.sessions) as session:
        ctx = SeedContext(engine=runtime.engine, session=session, scale=20, language="uk")
        seed_core.seed_core(ctx)
        seen = []
        results = seed_plugins(runtime.host, ctx, seen.append)
    assert time.perf_counter() - started < 60
    assert [r.plugin for r in results] == [r.plugin for r in seen] == ["notes"]
    notes = results[0]
    assert len(ctx.ids["notes.notes"]) == notes_for_scale(20) == 19_005
    assert notes.rows > 19_005 and notes.seconds > 0  # the notes and their tag links

    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Note)) == 19_005
        owners = set(session.scalars(select(Note.owner_user_id).distinct()))
        assert owners == set(ctx.ids["core.sales"])  # spread over every sales person
        oldest, newest = session.execute(select(func.min(Note.created_at), func.max(Note.created_at))).one()
        assert newest - oldest > dt.timedelta(days=600) and newest.tzinfo is not None
        assert session.scalar(select(func.count()).where(Note.title_key == "")) == 0
        tagged = session.scalar(select(func.count(func.distinct(TagLink.record_id))).where(TagLink.kind == "note"))
        assert 0.05 * 19_005 < tagged < 0.12 * 19_005
        # seeded records are the starting state: no events to deliver, no audit history
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == events_before
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before

    sales_username = _username(runtime, ctx.ids["core.sales"][3])
    for username, password in (("admin", TEST_PASSWORD), (sales_username, DEMO_PASSWORD)):
        client.login(username, password)
        for path in ("/", "/notes/"):
            began = time.perf_counter()
            page = client.get(path)
            assert page.status_code == 200, (username, path)
            assert time.perf_counter() - began < 2.0, (username, path)
    assert "notes.list" in client.get("/").text


def _username(runtime: Any, user_id: int) -> str:
    with runtime.sessions() as session:
        return session.scalar(select(User.username).where(User.id == user_id))


@pytest.mark.voronka(plugins=[NOTES])
def test_the_demo_command_prints_progress_per_plugin_and_refuses_a_second_run(
    engine: str, db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from voronka.core.config import Settings
    from voronka.web.cli import create_cli, render_config

    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("VORONKA_") and not n.startswith("VORONKA_TEST_")]:
        monkeypatch.delenv(name)
    config = tmp_path / "voronka.toml"
    config.write_text(
        render_config(Settings(database_url=db_url, secret_key="x" * 32, extra_plugins=[NOTES])), encoding="utf-8"
    )

    def demo(*args: str) -> Any:
        return CliRunner().invoke(create_cli(), ["--config", str(config), "demo", *args])

    help_text = CliRunner().invoke(create_cli(), ["demo", "--help"]).output
    assert "195 users" in " ".join(help_text.split())
    first = demo("--scale", "3")
    assert first.exit_code == 0, first.output
    assert "core: 45 users" in first.output
    line = next(line for line in first.output.splitlines() if line.startswith("notes: seeded"))
    assert "rows in" in line and "rows/s" in line
    assert "Demo data ready in" in first.output
    engine_ = make_engine(db_url)
    try:
        with make_sessionmaker(engine_)() as session:
            count = session.scalar(select(func.count()).select_from(Note))
            assert count == notes_for_scale(3)
            again = demo("--scale", "3")
            assert again.exit_code == 0 and "already has demo data (scale 3" in again.output
            assert session.scalar(select(func.count()).select_from(Note)) == count
    finally:
        engine_.dispose()

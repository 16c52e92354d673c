"""Engines and transactions: SQLite's pragmas, foreign keys, the write lock, optimistic concurrency, and
a clear ``DatabaseUnavailable`` for every way a database URL can be wrong."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from voronka.core.concurrency import save_versioned
from voronka.core.config import Settings
from voronka.core.db import check_connection, make_engine, make_sessionmaker, write_transaction
from voronka.core.errors import DatabaseUnavailable, StaleRecord
from voronka.core.models import TeamMember, VersionedMixin
from voronka.web.app import create_app


class _Local(DeclarativeBase):
    metadata = MetaData()


class Doc(VersionedMixin, _Local):
    """A record people edit: the core version column, outside ``Base``."""

    __tablename__ = "vtest_doc"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(String(500), default="")


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    bound = make_engine(db_url)
    _Local.metadata.create_all(bound)
    try:
        yield bound
    finally:
        bound.dispose()


# -- SQLite settings ------------------------------------------------------------------------------------


def test_sqlite_connections_have_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.sqlite'}")
    try:
        for _ in range(2):  # every pooled connection, not only the first
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced_on_both_engines(db):
    with pytest.raises(IntegrityError), write_transaction(make_sessionmaker(db)) as session:
        session.add(TeamMember(team_id=987654, user_id=987654))
        session.flush()


@pytest.mark.engines("sqlite")
def test_a_write_transaction_takes_the_write_lock_up_front(db, db_url):
    path = db_url.removeprefix("sqlite:///")
    with write_transaction(make_sessionmaker(db)) as session:
        session.execute(select(Doc.id))  # only a read so far, yet the lock is held
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            assert other.execute("SELECT count(*) FROM core_user").fetchone()[0] > 0  # readers carry on (WAL)
        finally:
            other.close()


# -- optimistic concurrency -----------------------------------------------------------------------------


def test_save_versioned_bumps_the_version(db):
    factory = make_sessionmaker(db)
    with write_transaction(factory) as session:
        doc = Doc(title="Draft")
        session.add(doc)
        session.flush()
        doc_id = doc.id
    assert doc.version == 1
    with write_transaction(factory) as session:
        assert save_versioned(session, Doc, doc_id, 1, {"title": "Second"}) == 2
    with write_transaction(factory) as session:
        assert save_versioned(session, Doc, doc_id, 2, {"title": "Third", "body": "text"}) == 3
    with factory() as session:
        row = session.get(Doc, doc_id)
        assert (row.title, row.body, row.version) == ("Third", "text", 3)


def test_a_stale_save_raises_and_writes_nothing(db):
    factory = make_sessionmaker(db)
    with write_transaction(factory) as session:
        session.add_all([Doc(id=1, title="Shared"), Doc(id=2, title="Other")])
    # two people open version 1; the first saves
    with write_transaction(factory) as session:
        save_versioned(session, Doc, 1, 1, {"title": "First person's title"})
    # the second saves a related change and then the stale form: the whole transaction is refused
    with pytest.raises(StaleRecord, match="Someone else saved"), write_transaction(factory) as session:
        session.add(Doc(id=3, title="Written in the same transaction"))
        save_versioned(session, Doc, 2, 1, {"title": "Other, edited"})
        save_versioned(session, Doc, 1, 1, {"title": "Second person's title", "body": "lost?"})
    with factory() as session:
        rows = {d.id: (d.title, d.body, d.version) for d in session.scalars(select(Doc))}
    assert rows == {1: ("First person's title", "", 2), 2: ("Other", "", 1)}
    with pytest.raises(StaleRecord), write_transaction(factory) as session:
        save_versioned(session, Doc, 987654, 1, {"title": "gone"})  # a deleted record is stale too


# -- a database that cannot be used ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", "not valid"),
        ("", "not valid"),
        ("foodb://user:hunter2@db.example/crm", "unsupported driver"),
        ("postgresql+nosuchdriver://user:hunter2@127.0.0.1/crm", "unsupported driver"),
        ("mysql+nosuchdriver://user:hunter2@127.0.0.1/crm", "unsupported driver"),
    ],
)
def test_a_bad_url_or_driver_is_a_clear_error(url, words):
    with pytest.raises(DatabaseUnavailable, match=words) as caught:
        make_engine(url)
    assert "hunter2" not in str(caught.value), "the message must not show the password"
    with pytest.raises(DatabaseUnavailable):
        create_app(Settings(database_url=url, secret_key="k", entry_points=False))


def test_an_unreachable_postgresql_is_a_clear_error():
    url = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/voronka?connect_timeout=3"
    with pytest.raises(DatabaseUnavailable, match="Cannot open the database") as caught:
        check_connection(make_engine(url))
    message = str(caught.value)
    assert "127.0.0.1:1" in message and "hunter2" not in message
    with pytest.raises(DatabaseUnavailable, match="Cannot open the database"):
        create_app(Settings(database_url=url, secret_key="k", entry_points=False))


@pytest.mark.engines("postgresql")
def test_a_missing_postgresql_database_is_a_clear_error(db_url):
    url = db_url.rsplit("/", 1)[0] + "/voronka_no_such_database"
    with pytest.raises(DatabaseUnavailable, match=r"voronka_no_such_database.*does not exist"):
        create_app(Settings(database_url=url, secret_key="k", entry_points=False))


def _real_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (a TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    conn.commit()
    conn.close()


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _bad_header(path: Path) -> None:
    _real_sqlite(path)
    data = bytearray(path.read_bytes())
    data[0:16] = b"X" * 16
    path.write_bytes(bytes(data))


def _bad_schema_page(path: Path) -> None:
    _real_sqlite(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = bytes(range(256)) * 15 + bytes(range(156))
    path.write_bytes(bytes(data))


def _truncated(path: Path) -> None:
    _real_sqlite(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (_garbage, "not a database"),
        (_bad_header, "not a database"),
        (_bad_schema_page, "malformed"),
        (_truncated, "malformed"),
    ],
)
def test_a_corrupt_sqlite_file_is_a_clear_error(tmp_path, damage, words):
    path = tmp_path / "voronka.sqlite"
    damage(path)
    url = f"sqlite:///{path}"
    with pytest.raises(DatabaseUnavailable, match=words) as caught:
        create_app(Settings(database_url=url, secret_key="k", entry_points=False))
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_a_sqlite_path_that_cannot_be_opened_is_a_clear_error(tmp_path, where):
    path = tmp_path / "no" / "such" / "dir" / "voronka.sqlite" if where == "missing folder" else tmp_path
    with pytest.raises(DatabaseUnavailable, match="unable to open database file"):
        create_app(Settings(database_url=f"sqlite:///{path}", secret_key="k", entry_points=False))


def test_gc_tuning_freezes_and_raises_thresholds_only_when_the_setting_is_on():
    import gc

    from voronka.core.config import Settings
    from voronka.web.tuning import GC_THRESHOLDS, tune_gc

    before = gc.get_threshold()
    try:
        assert tune_gc(Settings(gc_tuning=False)) is False and gc.get_threshold() == before
        assert tune_gc(Settings(gc_tuning=True)) is True
        assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_test_kit_keeps_gc_tuning_off(voronka_settings):
    assert voronka_settings.gc_tuning is False  # frozen objects are never collected: not in test processes

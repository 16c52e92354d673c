"""Gap-free numbering: formats, yearly restart, rollbacks, and concurrent writers on both engines."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from voronka.core import company
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.models_company import NumberSequence
from voronka.core.sequences import (
    UnknownSequence,
    define_sequence,
    format_number,
    next_number,
    next_value,
    sequences,
    upcoming,
)


@pytest.fixture
def db(db_url: str) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    engine = make_engine(db_url)
    company.invalidate()
    try:
        yield engine, make_sessionmaker(engine)
    finally:
        engine.dispose()


class Boom(Exception):
    pass


def test_format_and_yearly_restart(db):
    _engine, sessions = db
    with write_transaction(sessions) as session:
        define_sequence(session, "sales.quote", prefix="Q", digits=5, label="Quotes")
        define_sequence(session, "sales.order", prefix="ORD", digits=3, per_year=False)
        define_sequence(session, "plain", digits=1, per_year=False)
    with write_transaction(sessions) as session:
        jan = dt.date(2026, 1, 5)
        assert [next_number(session, "sales.quote", on=jan) for _ in range(3)] == [
            "Q-2026-00001", "Q-2026-00002", "Q-2026-00003",
        ]  # fmt: skip
        assert next_number(session, "sales.quote", on=dt.date(2027, 1, 1)) == "Q-2027-00001"
        # a document dated in an earlier year keeps numbering in the counter's year: never a repeat
        assert next_number(session, "sales.quote", on=dt.date(2026, 12, 31)) == "Q-2027-00002"
        assert next_number(session, "sales.order", on=jan) == "ORD-001"
        assert next_number(session, "sales.order", on=dt.date(2027, 6, 1)) == "ORD-002"
        assert [next_number(session, "plain") for _ in range(11)][-2:] == ["10", "11"]
        assert next_value(session, "sales.quote", on=dt.date(2027, 2, 1)) == (3, 2027)
    with sessions() as session:
        listed = {s.key: s for s in sequences(session)}
        assert listed["sales.quote"].label == "Quotes" and listed["sales.quote"].next_value == 4
        assert upcoming(session, listed["sales.quote"], dt.date(2027, 3, 1)) == "Q-2027-00004"
        assert upcoming(session, listed["sales.quote"], dt.date(2028, 1, 1)) == "Q-2028-00001"
    assert format_number("", 5, True, 2026, 42) == "2026-00042"
    assert format_number("Q", 5, True, 2026, 123456) == "Q-2026-123456"  # more than `digits`: no truncation


def test_defining_again_keeps_the_counter_and_unknown_keys_are_clear(db):
    _engine, sessions = db
    with write_transaction(sessions) as session:
        define_sequence(session, "q", prefix="Q", per_year=False)
        assert next_number(session, "q") == "Q-00001"
        define_sequence(session, "q", prefix="OTHER", per_year=False)  # already there: unchanged
        assert next_number(session, "q") == "Q-00002"
    with pytest.raises(UnknownSequence, match="define_sequence"), write_transaction(sessions) as session:
        next_number(session, "nope")
    with pytest.raises(ValueError), write_transaction(sessions) as session:
        define_sequence(session, "x", digits=0)


def test_a_rolled_back_transaction_gives_its_number_back(db):
    _engine, sessions = db
    with write_transaction(sessions) as session:
        define_sequence(session, "q", prefix="Q", per_year=False)
        assert next_number(session, "q") == "Q-00001"
    with pytest.raises(Boom), write_transaction(sessions) as session:
        assert next_number(session, "q") == "Q-00002"
        raise Boom  # the quote failed to save: its number is not used up
    with write_transaction(sessions) as session:
        assert next_number(session, "q") == "Q-00002"


def _threaded_writers(sessions: sessionmaker[Session], writers: int, each: int) -> tuple[list[int], int]:
    """``writers`` threads take ``each`` numbers, every 7th transaction rolling back; (committed, rolled back)."""
    committed: list[int] = []
    rolled_back = 0
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def work(n: int) -> None:
        nonlocal rolled_back
        try:
            start.wait()
            for i in range(each):
                fail = (n * each + i) % 7 == 3
                try:
                    with write_transaction(sessions) as session:
                        value, _year = next_value(session, "q")
                        if fail:
                            raise Boom
                except Boom:
                    with lock:
                        rolled_back += 1
                    continue
                with lock:
                    committed.append(value)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return committed, rolled_back


@pytest.mark.engines("postgresql")
def test_concurrent_writers_on_postgresql_get_distinct_gap_free_numbers(db):
    _engine, sessions = db
    with write_transaction(sessions) as session:
        define_sequence(session, "q", per_year=False)
    committed, rolled_back = _threaded_writers(sessions, writers=8, each=50)
    assert rolled_back > 0
    assert len(committed) == 400 - rolled_back
    assert sorted(committed) == list(range(1, len(committed) + 1)), "numbers repeated or skipped"
    with sessions() as session:
        assert session.get(NumberSequence, "q").next_value == len(committed) + 1


@pytest.mark.engines("sqlite")
def test_concurrent_writers_on_sqlite_threads(db):
    _engine, sessions = db
    with write_transaction(sessions) as session:
        define_sequence(session, "q", per_year=False)
    committed, rolled_back = _threaded_writers(sessions, writers=4, each=25)
    assert sorted(committed) == list(range(1, 100 - rolled_back + 1))


WORKER = textwrap.dedent(
    """
    import json, sys
    from voronka.core.db import make_engine, make_sessionmaker, write_transaction
    from voronka.core.sequences import next_value

    url, count, offset = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    taken = []
    for i in range(count):
        try:
            with write_transaction(sessions) as session:
                value, _year = next_value(session, "q")
                if (offset + i) % 5 == 2:
                    raise KeyError("roll back")
            taken.append(value)
        except KeyError:
            pass
    engine.dispose()
    print(json.dumps(taken))
    """
)


def test_two_processes_share_one_sequence(db, db_url):
    _engine, sessions = db
    with write_transaction(sessions) as session:
        define_sequence(session, "q", per_year=False)
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, db_url, "60", str(n)], stdout=subprocess.PIPE, text=True)
        for n in range(2)
    ]
    results = []
    for proc in procs:
        out, _err = proc.communicate(timeout=180)
        assert proc.returncode == 0
        results.append(json.loads(out))
    both = results[0] + results[1]
    assert len(both) == 2 * 60 - 2 * 12  # every 5th transaction of each process rolled back
    assert sorted(both) == list(range(1, len(both) + 1)), "numbers repeated or skipped across processes"
    with sessions() as session:
        assert session.scalar(select(NumberSequence.next_value).where(NumberSequence.key == "q")) == len(both) + 1

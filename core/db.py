"""Engine, metadata and sessions for both engines: SQLite embedded, PostgreSQL for larger deployments."""

from __future__ import annotations

import collections
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .errors import DatabaseUnavailable

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The one declarative base: every plugin's models share its metadata, prefixed by plugin name."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


SQLITE_CACHE_KIB = 32 * 1024


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (pysqlite's implicit transactions defer it badly) and set the
    # pragmas every connection needs: WAL for concurrent readers, FKs on, wait instead of failing on locks.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    # 32 MB of page cache per connection instead of 2 MB: a card's timeline over a busy customer reads
    # hundreds of index pages, 4.3 ms with the default cache and 0.9 ms with this one (bench/contacts.py)
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so busy_timeout applies instead of a deadlock error when a
    # read transaction later wants to write while another process writes.
    mode = conn.get_execution_options().get("sqlite_begin", "BEGIN")
    conn.exec_driver_sql(mode)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the settings Voronka relies on; a bad URL is a clear error."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"The database URL {url!r} is not valid: {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, **kwargs)
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            _write_locks[engine] = FairWriteLock()
        else:
            kwargs.setdefault("pool_pre_ping", True)
            kwargs.setdefault("pool_size", 10)
            engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        shown = parsed.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"The database URL {shown!r} names an unsupported driver: {exc}") from None
    return engine


def check_connection(engine: Engine) -> None:
    """Open one connection so an unreachable or corrupt database fails at start-up with its reason."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA schema_version").scalar()
    except OperationalError as exc:
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        raise DatabaseUnavailable(f"Cannot open the database {safe_url(engine)}: {reason}") from None
    except Exception as exc:  # corrupt files surface as DatabaseError subclasses
        reason = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailable(f"Cannot use the database {safe_url(engine)}: {reason}") from None


def safe_url(engine_or_url: Engine | str) -> str:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.render_as_string(hide_password=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


APP_INFO = "voronka.runtime"
"""``Session.info`` key under which the web app's sessions carry the app's runtime (set by ``create_app``)."""


def runtime_of(session: Session) -> Any:
    """The runtime (record kinds, plugin host, settings store) of the app whose sessionmaker made
    ``session``, or None for a session made elsewhere. Code that has only a session — an outbox event
    handler, a before_save rule — reaches the registered record kinds this way."""
    return session.info.get(APP_INFO)


class FairWriteLock:
    """The writers of one SQLite database in this process take turns, first come, first served.

    SQLite has one writer, and a writer that finds the database locked sleeps in SQLite's busy handler
    (1, 2, 5 … up to 100 ms between retries), so a long job writing batch after batch keeps winning the
    lock while a person's save waits. Queueing writers here hands the lock to the longest waiter the
    moment the previous transaction ends. Re-entrant per thread, so a nested write transaction behaves as
    it would without the lock (SQLite refuses it after the busy timeout); a waiter that times out goes on
    to SQLite's own waiting. Writers in other processes still meet only SQLite's lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiters: collections.deque[tuple[int, threading.Event]] = collections.deque()

    def acquire(self, timeout: float) -> bool:
        me = threading.get_ident()
        with self._lock:
            if self._owner in (None, me):
                self._owner, self._depth = me, self._depth + 1
                return True
            turn = threading.Event()
            self._waiters.append((me, turn))
        try:
            if turn.wait(timeout):
                return True  # release() made us the owner
        except BaseException:  # interrupted (Ctrl-C): leave no waiter behind that nobody would release for
            with self._lock:
                if not turn.is_set():
                    self._waiters.remove((me, turn))
                    raise
            self.release()
            raise
        with self._lock:
            if turn.is_set():
                return True
            self._waiters.remove((me, turn))
            return False

    def release(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth:
                return
            if self._waiters:
                self._owner, turn = self._waiters.popleft()
                self._depth = 1
                turn.set()
            else:
                self._owner = None


_write_locks: weakref.WeakKeyDictionary[Engine, FairWriteLock] = weakref.WeakKeyDictionary()
WRITE_LOCK_WAIT = 10.0
"""Seconds a writer queues in this process before it falls back to SQLite's busy timeout."""


@contextmanager
def write_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One short write transaction: commit on success, roll back on any error (never half-written).

    On SQLite, writers of this process queue for the database in arrival order (:class:`FairWriteLock`)."""
    lock = _write_locks.get(factory.kw.get("bind"))  # type: ignore[arg-type]
    held = lock.acquire(WRITE_LOCK_WAIT) if lock is not None else False
    try:
        with factory() as session:
            session.connection(execution_options={"sqlite_begin": "BEGIN IMMEDIATE"})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        if held:
            assert lock is not None
            lock.release()

"""Demo and benchmark data: the context every plugin's ``seed(ctx)`` receives, and the bulk-insert helper.

``voronka demo --scale N`` seeds core's organisation (:mod:`voronka.web.seed_core`), then calls each enabled
plugin's ``seed(ctx)`` in dependency order, all in one transaction. A plugin reads what earlier plugins made
from ``ctx.ids`` (``ctx.ids["core.sales"]``), draws every random choice from ``ctx.rng`` (the same seed gives
the same data) and writes with :meth:`SeedContext.bulk_insert`, because the ORM is far too slow for the
million rows a large scale asks for.

**The scale.** 1 is a small demo a person can read; the organisation grows with the scale up to about 200
users (see :mod:`voronka.web.seed_core`), while plugins' records keep growing in proportion, so that scale
1000 gives about a million records of a plugin's main kind. Document what your plugin makes per step.

**Seeding writes no events, no audit entries and no custom-field index rows of its own accord.** Seeded
records are the starting state of a fresh database, not changes anyone made: a million "created" events would
keep the dispatcher busy long after the demo is ready, delivering news nobody waits for (and e-mail-to-lead
or webhook handlers would act on them), and a million audit entries would double the write. A plugin whose handlers
keep derived data (counters, caches, index rows) seeds that derived data directly, in the same bulk way. If
a plugin does want consumers to hear about its seed, it calls :func:`voronka.core.events.emit_many` with
one summary-sized event per batch, not per record.

:func:`bulk_insert` (also usable outside seeding) is engine-independent; what it does per engine:

- **PostgreSQL**: ``COPY table (columns) FROM STDIN`` through psycopg 3's ``cursor.copy`` and
  ``write_row``, in blocks of :data:`PG_BLOCK` rows. Ids asked for are reserved from the column's sequence
  with one ``nextval`` query per block (safe next to other writers), then copied in explicitly.
- **SQLite**: ``executemany`` of one prepared ``INSERT`` in batches of :data:`SQLITE_BATCH` rows, with a
  large page cache while it runs; when there is more than one batch, the table's plain (non-unique) indexes
  are dropped after the first and built again at the end, in the same transaction (twice as fast for a
  million rows; unique indexes stay, so a duplicate still fails). Ids asked for are allocated after the
  table's highest id (and ``sqlite_sequence``), which is safe because a write transaction (``BEGIN
  IMMEDIATE``, as :func:`voronka.core.db.write_transaction` opens) holds SQLite's only write lock; a
  concurrent writer could only make the insert fail with a duplicate key, never mix rows up.

Errors are SQLAlchemy's (``IntegrityError`` for a duplicate, on both engines), and the caller's
transaction decides: roll back and nothing of the insert remains.

Values go through each column type's own bind processing (the same conversions an ``INSERT`` through
SQLAlchemy applies: aware datetimes to UTC, JSON serialised, booleans, search keys), and columns a row leaves
out get their Python-side ``default`` (scalar or callable) as with an ``INSERT``. A million rows therefore
cost about a hundred round trips (a COPY and an id reservation per block), not a million.
"""

from __future__ import annotations

import functools
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal, overload

from sqlalchemy import Column, Engine, Table, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

PG_BLOCK = 20_000
"""Rows per COPY on PostgreSQL (and per sequence reservation when ids are asked for)."""
SQLITE_BATCH = 20_000
"""Rows per ``executemany`` on SQLite."""
SQLITE_CACHE_KIB = 256_000
"""SQLite page cache (KiB) while a bulk insert runs; the connection's own size is restored afterwards."""
PURE_FACTORIES = (dict, list, tuple, str, int, bool)
"""Callable defaults that give an equal value every time (converted once per insert, not per row)."""
PROGRESS_SECONDS = 5.0
"""At most one progress line this often."""


class BulkInsertError(ValueError):
    """Rows :func:`bulk_insert` cannot write as given (an unknown column, a row missing a column)."""


@dataclass
class SeedContext:
    """Scale (1 = a small demo), a seeded random generator, ids from earlier plugins, bulk inserts.

    ``ids`` is shared across plugins: core fills ``core.users``, ``core.teams``, ``core.queues``,
    ``core.managers``, ``core.sales``, ``core.operators``; each plugin adds its own namespaced keys
    (``notes.notes``) for the plugins seeded after it. ``progress``, when set, receives short lines
    ("notes_note: 240,000 rows") while long inserts run; ``rows`` counts every row bulk-inserted so far.
    """

    engine: Engine
    session: Session
    scale: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(20261127))
    ids: dict[str, list[int]] = field(default_factory=dict)
    language: str = "en"
    progress: Callable[[str], None] | None = None
    rows: int = 0
    host: Any = None
    """The plugin host, for a seed that goes through another plugin's services (leads qualifies through
    its outcomes, pipeline's among them); None where a caller seeds without an app."""

    @overload
    def bulk_insert(
        self, table: Any, rows: Iterable[Mapping[str, Any]], *, returning_ids: Literal[False] = False
    ) -> int: ...

    @overload
    def bulk_insert(
        self, table: Any, rows: Iterable[Mapping[str, Any]], *, returning_ids: Literal[True]
    ) -> list[int]: ...

    def bulk_insert(
        self, table: Any, rows: Iterable[Mapping[str, Any]], *, returning_ids: bool = False
    ) -> int | list[int]:
        """Insert ``rows`` (dicts keyed by column name) into ``table`` (a Table or a mapped class) fast.

        Returns the number of rows, or with ``returning_ids`` the new primary keys in the order of ``rows``.
        """
        result = bulk_insert(self.session, table, rows, returning_ids=returning_ids, progress=self.progress)
        self.rows += len(result) if isinstance(result, list) else result
        return result


@dataclass(frozen=True)
class PluginSeeded:
    """One plugin's ``seed`` hook: what it returned, how long it took, how many rows it bulk-inserted."""

    plugin: str
    result: Any
    seconds: float
    rows: int

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def seed_plugins(host: Any, ctx: SeedContext, done: Callable[[PluginSeeded], None] | None = None) -> list[PluginSeeded]:
    """Call every enabled plugin's ``seed`` hook in dependency order, timing each; ``done`` hears each one.

    The same order and argument passing as ``host.call_ordered("seed", ctx=ctx)``; an exception propagates
    (the caller rolls the whole demo back).
    """
    impls = {impl.plugin_name: impl for impl in host.pm.hook.seed.get_hookimpls()}
    results = []
    for name in list(host.order):
        impl = impls.get(name)
        if impl is None or not host.is_enabled(name):
            continue
        rows_before, started = ctx.rows, time.perf_counter()
        value = impl.function(**({"ctx": ctx} if "ctx" in impl.argnames else {}))
        seeded = PluginSeeded(name, value, time.perf_counter() - started, ctx.rows - rows_before)
        results.append(seeded)
        if done is not None:
            done(seeded)
    return results


# -- the bulk insert ---------------------------------------------------------------------------------------


@overload
def bulk_insert(
    session: Session | Connection,
    table: Any,
    rows: Iterable[Mapping[str, Any]],
    *,
    returning_ids: Literal[False] = False,
    progress: Callable[[str], None] | None = None,
) -> int: ...


@overload
def bulk_insert(
    session: Session | Connection,
    table: Any,
    rows: Iterable[Mapping[str, Any]],
    *,
    returning_ids: Literal[True],
    progress: Callable[[str], None] | None = None,
) -> list[int]: ...


def bulk_insert(
    session: Session | Connection,
    table: Any,
    rows: Iterable[Mapping[str, Any]],
    *,
    returning_ids: bool = False,
    progress: Callable[[str], None] | None = None,
) -> int | list[int]:
    """Insert many rows in the caller's transaction: COPY on PostgreSQL, ``executemany`` on SQLite.

    Every row must have the keys of the first row (columns left out get their Python-side default);
    ``returning_ids`` needs a single-column integer primary key and returns the ids in row order.
    Pending ORM changes in ``session`` are flushed first, so rows may point at objects just added.
    """
    target: Table = getattr(table, "__table__", table)
    if isinstance(session, Session):
        session.flush()
        conn = session.connection()
    else:
        conn = session
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return [] if returning_ids else 0
    plan = _Plan.build(target, conn.dialect, first, returning_ids)
    ids: list[int] = []
    count = 0
    postgres = conn.dialect.name == "postgresql"
    next_id = _sqlite_next_id(conn, target, plan.pk) if plan.allocate and not postgres else 0
    sequence = _pg_sequence(conn, target, plan.pk) if plan.allocate and postgres else ""
    if postgres:
        _pg_text_constants(conn, plan)
    writer = _copy_block if postgres else _executemany_block
    began = reported = time.monotonic()
    with _sqlite_cache(conn, postgres), ExitStack() as later:
        for n, chunk in enumerate(_chunks(itertools.chain((first,), iterator), PG_BLOCK if postgres else SQLITE_BATCH)):
            if n == 1 and not postgres:  # a large insert: index the rows once at the end
                later.enter_context(_sqlite_indexes_after(conn, target))
            reserved: Sequence[int] | None = None
            if plan.allocate:
                if postgres:
                    reserved = _pg_reserve(conn, sequence, len(chunk))
                else:
                    reserved = range(next_id, next_id + len(chunk))
                    next_id += len(chunk)
            writer(conn, plan, plan.tuples(chunk, reserved))
            if returning_ids:
                ids.extend(reserved if reserved is not None else (row[plan.pk] for row in chunk))
            count += len(chunk)
            if progress is not None and time.monotonic() - reported >= PROGRESS_SECONDS:
                progress(f"{target.name}: {count:,} rows")
                reported = time.monotonic()
    took = time.monotonic() - began
    if progress is not None and took >= PROGRESS_SECONDS:
        progress(f"{target.name}: {count:,} rows in {took:.1f} s ({count / took:,.0f} rows/s)")
    return ids if returning_ids else count


BULK_FROM = 20
"""Rows from which :func:`insert_many` takes the bulk path; below it one Core ``executemany`` costs less."""


@functools.cache
def _insert_of(table: Table) -> Any:
    """One INSERT statement per table, built once."""
    return table.insert()


def insert_many(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in the session's transaction, as fast as the engine allows.

    The write path's batches (audit entries, outbox events, custom-field index rows: thousands per import
    batch) go through here. Many rows take :func:`bulk_insert`'s driver-level path (PostgreSQL ``COPY``,
    SQLite's own ``executemany``), skipping SQLAlchemy's per-row parameter processing, which cost more than
    the inserts themselves; PostgreSQL's pipelined ``executemany`` also paid a round of protocol per row.
    """
    if not rows:
        return
    target: Table = getattr(table, "__table__", table)
    if len(rows) < BULK_FROM:
        # Core on the session's connection: no ORM entity is involved, and a single save runs this twice
        session.connection().execute(_insert_of(target), rows)
        return
    conn = session.connection()
    plan = _Plan.build(target, conn.dialect, rows[0], False)
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        _pg_text_constants(conn, plan)
        _copy_block(conn, plan, plan.tuples(rows, None))
    else:
        _executemany_block(conn, plan, plan.tuples(rows, None))


@contextmanager
def _sqlite_indexes_after(conn: Connection, table: Table) -> Iterator[None]:
    """Drop ``table``'s plain (non-unique) indexes and create them again once the rows are in.

    Building an index from all rows at once sorts them; keeping it up to date row by row costs twice the
    time for a million rows. Unique indexes and the primary key stay, so a duplicate still fails on its
    row. The DDL is part of the caller's transaction: a rollback brings the indexes back as they were.
    """
    found = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table.name,),
    ).all()
    plain = [(name, sql) for name, sql in found if not sql.lstrip().upper().startswith("CREATE UNIQUE")]
    prep = conn.dialect.identifier_preparer
    for name, _ in plain:
        conn.exec_driver_sql(f"DROP INDEX {prep.quote(name)}")
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        for _, sql in plain:
            if failed:  # the caller rolls back, which restores them anyway; never hide the first error
                with suppress(Exception):
                    conn.exec_driver_sql(sql)
            else:
                conn.exec_driver_sql(sql)


@contextmanager
def _sqlite_cache(conn: Connection, postgres: bool) -> Iterator[None]:
    """A large SQLite page cache while the rows go in, the connection's own afterwards.

    With the default 2 MB cache, a table's indexes outgrow it after some 100,000 rows and every insert
    re-reads index pages: a big cache halves the time of a million-row insert. SQLite frees the extra
    pages when the size is set back.
    """
    if postgres:
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before or 0)}")


_UNSET = object()


@dataclass
class _Plan:
    """Which columns one bulk insert writes and how each value is converted for the driver.

    A row's tuple is ``(allocated id?, *given, *varying defaults, *constant defaults)``; constant
    defaults (scalars, ``dict``/``list`` factories) are converted once, not once per row.
    """

    table: Table
    given: list[str]
    """Columns taken from the rows (the first row's keys, in table order)."""
    varying: list[tuple[str, Callable[[], Any]]]
    """Columns the rows leave out whose Python-side default is computed per row (``utcnow``)."""
    constants: list[tuple[str, Any]]
    """Columns the rows leave out whose default is the same for every row (already converted)."""
    pk: str
    allocate: bool
    """Whether ids are allocated here (``returning_ids`` and the rows carry no primary key)."""
    convert: list[tuple[int, Callable[[Any], Any]]]
    """(position in the tuple, bind processor) for the per-row values that need converting."""

    @property
    def columns(self) -> list[str]:
        head = [self.pk] if self.allocate else []
        return [*head, *self.given, *(name for name, _ in self.varying), *(name for name, _ in self.constants)]

    @classmethod
    def build(cls, table: Table, dialect: Dialect, first: Mapping[str, Any], returning_ids: bool) -> _Plan:
        unknown = sorted(set(first) - set(table.c.keys()))
        if unknown:
            raise BulkInsertError(f"{table.name} has no column {', '.join(map(repr, unknown))}")
        pk_cols = list(table.primary_key.columns)
        pk = pk_cols[0].name if len(pk_cols) == 1 else ""
        if returning_ids and (not pk or _python_type(pk_cols[0]) is not int):
            raise BulkInsertError(f"{table.name} has no single integer primary key, so there are no ids to return")

        def processor(name: str) -> Callable[[Any], Any] | None:
            return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)  # what an INSERT applies

        allocate = returning_ids and pk not in first
        given = [c.name for c in table.columns if c.name in first]
        varying, constants = [], []
        for c in table.columns:
            if c.name in first or c.default is None or (c.primary_key and c.name == pk):
                continue
            make, constant = _python_default(c)
            if constant:
                value, convert = make(), processor(c.name)
                constants.append((c.name, value if convert is None else convert(value)))
            else:
                varying.append((c.name, make))
        head = [pk] if allocate else []
        per_row = [*head, *given, *(name for name, _ in varying)]
        convert = [(i, p) for i, name in enumerate(per_row) if (p := processor(name)) is not None]
        return cls(table, given, varying, constants, pk, allocate, convert)

    def tuples(self, chunk: list[Mapping[str, Any]], reserved: Sequence[int] | None) -> list[tuple[Any, ...]]:
        names, makers, convert = self.given, [make for _, make in self.varying], self.convert
        constants = tuple(value for _, value in self.constants)
        pick = itemgetter(*names)
        single = len(names) == 1
        out = []
        # the last value converted per column and its result: rows of one batch share most of theirs (the
        # audit rows' time, actor and change id; a NULL), and a JSON dump or a date format costs microseconds
        last: list[list[Any]] = [[_UNSET, None] for _ in convert]
        for n, row in enumerate(chunk):
            try:
                picked = pick(row)
            except KeyError as exc:
                raise BulkInsertError(
                    f"a row for {self.table.name} has no {exc.args[0]!r}; every row needs the first row's keys"
                ) from None
            values = [picked] if single else list(picked)
            if reserved is not None:
                values.insert(0, reserved[n])
            for make in makers:
                values.append(make())
            for (i, convert_one), seen in zip(convert, last, strict=True):
                value = values[i]
                if value is not seen[0]:
                    seen[0], seen[1] = value, convert_one(value)
                values[i] = seen[1]
            out.append((*values, *constants))
        return out


def _python_type(column: Column[Any]) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _python_default(column: Column[Any]) -> tuple[Callable[[], Any], bool]:
    """A maker of the column's Python-side default, and whether every row gets the same value."""
    default = column.default
    if getattr(default, "is_scalar", False):
        value = default.arg  # type: ignore[union-attr]
        return (lambda: value), True
    if getattr(default, "is_callable", False):
        fn = default.arg  # type: ignore[union-attr]  # SQLAlchemy wraps it to take an execution context
        original = getattr(fn, "__wrapped__", fn)
        return (lambda: fn(None)), original in PURE_FACTORIES
    raise BulkInsertError(
        f"{column.table.name}.{column.name} has a default computed by SQL; give its value in every row"
    )


def _chunks(rows: Iterator[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def _quoted(conn: Connection, plan: _Plan) -> tuple[str, str]:
    prep = conn.dialect.identifier_preparer
    return prep.format_table(plan.table), ", ".join(prep.quote(name) for name in plan.columns)


def _executemany_block(conn: Connection, plan: _Plan, values: list[tuple[Any, ...]]) -> None:
    table, columns = _quoted(conn, plan)
    marks = ", ".join("?" for _ in plan.columns)
    conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)


def _copy_block(conn: Connection, plan: _Plan, values: list[tuple[Any, ...]]) -> None:
    table, columns = _quoted(conn, plan)
    driver = conn.connection.driver_connection
    assert driver is not None
    statement = f"COPY {table} ({columns}) FROM STDIN"
    dbapi = conn.dialect.loaded_dbapi
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)
    except dbapi.Error as exc:  # the same exception classes an INSERT through SQLAlchemy raises
        raise DBAPIError.instance(statement, None, exc, dbapi.Error, dialect=conn.dialect) from exc


def _pg_sequence(conn: Connection, table: Table, pk: str) -> str:
    sequence = conn.execute(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": conn.dialect.identifier_preparer.format_table(table), "column": pk},
    ).scalar()
    if sequence is None:
        raise BulkInsertError(f"{table.name}.{pk} draws from no sequence; give the ids in the rows")
    return str(sequence)


def _pg_reserve(conn: Connection, sequence: str, n: int) -> list[int]:
    """``n`` new ids from ``sequence`` in one round trip; other writers' ids may interleave, never repeat."""
    found = conn.execute(
        text("SELECT array_agg(nextval(:seq)) FROM generate_series(1, :n)"), {"seq": sequence, "n": n}
    ).scalar()
    return sorted(found or ())


def _pg_text_constants(conn: Connection, plan: _Plan) -> None:
    """Dump the constant defaults to their COPY text once, instead of adapting them again for every row."""
    from psycopg.adapt import PyFormat, Transformer

    adapt = Transformer(conn.connection.driver_connection)
    plan.constants = [
        (name, None if value is None else bytes(adapt.get_dumper(value, PyFormat.TEXT).dump(value)).decode())
        for name, value in plan.constants
    ]


def _sqlite_next_id(conn: Connection, table: Table, pk: str) -> int:
    prep = conn.dialect.identifier_preparer
    highest = conn.exec_driver_sql(f"SELECT max({prep.quote(pk)}) FROM {prep.format_table(table)}").scalar() or 0
    has_sequence = conn.exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ).scalar()
    if has_sequence:  # AUTOINCREMENT tables never reuse an id, even one whose row is gone
        used = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)).scalar() or 0
        highest = max(highest, used)
    return int(highest) + 1


__all__ = ["BulkInsertError", "PluginSeeded", "SeedContext", "bulk_insert", "insert_many", "seed_plugins"]

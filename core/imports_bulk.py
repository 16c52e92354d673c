"""New records of a batch written past the ORM's unit of work: the bulk path of :func:`~.writes.save_batch`.

An import batch creates hundreds of records, and the unit of work spends more on each one (state
tracking, one parameter set built per object, identity bookkeeping after the flush) than the database
spends inserting it. A model whose plugin registers it here (:func:`bulk_creates`) gets its new records
written as one ``executemany`` (``COPY`` on PostgreSQL) instead, with everything else as the ORM path
does it, in the same order:

- each record is an instance of the kind's model, built by ``writes._create``: values set, custom fields
  merged, ``before_save`` called once per record for every plugin (so a rule refuses one row, not the
  batch), then added to the session, so rules that look at the batch's earlier records there (a second tie
  between one pair) still see them (unless the registration says no rule looks: ``in_session``);
  ``before_save_batch`` runs once before, as on the ORM path;
- the records still pending are taken out of the session, given ids (the table's sequence on PostgreSQL,
  the largest id + 1 on SQLite, where the write lock is held), their columns' Python-side defaults,
  and the model's ``before_insert``/``after_insert`` mapper events around the insert;
- the plugin's ``written(session, records)`` then does what its flush listeners would have done for
  them (contacts writes the contact points its ``before_save`` queued), and the audit rows, custom-field
  index rows and events are written as on the ORM path.

What differs: the records come back detached (their values and ids are set; changing them later writes
nothing), and session-level flush events (``before_flush``, ``after_flush_postexec``) do not see them,
which is why only a model whose plugin says it needs nothing of those (or does it in ``written``) is
registered. A record a hook flushed on its own way (it is persistent already) is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from .seeding import insert_many

Written = Callable[[Session, list[Any]], None]


@dataclass(frozen=True)
class BulkCreates:
    """A model's registration: ``written`` does what its flush listeners would do for new records."""

    model: type
    written: Written | None = None
    in_session: bool = True
    """Whether the batch's records wait in the session (``session.new``) while the later ones' hooks run,
    as on the ORM path; False saves adding and taking out each one where no rule looks there."""


_REGISTERED: dict[type, BulkCreates] = {}


def bulk_creates(model: type, *, written: Written | None = None, in_session: bool = True) -> None:
    """Let :func:`~.writes.save_batch` create ``model``'s records (and its subclasses') past the unit of
    work; ``written(session, records)`` is called with them once they are in (ids set), before the audit
    rows and events. Call it once, when the plugin's modules load (it is keyed by model class, as the
    models themselves are global)."""
    _REGISTERED[model] = BulkCreates(model, written, in_session)


def registered(model: type) -> BulkCreates | None:
    """The registration covering ``model`` (its own or a base class's), or None: the ORM path then."""
    for cls in model.__mro__:
        found = _REGISTERED.get(cls)
        if found is not None:
            return found
    return None


def insert_records(session: Session, model: type, records: Sequence[Any], writes: BulkCreates) -> None:
    """Insert ``records`` (pending in ``session``, or transient) in one executemany; see the module."""
    if not records:
        return
    with session.no_autoflush:
        if writes.in_session:
            for record in records:
                if record in session:
                    session.expunge(record)
        mapper = sa_inspect(model)
        table = mapper.local_table if not mapper.single else mapper.base_mapper.local_table
        connection = session.connection()
        ids = reserve_ids(session, table, len(records))
        pk = mapper.get_property_by_column(table.primary_key.columns[0]).key
        for record, new_id in zip(records, ids, strict=True):
            if record.__dict__.get(pk) is None:
                record.__dict__[pk] = new_id
        if mapper.dispatch.before_insert:  # listeners are handed the instance state, as the flush does
            for record in records:
                mapper.dispatch.before_insert(mapper, connection, sa_inspect(record))
        insert_many(session, table, _rows(mapper, table, records))
        if mapper.dispatch.after_insert:
            for record in records:
                mapper.dispatch.after_insert(mapper, connection, sa_inspect(record))
    if writes.written is not None:
        writes.written(session, list(records))


def _rows(mapper: Any, table: Any, records: Sequence[Any]) -> list[dict[str, Any]]:
    """One insert row per record, every column of the table (executemany needs the same keys), its value
    from the record or else the column's default, which the record then holds too (the audit entry of a
    created record lists its defaults, as after an ORM flush)."""
    plan = _plan(mapper, table)
    rows = []
    for record in records:
        held = record.__dict__
        row = {}
        for key, column, default in plan:
            if key in held:
                value = held[key]
            elif default is _SERVER:
                continue
            else:
                value = held[key] = default()
            row[column] = value
        rows.append(row)
    # a column left to the database in one row but given in another: executemany needs one shape
    wanted = {column for _key, column, _d in plan}
    if any(len(row) != len(wanted) for row in rows):
        for record, row in zip(records, rows, strict=True):
            for key, column, _default in plan:
                if column not in row:
                    row[column] = record.__dict__[key] = None
    return rows


_SERVER = object()
_PLANS: dict[tuple[type, str], list[tuple[str, str, Any]]] = {}


def _plan(mapper: Any, table: Any) -> list[tuple[str, str, Any]]:
    """(attribute, column, default maker or _SERVER) per column of the table, cached per model."""
    cache_key = (mapper.class_, table.name)
    found = _PLANS.get(cache_key)
    if found is not None:
        return found
    plan = []
    for column in table.columns:
        prop = mapper.get_property_by_column(column) if column in mapper.columns.values() else None
        key = prop.key if prop is not None else column.key
        default = column.default
        if default is None:
            maker: Any = _SERVER if column.server_default is not None else (lambda: None)
        elif getattr(default, "is_scalar", False):
            maker = (lambda value: lambda: value)(default.arg)
        elif getattr(default, "is_callable", False):
            maker = (lambda fn: lambda: fn(None))(default.arg)  # SQLAlchemy wraps it to take a context
        else:
            maker = _SERVER
        plan.append((key, column.name, maker))
    _PLANS[cache_key] = plan
    return plan


def reserve_ids(session: Session, table: Any, n: int) -> list[int]:
    """``n`` new ids for ``table``: from its sequence on PostgreSQL (other writers' ids may interleave,
    never repeat); on SQLite above the largest in use, which only the transaction holding the write lock
    (``write_transaction``) can take."""
    from .writes import _NEXT_IDS, _SQLITE_SEQ, _sequence_of

    column = table.primary_key.columns[0]
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        sequence = _sequence_of(session, bind, table.name, column.name)
        if sequence is not None:
            return sorted(session.scalars(_NEXT_IDS, {"s": sequence, "n": n}))
    top = session.scalar(select(func.max(column))) or 0
    if table.dialect_options["sqlite"].get("autoincrement"):
        top = max(top, session.scalar(_SQLITE_SEQ, {"t": table.name}) or 0)
    return list(range(top + 1, top + 1 + n))


__all__ = ["BulkCreates", "bulk_creates", "insert_records", "registered", "reserve_ids"]

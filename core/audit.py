"""Reading the audit log: a record's history, and what a record was at a past moment.

The log is written only by :mod:`voronka.core.writes`, in the same transaction as the change. Values are
stored JSON-safe (dates as ISO strings), so :func:`as_of` answers in that form too.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session

from .models import User
from .models_records import AuditEntry
from .records import RecordKind
from .writes import CHUNK, snapshot


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: dt.datetime
    action: str
    field: str
    old: Any
    new: Any
    source: str
    change_id: str
    actor_id: int | None
    actor_name: str | None


@functools.cache
def _history_query(paged: bool) -> Select[Any]:
    """A record's entries with the actor's name, values bound (built twice per process, not per card)."""
    query = (
        select(AuditEntry, User.display_name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.kind == bindparam("kind"), AuditEntry.record_id == bindparam("record_id"))
    )
    if paged:
        at, entry_id = bindparam("at"), bindparam("entry_id")
        query = query.where(or_(AuditEntry.at < at, (AuditEntry.at == at) & (AuditEntry.id < entry_id)))
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(bindparam("limit"))


def history(
    session: Session,
    kind: RecordKind | str,
    record_id: int,
    limit: int = 50,
    before: tuple[dt.datetime, int] | None = None,
) -> list[HistoryEntry]:
    """Entries of one record, newest first; page on with ``before=(entry.at, entry.id)`` of the last one.
    A creation (stored as one entry) comes back as one entry per field it set, all with the same id.

    The caller checks the viewer may see the record (the log holds no ownership of its own).
    """
    name = kind if isinstance(kind, str) else kind.name
    params: dict[str, Any] = {"kind": name, "record_id": record_id, "limit": limit}
    if before is not None:
        params["at"], params["entry_id"] = before
    rows = session.execute(_history_query(before is not None), params)
    found: list[HistoryEntry] = []
    for e, actor in rows:
        entry = HistoryEntry(
            id=e.id, at=e.at, action=e.action, field=e.field, old=e.old, new=e.new, source=e.source,
            change_id=e.change_id, actor_id=e.actor_id, actor_name=actor,
        )  # fmt: skip
        if e.action == "create" and e.field == "" and isinstance(e.new, dict) and e.new:
            # one stored entry per creation; shown, like changes, one field at a time (last field first,
            # newest-first order as if each had its own entry)
            found.extend(replace(entry, field=name, new=value) for name, value in reversed(e.new.items()))
        else:
            found.append(entry)
    return found


def as_of(session: Session, kind: RecordKind, record_id: int, when: dt.datetime) -> dict[str, Any] | None:
    """The record's audited fields as they were at ``when``; None when it did not exist then.

    Starts from the record as it is now (or, when deleted, from what its deletion entry kept) and undoes,
    newest first, every change logged after ``when``; records that predate the log keep their values.
    """
    record = session.get(kind.model, record_id)
    values: dict[str, Any] | None = _current(kind, record)
    later = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.kind == kind.name, AuditEntry.record_id == record_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    for entry in later:
        if entry.at <= when:
            break  # everything older happened before ``when``: ``values`` is the answer
        values = _undo(entry, values)
    return values


def _current(kind: RecordKind, record: Any) -> dict[str, Any] | None:
    """The record's values now; None when it is gone or in the recycle bin (it does not exist for readers)."""
    if record is None or getattr(record, "deleted_at", None) is not None:
        return None
    return snapshot(kind, record)


def _undo(entry: AuditEntry, values: dict[str, Any] | None) -> dict[str, Any] | None:
    """The values before ``entry`` given those after it. A deletion (or a purge of a live record) kept the
    fields in ``old``; before a restore the record was in the bin; merges change no field of their own."""
    if entry.action == "delete" or (entry.action == "purge" and entry.old):
        return dict(entry.old or {})
    if entry.action in ("create", "restore"):
        return None
    if values is not None and entry.field in values:
        values[entry.field] = entry.old
    return values


def as_of_many(
    session: Session, kind: RecordKind, ids: Iterable[int], when: dt.datetime
) -> dict[int, dict[str, Any] | None]:
    """:func:`as_of` for many records in a few queries (reports and forecasts over thousands of records):
    the current rows and the log entries after ``when``, 1,000 ids at a time."""
    wanted = list(dict.fromkeys(ids))
    found: dict[int, dict[str, Any] | None] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        values = {r.id: _current(kind, r) for r in session.scalars(select(kind.model).where(kind.model.id.in_(chunk)))}
        current: dict[int, dict[str, Any] | None] = {i: values.get(i) for i in chunk}
        later = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.kind == kind.name, AuditEntry.record_id.in_(chunk), AuditEntry.at > when)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        )
        for entry in later:
            current[entry.record_id] = _undo(entry, current[entry.record_id])
        found.update(current)
    return found


__all__ = ["HistoryEntry", "as_of", "as_of_many", "history"]

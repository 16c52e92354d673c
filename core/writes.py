"""The one write path for records of every kind: forms, bulk actions, imports and the API all call it.

Each call, inside the caller's transaction: checks the field names and plain types against the kind,
computes the changes (old → new), lets enabled plugins refuse or adjust through ``before_save``, applies
optimistic concurrency, writes one audit entry per changed field, and queues an event in the outbox
(``<plugin>.<kind>_created`` / ``_updated`` / ``_deleted``, payload: kind, id, changes, actor_id, source,
change_id). A ``ValidationError`` or ``StaleRecord`` leaves nothing written: the caller's transaction rolls
back (``write_transaction`` does it), and the session's copy of the record is expired.

The caller owns the transaction, so a bulk job decides its batch size (SQLite has one writer: keep each
batch well under a second, see the figures in the report of issue 3).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import StaleRecord, ValidationError
from .events import emit
from .i18n import gettext as _
from .i18n import ngettext
from .models_records import AuditEntry, TagLink
from .records import RecordKind, Ref
from .types import Money, utcnow

SOURCES = ("form", "bulk", "import", "api")
CHUNK = 1000
"""Ids per SELECT … IN (…): well under SQLite's parameter limit, few round trips on PostgreSQL."""


def json_safe(value: Any) -> Any:
    """A value as the audit log and event payloads store it: JSON types only, dates in ISO 8601."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Money):
        return {"minor": value.minor, "currency": value.currency}
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def save(
    session: Session,
    kind: RecordKind,
    record_id: int | None,
    values: dict[str, Any],
    *,
    actor: Any,
    expected_version: int | None = None,
    source: str = "form",
    at: dt.datetime | None = None,
) -> Any:
    """Create (``record_id`` None) or update one record of ``kind`` with ``values``; return the record.

    ``actor`` is the user (or their id, or None for the system). ``expected_version`` is the version the
    form was opened at: a record saved by someone else since raises :class:`StaleRecord`. ``at`` is the
    time written to the audit log (default now).
    """
    _check_call(kind, source)
    cleaned = clean(kind, values)
    context = _Context(kind, actor, source, at)
    if record_id is None:
        record = _create(session, kind, cleaned, context)
        _flush(session)
        context.write(session)
        return record

    records = _load(session, kind, [record_id])
    if not records:
        raise ValidationError(_("This record no longer exists; someone may have deleted it."))
    record = records[0]
    if expected_version is not None and getattr(record, "version", expected_version) != expected_version:
        raise StaleRecord(
            _("Someone else saved this record after you opened it. Reload to see their changes, then apply yours.")
        )
    _update(session, kind, record, cleaned, context)
    _flush(session)
    context.write(session)
    return record


def save_many(
    session: Session,
    kind: RecordKind,
    ids: Iterable[int],
    values: dict[str, Any],
    *,
    actor: Any,
    source: str = "bulk",
    at: dt.datetime | None = None,
) -> list[Any]:
    """Apply the same ``values`` to every record in ``ids``: one SELECT per 1,000 ids, one batched UPDATE,
    one executemany of audit rows; ``before_save`` still runs per record and each gets its own audit.

    All or nothing: a missing record or one refusal by ``before_save`` refuses the whole call, and the
    message names the record. Returns the records in the order of ``ids``.
    """
    _check_call(kind, source)
    cleaned = clean(kind, values)
    wanted = list(dict.fromkeys(int(i) for i in ids))
    records = _load(session, kind, wanted)
    if len(records) != len(wanted):
        missing = len(wanted) - len(records)
        raise ValidationError(
            ngettext(
                "%(n)s of the selected records no longer exists; reload the list and try again.",
                "%(n)s of the selected records no longer exist; reload the list and try again.",
                missing,
            )
            % {"n": missing}
        )
    context = _Context(kind, actor, source, at)
    by_id = {r.id: r for r in records}
    ordered = [by_id[i] for i in wanted]
    for record in ordered:
        try:
            _update(session, kind, record, cleaned, context)
        except ValidationError as exc:
            for other in ordered:
                session.expire(other)
            raise ValidationError({k: f"{kind.display(record)}: {v}" for k, v in exc.errors.items()}) from None
    _flush(session)
    context.write(session)
    return ordered


def delete(
    session: Session,
    kind: RecordKind,
    record_id: int,
    *,
    actor: Any,
    source: str = "form",
    at: dt.datetime | None = None,
) -> None:
    """Delete a record for good: its tags go, every installed plugin's ``records_deleted`` runs, and one
    audit entry (field "", ``old`` = the record's audited fields) keeps what it was."""
    _check_call(kind, source)
    records = _load(session, kind, [record_id])
    if not records:
        raise ValidationError(_("This record no longer exists; someone may have deleted it."))
    record = records[0]
    before = snapshot(kind, record)
    kind.host.all_hooks.records_deleted(session=session, kind=kind.name, ids=[record_id])
    session.execute(TagLink.__table__.delete().where(TagLink.kind == kind.name, TagLink.record_id == record_id))
    session.delete(record)
    _flush(session)
    context = _Context(kind, actor, source, at)
    context.entries.append(context.row(record_id, "delete", "", before, None))
    context.events.append((f"{kind.plugin}.{kind.name}_deleted", context.payload(record_id, {})))
    context.write(session)


# -- the parts -----------------------------------------------------------------------------------------


def clean(kind: RecordKind, values: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown fields and values of the wrong plain type or length; errors per field."""
    writable = set(kind.writable)
    columns = kind.columns
    errors: dict[str, str] = {}
    for name, value in values.items():
        if name not in writable:
            errors[name] = _("“%(field)s” is not a field of %(kind)s.") % {"field": name, "kind": kind.name}
            continue
        column = columns[name].columns[0]
        if value is None:
            if not column.nullable:
                errors[name] = _("This field cannot be empty.")
            continue
        try:
            expected = column.type.python_type
        except (NotImplementedError, AttributeError):
            continue
        if expected is str:
            if not isinstance(value, str):
                errors[name] = _("Enter text.")
            elif getattr(column.type, "length", None) and len(value) > column.type.length:
                errors[name] = _("Keep it under %(n)s characters.") % {"n": column.type.length}
        elif expected is int and (not isinstance(value, int) or isinstance(value, bool)):
            errors[name] = _("Enter a whole number.")
        elif expected is bool and not isinstance(value, bool):
            errors[name] = _("Choose yes or no.")
    if errors:
        raise ValidationError(errors)
    return dict(values)


def check_references(session: Session, kind: RecordKind, record: Any) -> None:
    """Each generic reference the record holds names a registered kind and a record that exists."""
    for kind_field, id_field in kind.references:
        ref_kind, ref_id = getattr(record, kind_field), getattr(record, id_field)
        if ref_kind is None and ref_id is None:
            continue
        if ref_kind is None or ref_id is None:
            raise ValidationError({kind_field: _("A link to a record needs both its kind and its id.")})
        try:
            found = kind.registry.resolve(session, Ref(ref_kind, ref_id))
        except ValidationError as exc:
            raise ValidationError({kind_field: exc.errors.get("kind", str(exc))}) from None
        if found is None:
            raise ValidationError({id_field: _("The linked record does not exist.")})


def snapshot(kind: RecordKind, record: Any) -> dict[str, Any]:
    """The record's audited fields as JSON-safe values."""
    return {name: json_safe(getattr(record, name)) for name in kind.audited_fields}


def _check_call(kind: RecordKind, source: str) -> None:
    if kind.host is None:
        raise TypeError(f"record kind {kind.name!r} is not registered: take it from runtime.record_kinds")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")


def _derived(kind: RecordKind, values: dict[str, Any]) -> dict[str, Any]:
    return dict(kind.derive(values) or {}) if kind.derive is not None and values else {}


def _load(session: Session, kind: RecordKind, ids: Sequence[int]) -> list[Any]:
    """The records, locked for this transaction on PostgreSQL (SQLite's BEGIN IMMEDIATE already is)."""
    model = kind.model
    found: list[Any] = []
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        query = select(model).where(model.id.in_(chunk)).with_for_update().execution_options(populate_existing=True)
        found.extend(session.scalars(query))
    return found


def _create(session: Session, kind: RecordKind, cleaned: dict[str, Any], context: _Context) -> Any:
    """A new record with ``cleaned`` values, refused or adjusted by ``before_save``, added to the session
    (not flushed: a batch flushes once); its audit rows are made from what it holds after the flush."""
    record = kind.model()
    for name, value in {**cleaned, **_derived(kind, cleaned)}.items():
        setattr(record, name, value)
    _before_save(session, kind, record, {name: (None, value) for name, value in cleaned.items()})
    session.add(record)
    context.add(record, "create", None)
    return record


def _update(session: Session, kind: RecordKind, record: Any, cleaned: dict[str, Any], context: _Context) -> None:
    before = snapshot(kind, record)
    raw_before = {name: getattr(record, name) for name in cleaned}
    changed = {name: value for name, value in cleaned.items() if raw_before[name] != value}
    if not changed:
        return
    for name, value in {**changed, **_derived(kind, changed)}.items():
        setattr(record, name, value)
    _before_save(session, kind, record, {name: (raw_before[name], value) for name, value in changed.items()})
    after = snapshot(kind, record)
    diff = {name: (before[name], after[name]) for name in after if before[name] != after[name]}
    if hasattr(record, "version"):
        record.version = (record.version or 0) + 1
    context.add(record, "update", diff)


def _before_save(session: Session, kind: RecordKind, record: Any, changes: dict[str, tuple[Any, Any]]) -> None:
    try:
        kind.host.hook.before_save(session=session, record=record, changes=changes)
        if any(name in changes for pair in kind.references for name in pair):
            check_references(session, kind, record)
    except BaseException:
        if record in session and record.id is not None:
            session.expire(record)
        raise


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise ValidationError(
            _("The record was not saved: a value refers to something that does not exist or is already taken.")
        ) from exc


class _Context:
    """The audit rows and events of one call, written together at its end (one executemany)."""

    def __init__(self, kind: RecordKind, actor: Any, source: str, at: dt.datetime | None):
        self.kind = kind
        self.actor_id = actor if isinstance(actor, int) or actor is None else getattr(actor, "id", None)
        self.source = source
        self.at = at or utcnow()
        self.change_id = uuid.uuid4().hex
        self.changed: list[tuple[Any, str, dict[str, tuple[Any, Any]] | None]] = []
        self.entries: list[dict[str, Any]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []

    def row(self, record_id: int, action: str, field: str, old: Any, new: Any) -> dict[str, Any]:
        return {
            "kind": self.kind.name,
            "record_id": record_id,
            "action": action,
            "field": field,
            "old": old,
            "new": new,
            "at": self.at,
            "actor_id": self.actor_id,
            "source": self.source,
            "change_id": self.change_id,
        }

    def payload(self, record_id: int, changes: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
        return {
            "kind": self.kind.name,
            "id": record_id,
            "changes": {name: [old, new] for name, (old, new) in changes.items()},
            "actor_id": self.actor_id,
            "source": self.source,
            "change_id": self.change_id,
        }

    def add(self, record: Any, action: str, changes: dict[str, tuple[Any, Any]] | None) -> None:
        """Remember a changed record; its audit rows are built after the flush, when new ids exist
        (``changes`` None for a created record: every audited field it holds then, defaults included)."""
        self.changed.append((record, action, changes))

    def write(self, session: Session) -> None:
        """Write the audit rows and queue the events of every remembered record (after the flush)."""
        for record, action, listed in self.changed:
            changes = listed
            if changes is None:
                changes = {f: (None, v) for f, v in snapshot(self.kind, record).items() if v is not None}
            for name, (old, new) in changes.items():
                self.entries.append(self.row(record.id, action, name, old, new))
            suffix = "created" if action == "create" else "updated"
            self.events.append((f"{self.kind.plugin}.{self.kind.name}_{suffix}", self.payload(record.id, changes)))
        if self.entries:
            session.execute(insert(AuditEntry), self.entries)
        for name, payload in self.events:
            emit(session, name, payload)


__all__ = ["SOURCES", "check_references", "clean", "delete", "json_safe", "save", "save_many", "snapshot"]

"""The one write path for records of every kind: forms, bulk actions, imports and the API all call it.

Each call, inside the caller's transaction: checks the field names and plain types against the kind,
computes the changes (old → new), lets enabled plugins refuse or adjust through ``before_save``, applies
optimistic concurrency, writes one audit entry per changed field (a creation is one entry, field "", whose
``new`` holds every value the record was created with, as a deletion's ``old`` holds what it had; an import
of 100,000 records writes 100,000 entries, not one per field), and queues an event in the outbox
(``<plugin>.<kind>_created`` / ``_updated`` / ``_deleted``, payload: kind, id, changes, actor_id, source,
change_id). A ``ValidationError`` or ``StaleRecord`` leaves nothing written: the caller's transaction rolls
back (``write_transaction`` does it), and the session's copy of the record is expired.

The caller owns the transaction, so a bulk job decides its batch size (SQLite has one writer: keep each
batch well under a second, see the figures in the report of issue 3).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import functools
import itertools
import math
import uuid
import weakref
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, func, insert, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from . import custom_fields
from . import custom_fields_index as custom_index
from .errors import StaleRecord, ValidationError
from .events import emit_many
from .i18n import gettext as _
from .i18n import ngettext
from .imports_bulk import insert_records, registered
from .models_records import AuditEntry
from .records import RecordKind, Ref, _column_attrs
from .seeding import insert_many
from .types import Money, utcnow

SOURCES = ("form", "bulk", "import", "api")
_MEMO = "voronka.batch_memo"
CHUNK = 1000
"""Ids per SELECT … IN (…): well under SQLite's parameter limit, few round trips on PostgreSQL."""


_PLAIN = frozenset({str, int, bool, type(None)})
"""Types :func:`json_safe` returns as they are (a float may be NaN: it takes the long way)."""


def json_safe(value: Any) -> Any:
    """A value as the audit log and event payloads store it: JSON types only, dates in ISO 8601."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity
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
    cleaned = clean(kind, values, session=session)
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
    cleaned = clean(kind, values, session=session)
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
    # a query in a hook must not flush the records one by one: one executemany
    with session.no_autoflush, _batch(session, kind, [cleaned] * len(ordered), list(wanted)):
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
    """Delete a record: into the recycle bin when its model has ``deleted_at`` (an admin may restore it until
    the retention period ends), otherwise for good (custom fields, attachments, tags and every installed
    plugin's ``records_deleted`` first). One audit entry (field "", ``old`` = the record's audited fields)
    keeps what it was. See :mod:`voronka.core.recycle`."""
    from .recycle import delete as recycle_delete  # recycle builds on this module

    recycle_delete(session, kind, record_id, actor=actor, source=source, at=at)


def audit_changes(
    session: Session,
    kind: RecordKind,
    record_id: int,
    changes: dict[str, tuple[Any, Any]],
    *,
    actor: Any,
    source: str = "form",
    at: dt.datetime | None = None,
) -> None:
    """Audit changes a kind keeps outside its own columns (a party's extra e-mail addresses in a child
    table, say): one audit entry per field and the ``_updated`` event, as if the write path had made them.

    Field names must not collide with the kind's columns; the caller writes the rows themselves in the
    same transaction. Values are stored as :func:`json_safe` makes them.
    """
    _check_call(kind, source)
    if not changes:
        return
    context = _Context(kind, actor, source, at)
    plain = {name: (json_safe(old), json_safe(new)) for name, (old, new) in changes.items()}
    context.entries.extend(context.row(record_id, "update", name, old, new) for name, (old, new) in plain.items())
    session.execute(insert(AuditEntry.__table__), context.entries)
    emit_many(session, f"{kind.plugin}.{kind.name}_updated", [context.payload(record_id, plain)], checked=True)


# -- batch memo ----------------------------------------------------------------------------------------


def batch_memo(session: Session) -> dict[str, Any]:
    """What plugins loaded in ``before_save_batch`` for the batched call running on ``session``: a dict
    that lives until the call ends (empty outside one: a single save primes nothing). Key it by plugin."""
    stack = session.info.get(_MEMO)
    return stack[-1] if stack else {}


@contextlib.contextmanager
def _batch(session: Session, kind: RecordKind, values: list[dict[str, Any]], ids: list[int | None]) -> Any:
    """Run ``before_save_batch`` for the records about to be written and keep its memo for the call."""
    stack = session.info.setdefault(_MEMO, [])
    stack.append({})
    try:
        kind.host.hook.before_save_batch(session=session, kind=kind.name, values=values, ids=ids)
        yield
    finally:
        stack.pop()


# -- the parts -----------------------------------------------------------------------------------------


def clean(kind: RecordKind, values: dict[str, Any], *, session: Session | None = None) -> dict[str, Any]:
    """Refuse unknown fields and values of the wrong plain type or length; errors per field.

    Custom field values come as ``"cf.<key>"``; with ``session`` they are checked against the kind's field
    definitions here (without one, ``_create``/``_update`` check them) and turned into their stored form.
    """
    checks = _field_checks(kind)
    errors: dict[str, str] = {}
    values, custom = custom_index.split(values)
    if custom and session is not None:
        stored, errors = custom_index.validate(session, kind, custom)
        custom = {**stored, _CHECKED: True}
    else:
        custom = {custom_fields.PREFIX + k: v for k, v in custom.items()}
    for name, value in values.items():
        check = checks.get(name)
        if check is None:
            errors[name] = _("“%(field)s” is not a field of %(kind)s.") % {"field": name, "kind": kind.name}
            continue
        nullable, expected, length = check
        if value is None:
            if not nullable:
                errors[name] = _("This field cannot be empty.")
            continue
        if expected is str:
            if not isinstance(value, str):
                errors[name] = _("Enter text.")
            elif "\x00" in value:
                errors[name] = _("Remove the invisible NUL character from the text.")
            elif length and len(value) > length:
                errors[name] = _("Keep it under %(n)s characters.") % {"n": length}
        elif expected is int and (not isinstance(value, int) or isinstance(value, bool)):
            errors[name] = _("Enter a whole number.")
        elif expected is bool and not isinstance(value, bool):
            errors[name] = _("Choose yes or no.")
    if errors:
        raise ValidationError(errors)
    return {**values, **custom}


def _field_checks(kind: RecordKind) -> dict[str, tuple[bool, type | None, int | None]]:
    """(nullable, Python type, length) of each writable field: an import asks for every row."""
    return _checks_of(kind.model, tuple(kind.writable))


@functools.cache
def _checks_of(model: Any, writable: tuple[str, ...]) -> dict[str, tuple[bool, type | None, int | None]]:
    # keyed by model class and field names, not by the kind (kinds are per app; tests build many apps)
    columns = _column_attrs(model)
    found: dict[str, tuple[bool, type | None, int | None]] = {}
    for name in set(writable) - {"custom"}:
        column = columns[name].columns[0]
        try:
            expected = column.type.python_type
        except (NotImplementedError, AttributeError):
            expected = None
        found[name] = (bool(column.nullable), expected, getattr(column.type, "length", None))
    return found


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


def snapshot(kind: RecordKind, record: Any, custom_keys: Iterable[str] | None = None) -> dict[str, Any]:
    """The record's audited fields as JSON-safe values, custom fields as ``cf.<key>`` (every field the
    kind has, archived ones included, so :func:`~voronka.core.audit.as_of` answers them too).
    ``custom_keys`` are the kind's field keys when the caller looked them up once for many records."""
    loaded = record.__dict__  # the loaded values: reading them past the ORM's descriptors is half the cost
    found = {}
    for name in kind.audited_fields:
        if name != "custom":
            value = loaded[name] if name in loaded else getattr(record, name)
            found[name] = value if type(value) in _PLAIN else json_safe(value)  # most are text or None
    custom = getattr(record, "custom", None)
    if custom is not None:
        if custom_keys is None:
            session = object_session(record)
            custom_keys = custom_fields.by_key(session, kind.name) if session is not None else ()
        keys = tuple(custom_keys)
        for key in (*keys, *(k for k in custom if k not in keys)):
            found[custom_fields.PREFIX + key] = custom.get(key)
    return found


_CHECKED = "cf.\x00checked"
"""Marks ``clean``'s output whose custom values were validated already (not a field name)."""


def _custom(session: Session, kind: RecordKind, cleaned: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain values, stored custom values by key) of ``clean``'s output, validating custom values when
    ``clean`` had no session to do it with."""
    plain, custom = custom_index.split(cleaned)
    if not custom:
        return plain, custom
    if custom.pop(_CHECKED[len(custom_fields.PREFIX) :], None):
        return plain, custom
    stored, errors = custom_index.validate(session, kind, custom)
    if errors:
        raise ValidationError(errors)
    return plain, {k[len(custom_fields.PREFIX) :]: v for k, v in stored.items()}


def _check_call(kind: RecordKind, source: str) -> None:
    if kind.host is None:
        raise TypeError(f"record kind {kind.name!r} is not registered: take it from runtime.record_kinds")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")


def _derived(kind: RecordKind, values: dict[str, Any]) -> dict[str, Any]:
    return dict(kind.derive(values) or {}) if kind.derive is not None and values else {}


def _load(session: Session, kind: RecordKind, ids: Sequence[int]) -> list[Any]:
    """The live records (one in the recycle bin counts as gone: restore it first), locked for this
    transaction on PostgreSQL (SQLite's BEGIN IMMEDIATE already is).

    Loaded by primary key alone, a kind sharing its table (single-table inheritance) through the table's
    base class, the kind and the recycle bin told apart here: with ``kind IN (…)`` or ``deleted_at IS NULL``
    in SQL, SQLite without statistics walks that index over the whole kind instead (see :func:`live_ids`).
    The query flushes first (autoflush), so refreshing a row of another kind loses nothing unsaved."""
    model = kind.model
    mapper = sa_inspect(model)
    source = mapper.base_mapper.class_ if mapper.single else model
    found: list[Any] = []
    for start in range(0, len(ids), CHUNK):
        query = select(source).where(source.id.in_(list(ids[start : start + CHUNK]))).with_for_update()
        for record in session.scalars(query.execution_options(populate_existing=True)):
            if isinstance(record, model) and getattr(record, "deleted_at", None) is None:
                found.append(record)
    return found


def live_ids(session: Session, kind: RecordKind, ids: Sequence[int]) -> set[int]:
    """Those of ``ids`` that are records of ``kind`` and not in the recycle bin: looked up by primary key
    alone, the kind and the bin checked here. In SQL (a kind sharing its table with others adds its own
    ``kind IN (…)``), SQLite without statistics walks the (kind, …) index over every record of the kind
    instead: some 10 ms a batch at 40,000 people, growing with the table."""
    mapper = sa_inspect(kind.model)
    if mapper.inherits is not None and not mapper.single:  # joined tables: the columns are spread over them
        model = kind.model
        query = select(model.id).where(model.id.in_(list(ids)))
        if getattr(model, "deleted_at", None) is not None:
            query = query.where(model.deleted_at.is_(None))
        return set(session.scalars(query))
    table = mapper.local_table
    column = table.c[mapper.primary_key[0].name]
    discriminator = mapper.polymorphic_on if mapper.single else None
    identities = {m.polymorphic_identity for m in mapper.self_and_descendants}
    deleted = table.c.get("deleted_at")
    columns = [column, *(c for c in (discriminator, deleted) if c is not None)]
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        for row in session.execute(select(*columns).where(column.in_(list(ids[start : start + CHUNK])))):
            rest = list(row[1:])
            if discriminator is not None and rest.pop(0) not in identities:
                continue
            if deleted is not None and rest.pop(0) is not None:
                continue
            found.add(row[0])
    return found


def _create(session: Session, kind: RecordKind, cleaned: dict[str, Any], context: _Context, add: bool = True) -> Any:
    """A new record with ``cleaned`` values, refused or adjusted by ``before_save``, added to the session
    (not flushed: a batch flushes once; ``add`` False leaves it out, for the bulk path of a model whose
    rules need not see it there); its audit rows are made from what it holds after the flush."""
    cleaned, custom = _custom(session, kind, cleaned)
    record = kind.model()
    for name, value in {**cleaned, **_derived(kind, cleaned)}.items():
        setattr(record, name, value)
    if custom_fields.has_custom(kind):
        record.custom = {}
        custom_index.merge(session, kind, record, custom, context.claimed, create=True)
    changes = {name: (None, value) for name, value in cleaned.items()}
    changes.update({custom_fields.PREFIX + k: (None, v) for k, v in custom.items()})
    _before_save(session, kind, record, changes, context.actor_id)
    if add:
        session.add(record)
    context.add(record, "create", None)
    return record


def _update(session: Session, kind: RecordKind, record: Any, cleaned: dict[str, Any], context: _Context) -> None:
    cleaned, custom = _custom(session, kind, cleaned)
    before = snapshot(kind, record)
    raw_before = {name: getattr(record, name) for name in cleaned}
    changed = {name: value for name, value in cleaned.items() if raw_before[name] != value}
    custom_before = dict(getattr(record, "custom", None) or {})
    custom_changed = {k: v for k, v in custom.items() if custom_before.get(k) != v}
    if not changed and not custom_changed:
        return
    for name, value in {**changed, **_derived(kind, changed)}.items():
        setattr(record, name, value)
    if custom_changed:
        try:
            custom_index.merge(session, kind, record, custom_changed, context.claimed, create=False)
        except ValidationError:
            session.expire(record)
            raise
    pairs = {name: (raw_before[name], value) for name, value in changed.items()}
    pairs.update({custom_fields.PREFIX + k: (custom_before.get(k), v) for k, v in custom_changed.items()})
    _before_save(session, kind, record, pairs, context.actor_id)
    after = snapshot(kind, record)
    diff = {name: (before[name], after[name]) for name in after if before[name] != after[name]}
    if hasattr(record, "version"):
        record.version = (record.version or 0) + 1
    context.add(record, "update", diff)


def _before_save(
    session: Session, kind: RecordKind, record: Any, changes: dict[str, tuple[Any, Any]], actor_id: int | None
) -> None:
    try:
        kind.host.hook.before_save(session=session, record=record, changes=changes, actor_id=actor_id)
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
        self.claimed: set[tuple[int, Any]] = set()
        """Unique custom values taken by records of this call so far: (field id, index key)."""
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
        """Write the audit rows and queue the events of every remembered record (after the flush), and bring
        the custom-field index in step with them."""
        if custom_fields.has_custom(self.kind):
            index = [
                (record, None if listed is None else {n[len(custom_fields.PREFIX) :] for n in listed
                                                      if n.startswith(custom_fields.PREFIX)})
                for record, _action, listed in self.changed
            ]  # fmt: skip
            custom_index.write_index(session, self.kind.name, index)
        keys = tuple(custom_fields.by_key(session, self.kind.name)) if custom_fields.has_custom(self.kind) else ()
        prefix = f"{self.kind.plugin}.{self.kind.name}"
        created, updated = f"{prefix}_created", f"{prefix}_updated"
        for record, action, listed in self.changed:
            if listed is None:  # created: one entry holds every value it was created with
                values = {f: v for f, v in snapshot(self.kind, record, keys).items() if v is not None}
                self.entries.append(self.row(record.id, action, "", None, values))
                payload = self.payload(record.id, {})
                payload["changes"] = {f: [None, v] for f, v in values.items()}  # what payload() makes of (None, v)
                self.events.append((created, payload))
                continue
            for name, (old, new) in listed.items():
                self.entries.append(self.row(record.id, action, name, old, new))
            self.events.append((created if action == "create" else updated, self.payload(record.id, listed)))
        insert_many(session, AuditEntry, self.entries)
        for name, run in itertools.groupby(self.events, key=lambda event: event[0]):  # in order, runs batched
            emit_many(session, name, [payload for _name, payload in run], checked=True)  # plain: json_safe


__all__ = [
    "SOURCES",
    "audit_changes",
    "batch_memo",
    "check_references",
    "clean",
    "delete",
    "json_safe",
    "live_ids",
    "save",
    "save_many",
    "snapshot",
]


# -- batches (imports) ---------------------------------------------------------------------------------


class RowOutcome:
    """What :func:`save_batch` did with one row: "created", "updated", "unchanged" or "failed" (``errors``
    per field, as a ValidationError carries them)."""

    __slots__ = ("errors", "outcome", "record")

    def __init__(self, outcome: str, record: Any = None, errors: dict[str, str] | None = None):
        self.outcome, self.record, self.errors = outcome, record, errors or {}

    def __repr__(self) -> str:
        return f"RowOutcome({self.outcome!r}, id={self.record_id}, errors={self.errors})"

    @property
    def record_id(self) -> int | None:
        return getattr(self.record, "id", None)


def save_batch(
    session: Session,
    kind: RecordKind,
    rows: Sequence[tuple[int | None, dict[str, Any]]],
    *,
    actor: Any,
    source: str = "import",
    at: dt.datetime | None = None,
) -> list[RowOutcome]:
    """Create (record id None) or update many records of ``kind`` in one flush and one audit executemany;
    returns one :class:`RowOutcome` per row, in order.

    Unlike :func:`save_many` a row refused by validation or ``before_save`` does not sink the others: it
    comes back "failed" and writes nothing. When every row creates a record of a model registered with
    :func:`~voronka.core.imports_bulk.bulk_creates`, the records go in as one executemany past the unit
    of work (``before_save`` still runs per record; they come back detached): see :mod:`.imports_bulk`.
    A constraint the database enforces (a unique value taken) only shows at the flush (or that insert);
    then the batch is redone one savepoint per row, so only the offending rows fail.
    The caller owns the transaction and sizes the batches (keep each one short: SQLite has one writer).
    """
    _check_call(kind, source)
    outcomes: list[RowOutcome | None] = [None] * len(rows)
    cleaned: dict[int, dict[str, Any]] = {}
    for index, (_record_id, values) in enumerate(rows):
        try:
            cleaned[index] = clean(kind, values, session=session)
        except ValidationError as exc:
            outcomes[index] = RowOutcome("failed", errors=exc.errors)
    wanted = list(dict.fromkeys(rows[i][0] for i in cleaned if rows[i][0] is not None))
    loaded = {r.id: r for r in _load(session, kind, wanted)} if wanted else {}

    def apply(indexes: list[int], context: _Context, add: bool = True) -> None:
        touched: set[int] = set()
        for index in indexes:
            record_id = rows[index][0]
            try:
                if record_id is None:
                    outcomes[index] = RowOutcome("created", _create(session, kind, cleaned[index], context, add))
                    continue
                record = loaded.get(record_id)
                if record is None:
                    outcomes[index] = RowOutcome(
                        "failed", errors={"": _("This record no longer exists; someone may have deleted it.")}
                    )
                    continue
                if record_id in touched:
                    session.flush()  # a refusal expires the record: keep the earlier row's change from going with it
                touched.add(record_id)
                before = len(context.changed)
                _update(session, kind, record, cleaned[index], context)
                outcomes[index] = RowOutcome("updated" if len(context.changed) > before else "unchanged", record)
            except ValidationError as exc:
                outcomes[index] = RowOutcome("failed", errors=exc.errors)

    todo = [i for i in range(len(rows)) if outcomes[i] is None]
    context = _Context(kind, actor, source, at)
    # new records only, of a model its plugin lets skip the unit of work: one executemany (imports_bulk)
    bulk = registered(kind.model) if all(rows[i][0] is None for i in todo) else None
    savepoint = session.begin_nested()
    try:
        # as in save_many: the batch goes in one flush, whatever the hooks query
        with session.no_autoflush, _batch(session, kind, [cleaned[i] for i in todo], [rows[i][0] for i in todo]):
            apply(todo, context, add=bulk is None or bulk.in_session)
        if bulk is not None:
            made = [o.record for i in todo if (o := outcomes[i]) is not None and o.outcome == "created"]
            insert_records(session, kind.model, [r for r in made if not _persistent(r)], bulk)
        _assign_ids(session)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
    else:
        savepoint.commit()
        context.write(session)
        _assign_ids(session)  # the events just queued go in one executemany too
        return [o for o in outcomes if o is not None]

    # one row broke a constraint: redo the rows that went through, each in its own savepoint
    redo = [i for i in todo if outcomes[i] is None or outcomes[i].outcome != "failed"]  # type: ignore[union-attr]
    if wanted:
        loaded = {r.id: r for r in _load(session, kind, wanted)}
    context = _Context(kind, actor, source, at)
    for index in redo:
        outcomes[index] = None
        mark = len(context.changed)
        savepoint = session.begin_nested()
        try:
            with _batch(session, kind, [cleaned[index]], [rows[index][0]]):
                apply([index], context)
            session.flush()
        except IntegrityError:
            savepoint.rollback()
            del context.changed[mark:]
            outcomes[index] = RowOutcome(
                "failed", errors={"": _("A value refers to something that does not exist or is already taken.")}
            )
        else:
            savepoint.commit()
    context.write(session)
    return [o for o in outcomes if o is not None]


def _persistent(record: Any) -> bool:
    """Whether the record is in the database already (a hook flushed the session on its own)."""
    return bool(sa_inspect(record).persistent)


def _assign_ids(session: Session) -> None:
    """Give the new objects waiting for the flush their ids from the database in one query per table.

    The unit of work inserts rows without ids one at a time on SQLite (it needs each new id back, and
    SQLite cannot say which returned id belongs to which row of a multi-row insert); with ids set it sends
    one executemany. Ids come from the table's sequence on PostgreSQL, and on SQLite from the largest id
    in use, which only the transaction holding the write lock (``write_transaction``) can take: a
    concurrent writer's insert would make ours fail at the flush, never share an id.
    """
    if not session.new:
        return
    with session.no_autoflush:  # the queries below must not flush the very rows they number
        pending: dict[Any, list[tuple[Any, str]]] = {}
        for obj in session.new:
            plan = _numbered(type(obj))
            if plan is not None and getattr(obj, plan[1]) is None:  # by column: kinds sharing a table share its ids
                pending.setdefault(plan[0], []).append((obj, plan[1]))
        if not pending:
            return
        bind = session.get_bind()
        postgres = bind.dialect.name == "postgresql"
        for column, waiting in pending.items():
            table = column.table
            if postgres:
                sequence = _sequence_of(session, bind, table.name, column.name)
                if sequence is None:
                    continue
                ids = list(session.scalars(_NEXT_IDS, {"s": sequence, "n": len(waiting)}))
            else:
                top = session.scalar(select(func.max(column))) or 0
                if table.dialect_options["sqlite"].get("autoincrement"):
                    top = max(top, session.scalar(_SQLITE_SEQ, {"t": table.name}) or 0)
                ids = list(range(top + 1, top + 1 + len(waiting)))
            for (obj, attr), new_id in zip(waiting, sorted(ids), strict=True):
                setattr(obj, attr, new_id)


_NEXT_IDS = text("SELECT nextval(CAST(:s AS regclass)) FROM generate_series(1, :n)")
_SQLITE_SEQ = text("SELECT seq FROM sqlite_sequence WHERE name = :t")
_SEQUENCES: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], str | None]] = weakref.WeakKeyDictionary()
"""Each table's id sequence on PostgreSQL, per engine: asked once, not once per batch and table."""


def _sequence_of(session: Session, bind: Any, table: str, column: str) -> str | None:
    engine = getattr(bind, "engine", bind)
    known = _SEQUENCES.setdefault(engine, {})
    if (table, column) not in known:
        found = session.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": column})
        known[(table, column)] = str(found) if found is not None else None
    return known[(table, column)]


@functools.cache
def _numbered(cls: type) -> tuple[Any, str] | None:
    """(id column, attribute) of a mapped class whose ids :func:`_assign_ids` hands out, or None (a composite
    or non-integer key, or a GENERATED ALWAYS column, which refuses explicit values)."""
    mapper = sa_inspect(cls)
    keys = mapper.primary_key
    simple = len(keys) == 1 and keys[0].autoincrement in (True, "auto") and isinstance(keys[0].type, Integer)
    if not simple or keys[0].identity is not None:
        return None
    return keys[0], mapper.get_property_by_column(keys[0]).key


__all__ += ["RowOutcome", "save_batch"]

"""The index of custom field values (``core_custom_value``) and the write path's custom-field steps.

:mod:`voronka.core.writes` calls :func:`validate` from ``clean``, :func:`merge` from ``_create`` and
``_update`` (new values into a NEW dict, defaults, required, unique), and :func:`write_index` once per call
from ``_Context.write``: one DELETE per set of changed fields and one executemany of new rows, whatever
the batch size. Every value is mirrored (not only filterable ones): unique checks, "does this field hold
values" and recounts then never read JSON.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from .custom_fields import PREFIX, FieldDef, by_key, coerce, definitions, has_custom, typed
from .errors import ValidationError
from .i18n import gettext as _
from .models_fields import CustomValue
from .records import Ref
from .search_keys import search_key
from .seeding import insert_many
from .types import Money

CHUNK = 1000
VALUES = CustomValue.__table__
"""Inserted through Core: the ORM's bulk insert splits rows whose NULL columns differ into one statement each."""
UNIQUE_TYPES = ("text", "number", "date", "link", "choice")
LOCK_CLASS = 0x6366
"""First key of PostgreSQL's two-key advisory lock that serialises unique checks of one field."""


def split(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain fields, custom values by key) of the write path's ``values``."""
    plain = {k: v for k, v in values.items() if not k.startswith(PREFIX)}
    custom = {k[len(PREFIX) :]: v for k, v in values.items() if k.startswith(PREFIX)}
    return plain, custom


def validate(session: Session, kind: Any, custom: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values by key → (stored values by ``cf.<key>``, errors by ``cf.<key>``): unknown or archived
    fields, wrong types, options not offered, links to records that do not exist, required left empty."""
    stored: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if not custom:
        return stored, errors
    remember(kind)
    if not has_custom(kind):
        for key in custom:
            errors[PREFIX + key] = _("%(kind)s records have no custom fields.") % {"kind": kind.label}
        return stored, errors
    fields = by_key(session, kind.name)
    for key, value in custom.items():
        name = PREFIX + key
        field = fields.get(key)
        if field is None or field.removed:
            errors[name] = _("“%(field)s” is not a custom field of %(kind)s.") % {"field": key, "kind": kind.name}
            continue
        try:
            stored[name] = coerce(field, value)
        except ValidationError as exc:
            errors[name] = str(exc)
            continue
        if stored[name] is None and field.required:
            errors[name] = _("This field is required.")
        elif field.type == "link" and stored[name] is not None:
            problem = _link_problem(session, kind, stored[name])
            if problem:
                errors[name] = problem
    return stored, errors


def _link_problem(session: Session, kind: Any, stored: str) -> str | None:
    try:
        found = kind.registry.resolve(session, Ref.parse(stored)) if kind.registry is not None else True
    except ValidationError:
        return _("There is no record kind “%(kind)s”.") % {"kind": stored.partition(":")[0]}
    return None if found is not None else _("The linked record does not exist.")


def merge(
    session: Session, kind: Any, record: Any, custom: dict[str, Any], claimed: set[tuple[int, Any]], *, create: bool
) -> set[str]:
    """Put validated ``custom`` values (by key, stored form) into a NEW dict on ``record``; on create add
    defaults and check required fields. Unique values are checked against the index and the batch so
    far (``claimed``). Returns the keys whose value changed."""
    if not has_custom(kind):
        return set()
    fields = by_key(session, kind.name)
    before = dict(record.custom or {})
    after = dict(before)
    if create:
        for field in fields.values():
            if not field.removed and field.key not in custom and field.default is not None:
                custom = {**custom, field.key: coerce(field, typed(field, field.default))}
    for key, value in custom.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    if create:
        missing = {
            PREFIX + f.key: _("This field is required.")
            for f in fields.values()
            if f.required and not f.removed and after.get(f.key) is None
        }
        if missing:
            raise ValidationError(missing)
    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    for key in sorted(changed):
        field = fields.get(key)
        if field is not None and field.unique and after.get(key) is not None:
            _check_unique(session, kind, field, after[key], getattr(record, "id", None), claimed)
    if changed:
        record.custom = after
    return changed


def _keys(field: FieldDef, stored: Any) -> list[dict[str, Any]]:
    """The index columns of one stored value (several rows for a multi-choice)."""
    kind = field.type
    if kind == "text":
        return [{"text_key": search_key(stored)[:200]}]
    if kind in ("choice", "link"):
        return [{"text_key": str(stored)[:200]}]
    if kind == "multichoice":
        return [{"text_key": str(option)[:200]} for option in stored]
    if kind == "number":
        return [{"number": float(Decimal(str(stored)))}]
    if kind == "money":
        money = typed(field, stored)
        return [{"number": float(money.amount), "text_key": money.currency}] if isinstance(money, Money) else []
    if kind == "bool":
        return [{"number": 1.0 if stored else 0.0}]
    if kind == "date":
        value = typed(field, stored)
        return [{"date": value}] if value is not None else []
    return []


def rows_for(kind_name: str, record_id: int, field: FieldDef, stored: Any) -> list[dict[str, Any]]:
    if stored is None:
        return []
    return [
        {"kind": kind_name, "record_id": record_id, "field_id": field.id, "text_key": None, "number": None,
         "date": None, **keys}
        for keys in _keys(field, stored)
    ]  # fmt: skip


def _check_unique(
    session: Session, kind: Any, field: FieldDef, stored: Any, record_id: int | None, claimed: set[tuple[int, Any]]
) -> None:
    keys = _keys(field, stored)
    if not keys:
        return
    column, key = next((c, v) for c, v in keys[0].items())
    clash = ValidationError(
        {PREFIX + field.key: _("Another record already has this value; “%(field)s” must be unique.")
         % {"field": field.label}}
    )  # fmt: skip
    if (field.id, key) in claimed:
        raise clash
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": LOCK_CLASS, "b": field.id})
    query = select(CustomValue.record_id).where(CustomValue.field_id == field.id, getattr(CustomValue, column) == key)
    if record_id is not None:
        query = query.where(CustomValue.record_id != record_id)
    others = list(session.scalars(query.limit(20)))
    if others:  # compare with the records themselves: a text key is folded and cut at 200 characters
        model = kind.model
        held = session.scalars(select(model.custom).where(model.id.in_(others)))
        others = [c for c in held if _comparable(field, (c or {}).get(field.key)) == _comparable(field, stored)]
    if others:
        raise clash
    claimed.add((field.id, key))


def _comparable(field: FieldDef, stored: Any) -> Any:
    return search_key(stored or "") if field.type == "text" else stored


def write_index(session: Session, kind_name: str, changed: Iterable[tuple[Any, set[str] | None]]) -> None:
    """Bring the index in step with the remembered records (after the flush, so new ids exist):
    ``(record, keys)`` with keys None for a created record (all its values)."""
    pending = [(r, keys) for r, keys in changed if keys is None or keys]
    if not pending:
        return
    fields = by_key(session, kind_name)
    stale: dict[frozenset[int], list[int]] = defaultdict(list)
    rows: list[dict[str, Any]] = []
    for record, keys in pending:
        custom = record.custom or {}
        if keys is not None:
            ids = frozenset(fields[k].id for k in keys if k in fields)
            if ids:
                stale[ids].append(record.id)
        for key in custom if keys is None else keys:
            field = fields.get(key)
            if field is not None:
                rows.extend(rows_for(kind_name, record.id, field, custom.get(key)))
    for field_ids, record_ids in stale.items():
        for start in range(0, len(record_ids), CHUNK):
            session.execute(
                delete(CustomValue).where(
                    CustomValue.kind == kind_name,
                    CustomValue.record_id.in_(record_ids[start : start + CHUNK]),
                    CustomValue.field_id.in_(list(field_ids)),
                )
            )
    if rows:
        insert_many(session, VALUES, rows)


def reindex(session: Session, kind: Any, ids: Iterable[int] | None = None) -> int:
    """Rebuild the index rows of ``kind`` (or of some of its records) from their JSON; returns rows written.

    For repairs and after bulk loads that wrote JSON directly (seeding); the write path never needs it."""
    if not has_custom(kind):
        return 0
    model = kind.model
    fields = by_key(session, kind.name)
    wanted = None if ids is None else list(ids)
    if wanted is None:
        session.execute(delete(CustomValue).where(CustomValue.kind == kind.name))
    written = 0
    last = 0
    while True:
        query = select(model.id, model.custom).order_by(model.id).limit(CHUNK)
        if wanted is None:
            query = query.where(model.id > last)
        else:
            chunk, wanted = wanted[:CHUNK], wanted[CHUNK:]
            if not chunk:
                break
            session.execute(delete(CustomValue).where(CustomValue.kind == kind.name, CustomValue.record_id.in_(chunk)))
            query = select(model.id, model.custom).where(model.id.in_(chunk))
        found = list(session.execute(query))
        if not found and wanted is None:
            break
        rows = [
            row
            for record_id, custom in found
            for key, stored in (custom or {}).items()
            if key in fields
            for row in rows_for(kind.name, record_id, fields[key], stored)
        ]
        if rows:
            insert_many(session, VALUES, rows)
            written += len(rows)
        if wanted is None:
            last = found[-1][0]
    return written


IndexRow = tuple[int, int, Any, Any, Any]


def recount(session: Session, kind: Any) -> tuple[list[IndexRow], list[IndexRow]]:
    """(rows the index holds, rows the records' JSON calls for), each sorted: equal when in step."""
    fields = by_key(session, kind.name)
    held = sorted(
        (r.record_id, r.field_id, r.text_key, r.number, r.date)
        for r in session.execute(
            select(CustomValue.record_id, CustomValue.field_id, CustomValue.text_key, CustomValue.number,
                   CustomValue.date).where(CustomValue.kind == kind.name)
        )
    )  # fmt: skip
    wanted = sorted(
        (row["record_id"], row["field_id"], row["text_key"], row["number"], row["date"])
        for record_id, custom in session.execute(select(kind.model.id, kind.model.custom))
        for key, stored in (custom or {}).items()
        if key in fields
        for row in rows_for(kind.name, record_id, fields[key], stored)
    )
    return held, wanted


def value_count(session: Session, field: FieldDef) -> int:
    """How many records hold a value of ``field`` (archived fields included)."""
    query = select(func.count(func.distinct(CustomValue.record_id))).where(CustomValue.field_id == field.id)
    return session.scalar(query) or 0


def on_records_deleted(session: Session, kind_name: str, ids: list[int]) -> None:
    """Drop the index rows of records purged for good (the recycle bin calls it)."""
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        session.execute(
            delete(CustomValue).where(
                CustomValue.kind == kind_name, CustomValue.record_id.in_(ids[start : start + CHUNK])
            )
        )


def on_records_merged(session: Session, kind: Any, kept: int, merged: int, *, actor: Any = None) -> None:
    """Fill the kept record's empty custom values from the merged one (archived fields too), with audit
    entries ``cf.<key>`` and the index in step; unique fields are not re-checked (the merged record goes).

    ``kind`` is the RecordKind (a name only works for kinds this process has already seen)."""
    from .writes import _Context  # the write path imports this module

    kind = _kind(kind)
    if not has_custom(kind):
        return
    model = kind.model
    pair = {r.id: r for r in session.scalars(select(model).where(model.id.in_([kept, merged])).with_for_update())}
    if kept not in pair or merged not in pair:
        return
    target, source = pair[kept], pair[merged]
    fields = by_key(session, kind.name)
    current = dict(target.custom or {})
    fill = {k: v for k, v in (source.custom or {}).items() if k in fields and current.get(k) is None and v is not None}
    if not fill:
        return
    target.custom = {**current, **fill}
    if hasattr(target, "version"):
        target.version = (target.version or 0) + 1
    session.flush()
    context = _Context(kind, actor, "form", None)
    context.add(target, "update", {PREFIX + k: (None, v) for k, v in fill.items()})
    context.write(session)


_seen: dict[str, Any] = {}


def remember(kind: Any) -> None:
    """Note a registered kind by name (so name-only callers such as merge hooks can be answered)."""
    if kind.host is not None:
        _seen[kind.name] = kind


def _kind(kind: Any) -> Any:
    if not isinstance(kind, str):
        return kind
    if kind not in _seen:
        raise TypeError(f"record kind {kind!r} is unknown here: pass the RecordKind from runtime.record_kinds")
    return _seen[kind]


def active_fields(session: Session, kind: Any) -> list[FieldDef]:
    return definitions(session, kind.name) if has_custom(kind) else []


__all__ = [
    "UNIQUE_TYPES",
    "active_fields",
    "merge",
    "on_records_deleted",
    "on_records_merged",
    "recount",
    "reindex",
    "remember",
    "rows_for",
    "split",
    "validate",
    "value_count",
    "write_index",
]

"""Custom fields: admin-defined fields on any record kind whose model has the ``custom`` JSON column.

Definitions live in ``core_custom_field`` (cached per process, dropped when the "custom_fields" state
counter moves, like settings); values live in each record's ``custom`` column, keyed by the field's
``key``, in a JSON-safe stored form (text: str; number: int or float; money: ``{"minor", "currency"}``;
date: ISO string; choice: str; multi-choice: list of str; yes/no: bool; link: ``"kind:id"``). Every value
is mirrored into ``core_custom_value`` by the write path (:mod:`voronka.core.writes`), in the same
transaction, so lists filter and search through B-tree indexes and unique fields are checked cheaply.

Callers pass values to the write path as ``"cf.<key>"`` entries, typed (str, int/Decimal, Money, date,
list, bool, Ref) or in the stored form; :func:`parse` turns form and CSV text into typed values and
:func:`format_value` turns them back. The admin side (define, change, archive, restore, delete) is in
:mod:`voronka.core.custom_fields_admin`; the index in :mod:`voronka.core.custom_fields_index`.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .custom_fields_values import (
    FALSE,
    NUMBER_LIMIT,
    PREFIX,
    TEXT_MAX,
    TRUE,
    FieldDef,
    coerce,
    form_values,
    format_value,
    parse,
    read_form,
    typed,
)
from .models import StateVersion
from .models_fields import FIELD_TYPES, CustomField

TYPES = FIELD_TYPES
STATE_KEY = "custom_fields"
POLL_SECONDS = 1.0
"""How stale another process's change may be seen here: the state counter is read at most this often."""


# -- definitions, cached per process -------------------------------------------------------------------


class _Cache:
    def __init__(self) -> None:
        self.version: int | None = None
        self.checked = 0.0
        self.fields: dict[str, list[FieldDef]] | None = None
        self.keyed: dict[str, dict[str, FieldDef]] = {}


_caches: weakref.WeakKeyDictionary[Engine, _Cache] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _cache(session: Session) -> _Cache:
    found = session.info.get(_SESSION_KEY)  # the write path asks per record: skip the engine lookup
    if found is not None:
        return found
    engine = _engine(session)
    with _lock:
        found = _caches.get(engine)
        if found is None:
            found = _caches[engine] = _Cache()
    session.info[_SESSION_KEY] = found
    return found


_SESSION_KEY = "voronka.custom_fields.cache"


def invalidate(session: Session) -> None:
    """Drop this process's definitions of the session's database (after an admin change)."""
    cache = _cache(session)
    cache.fields, cache.version, cache.keyed = None, None, {}


def _all(session: Session) -> dict[str, list[FieldDef]]:
    cache = _cache(session)
    now = time.monotonic()
    if cache.fields is not None and now - cache.checked < POLL_SECONDS:
        return cache.fields
    version = session.scalar(select(StateVersion.version).where(StateVersion.key == STATE_KEY)) or 0
    cache.checked = now
    if cache.fields is None or version != cache.version:
        fields: dict[str, list[FieldDef]] = {}
        rows = session.scalars(select(CustomField).order_by(CustomField.kind, CustomField.position, CustomField.id))
        for row in rows:
            fields.setdefault(row.kind, []).append(as_def(row))
        cache.fields, cache.version, cache.keyed = fields, version, {}
    return cache.fields


def as_def(row: CustomField) -> FieldDef:
    return FieldDef(
        id=row.id,
        kind=row.kind,
        key=row.key,
        label=row.label,
        type=row.type,
        options=dict(row.options or {}),
        required=bool(row.required),
        unique=bool(row.unique),
        default=row.default,
        filterable=bool(row.filterable),
        searchable=bool(row.searchable),
        position=row.position,
        removed=bool(row.removed),
    )


def definitions(session: Session, kind_name: str, *, include_removed: bool = False) -> list[FieldDef]:
    """The kind's fields ordered by position (archived ones only with ``include_removed``)."""
    found = _all(session).get(kind_name, [])
    return list(found) if include_removed else [f for f in found if not f.removed]


def by_key(session: Session, kind_name: str) -> dict[str, FieldDef]:
    """Every field of the kind, archived ones included, by key (shared: do not change the dict; the write
    path asks several times per record)."""
    found = _all(session).get(kind_name, [])
    keyed = _cache(session).keyed
    mapped = keyed.get(kind_name)
    if mapped is None:
        mapped = keyed[kind_name] = {f.key: f for f in found}
    return mapped


def has_custom(kind: Any) -> bool:
    """Whether the kind's model carries the custom-fields column (only those kinds can have fields)."""
    return "custom" in kind.columns


def mapping_targets(session: Session, kind: Any) -> list[tuple[str, str, bool]]:
    """What import and qualification mapping screens offer: ``(cf.<key>, label, required)`` per field."""
    if not has_custom(kind):
        return []
    return [(f.name, f.label, f.required) for f in definitions(session, kind.name)]


def values_of(session: Session, kind_name: str, custom: dict[str, Any] | None) -> dict[str, Any]:
    """A record's ``custom`` column → typed values of the kind's active fields by key."""
    custom = custom or {}
    return {f.key: typed(f, custom.get(f.key)) for f in definitions(session, kind_name)}


def rows_for_card(session: Session, kind_name: str, custom: dict[str, Any] | None) -> list[tuple[FieldDef, str]]:
    """(field, text) for every active field, in order: what a card shows (empty text for no value)."""
    custom = custom or {}
    return [(f, format_value(f, custom.get(f.key))) for f in definitions(session, kind_name)]


def on_records_deleted(session: Session, kind_name: str, ids: list[int]) -> None:
    """Drop the index rows of records purged for good (the recycle bin calls it)."""
    from .custom_fields_index import on_records_deleted as drop

    drop(session, kind_name, ids)


def on_records_merged(session: Session, kind_name: Any, kept: int, merged: int) -> None:
    """Fill the kept record's empty values from the merged one, with audit entries, and reindex it.

    ``kind_name`` may be the RecordKind itself (preferred) or its name."""
    from .custom_fields_index import on_records_merged as fill

    fill(session, kind_name, kept, merged)


from .custom_fields_lists import (  # noqa: E402
    ListFilter,
    any_of,
    filter_clause,
    list_filters,
    search_clause,
    search_ids,
)

__all__ = [
    "FALSE",
    "NUMBER_LIMIT",
    "PREFIX",
    "TEXT_MAX",
    "TRUE",
    "TYPES",
    "FieldDef",
    "ListFilter",
    "any_of",
    "as_def",
    "by_key",
    "coerce",
    "definitions",
    "filter_clause",
    "form_values",
    "format_value",
    "has_custom",
    "invalidate",
    "list_filters",
    "mapping_targets",
    "on_records_deleted",
    "on_records_merged",
    "parse",
    "read_form",
    "rows_for_card",
    "search_clause",
    "search_ids",
    "typed",
    "values_of",
]

"""Lists over custom fields: filter and search clauses through the index table, and the filter controls
a list page shows (re-exported by :mod:`voronka.core.custom_fields`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, false, func, or_, select
from sqlalchemy.orm import Session

from .custom_fields import definitions, has_custom
from .custom_fields_values import FieldDef, parse
from .errors import ValidationError
from .models_fields import CustomValue
from .search_keys import prefix_bounds, search_key
from .types import Money

# -- lists: filters and search through the index ---------------------------------------------------------


def _index_value(field: FieldDef, value: Any) -> tuple[str, Any]:
    """Which index column a filter value compares on, and the value in that column's form."""
    if field.type in ("number",):
        return "number", float(Decimal(str(value)))
    if field.type == "money":
        amount = value.amount if isinstance(value, Money) else Decimal(str(value))
        return "number", float(amount)
    if field.type == "bool":
        return "number", 1.0 if value else 0.0
    if field.type == "date":
        return "date", value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    if field.type == "text":
        return "text_key", search_key(str(value))[:200]
    return "text_key", str(value)[:200]


PROBE = 5000
"""Above this many matching values a filter reads the list in its own order and checks each record
(``EXISTS``, stops after a page); below it, it fetches the few matching ids first (``IN``)."""


def filter_clause(
    kind: Any, field: FieldDef, op: str, value: Any = None, *, session: Session | None = None
) -> ColumnElement[bool]:
    """Records of ``kind`` whose ``field`` matches: ``op`` is eq, in, lt, le, gt, ge, between (a pair),
    empty (no value), or contains (text starting with ``value``, folded like search keys).

    Given ``session``, one bounded count picks the SQL shape that stays fast for both common and rare
    values (see :data:`PROBE`); without it the clause is ``id IN (matching ids)``.
    """
    model = kind.model
    if op == "empty":
        return model.id.not_in(select(CustomValue.record_id).where(CustomValue.field_id == field.id))
    conditions = [CustomValue.field_id == field.id, *_conditions(field, op, value)]
    if session is not None:
        probe = select(CustomValue.id).where(*conditions).limit(PROBE).subquery()
        if (session.scalar(select(func.count()).select_from(probe)) or 0) >= PROBE:
            return exists(select(CustomValue.id).where(CustomValue.record_id == model.id, *conditions))
    return model.id.in_(select(CustomValue.record_id).where(*conditions))


def _lit(column: Any, value: Any) -> Any:
    """The value written into the SQL text at execution (``literal_execute``): PostgreSQL then plans each
    filter value on its own; a prepared, generic plan ignores how common the value is (200 ms instead of
    4 ms over 100,000 notes for a value 20 % of them hold)."""
    return bindparam(None, value, type_=column.type, literal_execute=True)


def _conditions(field: FieldDef, op: str, value: Any) -> list[ColumnElement[bool]]:
    text_key = CustomValue.text_key
    if op == "contains":
        bounds = prefix_bounds(search_key(str(value or "")))
        return [] if bounds is None else [text_key >= _lit(text_key, bounds[0]), text_key < _lit(text_key, bounds[1])]
    if op == "in":
        items = list(value or [])
        if not items:
            return [false()]
        column = getattr(CustomValue, _index_value(field, items[0])[0])
        return [column.in_([_lit(column, _index_value(field, v)[1]) for v in items])]
    if op == "between":
        low, high = value
        parts = []
        if low is not None:
            name, key = _index_value(field, low)
            parts.append(getattr(CustomValue, name) >= _lit(getattr(CustomValue, name), key))
        if high is not None:
            name, key = _index_value(field, high)
            parts.append(getattr(CustomValue, name) <= _lit(getattr(CustomValue, name), key))
        return parts
    name, raw = _index_value(field, value)
    column = getattr(CustomValue, name)
    key = _lit(column, raw)
    compare = {"eq": column == key, "lt": column < key, "le": column <= key, "gt": column > key, "ge": column >= key}
    if op not in compare:
        raise ValueError(f"unknown filter operator {op!r}")
    parts = [compare[op]]
    if field.type == "money" and isinstance(value, Money):
        parts.append(text_key == _lit(text_key, value.currency))
    return parts


def search_ids(session: Session, kind: Any, text: str) -> Select[Any] | None:
    """The ids of records whose searchable text fields start with ``text`` (folded), as a subquery to
    combine with the list's own search (``UNION`` keeps both index range scans on PostgreSQL, where an
    ``OR`` with ``IN`` would read every row); None when there is nothing to search."""
    ids = [f.id for f in definitions(session, kind.name) if f.searchable and f.type == "text"]
    bounds = prefix_bounds(search_key(text))
    if not ids or bounds is None:
        return None
    field_match = CustomValue.field_id == ids[0] if len(ids) == 1 else CustomValue.field_id.in_(ids)
    text_key = CustomValue.text_key
    return select(CustomValue.record_id).where(
        field_match, text_key >= _lit(text_key, bounds[0]), text_key < _lit(text_key, bounds[1])
    )


def search_clause(session: Session, kind: Any, text: str) -> ColumnElement[bool] | None:
    """Records whose searchable text fields start with ``text`` (folded); None when nothing to search."""
    hits = search_ids(session, kind, text)
    return None if hits is None else kind.model.id.in_(hits)


@dataclass(frozen=True)
class ListFilter:
    """One filter control of a list, as the query string carries it and the macro shows it."""

    field: FieldDef
    value: str = ""
    low: str = ""
    high: str = ""
    error: str = ""


RANGE_TYPES = ("number", "money", "date")


def list_filters(session: Session, kind: Any, params: Any) -> tuple[list[ListFilter], list[ColumnElement[bool]]]:
    """The filter controls of the kind's filterable fields from a query string, and the WHERE clauses.

    ``cf.<key>`` holds the value (text: starts with; choice, multi-choice, link: equals; yes/no: yes, no
    or "empty"); numbers, money and dates use ``cf.<key>.from`` / ``cf.<key>.to``. A value that does not
    parse is shown with its message and ignored, never a 500.
    """
    controls: list[ListFilter] = []
    clauses: list[ColumnElement[bool]] = []
    if not has_custom(kind):
        return controls, clauses
    for field in definitions(session, kind.name):
        if not field.filterable:
            continue
        name = field.name
        value = str(params.get(name, "") or "")[:200].strip()
        low = str(params.get(f"{name}.from", "") or "")[:200].strip()
        high = str(params.get(f"{name}.to", "") or "")[:200].strip()
        error = ""
        try:
            if value == "__empty__":
                clauses.append(filter_clause(kind, field, "empty"))
            elif field.type in RANGE_TYPES and (low or high):
                range_field = field if field.type != "money" else _amount_field(field)
                bounds = (parse(range_field, low) if low else None, parse(range_field, high) if high else None)
                clauses.append(filter_clause(kind, field, "between", bounds, session=session))
            elif value and field.type == "text":
                clauses.append(filter_clause(kind, field, "contains", value, session=session))
            elif value:
                clauses.append(filter_clause(kind, field, "eq", parse(field, value), session=session))
        except ValidationError as exc:
            error = str(exc)
        controls.append(ListFilter(field, value, low, high, error))
    return controls, clauses


def _amount_field(field: FieldDef) -> FieldDef:
    """Money ranges filter on the amount alone (any currency): parse them as numbers."""
    return FieldDef(field.id, field.kind, field.key, field.label, "number", {"decimals": 4}, False, False, None,
                    True, False, field.position, field.removed)  # fmt: skip


def any_of(*clauses: ColumnElement[bool] | None) -> ColumnElement[bool] | None:
    """OR of the clauses that exist (a list's search box: the title OR a searchable custom field)."""
    found = [c for c in clauses if c is not None]
    return or_(*found) if found else None

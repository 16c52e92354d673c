"""Defining custom fields: create, change, reorder, archive ("remove"), restore and delete for good.

Every change bumps the "custom_fields" state counter, so other processes drop their cached definitions
within a second. Removing a field archives it: its values stay in the records' JSON and in the index, and
restoring it brings them back. Deleting for good is for a field that holds no values, or, after the admin
types the field's key to confirm, it first clears the values from every record (with audit entries).

A type change is refused while any record holds a value of the field (there is no safe conversion for
most pairs); an option still chosen by records cannot be dropped from a choice list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from .custom_fields import PREFIX, TYPES, FieldDef, as_def, coerce, has_custom, invalidate, parse, typed
from .custom_fields_index import CHUNK, UNIQUE_TYPES, value_count
from .errors import ValidationError
from .i18n import gettext as _
from .i18n import ngettext
from .models_fields import CustomField, CustomValue
from .models_records import AuditEntry
from .search_keys import search_key
from .state import bump
from .types import utcnow

KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
LABEL_MAX = 120
OPTION_MAX = 100
MAX_FIELDS = 200
MAX_DECIMALS = 6
TEXT_LIMIT = 5000


def _changed(session: Session) -> None:
    bump(session, "custom_fields")
    session.flush()
    invalidate(session)


def _row(session: Session, kind: Any, field_id: int) -> CustomField:
    row = session.get(CustomField, field_id)
    if row is None or row.kind != kind.name:
        raise ValidationError(_("There is no such field; someone may have deleted it."))
    return row


def _key_from(label: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", search_key(label)).strip("_")[:60]
    if not key or not key[0].isalpha():
        key = f"field_{key}"[:60].rstrip("_")
    return key


def clean_definition(
    session: Session, kind: Any, form: dict[str, Any], *, existing: CustomField | None = None
) -> dict[str, Any]:
    """A definition's settings from the editor (text values) → column values; errors per input name."""
    errors: dict[str, str] = {}
    label = str(form.get("label") or "").strip()
    if not label:
        errors["label"] = _("Give the field a name.")
    elif len(label) > LABEL_MAX:
        errors["label"] = _("Keep the name under %(n)s characters.") % {"n": LABEL_MAX}
    field_type = existing.type if existing is not None and "type" not in form else str(form.get("type") or "")
    if field_type not in TYPES:
        errors["type"] = _("Choose the kind of value the field holds.")
    values: dict[str, Any] = {"label": label, "type": field_type}
    if existing is None:
        key = str(form.get("key") or "").strip() or _key_from(label)
        if not KEY.match(key):
            errors["key"] = _("Use lower-case Latin letters, digits and _ (starting with a letter), up to 60.")
        elif session.scalar(select(CustomField.id).where(CustomField.kind == kind.name, CustomField.key == key)):
            errors["key"] = _("Another field of this kind (maybe an archived one) already uses this key.")
        values["key"] = key
    options: dict[str, Any] = {}
    if field_type in ("choice", "multichoice"):
        raw = form.get("choices") or ""
        lines = raw if isinstance(raw, list) else str(raw).replace("\r", "").split("\n")
        choices = list(dict.fromkeys(c.strip() for c in lines if c and c.strip()))
        if not choices:
            errors["choices"] = _("List the options, one per line.")
        elif len(choices) > 200:
            errors["choices"] = _("Offer at most 200 options.")
        elif any(len(c) > OPTION_MAX for c in choices):
            errors["choices"] = _("Keep each option under %(n)s characters.") % {"n": OPTION_MAX}
        options["choices"] = choices
    elif field_type == "link":
        target = str(form.get("link_kind") or "").strip()
        registry = kind.registry
        if not target or (registry is not None and target not in registry):
            errors["link_kind"] = _("Choose the kind of record the field links to.")
        options["kind"] = target
    elif field_type == "money":
        currency = str(form.get("currency") or "").strip().upper()
        if currency and (len(currency) != 3 or not currency.isalpha()):
            errors["currency"] = _("Enter a three-letter currency code such as EUR.")
        if currency:
            options["currency"] = currency
    elif field_type == "number":
        decimals = str(form.get("decimals") or "0").strip()
        if not decimals.isdigit() or int(decimals) > MAX_DECIMALS:
            errors["decimals"] = _("Enter 0 to %(n)s decimal places.") % {"n": MAX_DECIMALS}
        else:
            options["decimals"] = int(decimals)
    elif field_type == "text":
        limit = str(form.get("max_length") or "").strip()
        if limit and (not limit.isdigit() or not 1 <= int(limit) <= TEXT_LIMIT):
            errors["max_length"] = _("Enter a length from 1 to %(n)s.") % {"n": TEXT_LIMIT}
        elif limit:
            options["max_length"] = int(limit)
    values["options"] = options
    flags = {name: _flag(form.get(name)) for name in ("required", "unique", "filterable", "searchable")}
    if flags["unique"] and field_type not in UNIQUE_TYPES:
        errors["unique"] = _("Only text, number, date, choice and link fields can be unique.")
    if flags["searchable"] and field_type != "text":
        errors["searchable"] = _("Only text fields can be searched.")
    values.update(flags)
    values["default"] = None
    default_text = str(form.get("default") or "").strip()
    if default_text and field_type in TYPES and not errors.keys() & {"choices", "decimals", "currency", "link_kind"}:
        probe = FieldDef(0, kind.name, "x", label, field_type, options, False, False, None, False, False, 0, False)
        try:
            value = parse(probe, default_text)
            values["default"] = coerce(probe, value)
        except ValidationError as exc:
            errors["default"] = str(exc)
        if flags["unique"] and values["default"] is not None:
            errors["default"] = _("A unique field cannot have a default value.")
    if errors:
        raise ValidationError(errors)
    return values


def _flag(raw: Any) -> bool:
    return raw is True or str(raw or "").lower() in ("on", "true", "1", "yes")


def _check_kind(kind: Any) -> None:
    if not has_custom(kind):
        raise ValidationError(_("%(kind)s records cannot have custom fields.") % {"kind": kind.label})


def create_field(session: Session, kind: Any, form: dict[str, Any]) -> FieldDef:
    """Add a field at the end of the kind's list; ``form`` as the editor sends it (see clean_definition)."""
    _check_kind(kind)
    values = clean_definition(session, kind, form)
    count = session.scalar(select(func.count()).select_from(CustomField).where(CustomField.kind == kind.name)) or 0
    if count >= MAX_FIELDS:
        raise ValidationError(_("A record kind can have at most %(n)s custom fields.") % {"n": MAX_FIELDS})
    position = session.scalar(select(func.max(CustomField.position)).where(CustomField.kind == kind.name))
    row = CustomField(kind=kind.name, position=(position or 0) + 1, removed=False, changed_at=utcnow(), **values)
    session.add(row)
    _changed(session)
    return as_def(row)


def update_field(session: Session, kind: Any, field_id: int, form: dict[str, Any]) -> FieldDef:
    """Change a field's settings (its key never changes). Refused while values exist: another type, an
    option records still hold, or "unique" over values that repeat."""
    _check_kind(kind)
    row = _row(session, kind, field_id)
    values = clean_definition(session, kind, form, existing=row)
    current = as_def(row)
    held = value_count(session, current)
    errors: dict[str, str] = {}
    if values["type"] != row.type and held:
        errors["type"] = ngettext(
            "%(n)s record holds a value of this field, so its type cannot change. Add a new field instead.",
            "%(n)s records hold a value of this field, so its type cannot change. Add a new field instead.",
            held,
        ) % {"n": held}
    if row.type in ("choice", "multichoice") and values["type"] == row.type:
        dropped = set(current.choices) - set(values["options"].get("choices", []))
        in_use = sorted(
            session.scalars(
                select(CustomValue.text_key).where(CustomValue.field_id == row.id, CustomValue.text_key.in_(dropped))
            ).unique()
        ) if dropped else []  # fmt: skip
        if in_use:
            errors["choices"] = _("Records still hold these options: %(options)s. Change them first.") % {
                "options": ", ".join(in_use)
            }
    if values["unique"] and not row.unique and held:
        repeats = session.execute(
            select(CustomValue.text_key, CustomValue.number, CustomValue.date)
            .where(CustomValue.field_id == row.id)
            .group_by(CustomValue.text_key, CustomValue.number, CustomValue.date)
            .having(func.count() > 1)
            .limit(1)
        ).first()
        if repeats is not None:
            errors["unique"] = _("Some records share a value of this field; make them differ first.")
    if errors:
        raise ValidationError(errors)
    for name, value in values.items():
        setattr(row, name, value)
    row.changed_at = utcnow()
    _changed(session)
    return as_def(row)


def move_field(session: Session, kind: Any, field_id: int, direction: str) -> None:
    """Swap a field with its neighbour ("up" or "down") among the kind's active fields."""
    rows = list(
        session.scalars(
            select(CustomField)
            .where(CustomField.kind == kind.name, CustomField.removed.is_(False))
            .order_by(CustomField.position, CustomField.id)
        )
    )
    index = next((i for i, r in enumerate(rows) if r.id == field_id), None)
    if index is None:
        raise ValidationError(_("There is no such field; someone may have deleted it."))
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
    reorder(session, kind, [r.id for r in rows])


def reorder(session: Session, kind: Any, ids: Sequence[int]) -> None:
    """Put the kind's fields in the order of ``ids`` (fields not listed keep their place after them)."""
    rows = {r.id: r for r in session.scalars(select(CustomField).where(CustomField.kind == kind.name))}
    order = [i for i in dict.fromkeys(ids) if i in rows]
    rest = sorted((r for r in rows.values() if r.id not in order), key=lambda r: (r.position, r.id))
    for position, row in enumerate([*(rows[i] for i in order), *rest], start=1):
        row.position = position
    _changed(session)


def remove_field(session: Session, kind: Any, field_id: int) -> FieldDef:
    """Archive a field: hidden everywhere, its values kept (in the records and the index) for a restore."""
    row = _row(session, kind, field_id)
    row.removed, row.changed_at = True, utcnow()
    _changed(session)
    return as_def(row)


def restore_field(session: Session, kind: Any, field_id: int) -> FieldDef:
    """Bring an archived field back at the end of the list, with the values records kept."""
    row = _row(session, kind, field_id)
    last = session.scalar(
        select(func.max(CustomField.position)).where(CustomField.kind == kind.name, CustomField.removed.is_(False))
    )
    row.removed, row.position, row.changed_at = False, (last or 0) + 1, utcnow()
    _changed(session)
    return as_def(row)


def delete_field(session: Session, kind: Any, field_id: int, *, confirm: str = "", actor: Any = None) -> int:
    """Delete an archived field for good; returns how many records lost a value.

    A field that holds values needs ``confirm`` equal to its key: the values are then cleared from every
    record first, each with an audit entry, so the history still shows what they were.
    """
    row = _row(session, kind, field_id)
    if not row.removed:
        raise ValidationError(_("Remove the field first; only archived fields can be deleted for good."))
    field = as_def(row)
    held = value_count(session, field)
    if held and confirm.strip() != row.key:
        raise ValidationError(
            {"confirm": ngettext("%(n)s record holds a value of this field. Type its key “%(key)s” to delete it too.",
                                 "%(n)s records hold a value of this field. Type its key “%(key)s” to delete them too.",
                                 held) % {"n": held, "key": row.key}}
        )  # fmt: skip
    cleared = _clear_values(session, kind, field, actor) if held else 0
    session.execute(delete(CustomValue).where(CustomValue.field_id == row.id))
    session.delete(row)
    _changed(session)
    return cleared


def _clear_values(session: Session, kind: Any, field: FieldDef, actor: Any) -> int:
    """Drop ``field``'s values from the records' JSON (with audit entries), 1,000 records at a time."""
    from .writes import _Context  # the write path imports the custom-field modules

    model = kind.model
    ids = list(session.scalars(select(CustomValue.record_id).where(CustomValue.field_id == field.id).distinct()))
    context = _Context(kind, actor, "form", None)
    cleared = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = list(session.execute(select(model.id, model.custom).where(model.id.in_(chunk))))
        entries = []
        for record_id, custom in rows:
            if (custom or {}).get(field.key) is None:
                continue
            old = custom[field.key]
            session.execute(
                update(model)
                .where(model.id == record_id)
                .values(custom={k: v for k, v in custom.items() if k != field.key})
            )
            entries.append(context.row(record_id, "update", PREFIX + field.key, old, None))
            cleared += 1
        if entries:
            session.execute(insert(AuditEntry), entries)
    session.expire_all()
    return cleared


def default_text(field: FieldDef) -> str:
    """The default as the editor shows it."""
    from .custom_fields import format_value

    return format_value(field, typed(field, field.default)) if field.default is not None else ""


__all__ = [
    "clean_definition",
    "create_field",
    "default_text",
    "delete_field",
    "move_field",
    "remove_field",
    "reorder",
    "restore_field",
    "update_field",
]

"""The card's audit history as the template shows it: each change's label and old and new text worked out
here, once, instead of a chain of tests and translations per change in the template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from voronka.core import custom_fields
from voronka.core.i18n import N_, gettext

from .card_labels import FIELD_LABELS, SOURCE_LABELS
from .card_view import tr

NONE = "—"


@dataclass(frozen=True)
class Change:
    """One changed field: ``text`` for what is no old → new (deleted, restored, merged)."""

    field: str
    label: str
    text: Markup | None = None
    old: Any = NONE
    new: Any = NONE


@dataclass(frozen=True)
class Head:
    """When, who and (unless it was the form) through what a change was made."""

    source: str
    when: str
    who: str
    through: str | None


def groups(
    entries: list[Any],
    owner_names: dict[str, dict[Any, str]],
    cf_defs: dict[str, Any],
    when: Callable[[Any], str],
) -> list[tuple[Head, list[Change]]]:
    """``entries`` (newest first) as one heading per change set with its changed fields."""
    found: list[tuple[Head, list[Change]]] = []
    last_change = None
    for entry in entries:
        if found and last_change == entry.change_id:
            found[-1][1].append(change(entry, owner_names, cf_defs))
            continue
        last_change = entry.change_id
        through = None if entry.source == "form" else tr(SOURCE_LABELS.get(entry.source, entry.source))
        head = Head(entry.source, when(entry.at), entry.actor_name or tr(N_("System")), through)
        found.append((head, [change(entry, owner_names, cf_defs)]))
    return found


def change(e: Any, owner_names: dict[str, dict[Any, str]], cf_defs: dict[str, Any]) -> Change:
    """What the history shows of one field's change."""
    label = _label(e.field, cf_defs)
    if e.action == "delete":
        return Change(e.field, label, tr(N_("deleted")))
    if e.action == "restore":
        return Change(e.field, label, tr(N_("restored from the recycle bin")))
    merge = e.new if e.action == "merge" and isinstance(e.new, dict) else {}
    if merge.get("merged"):
        return Change(e.field, label, tr(N_("#%(id)s merged into this one"), id=merge["merged"]))
    if merge.get("kept"):
        return Change(e.field, label, tr(N_("merged into #%(id)s"), id=merge["kept"]))
    if e.field in owner_names:
        names = owner_names[e.field]
        old = names.get(e.old, e.old) if e.old is not None else NONE
        new = names.get(e.new, e.new) if e.new is not None else NONE
        return Change(e.field, label, old=old, new=new)
    if e.field in cf_defs:
        field = cf_defs[e.field]
        old = custom_fields.format_value(field, e.old) or NONE
        return Change(e.field, label, old=old, new=custom_fields.format_value(field, e.new) or NONE)
    if isinstance(e.old, bool) or isinstance(e.new, bool):
        return Change(e.field, label, old=_yes_no(e.old), new=_yes_no(e.new))
    old = e.old if e.old not in (None, "") else NONE
    return Change(e.field, label, old=old, new=e.new if e.new not in (None, "") else NONE)


def _label(field: str, cf_defs: dict[str, Any]) -> str:
    """The field's name in the viewer's language; a custom field's own label; the raw name otherwise."""
    custom = field in cf_defs
    label = cf_defs[field].label if custom else FIELD_LABELS.get(field)
    if not label:
        return field
    return gettext(label) if custom else tr(label)


def _yes_no(value: Any) -> Any:
    return NONE if value is None else (tr(N_("Yes")) if value else tr(N_("No")))

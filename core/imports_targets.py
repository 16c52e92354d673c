"""What a CSV column can be mapped to, and how a cell's text becomes a value of it.

For a record kind: its writable fields (the owner by username or e-mail, the team by name), its custom
fields (``cf.<key>``, parsed by :mod:`voronka.core.custom_fields`) and ``id`` (update that very record).
Cells are text; each target parses its own and says what is wrong in words a person can act on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ValidationError
from .i18n import gettext as _
from .models import Team, User
from .records import RecordKind

try:  # built alongside imports; kinds without custom fields work without it
    from . import custom_fields as _custom_fields
except ImportError:  # pragma: no cover - depends on the checkout
    _custom_fields = None  # type: ignore[assignment]

ID = "id"
YES = frozenset({"1", "yes", "y", "true", "t", "так", "т", "да", "x", "✓", "+"})
NO = frozenset({"0", "no", "n", "false", "f", "ні", "н", "нет", "-", ""})
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d")


@dataclass(frozen=True)
class Target:
    """One thing a column can be mapped to. ``parse(text)`` returns the value (None: leave as is) or
    raises ValidationError with a message about the cell."""

    key: str
    label: str
    parse: Callable[[str], Any]
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""
    after: Callable[[AfterBatch, list[Pending]], list[Pending]] | None = None
    """For a value the record does not hold itself (a link to another record by its name, child rows):
    called after each batch's records are written, in the batch's transaction, with a :data:`Pending`
    per written row; returns those it cannot apply yet (a parent further down the file). They are kept
    with the import and offered again at its end with ``final`` set; what is left then is reported per row."""


Pending = tuple[int, int, Any, str]
"""(row number, record id, parsed value, reason it is not applied yet: "" when offered)."""


@dataclass
class AfterBatch:
    """What an ``after`` step gets: the batch's transaction, the importing user (the actor), the record
    kinds registry, whether this is the final call (end of the import) and whether it is a dry run."""

    session: Session
    user: Any
    kinds: Any
    final: bool = False
    dry_run: bool = False


@dataclass
class Lookups:
    """Users and teams by the names people write in cells, read once per run (thousands, not millions)."""

    users: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    ambiguous_users: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session) -> Lookups:
        found = cls()
        names: dict[str, list[int]] = {}
        for user_id, username, email, display in session.execute(
            select(User.id, User.username, User.email, User.display_name)
        ):
            found.users[username.casefold()] = user_id
            if email:
                found.users.setdefault(email.casefold(), user_id)
            names.setdefault(display.strip().casefold(), []).append(user_id)
        for name, ids in names.items():
            if len(ids) == 1:
                found.users.setdefault(name, ids[0])
            elif name not in found.users:
                found.ambiguous_users.add(name)
        for team_id, name in session.execute(select(Team.id, Team.name)):
            found.teams[name.strip().casefold()] = team_id
        return found

    def user(self, text: str) -> int:
        key = text.strip().casefold()
        if key in self.ambiguous_users:
            raise ValidationError(
                _("More than one user is called “%(name)s”; write their username instead.") % {"name": text}
            )
        if key not in self.users:
            raise ValidationError(_("There is no user “%(name)s” (write a username or e-mail).") % {"name": text})
        return self.users[key]

    def team(self, text: str) -> int:
        key = text.strip().casefold()
        if key not in self.teams:
            raise ValidationError(_("There is no team called “%(name)s”.") % {"name": text})
        return self.teams[key]


# -- cell parsers ---------------------------------------------------------------------------------------


def parse_bool(text: str) -> bool:
    key = text.strip().casefold()
    if key in YES:
        return True
    if key in NO:
        return False
    raise ValidationError(_("Write yes or no (or 1 / 0)."))


def parse_int(text: str) -> int:
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"[+-]?\d{1,18}", raw):
        return int(raw)
    raise ValidationError(_("“%(text)s” is not a whole number.") % {"text": text})


def parse_decimal(text: str) -> Decimal:
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if raw.count(",") == 1 and "." not in raw:
        raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(_("“%(text)s” is not a number.") % {"text": text}) from None
    if not value.is_finite() or (value and value.adjusted() > MAX_DIGITS):  # int() of 1e99999999 takes hours
        raise ValidationError(_("“%(text)s” is not a number.") % {"text": text[:40]})
    return value


MAX_DIGITS = 30
"""More digits before the point than this is a typing slip or an attack, never a figure a CRM keeps."""


def parse_date(text: str) -> dt.date:
    raw = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValidationError(_("“%(text)s” is not a date; write it as 2025-01-31 or 31.01.2025.") % {"text": text})


def parse_datetime(text: str) -> dt.datetime:
    raw = text.strip()
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        value = dt.datetime.combine(parse_date(raw), dt.time())
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _text(limit: int | None) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if limit and len(value) > limit:
            raise ValidationError(
                _("Keep it under %(n)s characters (this has %(len)s).") % {"n": limit, "len": len(value)}
            )
        return value

    return parse


def _column_parser(column: Any) -> Callable[[str], Any] | None:
    try:
        python_type = column.type.python_type
    except (NotImplementedError, AttributeError):
        return None
    if python_type is bool:
        return parse_bool
    if python_type is int:
        return parse_int
    if python_type is str:
        return _text(getattr(column.type, "length", None))
    if python_type is Decimal or python_type is float:
        return parse_decimal if python_type is Decimal else (lambda t: float(parse_decimal(t)))
    if python_type is dt.datetime:
        return parse_datetime
    if python_type is dt.date:
        return parse_date
    return None


def _required(column: Any) -> bool:
    return not column.nullable and column.default is None and column.server_default is None


def _humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def kind_targets(session: Session, kind: RecordKind, lookups: Lookups | None = None) -> list[Target]:
    """Every target of ``kind``: ``id``, its writable fields, its custom fields."""
    people = lookups if lookups is not None else Lookups.load(session)
    hint = _("Rows with an id update that record; leave it empty to create or match duplicates.")
    found = [Target(ID, _("Record id (update that record)"), parse_int, aliases=("#", "номер"), help=hint)]
    columns = kind.columns
    for name in kind.writable:
        column = columns[name].columns[0]
        if name == "owner_user_id":
            found.append(Target(name, _("Owner (username or e-mail)"),
                                people.user,
                                aliases=("owner", "власник", "responsible", "відповідальний", "user")))  # fmt: skip
            continue
        if name == "owner_team_id":
            found.append(Target(name, _("Team (name)"), people.team,
                                aliases=("team", "команда", "queue", "черга")))  # fmt: skip
            continue
        parser = _column_parser(column)
        if parser is not None:
            found.append(Target(name, _humanize(name), parser, required=_required(column)))
    for definition in custom_field_definitions(session, kind.name):
        found.append(Target(f"cf.{definition.key}", definition.label, _custom_parser(definition),
                            required=bool(definition.required)))  # fmt: skip
    extra = kind.import_targets  # what the kind offers beyond its columns and custom fields
    if extra is not None:
        own = {t.key: t for t in extra(session, people)}  # a kind's own target replaces its column's
        found = [own.pop(t.key, t) for t in found] + list(own.values())
    return found


def custom_field_definitions(session: Session, kind_name: str) -> list[Any]:
    """The kind's custom fields in use (not removed); none while custom fields are not installed."""
    if _custom_fields is None:
        return []
    return [d for d in _custom_fields.definitions(session, kind_name) if not getattr(d, "removed", False)]


def _custom_parser(definition: Any) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return _custom_fields.parse(definition, text)  # type: ignore[union-attr]

    return parse


def format_custom(definition: Any, value: Any) -> str:
    if _custom_fields is None or value is None:
        return ""
    return str(_custom_fields.format_value(definition, value))


# -- suggestions ---------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def suggest_mapping(header: list[str], targets: list[Target]) -> list[str]:
    """A target per column by its name: the key, the label (in any language shown) or an alias; each
    target at most once, the first column that names it wins."""
    names: dict[str, str] = {}
    for target in targets:
        for name in (target.key, target.key.removeprefix("cf."), target.label, *target.aliases):
            names.setdefault(_norm(name), target.key)
    used: set[str] = set()
    mapping = []
    for column in header:
        key = names.get(_norm(column), "")
        if key and key not in used:
            used.add(key)
            mapping.append(key)
        else:
            mapping.append("")
    return mapping


def check_mapping(mapping: list[str], header: list[str], targets: list[Target]) -> dict[str, str]:
    """Problems with a mapping, keyed by column index ("" for the whole mapping); empty when it will do."""
    known = {t.key: t for t in targets}
    errors: dict[str, str] = {}
    if len(mapping) != len(header):
        return {"": _("The mapping does not match the file's columns; choose the columns again.")}
    seen: dict[str, int] = {}
    for index, key in enumerate(mapping):
        if not key:
            continue
        if key not in known:
            errors[str(index)] = _("Choose a field from the list.")
        elif key in seen:
            errors[str(index)] = _("“%(field)s” is already taken by column %(other)s.") % {
                "field": known[key].label, "other": header[seen[key]] or seen[key] + 1}  # fmt: skip
        else:
            seen[key] = index
    if not seen:
        errors.setdefault("", _("Map at least one column to a field."))
    missing = [t.label for t in targets if t.required and t.key not in seen]
    if missing and ID not in seen:
        errors.setdefault("", _("Map a column to each required field: %(fields)s.") % {"fields": ", ".join(missing)})
    return errors


__all__ = [
    "ID",
    "AfterBatch",
    "Lookups",
    "Pending",
    "Target",
    "check_mapping",
    "custom_field_definitions",
    "format_custom",
    "kind_targets",
    "parse_bool",
    "parse_date",
    "parse_decimal",
    "parse_int",
    "suggest_mapping",
]

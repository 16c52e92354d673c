"""Custom field values: one field's definition, and its values typed ↔ stored (JSON) ↔ text.

No database here: :mod:`voronka.core.custom_fields` re-exports these names; see it for the stored forms.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ValidationError
from .i18n import gettext as _
from .records import Ref
from .types import Money, currency_exponent

PREFIX = "cf."
TEXT_MAX = 5000
MAX_OPTIONS = 200
NUMBER_LIMIT = Decimal("1e15")
TRUE = ("yes", "true", "1", "y", "on", "так", "+")
FALSE = ("no", "false", "0", "n", "off", "ні", "-")


@dataclass(frozen=True)
class FieldDef:
    """One field as callers see it. ``options``: ``choices`` (list of str) for choice and multi-choice,
    ``kind`` for a link, ``currency`` (the default) for money, ``decimals`` for a number, ``max_length``
    for text."""

    id: int
    kind: str
    key: str
    label: str
    type: str
    options: dict
    required: bool
    unique: bool
    default: Any
    filterable: bool
    searchable: bool
    position: int
    removed: bool

    @property
    def name(self) -> str:
        """The field's name in the write path's ``values``, the audit log and CSV mappings."""
        return PREFIX + self.key

    @functools.cached_property
    def choices(self) -> list[str]:
        """The options offered (computed once: an import asks per cell)."""
        return list(self.options.get("choices") or [])

    @property
    def decimals(self) -> int:
        return int(self.options.get("decimals") or 0)


# -- values: typed ↔ stored ↔ text ---------------------------------------------------------------------


def _problem(message: str) -> ValidationError:
    return ValidationError(message)


def coerce(field: FieldDef, value: Any) -> Any:
    """A typed (or already stored) value → the stored JSON form; None stays None (no value).

    Wrong types and values outside the field's rules raise a ValidationError with one message.
    """
    if value is None or (isinstance(value, str) and field.type != "text" and not value.strip()):
        return None
    kind = field.type
    if kind == "text":
        if not isinstance(value, str):
            raise _problem(_("Enter text."))
        value = value.strip()
        limit = int(field.options.get("max_length") or TEXT_MAX)
        if len(value) > limit:
            raise _problem(_("Keep it under %(n)s characters.") % {"n": limit})
        return value or None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise _problem(_("Enter a number."))
        number = Decimal(str(value))
        if not number.is_finite() or abs(number) >= NUMBER_LIMIT:
            raise _problem(_("Enter a number."))
        places = field.decimals
        if places and number != number.quantize(Decimal(1).scaleb(-places)):
            raise _problem(_("Use at most %(n)s decimal places.") % {"n": places})
        if not places and number != number.to_integral_value():
            raise _problem(_("Enter a whole number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "money":
        if isinstance(value, dict):
            try:
                value = Money(value.get("minor"), str(value.get("currency") or ""))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise _problem(_("Enter an amount and its currency, for example 1200.50 EUR.")) from None
        if not isinstance(value, Money):
            raise _problem(_("Enter an amount and its currency, for example 1200.50 EUR."))
        if abs(value.minor) >= NUMBER_LIMIT:
            raise _problem(_("The amount is too large."))
        return {"minor": value.minor, "currency": value.currency}
    if kind == "date":
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip())
            except ValueError:
                raise _problem(_("Enter a date as YYYY-MM-DD, for example 2025-01-31.")) from None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise _problem(_("Enter a date as YYYY-MM-DD, for example 2025-01-31."))
        if not 1900 <= value.year <= 2999:
            raise _problem(_("Enter a date between %(lo)d and %(hi)d.") % {"lo": 1900, "hi": 2999})
        return value.isoformat()
    if kind == "choice":
        if not isinstance(value, str):
            raise _problem(_("Choose one of the listed options."))
        if value not in field.choices:
            raise _problem(_("“%(value)s” is not one of the options.") % {"value": value})
        return value
    if kind == "multichoice":
        if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
            raise _problem(_("Choose any of the listed options."))
        chosen = set()
        for item in value:
            if not isinstance(item, str) or item not in field.choices:
                raise _problem(_("“%(value)s” is not one of the options.") % {"value": item})
            chosen.add(item)
        return [c for c in field.choices if c in chosen] or None
    if kind == "bool":
        if not isinstance(value, bool):
            raise _problem(_("Choose yes or no."))
        return value
    if kind == "link":
        if isinstance(value, str):
            value = Ref.parse(value.strip())
        if not isinstance(value, Ref) or isinstance(value.id, bool) or not isinstance(value.id, int) or value.id < 1:
            raise _problem(_("Choose a record to link to."))
        target = field.options.get("kind")
        if target and value.kind != target:
            raise _problem(_("Link to a record of kind “%(kind)s”.") % {"kind": target})
        return str(value)
    raise _problem(_("This field has an unknown type."))


def typed(field: FieldDef, stored: Any) -> Any:
    """The stored JSON form → the typed value (Decimal or int, Money, date, Ref...); None for no value."""
    if stored is None:
        return None
    try:
        if field.type == "number":
            return stored if isinstance(stored, int) and not isinstance(stored, bool) else Decimal(str(stored))
        if field.type == "money":
            return Money(int(stored["minor"]), str(stored["currency"]))
        if field.type == "date":
            return dt.date.fromisoformat(stored)
        if field.type == "link":
            return Ref.parse(stored)
        if field.type == "multichoice":
            return list(stored)
    except (TypeError, ValueError, KeyError, ValidationError):
        return None
    return stored


def parse(field: FieldDef, text: str) -> Any:
    """A form field or CSV cell → the typed value (None when empty); a ValidationError says what to fix.

    Money: "1 234,50 EUR" or "1234.50" (the field's default currency); multi-choice: options separated by
    ";" (or ","); yes/no: yes/no, true/false, 1/0, так/ні; link: "kind:id", or the id alone when the field
    links to one kind.
    """
    raw = (text or "").strip()
    if not raw:
        return None
    kind = field.type
    if kind == "text":
        return coerce(field, raw)
    if kind == "number":
        cleaned = raw.replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise _problem(_("Enter a number, for example 12.5.")) from None
        coerce(field, number)
        return number if field.decimals else int(number) if number == number.to_integral_value() else number
    if kind == "money":
        amount, currency = raw, str(field.options.get("currency") or "")
        parts = raw.rsplit(None, 1)
        if len(parts) == 2 and parts[1].isalpha() and len(parts[1]) == 3:
            amount, currency = parts[0], parts[1]
        elif len(raw) > 3 and raw[-3:].isalpha() and not raw[-4].isalpha():
            amount, currency = raw[:-3], raw[-3:]
        if not currency:
            raise _problem(_("Add the currency, for example 1200.50 EUR."))
        if len(currency.strip()) != 3 or not currency.strip().isalpha():
            raise _problem(_("Enter a three-letter currency code such as EUR."))
        try:
            Decimal(amount.replace("\u00a0", "").replace(" ", "").replace(",", "."))
        except InvalidOperation:
            raise _problem(_("Enter an amount such as 1200.50.")) from None
        try:
            return Money.parse(amount, currency)
        except ValueError as exc:
            raise _problem(str(exc)) from None
    if kind == "date":
        coerce(field, raw)
        return dt.date.fromisoformat(raw)
    if kind == "choice":
        for choice in field.choices:  # a CSV written by hand may differ in case
            if choice.casefold() == raw.casefold():
                return choice
        return coerce(field, raw)
    if kind == "multichoice":
        items = [p.strip() for p in raw.replace(",", ";").split(";") if p.strip()]
        if ";" not in raw and raw in field.choices:
            items = [raw]
        folded = {c.casefold(): c for c in field.choices}
        return coerce(field, [folded.get(i.casefold(), i) for i in items])
    if kind == "bool":
        low = raw.casefold()
        if low in TRUE:
            return True
        if low in FALSE:
            return False
        raise _problem(_("Enter yes or no."))
    if kind == "link":
        target = field.options.get("kind")
        if raw.lstrip("#").isdigit() and target:
            return Ref(target, int(raw.lstrip("#")))
        return Ref.parse(coerce(field, raw))
    raise _problem(_("This field has an unknown type."))


def format_value(field: FieldDef, value: Any) -> str:
    """A typed or stored value → text for cards and CSV (``parse(format_value(v))`` gives ``v`` back)."""
    if value is None or value == [] or value == "":
        return ""
    if field.type == "number":
        number = value if isinstance(value, Decimal | int) and not isinstance(value, bool) else Decimal(str(value))
        if field.decimals:
            return f"{Decimal(number):.{field.decimals}f}"
        return str(number)
    if field.type == "money":
        money = value if isinstance(value, Money) else typed(field, value)
        if money is None:
            return ""
        return f"{money.amount:.{currency_exponent(money.currency)}f} {money.currency}"
    if field.type == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if field.type == "multichoice":
        return "; ".join(value)
    if field.type == "bool":
        return _("yes") if value else _("no")
    return str(value)


def read_form(fields: list[FieldDef], form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """``cf.<key>`` inputs of a submitted form → (typed values by ``cf.<key>``, errors by ``cf.<key>``).

    ``form`` is Starlette's FormData (multi-choice checkboxes repeat) or a plain dict. A yes/no field is
    a select with "", "yes" and "no", so "not set" stays possible; money has ``cf.<key>.currency`` too.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        name = field.name
        if field.type == "multichoice":
            present = f"{name}.present"
            if hasattr(form, "getlist"):
                chosen = [v for v in form.getlist(name) if isinstance(v, str)]
            else:
                raw = form.get(name)
                chosen = [raw] if isinstance(raw, str) and raw else []
            if name not in form and present not in form:
                continue
            try:
                values[name] = coerce(field, chosen)
            except ValidationError as exc:
                errors[name] = str(exc)
            continue
        if name not in form:
            continue
        raw = form.get(name)
        text = raw if isinstance(raw, str) else ""
        if field.type == "money" and text.strip():
            currency = form.get(f"{name}.currency")
            if isinstance(currency, str) and currency.strip() and not text.strip()[-3:].isalpha():
                text = f"{text} {currency.strip().upper()}"
        try:
            values[name] = parse(field, text)
        except ValidationError as exc:
            errors[name] = str(exc)
    return values, errors


def form_values(fields: list[FieldDef], custom: dict[str, Any] | None) -> dict[str, str]:
    """What a form shows for a record's values: ``cf.<key>`` → text (money amount and currency apart)."""
    custom = custom or {}
    shown: dict[str, Any] = {}
    for field in fields:
        stored = custom.get(field.key)
        if field.type == "money" and isinstance(stored, dict):
            money = typed(field, stored)
            if money is not None:
                shown[field.name] = f"{money.amount:.{currency_exponent(money.currency)}f}"
                shown[f"{field.name}.currency"] = money.currency
        elif field.type == "multichoice":
            shown[field.name] = list(stored or [])
        elif field.type == "bool":
            shown[field.name] = "" if stored is None else ("yes" if stored else "no")
        else:
            shown[field.name] = format_value(field, stored)
    return shown

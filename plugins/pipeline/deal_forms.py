"""Reading a deal's fields from forms: the new-deal form and the click-to-edit rows of the deal page.

Every reader turns typed text into write-path values or a message for the field it came from, so a bad
amount, an unknown currency or a junk id is a 400 next to the input and nothing is written. The write path
(``deal_rules``) checks again; its messages are moved onto the same inputs by :func:`on_form`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.company import company_settings, currency_codes
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import existing_owner, parse_id
from voronka.core.security.visibility import visible
from voronka.core.types import AmountTooLarge, Money, currency_exponent
from voronka.plugins.contacts.api import Party

from .deal_rules import MAX_AMOUNT_MINOR
from .models import FORECAST_CATEGORIES, NAME_MAX, Opportunity
from .stages import FORECAST_LABELS, catalogue

TEXT_MAX = 200
DESCRIPTION_MAX = 10_000
FIELD_OF = {
    "amount_minor": "amount",
    "amount_currency": "currency",
    "customer_id": "customer",
    "owner_user_id": "owner",
    "owner_team_id": "owner",
    "pipeline_id": "stage",
    "stage_id": "stage",
    "status": "stage",
}
"""Write-path field names → the input that shows their message."""


@dataclass(frozen=True)
class Field:
    """One click-to-edit row of the deal page: ``key`` in the URL, how it is entered."""

    key: str
    label: str
    input: str  # text, textarea, money, date, stage, percent, forecast, owner, customer
    open_only: bool = False
    lost_only: bool = False


FIELDS = (
    Field("name", N_("Name"), "text"),
    Field("customer", N_("Customer"), "customer"),
    Field("amount", N_("Amount"), "money"),
    Field("expected_close", N_("Expected close"), "date"),
    Field("stage", N_("Stage"), "stage", open_only=True),
    Field("probability", N_("Probability"), "percent", open_only=True),
    Field("forecast_category", N_("Forecast category"), "forecast", open_only=True),
    Field("owner", N_("Owner"), "owner"),
    Field("lost_reason", N_("Lost reason"), "text", lost_only=True),
    Field("competitor", N_("Competitor"), "text", lost_only=True),
    Field("description", N_("Description"), "textarea"),
)
BY_KEY = {f.key: f for f in FIELDS}


def fields_for(deal: Opportunity) -> list[Field]:
    """The rows a deal shows: stage, probability and category only while open; the loss only when lost."""
    return [
        f for f in FIELDS if not (f.open_only and deal.status != "open") and not (f.lost_only and deal.status != "lost")
    ]


def amount_text(minor: int, currency: str) -> str:
    """Minor units as the amount input shows them ("1250.50"), without grouping, so it parses back."""
    exp = currency_exponent(currency or "XXX")
    return f"{Decimal(minor).scaleb(-exp):.{exp}f}"


def weighted_minor(minor: int, probability: int) -> int:
    """The amount times the probability, rounded half to even to whole minor units (same currency)."""
    exact = Decimal(minor) * Decimal(probability) / Decimal(100)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def form_values(deal: Opportunity, field: Field) -> dict[str, str]:
    """The edit form's inputs for ``field`` as the deal holds it now."""
    if field.input == "money":
        return {"amount": amount_text(deal.amount_minor, deal.amount_currency), "currency": deal.amount_currency}
    if field.input == "owner":
        if deal.owner_user_id:
            return {"owner": f"u:{deal.owner_user_id}"}
        return {"owner": f"t:{deal.owner_team_id}" if deal.owner_team_id else ""}
    if field.input == "date":
        return {field.key: deal.expected_close.isoformat() if deal.expected_close else ""}
    if field.input == "stage":
        return {"stage": str(deal.stage_id)}
    if field.input == "customer":
        return {"customer": str(deal.customer_id or "")}
    value = getattr(deal, field.key)
    return {field.key: "" if value is None else str(value)}


# -- readers: (write-path values, {input: message}) ------------------------------------------------------


def read_name(raw: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    name = " ".join((raw or "").split())
    if not name:
        return {}, {"name": _("Give the deal a name.")}
    if len(name) > NAME_MAX:
        return {}, {"name": _("Keep it under %(n)s characters.") % {"n": NAME_MAX}}
    return {"name": name}, {}


def read_text(
    key: str, raw: str | None, limit: int = TEXT_MAX, *, multiline: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    text = (raw or "").replace("\r\n", "\n").strip()
    if not multiline:
        text = " ".join(text.split())
    if len(text) > limit:
        return {}, {key: _("Keep it under %(n)s characters.") % {"n": limit}}
    return {key: text}, {}


def read_money(
    session: Session, raw_amount: str | None, raw_currency: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """An amount as typed ("1 250,50") in a currency (the base currency when left empty)."""
    code = (raw_currency or "").strip().upper() or company_settings(session).base_currency
    if len(code) != 3 or code not in currency_codes():
        return {}, {
            "currency": _("%(code)s is not a currency code (ISO 4217, such as UAH, EUR, USD).") % {"code": code[:10]}
        }
    text = (raw_amount or "").strip()
    if not text:
        return {"amount_minor": 0, "amount_currency": code}, {}
    if len(text) > 40:
        return {}, {"amount": _("Enter the amount as a number such as 1250.50.")}
    try:
        money = Money.parse(text, code)
    except AmountTooLarge:
        return {}, {"amount": _("The amount is too large; check the number of digits.")}
    except (ValueError, ArithmeticError):
        return {}, {
            "amount": _("Enter the amount as a number such as 1250.50 (at most %(n)s decimal places).")
            % {"n": currency_exponent(code)}
        }
    if money.minor < 0:
        return {}, {"amount": _("The amount cannot be negative.")}
    if money.minor > MAX_AMOUNT_MINOR:
        return {}, {"amount": _("The amount is too large; check the number of digits.")}
    return {"amount_minor": money.minor, "amount_currency": code}, {}


def read_date(key: str, raw: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    text = (raw or "").strip()
    if not text:
        return {key: None}, {}
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return {}, {key: _("Enter a date as YYYY-MM-DD.")}
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
        return {}, {key: _("Enter a date between 2000 and 2100.")}
    return {key: day}, {}


def read_percent(raw: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    text = (raw or "").strip().rstrip("%").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 3 or not 0 <= int(text) <= 100:
        return {}, {"probability": _("A probability is a whole number from 0 to 100.")}
    return {"probability": int(text)}, {}


def read_forecast(raw: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    value = (raw or "").strip()
    if value not in FORECAST_CATEGORIES or value in ("won", "lost"):
        return {}, {"forecast_category": _("Pick a forecast category from the list.")}
    return {"forecast_category": value}, {}


def read_owner(session: Session, raw: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    values = existing_owner(session, raw)
    if values is None:
        return {}, {"owner": _("Choose an active user or a team as the owner.")}
    return values, {}


def read_stage(session: Session, raw: str | None, *, open_only: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """A stage of a live pipeline (its pipeline comes with it)."""
    stage = catalogue(session).stage(parse_id(raw))
    pipeline = catalogue(session).pipeline(stage.pipeline_id) if stage else None
    if stage is None or pipeline is None or pipeline.archived or stage.archived or (open_only and stage.closed):
        return {}, {"stage": _("Pick a stage from the list.")}
    return {"pipeline_id": stage.pipeline_id, "stage_id": stage.id}, {}


def visible_party(session: Session, viewer: Any, party_id: int | None) -> Any:
    """(id, kind, name) of a live party ``viewer`` may see, or None (missing and hidden look the same)."""
    if party_id is None:
        return None
    query = select(Party.id, Party.kind, Party.name).where(
        Party.id == party_id, Party.deleted_at.is_(None), visible(Party, viewer)
    )
    return session.execute(query).first()


def read_customer(session: Session, viewer: Any, raw: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    text = (raw or "").strip()
    if not text:
        return {}, {"customer": _("Find the customer and pick them from the matches.")}
    found = visible_party(session, viewer, parse_id(text))
    if found is None:
        return {}, {"customer": _("That customer is gone or not yours to see; pick another one.")}
    return {"customer_id": found.id}, {}


def read_field(
    session: Session, viewer: Any, field: Field, form: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The write-path values of one click-to-edit row, or the message for its input."""
    if field.key == "name":
        return read_name(form.get("name"))
    if field.input == "money":
        return read_money(session, form.get("amount"), form.get("currency"))
    if field.input == "date":
        return read_date(field.key, form.get(field.key))
    if field.input == "stage":
        return read_stage(session, form.get("stage"))
    if field.input == "percent":
        return read_percent(form.get("probability"))
    if field.input == "forecast":
        return read_forecast(form.get("forecast_category"))
    if field.input == "owner":
        return read_owner(session, form.get("owner"))
    if field.input == "customer":
        return read_customer(session, viewer, form.get("customer"))
    if field.input == "textarea":
        return read_text(field.key, form.get(field.key), DESCRIPTION_MAX, multiline=True)
    return read_text(field.key, form.get(field.key))


def read_new(session: Session, viewer: Any, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The new-deal form: every input read, every problem reported at once."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for got, problems in (
        read_name(form.get("name")),
        read_customer(session, viewer, form.get("customer")),
        read_money(session, form.get("amount"), form.get("currency")),
        read_date("expected_close", form.get("expected_close")),
        read_stage(session, form.get("stage")),
        read_owner(session, form.get("owner")),
        read_text("description", form.get("description"), DESCRIPTION_MAX, multiline=True),
    ):
        values.update(got)
        errors.update(problems)
    if "currency" in errors:
        errors.pop("amount", None)
    return values, errors


def read_lost(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Marking a deal lost: the reason is required here (the write path lets imports leave it empty)."""
    reason, errors = read_text("lost_reason", form.get("lost_reason"))
    competitor, more = read_text("competitor", form.get("competitor"))
    errors.update(more)
    if not errors and not reason["lost_reason"]:
        errors["lost_reason"] = _("Say why the deal was lost.")
    return {"status": "lost", **reason, **competitor}, errors


def on_form(errors: dict[str, str]) -> dict[str, str]:
    """Messages of the write path, moved onto the inputs that show them."""
    moved: dict[str, str] = {}
    for name, message in errors.items():
        moved.setdefault(FIELD_OF.get(name, name), message)
    return moved


def forecast_options() -> list[tuple[str, str]]:
    return [(key, _(FORECAST_LABELS[key])) for key in FORECAST_CATEGORIES if key not in ("won", "lost")]


def stage_options(session: Session) -> list[tuple[str, list[tuple[int, str]]]]:
    """Open stages of live pipelines, grouped by pipeline, for a select."""
    return [(p.label, [(s.id, s.label) for s in p.open_stages]) for p in catalogue(session).live if p.open_stages]

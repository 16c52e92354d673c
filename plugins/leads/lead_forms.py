"""Reading a lead's fields from forms: the new-lead form and the click-to-edit rows of the lead page.

Every reader turns typed text into write-path values or a message for the input it came from, so a junk
campaign id or an overlong name is a 400 next to the input and nothing is written. The write rules
(:mod:`.rules`: e-mail and phone checked and normalised, status rules) check again; their messages are moved
onto the same inputs by :func:`on_form`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import existing_owner, parse_id

from .models import DISQUALIFIED, DISQUALIFY_REASONS, EMAIL_MAX, PHONE_MAX, Campaign, Lead

TEXT_MAX = 200
MESSAGE_MAX = 10_000
FIELD_OF = {"owner_user_id": "owner", "owner_team_id": "owner", "campaign_id": "campaign", "": "form",
            "name": "first_name", "marketing_consent": "consent"}  # fmt: skip
"""Write-path field names → the input that shows their message."""


@dataclass(frozen=True)
class Field:
    """One click-to-edit row of the lead page: ``key`` in the URL, how it is entered."""

    key: str
    label: str
    input: str  # text, textarea, email, phone, country, campaign, channel, owner, consent
    limit: int = TEXT_MAX
    closed_only: bool = False


FIELDS = (
    Field("first_name", N_("First name"), "text", 120),
    Field("last_name", N_("Last name"), "text", 120),
    Field("job_title", N_("Job title"), "text", 200),
    Field("company", N_("Company"), "text", 300),
    Field("email", N_("E-mail"), "email", EMAIL_MAX),
    Field("phone", N_("Phone"), "phone", PHONE_MAX),
    Field("website", N_("Web site"), "text", 300),
    Field("city", N_("City"), "text", 120),
    Field("country", N_("Country"), "country", 2),
    Field("channel", N_("Channel"), "channel", 60),
    Field("campaign", N_("Campaign"), "campaign"),
    Field("owner", N_("Owner"), "owner"),
    Field("marketing_consent", N_("Marketing consent"), "consent"),
    Field("message", N_("Message"), "textarea", MESSAGE_MAX),
    Field("disqualify_note", N_("Why disqualified"), "textarea", 2000, closed_only=True),
)
BY_KEY = {f.key: f for f in FIELDS}
NEW_TEXT = ("first_name", "last_name", "job_title", "company", "email", "phone", "website", "city", "message")


def fields_for(lead: Lead) -> list[Field]:
    """The rows a lead shows: the disqualification note only on a disqualified lead."""
    return [f for f in FIELDS if not (f.closed_only and lead.status != DISQUALIFIED)]


def form_values(lead: Lead, field: Field) -> dict[str, str]:
    """The edit form's inputs for ``field`` as the lead holds it now."""
    if field.input == "owner":
        if lead.owner_user_id:
            return {"owner": f"u:{lead.owner_user_id}"}
        return {"owner": f"t:{lead.owner_team_id}" if lead.owner_team_id else ""}
    if field.input == "campaign":
        return {"campaign": str(lead.campaign_id or "")}
    if field.input == "consent":
        return {"marketing_consent": "1" if lead.marketing_consent else "", "consent_text": lead.consent_text or ""}
    value = getattr(lead, field.key)
    return {field.key: "" if value is None else str(value)}


def read_text(
    key: str, raw: str | None, limit: int, *, multiline: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    text = (raw or "").replace("\r\n", "\n").strip()
    if not multiline:
        text = " ".join(text.split())
    if len(text) > limit:
        return {}, {key: _("Keep it under %(n)s characters.") % {"n": limit}}
    return {key: text}, {}


def read_campaign(session: Session, raw: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    if not (raw or "").strip():
        return {"campaign_id": None}, {}
    campaign_id = parse_id(raw)
    found = campaign_id is not None and session.scalar(
        select(Campaign.id).where(Campaign.id == campaign_id, Campaign.deleted_at.is_(None))
    )
    if not found:
        return {}, {"campaign": _("Pick a campaign from the list.")}
    return {"campaign_id": campaign_id}, {}


def read_channel(raw: str | None, known: set[str] | None) -> tuple[dict[str, Any], dict[str, str]]:
    key = (raw or "").strip()
    if not key or (known is not None and key not in known):
        return {}, {"channel": _("Pick a channel from the list.")}
    return {"channel": key}, {}


def read_owner(
    session: Session, raw: str | None, *, allow_empty: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    if allow_empty and not (raw or "").strip():
        return {"owner_user_id": None, "owner_team_id": None}, {}
    values = existing_owner(session, raw)
    if values is None:
        return {}, {"owner": _("Choose an active user or a team as the owner.")}
    return values, {}


def read_country(raw: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    code = (raw or "").strip().upper()
    if code and (len(code) != 2 or not code.isascii() or not code.isalpha()):
        return {}, {"country": _("Write the country as a two-letter code such as UA or PL.")}
    return {"country": code}, {}


def read_consent(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    from voronka.core.types import utcnow

    given = form.get("marketing_consent", "") in ("1", "on", "yes", "true")
    text, errors = read_text("consent_text", form.get("consent_text"), 500)
    if errors:
        return {}, errors
    values: dict[str, Any] = {"marketing_consent": given, **text}
    values["consent_at"] = utcnow() if given else None
    return values, {}


def read_field(
    session: Session, field: Field, form: dict[str, str], channels: set[str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Write-path values of one click-to-edit row, or messages by input."""
    if field.input == "campaign":
        return read_campaign(session, form.get("campaign"))
    if field.input == "channel":
        return read_channel(form.get("channel"), channels)
    if field.input == "owner":
        return read_owner(session, form.get("owner"))
    if field.input == "country":
        return read_country(form.get("country"))
    if field.input == "consent":
        return read_consent(form)
    return read_text(field.key, form.get(field.key), field.limit, multiline=field.input == "textarea")


def read_new(
    session: Session, viewer: Any, form: dict[str, str], channels: set[str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Values of the new-lead form: the text fields, channel, campaign, owner (default: the viewer)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in NEW_TEXT:
        field = BY_KEY[key]
        found, problems = read_text(key, form.get(key), field.limit, multiline=key == "message")
        values.update(found)
        errors.update(problems)
    for found, problems in (
        read_country(form.get("country")),
        read_campaign(session, form.get("campaign")),
        read_channel(form.get("channel") or "leads.manual", channels),
        read_owner(session, form.get("owner") or f"u:{viewer.id}"),
    ):
        values.update(found)
        errors.update(problems)
    if form.get("marketing_consent"):
        found, problems = read_consent(form)
        values.update(found)
        errors.update(problems)
    if not errors and not any(values.get(k) for k in ("first_name", "last_name", "company", "email", "phone")):
        errors["first_name"] = _("A lead needs at least a name, a company, an e-mail address or a phone number.")
    return values, errors


def read_disqualify(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    reason = (form.get("reason") or "").strip()
    if reason not in DISQUALIFY_REASONS:
        return {}, {"reason": _("Choose why the lead is disqualified.")}
    note, errors = read_text("disqualify_note", form.get("note"), 2000, multiline=True)
    if errors:
        return {}, {"note": errors["disqualify_note"]}
    return {"status": DISQUALIFIED, "disqualify_reason": reason, **note}, {}


def on_form(errors: dict[str, str]) -> dict[str, str]:
    """The write path's messages keyed by the form inputs that show them."""
    found: dict[str, str] = {}
    for key, message in errors.items():
        found.setdefault(FIELD_OF.get(key, key), message)
    return found

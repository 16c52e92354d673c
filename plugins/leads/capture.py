"""The one way every channel creates a lead: public form, JSON API, e-mail, contact centre.

:func:`capture` takes what arrived (``data``: field name → value, as the sender named it), maps the usual
names onto the lead's fields (``first_name``/``last_name`` or one ``name`` split in two, ``email``,
``phone``, ``company``, ``job_title``, ``website``, ``city``, ``country``, ``message``, ``utm_*`` given as
fields or read from a landing page's query, ``referrer``, the consent checkbox with its text and time),
applies size limits, keeps the raw submission in ``payload``, applies the campaign and places the lead in
the default queue (:func:`.assignment.place_new_lead`); the write goes through core's
:func:`~voronka.core.writes.save`, so audit, custom fields, the lead rules and events all hold.

Size limits: free text (names, company, message, UTM values, referrer…) is cut to its column and the
payload notes which fields were cut (``"truncated"``); values whose meaning a cut would change (e-mail,
phone, country, ``external_ref``) are refused with a message. A submission over :data:`PAYLOAD_MAX` bytes
(as JSON) or with more than :data:`MAX_FIELDS` fields is refused as a whole (:class:`CaptureTooLarge`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from voronka.core.db import runtime_of
from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.types import utcnow
from voronka.core.writes import save

from . import assignment, channels, rules
from .models import UTM_KEYS, Campaign, Lead

PAYLOAD_MAX = 64 * 1024
"""Bytes of the raw submission as JSON; more is refused (a contact form is a few hundred bytes)."""
MAX_FIELDS = 100
MESSAGE_MAX = 10_000
VALUE_MAX = 20_000
"""Characters of any one raw value: a longer one is not a person typing."""

CUT = {"first_name": 120, "last_name": 120, "job_title": 200, "company": 300, "website": 300, "city": 120,
       "message": MESSAGE_MAX, "referrer": 500, "consent_text": 500, **{key: 200 for key in UTM_KEYS}}  # fmt: skip
"""Free text: cut to this many characters (the column's size)."""
REFUSE = {"email": 320, "phone": 40, "external_ref": 200}
"""Identifiers: refused when longer, since a cut one would be a different address or number."""

ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name", "firstname", "first", "given_name", "fname", "forename"),
    "last_name": ("last_name", "lastname", "last", "surname", "family_name", "lname"),
    "name": ("name", "full_name", "fullname", "your_name", "contact_name", "contact"),
    "email": ("email", "e_mail", "email_address", "mail", "your_email"),
    "phone": ("phone", "telephone", "tel", "phone_number", "mobile", "mobile_phone", "your_phone"),
    "company": ("company", "company_name", "organisation", "organization", "org", "business"),
    "job_title": ("job_title", "jobtitle", "title", "position", "role"),
    "website": ("website", "web_site", "url", "site", "web", "company_website"),
    "city": ("city", "town"),
    "country": ("country", "country_code"),
    "message": ("message", "comments", "comment", "inquiry", "enquiry", "question", "text", "body", "notes",
                "details", "request"),
    "referrer": ("referrer", "referer", "http_referer"),
    "landing_url": ("landing_url", "landing_page", "page_url", "page", "source_url"),
    "consent": ("consent", "marketing_consent", "gdpr", "subscribe", "newsletter", "opt_in", "optin"),
    "consent_text": ("consent_text", "consent_wording"),
    "consent_at": ("consent_at", "consent_time", "consented_at"),
    "external_ref": ("external_ref", "external_id", "ref_id"),
    "campaign": ("campaign", "campaign_code", "tracking_code", "c"),
    **{key: (key,) for key in UTM_KEYS},
}  # fmt: skip
_BY_ALIAS = {alias: target for target, aliases in ALIASES.items() for alias in aliases}
_TRUE = frozenset({"1", "on", "true", "yes", "y", "checked", "agree", "agreed"})
_SPACES = re.compile(r"\s+")
_SOURCES = {channels.IMPORT: "import", channels.API: "api", channels.EMAIL: "api"}


class CaptureTooLarge(ValidationError):
    """The submission as a whole is over the limits (payload bytes or number of fields)."""


@functools.lru_cache(maxsize=4096)
def normal_name(name: str) -> str:
    """``"First Name"``, ``"first-name"`` and ``"FirstName"`` all mean ``first_name``."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", str(name).strip())
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")


def map_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``data`` under their canonical names (first spelling wins); unknown names are dropped
    here (they stay in the payload)."""
    mapped: dict[str, Any] = {}
    for raw_name, value in data.items():
        target = _BY_ALIAS.get(normal_name(raw_name))
        if target is None and normal_name(raw_name) in ALIASES:
            target = normal_name(raw_name)
        if target is not None and target not in mapped:
            mapped[target] = value
    return mapped


def text_of(value: Any) -> str:
    """A submitted value as one clean string: lists give their first item, anything else nothing."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    text = str(value) if isinstance(value, str | int | float) else ""
    return text.replace("\x00", "").strip()


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def split_name(full: str) -> tuple[str, str]:
    """``"Olena Koval"`` → (``Olena``, ``Koval``); ``"Koval, Olena"`` → the same; one word is a first name."""
    full = _one_line(full)
    if "," in full:
        last, _sep, first = full.partition(",")
        return first.strip(), last.strip()
    first, _sep, last = full.partition(" ")
    return first, last.strip()


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return text_of(value).casefold() in _TRUE


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Country names in English and Ukrainian (and the codes themselves) → ISO code."""
    from babel import Locale

    names: dict[str, str] = {}
    for language in ("en", "uk"):
        for code, label in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names[label.casefold()] = code
                names[code.casefold()] = code
    return names


def country_code(text: str) -> str:
    """A two-letter ISO code from a code or a country's name; "" when it is neither."""
    return _country_names().get(_one_line(text).casefold(), "")


def utm_from_url(url: str) -> dict[str, str]:
    """The ``utm_*`` parameters (and ``c``, a campaign's tracking code) in a landing page's address."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=False)[:200]:
        key = key.casefold()
        if (key in UTM_KEYS or key == "c") and key not in found:
            found[key] = value.strip()
    return found


def _parse_time(value: Any) -> dt.datetime | None:
    text = text_of(value)
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _flat_size(payload: Any, depth: int = 0) -> int | None:
    """An upper bound of the JSON size of a dict of strings (or of such dicts: a form post and what came
    with it), cheaply; None for anything else or when the bound is over the limit (then JSON decides)."""
    if not isinstance(payload, dict) or depth > 1:
        return None
    size = 2
    for key, value in payload.items():
        if not isinstance(key, str):
            return None
        inner = 6 * len(value) + 2 if isinstance(value, str) else _flat_size(value, depth + 1)
        if inner is None:
            return None
        size += 6 * len(key) + inner + 4  # a character is at most 6 bytes in JSON (\uXXXX)
    return size if size <= PAYLOAD_MAX else None


def check_size(data: Mapping[str, Any], payload: Any) -> None:
    """Refuse a submission that is too large as a whole, before anything else looks at it."""
    if len(data) > MAX_FIELDS:
        raise CaptureTooLarge(_("The submission has more than %(n)s fields.") % {"n": MAX_FIELDS})
    size = _flat_size(payload)
    if size is None:
        try:
            size = len(json.dumps(payload, ensure_ascii=False, default=str).encode())
        except (TypeError, ValueError, RecursionError):
            raise ValidationError(_("The submission is not plain data.")) from None
    if size > PAYLOAD_MAX:
        raise CaptureTooLarge(_("The submission is larger than %(n)s KB.") % {"n": PAYLOAD_MAX // 1024})


def lead_values(data: Mapping[str, Any], *, consent_text: str = "") -> tuple[dict[str, Any], list[str], str]:
    """(lead field values, names of fields that were cut, campaign tracking code asked for) from ``data``.

    Raises ValidationError (messages by lead field) for identifiers that are too long.
    """
    mapped = map_fields(data)
    texts = {key: text_of(value) for key, value in mapped.items() if key not in ("consent",)}
    errors: dict[str, str] = {}
    for key, value in texts.items():
        if len(value) > VALUE_MAX:
            errors[key] = _("Keep it under %(n)s characters.") % {"n": VALUE_MAX}
    if errors:
        raise ValidationError(errors)
    values: dict[str, Any] = {}
    first, last = _one_line(texts.get("first_name", "")), _one_line(texts.get("last_name", ""))
    if not (first or last) and texts.get("name"):
        first, last = split_name(texts["name"])
    values["first_name"], values["last_name"] = first, last
    for key in ("company", "job_title", "website", "city", "referrer", "external_ref"):
        values[key] = _one_line(texts.get(key, ""))
    values["message"] = texts.get("message", "").replace("\r\n", "\n")
    values["email"] = _one_line(texts.get("email", ""))
    values["phone"] = _one_line(texts.get("phone", ""))
    if texts.get("country"):
        values["country"] = country_code(texts["country"])
    from_url = utm_from_url(texts.get("landing_url", ""))
    for key in UTM_KEYS:
        values[key] = _one_line(texts.get(key) or from_url.get(key, ""))
    code = _one_line(texts.get("campaign") or from_url.get("c", ""))
    if _truthy(mapped.get("consent")):
        values["marketing_consent"] = True
        values["consent_at"] = _parse_time(mapped.get("consent_at")) or utcnow()
        values["consent_text"] = _one_line(texts.get("consent_text") or consent_text)
    cut: list[str] = []
    for key, limit in CUT.items():
        if len(values.get(key) or "") > limit:
            values[key] = values[key][:limit].rstrip()
            cut.append(key)
    for key, limit in REFUSE.items():
        if len(values.get(key) or "") > limit:
            errors[key] = _("Keep it under %(n)s characters.") % {"n": limit}
    if errors:
        raise ValidationError(errors)
    return {k: v for k, v in values.items() if v not in ("", None)}, cut, code[:60]


def campaign_by_code(session: Session, code: str) -> Campaign | None:
    """The live campaign with this tracking code (active or not), or None."""
    if not code:
        return None
    return session.scalar(
        select(Campaign).where(Campaign.tracking_code == code, Campaign.deleted_at.is_(None)).limit(1)
    )


def find_existing(session: Session, channel: str, external_ref: str, *, lock: bool = False) -> Lead | None:
    """The live lead already captured through ``channel`` with ``external_ref`` (idempotent senders).

    With ``lock`` (inside the write transaction that will capture it), two senders of the same reference
    at once wait for each other, so the second finds the first's lead: PostgreSQL takes a transaction
    advisory lock on the pair; SQLite's write transaction already holds the whole database.
    """
    if not external_ref:
        return None
    if lock and session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(f"leads.ref|{channel}|{external_ref}".encode(), digest_size=8).digest()
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest, "big", signed=True)})
    return session.scalar(
        select(Lead)
        .where(Lead.channel == channel, Lead.external_ref == external_ref, Lead.deleted_at.is_(None))
        .order_by(Lead.id)
        .limit(1)
    )


def capture(
    session: Session,
    channel: str,
    data: Mapping[str, Any],
    *,
    campaign: Campaign | int | None = None,
    actor: Any = None,
    payload: Any = None,
    values: Mapping[str, Any] | None = None,
    consent_text: str = "",
    keep_channel: bool = False,
    source: str | None = None,
) -> Lead:
    """Create a lead from what a channel received, in the caller's transaction; return it (flushed).

    ``data``: the submission's fields under the sender's names. ``campaign``: the campaign it answers (a
    :class:`Campaign` or its id); without one, a tracking code in the data (``campaign``, ``c``, or
    ``utm_campaign``) links a campaign without changing the channel. With a campaign the lead takes the
    campaign's channel unless ``keep_channel``. ``payload``: the raw submission to keep (default: ``data``).
    ``values``: trusted lead fields set by the calling code, never by the sender (owner, custom fields
    ``cf.<key>``): a lead given an owner is not placed in the default queue. ``consent_text``: the wording
    shown next to the consent box, when the sender does not send its own.

    Raises ValidationError (messages by lead field) or :class:`CaptureTooLarge`; nothing is written then.
    """
    raw = dict(data) if payload is None else payload
    check_size(data, raw)
    mapped, cut, code = lead_values(data, consent_text=consent_text)
    if isinstance(campaign, int):
        campaign = rules.live_campaign(session, campaign)
        if campaign is None:
            raise ValidationError({"campaign_id": _("There is no such campaign.")})
    chosen = channel
    if campaign is not None:
        if not keep_channel:
            chosen = campaign.channel
    else:
        campaign = campaign_by_code(session, code) or campaign_by_code(session, mapped.get("utm_campaign", ""))
    stored = {**raw, "truncated": cut} if cut and isinstance(raw, dict) else raw
    fields: dict[str, Any] = {**mapped, "channel": chosen, "payload": stored}
    if campaign is not None:
        fields["campaign_id"] = campaign.id
    fields.update(values or {})
    if not (fields.get("owner_user_id") or fields.get("owner_team_id")):
        assignment.place_new_lead(session, fields)  # sets the owner in the values, before the lead is saved
        for key in ("owner_user_id", "owner_team_id"):
            if fields.get(key) is None:
                fields.pop(key, None)
    kind = lead_kind(session)
    return save(session, kind, None, fields, actor=actor, source=source or _SOURCES.get(chosen, "form"))


_KINDS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def remember(runtime: Any) -> None:
    """Note the app's record kinds for its database, so code that has only a session (the e-mail channel's
    event handler) can write through ``writes.save``, which needs the registered kind."""
    _KINDS[runtime.engine] = runtime.record_kinds


def lead_kind(session: Session) -> Any:
    """The registered ``lead`` kind for the session's app (``writes.save`` refuses the module's copy): from
    the session itself when the app made it, else from the runtime :func:`remember` noted for its database."""
    runtime = runtime_of(session)
    if runtime is not None:
        return runtime.record_kinds["lead"]
    bind = session.get_bind()
    kinds = _KINDS.get(getattr(bind, "engine", bind))
    if kinds is None:
        raise RuntimeError("leads.capture: the session was not made by a Voronka app and remember() was not called")
    return kinds["lead"]

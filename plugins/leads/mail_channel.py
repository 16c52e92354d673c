"""The e-mail channel: mail from an unknown sender to a mailbox named in leads' ``mailboxes`` setting
becomes a lead (channel ``leads.email``).

The event is the outlook plugin's ``outlook.mail_from_unknown_sender``, published when a synchronised
mailbox receives mail whose sender matches no person. **Payload** (the contract outlook publishes; plain
JSON data, every key present, strings unless said otherwise)::

    {
      "mailbox": "sales@example.com",          # the synchronised mailbox that received it
      "message_id": "<CAF…@mail.example.org>", # RFC 5322 Message-ID (the idempotency key)
      "from_name": "Olena Koval",               # may be ""
      "from_address": "olena@example.org",
      "to": ["sales@example.com"],              # list of addresses
      "cc": [],                                 # list of addresses
      "subject": "Price for 40 seats?",
      "date": "2026-11-28T09:15:00+00:00",      # ISO 8601, when it was sent
      "text_excerpt": "Hello, we are looking …",# the text body, at most 4,000 characters
      "attachments": ["brief.pdf"]              # file names only
    }

The lead gets the sender's name and address, ``message`` = subject, a blank line and the excerpt, and
``payload`` = the event's payload. Delivery is at least once and outlook may publish one mail twice (two
mailboxes, a re-sync): ``external_ref`` is the message id, and a mail already captured on this channel is
skipped, so one message never makes two leads. Mail to other mailboxes is ignored. A sender address that
is not a valid e-mail address is left out (it stays in the payload); a mail with nothing to name the lead
by is skipped with a log line rather than retried forever.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy.orm import Session

from voronka.core.errors import ValidationError
from voronka.core.models import SettingValue

from . import capture, channels

EVENT = "outlook.mail_from_unknown_sender"
EXCERPT_MAX = 4000
log = logging.getLogger("voronka.leads")


def mailboxes(session: Session) -> set[str]:
    """The addresses in leads' ``mailboxes`` setting, lower-cased."""
    row = session.get(SettingValue, ("leads", "mailboxes"))
    text = row.value if row is not None and isinstance(row.value, str) else ""
    return {part.strip().casefold() for part in text.replace(";", ",").split(",") if part.strip()}


def message_ref(message_id: str) -> str:
    """The message id as ``external_ref`` (a hash when it is longer than the column)."""
    message_id = message_id.strip()
    if len(message_id) <= capture.REFUSE["external_ref"]:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def lead_data(payload: dict[str, Any]) -> dict[str, Any]:
    """The capture fields of a mail: the sender, the subject and the excerpt as the message."""
    subject = _text(payload.get("subject"))
    excerpt = _text(payload.get("text_excerpt"))[:EXCERPT_MAX]
    message = "\n\n".join(part for part in (subject, excerpt) if part)
    return {"name": _text(payload.get("from_name")), "email": _text(payload.get("from_address")),
            "message": message, "external_ref": message_ref(_text(payload.get("message_id")))}  # fmt: skip


def on_event(session: Session, event: Any) -> None:
    """Called for every ``outlook.mail_from_unknown_sender`` event delivered from the outbox."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    mailbox = _text(payload.get("mailbox")).casefold()
    if not mailbox or mailbox not in mailboxes(session):
        return
    data = lead_data(payload)
    if not data["external_ref"]:
        log.warning("mail event #%s has no message id; captured without idempotency", event.id)
    elif capture.find_existing(session, channels.EMAIL, data["external_ref"], lock=True) is not None:
        return
    if not data["name"] and data["email"]:
        data["name"] = data["email"].split("@", 1)[0]
    try:
        with session.begin_nested():
            capture.capture(session, channels.EMAIL, data, payload=payload)
    except ValidationError as exc:
        if "email" not in exc.errors or not data["email"]:
            log.warning("mail event #%s was not captured: %s", event.id, exc)
            return
        data["email"] = ""  # a malformed sender address: keep the mail, the address stays in the payload
        try:
            with session.begin_nested():
                capture.capture(session, channels.EMAIL, data, payload=payload)
        except ValidationError as again:
            log.warning("mail event #%s was not captured: %s", event.id, again)

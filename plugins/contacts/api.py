"""What other plugins may use of contacts (those that list contacts in ``requires``); plugins that only
answer contacts' hooks need nothing from here but :class:`TimelineEntry`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .models import (
    Activity,
    ActivityParticipant,
    Address,
    ContactPoint,
    Organisation,
    Party,
    Person,
    Relationship,
    RelationshipType,
)

CARD_SLOT = "party.panels"
"""The slot of the customer card (person and organisation) where other plugins put their panels."""


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a record's timeline.

    ``at`` is an aware UTC time; ``key`` is unique and stable within its plugin (``contacts.activity:12``),
    so ``(at, key)`` orders entries and pages them. ``kind`` is the namespaced entry kind
    (``contacts.call``); ``link`` opens the entry; ``actor`` is who did it.
    """

    at: dt.datetime
    key: str
    kind: str
    title: str
    body: str = ""
    link: str | None = None
    actor: str = ""
    icon: str = ""
    badge: str = ""

    @property
    def cursor(self) -> tuple[dt.datetime, str]:
        return (self.at, self.key)


def _timeline() -> Any:
    from . import timeline  # it imports TimelineEntry from here

    return timeline


def timeline_page(session: Any, host: Any, viewer: Any, ref: Any, kinds: list[str] | None, before: Any,
                  limit: int) -> Any:  # fmt: skip
    """One page of the merged timeline of any record (every enabled plugin's ``timeline`` answer), newest
    first: ``.entries`` and ``.next_cursor`` (None at the end). What the customer card shows for a party, a
    plugin shows for its own records (a deal)."""
    return _timeline().page(session, host, viewer, ref, kinds, before, limit)


def timeline_kinds(host: Any) -> list[tuple[str, str]]:
    """``(key, label)`` of every entry kind enabled plugins put on timelines (the type filter)."""
    return _timeline().all_kinds(host)


def chosen_timeline_kinds(host: Any, raw: list[str]) -> list[str] | None:
    """The kinds picked in a timeline filter, known ones only; None when nothing or everything is picked."""
    return _timeline().chosen_kinds(host, raw)


def encode_cursor(cursor: tuple[dt.datetime, str]) -> str:
    return _timeline().encode_cursor(cursor)


def decode_cursor(text: str | None) -> tuple[dt.datetime, str] | None:
    """A timeline cursor from a query string; None when it is junk."""
    return _timeline().decode_cursor(text)


def timeline_lines(entries: list[Any], viewer: Any) -> list[Any]:
    """Timeline entries as contacts' ``activity_macros.lines`` macro shows them (times in the viewer's zone),
    for a plugin that shows a timeline of its own records with contacts' look."""
    from .activities import lines

    return lines(entries, viewer)


def normalise_email(text: str) -> str:
    """The form contacts compares e-mails in (leads' duplicate hints use the same)."""
    from .points import normalise_email as normalise

    return normalise(text)


def normalise_phone(text: str, region: str = "UA") -> str:
    """E.164, or "" when ``text`` cannot be a phone number; ``region`` for local forms (:func:`phone_region`)."""
    from .points import normalise_phone as normalise

    return normalise(text, region)


def clean_email(text: str) -> tuple[str, str]:
    """(display value, comparison key) of an e-mail address; ValueError with a message people understand."""
    from .points import clean_email as clean

    return clean(text)


def clean_phone(text: str, region: str) -> tuple[str, str]:
    """(international display form, E.164 key) of a phone number; ValueError with a message people understand."""
    from .points import clean_phone as clean

    return clean(text, region)


def phone_region(session: Any) -> str:
    """The company's default phone region (company settings)."""
    from .points import phone_region as region

    return region(session)


def organisation_key(name: str) -> str:
    """The ``name_key`` an organisation called ``name`` is stored under (legal-form quotes left out), for
    finding organisations by exact name (an import linking deals to customers)."""
    from .imports_links import name_key

    return name_key(name)


__all__ = [
    "CARD_SLOT",
    "Activity",
    "ActivityParticipant",
    "Address",
    "ContactPoint",
    "Organisation",
    "Party",
    "Person",
    "Relationship",
    "RelationshipType",
    "TimelineEntry",
    "chosen_timeline_kinds",
    "clean_email",
    "clean_phone",
    "decode_cursor",
    "encode_cursor",
    "normalise_email",
    "normalise_phone",
    "organisation_key",
    "phone_region",
    "timeline_kinds",
    "timeline_lines",
    "timeline_page",
]

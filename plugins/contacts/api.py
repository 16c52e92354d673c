"""What other plugins may use of contacts (those that list contacts in ``requires``); plugins that only
answer contacts' hooks need nothing from here but :class:`TimelineEntry`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .models import Activity, ActivityParticipant, Address, ContactPoint, Organisation, Party, Person

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


__all__ = [
    "CARD_SLOT",
    "Activity",
    "ActivityParticipant",
    "Address",
    "ContactPoint",
    "Organisation",
    "Party",
    "Person",
    "TimelineEntry",
]

"""Contacts' extension points (hook API of the contacts plugin, version 1).

Plugins that add entries to the unified timeline of a record (mail threads, deals, calls) implement
``timeline``; contacts itself answers it for activities. A plugin that does not require contacts marks its
implementation ``@hookimpl(optionalhook=True)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from voronka.core.markers import hookspec

HOOK_API_VERSION = "1.0"


@hookspec
def timeline(
    session: Any, viewer: Any, ref: Any, kinds: list[str] | None, before: tuple[dt.datetime, str] | None, limit: int
) -> list[Any]:
    """Entries for the unified timeline of the record ``ref`` (a :class:`voronka.core.records.Ref`).

    Called when a card shows its timeline, once per page. Return at most ``limit``
    :class:`voronka.plugins.contacts.api.TimelineEntry` objects, newest first by ``(at, key)``, strictly
    older than the cursor ``before`` when given, only of the entry kinds in ``kinds`` (None: all of yours),
    and only what ``viewer`` may see (apply your visibility in the query, so a filtered page is still
    full). A mail thread is one entry at its latest message. Contacts merges every plugin's answer.
    """


@hookspec
def timeline_kinds() -> list[tuple[str, str]]:
    """The entry kinds you put on timelines, as ``(key, label)`` pairs (keys namespaced by plugin:
    ``contacts.call``, ``outlook.mail``); the timeline's type filter lists them."""

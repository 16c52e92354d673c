"""The unified timeline of a record: every enabled plugin's ``timeline`` answer, merged newest first.

Entries are ordered by ``(at, key)`` descending and paged by that pair as a cursor, never by OFFSET: each
plugin returns at most ``limit + 1`` entries strictly older than the cursor (already filtered by kind and
visibility in its own query), the merge keeps the newest ``limit``, and the last one shown becomes the next
cursor. So a filtered page is full, and an entry appears exactly once across pages even when many share
one timestamp. A plugin that fails is logged and left out (each runs in a savepoint, so a database error it
causes is rolled back without spoiling the request's transaction); the rest of the timeline still shows.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from voronka.core.records import Ref

from .api import TimelineEntry

log = logging.getLogger("voronka.contacts.timeline")

Cursor = tuple[dt.datetime, str]
SEPARATOR = "~"
MAX_KINDS = 50


@dataclass
class Page:
    """One page of a timeline: its entries, newest first, and the cursor of the next page (None: the end)."""

    entries: list[TimelineEntry] = field(default_factory=list)
    next_cursor: Cursor | None = None

    @property
    def next_token(self) -> str:
        return encode_cursor(self.next_cursor) if self.next_cursor else ""


def encode_cursor(cursor: Cursor) -> str:
    """``(at, key)`` as URL text: microseconds since the epoch (UTC), a separator, the key."""
    at, key = cursor
    micros = (at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    return f"{micros}{SEPARATOR}{key}"


def decode_cursor(text: str | None) -> Cursor | None:
    """The cursor from :func:`encode_cursor`'s text; None for empty or malformed text (the first page)."""
    raw, sep, key = (text or "").partition(SEPARATOR)
    if not sep or not key or len(key) > 300 or not raw.lstrip("-").isdigit() or len(raw) > 20:
        return None
    try:
        at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(raw))
    except OverflowError:
        return None
    return at, key


def all_kinds(host: Any) -> list[tuple[str, str]]:
    """``(key, label)`` of every entry kind enabled plugins put on timelines, in plugin order."""
    found: list[tuple[str, str]] = []
    for impl in reversed(host.hook.timeline_kinds.get_hookimpls()):
        try:
            found.extend(tuple(pair) for pair in impl.function() or [])
        except Exception:
            log.exception("plugin %s failed to list its timeline kinds", impl.plugin_name)
    seen: set[str] = set()
    return [(k, label) for k, label in found if not (k in seen or seen.add(k))]


def chosen_kinds(host: Any, raw: list[str]) -> list[str] | None:
    """The kinds picked in the filter, only known ones; None when nothing (or everything) is picked."""
    known = [k for k, _label in all_kinds(host)]
    picked = [k for k in known if k in set(raw[:MAX_KINDS])]
    return picked if picked and len(picked) < len(known) else None


def page(
    session: Any, host: Any, viewer: Any, ref: Ref, kinds: list[str] | None, before: Cursor | None, limit: int
) -> Page:
    """One page of ``ref``'s timeline for ``viewer``: entries strictly older than ``before``."""
    merged: list[TimelineEntry] = []
    for impl in host.hook.timeline.get_hookimpls():
        savepoint = session.begin_nested()  # a database error would abort the request's transaction
        try:
            got = impl.function(session=session, viewer=viewer, ref=ref, kinds=kinds, before=before, limit=limit + 1)
            savepoint.commit()
        except Exception:
            log.exception("plugin %s failed to answer the timeline of %s", impl.plugin_name, ref)
            if savepoint.is_active:
                savepoint.rollback()
            continue
        merged.extend(_checked(got or [], kinds, before, limit + 1, impl.plugin_name))
    merged.sort(key=lambda e: (e.at, e.key), reverse=True)
    unique: list[TimelineEntry] = []
    for entry in merged:
        if not unique or (unique[-1].at, unique[-1].key) != (entry.at, entry.key):
            unique.append(entry)
    shown = unique[:limit]
    more = len(unique) > limit
    return Page(shown, shown[-1].cursor if more and shown else None)


def _checked(
    entries: list[Any], kinds: list[str] | None, before: Cursor | None, limit: int, plugin: str
) -> list[TimelineEntry]:
    """A plugin's answer held to the contract: entries past the cursor, of other kinds, or beyond the
    limit would break the paging (an entry shown twice or skipped), so they are dropped with a warning."""
    kept = []
    for entry in entries:
        if not isinstance(entry, TimelineEntry) or entry.at.tzinfo is None:
            log.warning("plugin %s returned a timeline entry that is not an aware TimelineEntry", plugin)
            continue
        if before is not None and entry.cursor >= before:
            log.warning("plugin %s returned a timeline entry at or after the cursor", plugin)
            continue
        if kinds is not None and entry.kind not in kinds:
            continue
        kept.append(entry)
    kept.sort(key=lambda e: (e.at, e.key), reverse=True)
    return kept[:limit]

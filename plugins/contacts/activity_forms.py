"""Reading the activity form: typed values for the write path, participants, and errors per field.

Times are entered in the user's time zone (``datetime-local`` and ``date`` inputs) and stored in UTC. A
task's due date without a time means the end of that day. Nothing here touches the database: the route
checks participants and owners against what the user may see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from voronka.core.i18n import gettext as _
from voronka.core.ids import owner_values, parse_ids

from .models import ACTIVITY_TYPES

SUBJECT_MAX = 300
BODY_MAX = 20_000
OUTCOME_MAX = 200
LOCATION_MAX = 200
DURATION_MAX = 24 * 60
PARTICIPANTS_MAX = 50
DIRECTIONS = ("outbound", "inbound")
END_OF_DAY = dt.time(23, 59)
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
YEARS_AHEAD = 10


@dataclass
class Parsed:
    """What the form says: ``values`` for the write path, chosen participants, errors per field."""

    values: dict[str, Any] = field(default_factory=dict)
    party_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def zone(viewer: Any) -> ZoneInfo:
    try:
        return ZoneInfo(getattr(viewer, "timezone", "") or "UTC")
    except Exception:
        return ZoneInfo("UTC")


def local_input(value: dt.datetime | None, viewer: Any) -> str:
    """A stored UTC time as a ``datetime-local`` input shows it in the user's zone."""
    return value.astimezone(zone(viewer)).strftime("%Y-%m-%dT%H:%M") if value else ""


def _in_range(value: dt.datetime) -> dt.datetime:
    """``value`` when it lies between 1900 and ``YEARS_AHEAD`` years from now; ValueError otherwise (a task
    due in 9999 would sit on top of every timeline for good)."""
    now = dt.datetime.now(dt.UTC)
    if not EARLIEST <= value <= now + dt.timedelta(days=365 * YEARS_AHEAD + YEARS_AHEAD // 4):
        raise ValueError(value)
    return value


def parse_local(text: str, viewer: Any) -> dt.datetime:
    """``2026-11-27T14:30`` (or with a space) in the user's zone → aware UTC; ValueError when it is not one
    or lies out of range."""
    text = text.strip().replace(" ", "T")
    if len(text) > 25:
        raise ValueError(text)
    naive = dt.datetime.fromisoformat(text)
    try:
        if naive.tzinfo is not None:
            return _in_range(naive.astimezone(dt.UTC))
        return _in_range(naive.replace(tzinfo=zone(viewer)).astimezone(dt.UTC))
    except OverflowError:  # year 1 or 9999 moved across the date line
        raise ValueError(text) from None


def parse_due(date_text: str, time_text: str, viewer: Any) -> dt.datetime:
    """A due date (and optional time) in the user's zone → aware UTC; ValueError when either is not valid or
    the date lies out of range."""
    day = dt.date.fromisoformat(date_text.strip())
    at = dt.time.fromisoformat(time_text.strip()) if time_text.strip() else END_OF_DAY
    try:
        return _in_range(dt.datetime.combine(day, at).replace(tzinfo=zone(viewer)).astimezone(dt.UTC))
    except OverflowError:
        raise ValueError(date_text) from None


def ids(raw: list[str], limit: int = PARTICIPANTS_MAX) -> list[int] | None:
    """Record ids from form values (commas and spaces also separate); None when one is not an id."""
    found = parse_ids(part for value in raw for part in value.replace(",", " ").split())
    return found if found is not None and len(found) <= limit else None


def parse(form: Any, activity_type: str, viewer: Any, *, creating: bool) -> Parsed:
    """The submitted form of an activity of ``activity_type``; ``form`` is Starlette's FormData."""
    out = Parsed()
    text = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    if activity_type not in ACTIVITY_TYPES:
        out.errors["type"] = _("Choose a note, a call, a meeting or a task.")
        return out
    subject = text.get("subject", "").strip()
    body = text.get("body", "").replace("\r\n", "\n").strip()
    if not subject:
        out.errors["subject"] = _("Give it a subject.")
    elif len(subject) > SUBJECT_MAX:
        out.errors["subject"] = _("Keep the subject under %(n)s characters.") % {"n": SUBJECT_MAX}
    if len(body) > BODY_MAX:
        out.errors["body"] = _("Keep the text under %(n)s characters.") % {"n": f"{BODY_MAX:,}"}
    out.values = {"type": activity_type, "subject": subject, "body": body}
    if activity_type == "task":
        _task(text, viewer, out, creating=creating)
    else:
        _timed(text, activity_type, viewer, out)
    party_ids = ids([*form.getlist("party_ids"), text.get("party_add", "")])
    user_ids = ids(form.getlist("user_ids"))
    if party_ids is None:
        out.errors["party_ids"] = _("Pick people from the list, or enter their numbers separated by commas.")
    if user_ids is None:
        out.errors["user_ids"] = _("Pick colleagues from the list.")
    out.party_ids, out.user_ids = party_ids or [], user_ids or []
    if text.get("party_add_q", "").strip() and not text.get("party_add", "").strip():
        out.errors["party_add"] = _("Pick one of the people found, or clear the search.")
    return out


def _timed(text: dict[str, str], activity_type: str, viewer: Any, out: Parsed) -> None:
    """A note, call or meeting: when it happened (a meeting's start), and the type's own fields."""
    raw = text.get("occurred_at", "").strip()
    start = None
    if raw:
        try:
            start = out.values["occurred_at"] = parse_local(raw, viewer)
        except ValueError:
            out.errors["occurred_at"] = _(
                "Enter a date and time like 2026-11-27 14:30, from 1900 to %(n)s years ahead."
            ) % {"n": YEARS_AHEAD}
    elif activity_type == "meeting":
        out.errors["occurred_at"] = _("Enter when the meeting starts.")
    if activity_type == "call":
        direction = text.get("direction", "outbound")
        if direction not in DIRECTIONS:
            out.errors["direction"] = _("Choose inbound or outbound.")
        out.values["direction"] = direction
        duration = text.get("duration_minutes", "").strip()
        if duration:
            if not duration.isascii() or not duration.isdigit() or int(duration) > DURATION_MAX:
                out.errors["duration_minutes"] = _("Enter the minutes as a whole number up to %(n)s.") % {
                    "n": DURATION_MAX
                }
            else:
                out.values["duration_minutes"] = int(duration)
        else:
            out.values["duration_minutes"] = None
        outcome = text.get("outcome", "").strip()
        if len(outcome) > OUTCOME_MAX:
            out.errors["outcome"] = _("Keep the outcome under %(n)s characters.") % {"n": OUTCOME_MAX}
        out.values["outcome"] = outcome
    if activity_type == "meeting":
        location = text.get("location", "").strip()
        if len(location) > LOCATION_MAX:
            out.errors["location"] = _("Keep the place under %(n)s characters.") % {"n": LOCATION_MAX}
        out.values["location"] = location
        raw_end = text.get("ends_at", "").strip()
        out.values["ends_at"] = None
        if raw_end:
            try:
                end = out.values["ends_at"] = parse_local(raw_end, viewer)
            except ValueError:
                out.errors["ends_at"] = _(
                    "Enter a date and time like 2026-11-27 15:30, from 1900 to %(n)s years ahead."
                ) % {"n": YEARS_AHEAD}
            else:
                if start is not None and end <= start:
                    out.errors["ends_at"] = _("The meeting must end after it starts.")


def _task(text: dict[str, str], viewer: Any, out: Parsed, *, creating: bool) -> None:
    """A task: due date (optional time), owner (a user or a team's queue), done."""
    due_date, due_time = text.get("due_date", "").strip(), text.get("due_time", "").strip()
    out.values["due_at"] = None
    if due_date or due_time:
        try:
            out.values["due_at"] = parse_due(due_date, due_time, viewer)
        except ValueError:
            out.errors["due_date"] = _(
                "Enter the due date like 2026-11-27 (1900 to %(n)s years ahead) and, if you like, a time like 14:30."
            ) % {"n": YEARS_AHEAD}
    owner = text.get("owner", "").strip()
    if owner:
        chosen = owner_values(owner)
        if chosen is None:
            out.errors["owner"] = _("Choose who owns the task.")
        else:
            out.values.update(chosen)
    if not creating:
        out.values["done"] = text.get("done") in ("1", "on", "true")

"""Rules every write of an activity obeys, whatever the path (form, bulk action, import, API).

Called from contacts' ``before_save`` inside the transaction with the record already holding its new values;
a broken rule refuses the write with a message per field, and the derived values (a task's place on the
timeline, when it was done) are set here so no path can forget them.
"""

from __future__ import annotations

from typing import Any

from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.types import utcnow

from .models import ACTIVITY_TYPES, Activity

CALL_FIELDS = ("direction", "duration_minutes", "outcome")
MEETING_FIELDS = ("ends_at", "location")
TASK_FIELDS = ("due_at", "done", "done_at")


def before_save(session: Any, activity: Activity, changes: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    kind = activity.type
    if kind not in ACTIVITY_TYPES:
        raise ValidationError({"type": _("An activity is a note, a call, a meeting or a task.")})
    if not (activity.subject or "").strip():
        errors["subject"] = _("Give it a subject.")
    if kind != "task":
        errors.update({f: _("Only a task has this.") for f in TASK_FIELDS if _has(activity, f)})
    if kind != "call":
        errors.update({f: _("Only a call has this.") for f in CALL_FIELDS if _has(activity, f)})
    if kind != "meeting":
        errors.update({f: _("Only a meeting has this.") for f in MEETING_FIELDS if _has(activity, f)})
    if activity.duration_minutes is not None and activity.duration_minutes < 0:
        errors["duration_minutes"] = _("A call cannot last less than nothing.")
    start, end = activity.occurred_at, activity.ends_at
    if end is not None and start is not None and end <= start:
        errors["ends_at"] = _("The meeting must end after it starts.")
    if errors:
        raise ValidationError(errors)
    if kind == "task":
        _task(activity, changes)


def _has(activity: Activity, name: str) -> bool:
    value = getattr(activity, name)
    return value not in (None, "", False)


def _task(task: Activity, changes: dict[str, Any]) -> None:
    """Done tasks know when; reopened ones forget it. A task sits on timelines at its due time, or at its
    creation while it has none."""
    if task.done and task.done_at is None:
        task.done_at = utcnow()
    elif not task.done and task.done_at is not None:
        task.done_at = None
    if task.due_at is not None:
        task.occurred_at = task.due_at
    elif "due_at" in changes or task.occurred_at is None:
        task.occurred_at = task.created_at or utcnow()

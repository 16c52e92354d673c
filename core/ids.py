"""Ids and owner choices read from requests: one strict parser, so a junk value is a 400/404, never a 500.

Record ids are 32-bit integers on both engines (PostgreSQL's ``integer``): anything else — "²" (which
``str.isdigit`` accepts), 30 digits, a negative number — is not an id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.models import Team, User

ID_MAX = 2**31 - 1
OWNER_CHOICES_MAX = 500
"""Users and teams offered in an owner picker: a longer list is no use as a drop-down, and costs every form."""


def _number(raw: Any, low: int) -> int | None:
    """``raw`` as a whole number from ``low`` to 2³¹−1 written in ASCII digits, or None."""
    text = str(raw if raw is not None else "").strip()
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if low <= value <= ID_MAX else None


def parse_id(raw: Any) -> int | None:
    """``raw`` as a record id (1 … 2³¹−1), or None when it is not one."""
    return _number(raw, 1)


def parse_ids(values: Any) -> list[int] | None:
    """Every value as an id, in order without repeats; None when any of them is not one."""
    found: dict[int, None] = {}  # ordered, and a repeat costs no scan
    for raw in values:
        value = parse_id(raw)
        if value is None:
            return None
        found[value] = None
    return list(found)


def parse_version(raw: Any) -> int | None:
    """A form's ``version`` (0 … 2³¹−1), or None."""
    return _number(raw, 0)


def parse_count(raw: Any) -> int | None:
    """A count carried in a query string (0 … 2³¹−1), or None."""
    return _number(raw, 0)


def parse_owner(raw: Any) -> tuple[str, int] | None:
    """An owner choice ``u:<user id>`` or ``t:<team id>`` as ("user" | "team", id), or None."""
    prefix, sep, number = str(raw or "").partition(":")
    value = parse_id(number) if sep else None
    if value is None or prefix not in ("u", "t"):
        return None
    return ("user" if prefix == "u" else "team", value)


def owner_values(raw: Any) -> dict[str, Any] | None:
    """The write-path values of an owner choice (the other owner column cleared), or None."""
    parsed = parse_owner(raw)
    if parsed is None:
        return None
    who, value = parsed
    return {"owner_user_id": value, "owner_team_id": None} if who == "user" else {
        "owner_user_id": None, "owner_team_id": value}  # fmt: skip


def existing_owner(session: Session, raw: Any) -> dict[str, Any] | None:
    """:func:`owner_values` of a choice naming an active user or a team that exists, or None: a form must not
    hand a record to someone who left, or to a number that names nobody."""
    values = owner_values(raw)
    if values is None:
        return None
    user_id, team_id = values["owner_user_id"], values["owner_team_id"]
    query = (select(User.id).where(User.id == user_id, User.active.is_(True)) if user_id is not None
             else select(Team.id).where(Team.id == team_id))  # fmt: skip
    return values if session.scalar(query) is not None else None


def owner_choices(session: Session) -> dict[str, list[Any]]:
    """What an owner picker offers: active users by name, then teams (rows with ``id`` and a name, each
    also a ``(id, name)`` pair), at most :data:`OWNER_CHOICES_MAX` of each."""
    users = select(User.id, User.display_name).where(User.active.is_(True)).order_by(User.display_name, User.id)
    teams = select(Team.id, Team.name).order_by(Team.name, Team.id)
    return {"users": list(session.execute(users.limit(OWNER_CHOICES_MAX))),
            "teams": list(session.execute(teams.limit(OWNER_CHOICES_MAX)))}  # fmt: skip

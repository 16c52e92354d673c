"""Ids and owner choices read from requests: one strict parser, so a junk value is a 400/404, never a 500.

Record ids are 32-bit integers on both engines (PostgreSQL's ``integer``): anything else — "²" (which
``str.isdigit`` accepts), 30 digits, a negative number — is not an id.
"""

from __future__ import annotations

from typing import Any

ID_MAX = 2**31 - 1


def parse_id(raw: Any) -> int | None:
    """``raw`` as a record id (1 … 2³¹−1), or None when it is not one."""
    text = str(raw if raw is not None else "").strip()
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= ID_MAX else None


def parse_ids(values: Any) -> list[int] | None:
    """Every value as an id, in order without repeats; None when any of them is not one."""
    found: list[int] = []
    for raw in values:
        value = parse_id(raw)
        if value is None:
            return None
        if value not in found:
            found.append(value)
    return found


def parse_version(raw: Any) -> int | None:
    """A form's ``version`` (0 … 2³¹−1), or None."""
    text = str(raw if raw is not None else "").strip()
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= ID_MAX else None


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

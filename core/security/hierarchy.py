"""Writing the manager hierarchy: links with validity dates that never overlap and never make a loop.

A user reports to at most one manager on any date, nobody manages themselves, and on no date does the
hierarchy contain a cycle (which would make "everyone under me" infinite). Every path that writes links
(the admin screens, imports) goes through these functions so the rules hold everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..errors import ValidationError
from ..i18n import gettext as _
from ..models import ManagerLink, User
from ..state import bump

OPEN_END = dt.date.max
MAX_DEPTH = 1000
"""A hierarchy deeper than this is treated as broken data rather than walked for ever."""


def add_manager_link(
    session: Session, user_id: int, manager_id: int, valid_from: dt.date, valid_to: dt.date | None = None
) -> ManagerLink:
    """Record that ``user_id`` reports to ``manager_id`` from ``valid_from`` until ``valid_to`` (exclusive).

    Raises ``ValidationError`` keyed by form field (``manager_id``, ``valid_to``) when the dates are
    reversed, the link is to oneself, it overlaps another link of the user, or it closes a loop.
    Bumps the "security" counter first: on PostgreSQL that row lock serialises concurrent hierarchy
    writes, so two admins cannot each add half of a loop.
    """
    bump(session, "security")
    if manager_id == user_id:
        raise ValidationError({"manager_id": _("A user cannot be their own manager.")})
    if valid_to is not None and valid_to <= valid_from:
        raise ValidationError({"valid_to": _("The end date must be after the start date.")})
    names = _names(session, {user_id, manager_id})
    if len(names) < 2:
        raise ValidationError({"manager_id": _("Choose a manager from the list.")})
    clash = _overlapping(session, user_id, valid_from, valid_to)
    if clash is not None:
        raise ValidationError({"valid_from": _overlap_message(session, names[user_id], clash)})
    loop_on = _loop_date(session, user_id, manager_id, valid_from, valid_to)
    if loop_on is not None:
        raise ValidationError({
            "manager_id": _(
                "%(manager)s is under %(user)s on %(date)s, so %(user)s cannot report to %(manager)s: "
                "that would make a loop in the hierarchy."
            ) % {"manager": names[manager_id], "user": names[user_id], "date": loop_on.isoformat()}
        })  # fmt: skip
    link = ManagerLink(user_id=user_id, manager_id=manager_id, valid_from=valid_from, valid_to=valid_to)
    session.add(link)
    session.flush()
    return link


def end_manager_link(session: Session, link: ManagerLink, valid_to: dt.date) -> None:
    """End ``link`` on ``valid_to`` (exclusive). Only shortens a link, so no overlap or loop can appear."""
    bump(session, "security")
    if valid_to <= link.valid_from:
        raise ValidationError({
            "valid_to": _(
                "The end date must be after the link's start date %(start)s; delete the link if it was a mistake."
            ) % {"start": link.valid_from.isoformat()}
        })  # fmt: skip
    if link.valid_to is not None and valid_to > link.valid_to:
        raise ValidationError({
            "valid_to": _("This link already ends on %(end)s; it can only end earlier.")
            % {"end": link.valid_to.isoformat()}
        })  # fmt: skip
    link.valid_to = valid_to
    session.flush()


def delete_manager_link(session: Session, link: ManagerLink) -> None:
    """Remove a link entered by mistake (ending it keeps the history; deleting erases it)."""
    bump(session, "security")
    session.delete(link)
    session.flush()


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def _span(valid_from: dt.date, valid_to: dt.date | None) -> list[object]:
    """WHERE clauses for links overlapping [valid_from, valid_to)."""
    clauses: list[object] = [or_(ManagerLink.valid_to.is_(None), ManagerLink.valid_to > valid_from)]
    if valid_to is not None:
        clauses.append(ManagerLink.valid_from < valid_to)
    return clauses


def _overlapping(session: Session, user_id: int, valid_from: dt.date, valid_to: dt.date | None) -> ManagerLink | None:
    return session.scalars(
        select(ManagerLink)
        .where(ManagerLink.user_id == user_id, *_span(valid_from, valid_to))  # type: ignore[arg-type]
        .order_by(ManagerLink.valid_from)
        .limit(1)
    ).first()


def _overlap_message(session: Session, user_name: str, clash: ManagerLink) -> str:
    manager = session.scalar(select(User.display_name).where(User.id == clash.manager_id)) or "?"
    values = {"user": user_name, "manager": manager, "start": clash.valid_from.isoformat()}
    if clash.valid_to is None:
        return (
            _("%(user)s already reports to %(manager)s from %(start)s with no end date; end that link first.") % values
        )
    values["end"] = clash.valid_to.isoformat()
    return (
        _("%(user)s already reports to %(manager)s from %(start)s until %(end)s; choose dates outside that period.")
        % values
    )


def _loop_date(
    session: Session, user_id: int, manager_id: int, valid_from: dt.date, valid_to: dt.date | None
) -> dt.date | None:
    """The first date in [valid_from, valid_to) on which ``manager_id`` is under ``user_id``, if any.

    Walks up from the new manager through links whose periods overlap, narrowing the period at each
    step: reaching ``user_id`` with a non-empty period means the new link would close a loop then.
    """
    upward: dict[int, list[tuple[int, dt.date, dt.date]]] = defaultdict(list)
    rows = session.execute(
        select(ManagerLink.user_id, ManagerLink.manager_id, ManagerLink.valid_from, ManagerLink.valid_to).where(
            *_span(valid_from, valid_to)  # type: ignore[arg-type]
        )
    )
    for member, boss, start, end in rows:
        upward[member].append((boss, start, end or OPEN_END))
    found: dt.date | None = None
    stack = [(manager_id, valid_from, valid_to or OPEN_END, 0)]
    while stack:
        node, lo, hi, depth = stack.pop()
        if depth > MAX_DEPTH:
            return lo
        for boss, start, end in upward.get(node, []):
            a, b = max(lo, start), min(hi, end)
            if a >= b:
                continue
            if boss == user_id:
                found = a if found is None else min(found, a)
            else:
                stack.append((boss, a, b, depth + 1))
    return found

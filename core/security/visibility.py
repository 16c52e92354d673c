"""Visibility scopes as query filters, and the manager hierarchy with validity dates.

Every list, search, export, API and report applies :func:`visible` in its query, so they all agree on
what a user may see.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Hashable
from typing import Any

from sqlalchemy import ColumnElement, Select, false, literal, or_, select, true, union
from sqlalchemy.orm import Session

from ..models import ManagerLink, TeamMember


def link_valid_on(on: dt.date) -> ColumnElement[bool]:
    return (ManagerLink.valid_from <= on) & (or_(ManagerLink.valid_to.is_(None), ManagerLink.valid_to > on))


@functools.lru_cache(maxsize=4096)
def under_query(manager_id: int, on: dt.date, include_self: bool = False) -> Select[Any]:
    """SELECT of the ids of everyone under ``manager_id`` on date ``on``, at any depth (recursive CTE).

    Cached: statements are immutable, and building this one cost a card several milliseconds per query
    (every visibility filter of a manager's page asks for it)."""
    base = select(ManagerLink.user_id.label("user_id")).where(ManagerLink.manager_id == manager_id, link_valid_on(on))
    tree = base.cte("under_tree", recursive=True)
    step = select(ManagerLink.user_id).join(tree, ManagerLink.manager_id == tree.c.user_id).where(link_valid_on(on))
    tree = tree.union(step)
    query = select(tree.c.user_id)
    if include_self:
        return select(union(query, select(literal(manager_id))).subquery().c[0])
    return query


def everyone_under(session: Session, manager_id: int, on: dt.date | None = None) -> set[int]:
    """Ids of everyone under ``manager_id`` on ``on`` (today by default), not including the manager."""
    on = on or dt.date.today()
    return set(session.scalars(under_query(manager_id, on)))


def manager_of(session: Session, user_id: int, on: dt.date) -> int | None:
    return session.scalar(select(ManagerLink.manager_id).where(ManagerLink.user_id == user_id, link_valid_on(on)))


def visibility_key(user: Any) -> Hashable:
    """Everything :func:`visible` reads of a user, so one filter built for a key serves every request with
    an equal key (a statement cache keyed by it): sign-in, scope, id, teams, and today (the manager
    hierarchy is read in SQL as of a date)."""
    return (
        bool(getattr(user, "is_authenticated", False)),
        getattr(user, "visibility", None),
        getattr(user, "id", None),
        tuple(sorted(getattr(user, "team_ids", ()) or ())),
        getattr(user, "visible_on", None) or dt.date.today(),
    )


def visible(model: Any, user: Any, on: dt.date | None = None) -> ColumnElement[bool]:
    """A WHERE clause limiting ``model`` (with :class:`~voronka.core.models.OwnedMixin`) to ``user``'s scope.

    own: records the user owns or their teams' queues own; team: also records owned by their teams'
    members; under: also records of everyone under them in the hierarchy on ``on`` — by default the
    user's ``visible_on`` date when it has one (:class:`AsOf`: a plan for a past period rolls up the people
    who reported to the manager then), else today; all: everything.
    """
    if not getattr(user, "is_authenticated", False):
        return false()
    scope = user.visibility
    if scope == "all":
        return true()
    owner_user = model.owner_user_id
    owner_team = model.owner_team_id
    teams = list(user.team_ids)
    clauses: list[ColumnElement[bool]] = [owner_user == user.id]
    if teams:
        clauses.append(owner_team.in_(teams))
    if scope == "team" and teams:
        clauses.append(owner_user.in_(select(TeamMember.user_id).where(TeamMember.team_id.in_(teams))))
    if scope == "under":
        clauses.append(owner_user.in_(under_query(user.id, on or getattr(user, "visible_on", None) or dt.date.today())))
    return or_(*clauses)


class AsOf:
    """``user`` whose "everyone under me" scope is read on ``on`` instead of today: the viewer a report
    about a past stretch of time asks with, so a manager still sees the records of someone who reported to
    them then (and not those of someone who joined the team later). Everything else is the user's own."""

    def __init__(self, user: Any, on: dt.date):
        self._user = user
        self.visible_on = on

    def __getattr__(self, name: str) -> Any:
        return getattr(self._user, name)

"""The manager hierarchy of a period, cut where it changes.

Plans follow the hierarchy as it was: a record counts toward the managers its owner reported to on the
record's date. Core keeps manager links with validity dates, so a period is cut into *segments* in which the
links that matter do not change, and each segment has one tree under the root. All links overlapping the
period are read in one query; every tree is then built in Python from them (no query per person).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from voronka.core.models import ManagerLink

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Link:
    """``user_id`` reported to ``manager_id`` over ``[valid_from, valid_to)`` (``valid_to`` None: still does)."""

    id: int
    user_id: int
    manager_id: int
    valid_from: dt.date
    valid_to: dt.date | None

    def holds_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


def load_links(session: Session, start: dt.date, end: dt.date) -> list[Link]:
    """Every manager link valid on some day of ``[start, end)``, in one query."""
    m = ManagerLink
    query = select(m.id, m.user_id, m.manager_id, m.valid_from, m.valid_to).where(
        m.valid_from < end, or_(m.valid_to.is_(None), m.valid_to > start)
    )
    return [Link(*row) for row in session.execute(query)]


def managers_on(links: Iterable[Link], day: dt.date) -> dict[int, int]:
    """``{user: manager}`` on ``day``. Core refuses overlapping links for one user; should two hold anyway,
    the latest one wins, so every tree is still a tree."""
    chosen: dict[int, Link] = {}
    for link in links:
        if link.holds_on(day):
            known = chosen.get(link.user_id)
            if known is None or (link.valid_from, link.id) > (known.valid_from, known.id):
                chosen[link.user_id] = link
    return {user: link.manager_id for user, link in chosen.items()}


@dataclass(frozen=True)
class Tree:
    """``root`` and everyone under them at any depth: ``parent`` maps each member but the root to their
    manager; ``order`` lists the root first and every manager before the people under them."""

    root: int
    parent: dict[int, int]
    order: tuple[int, ...]

    @cached_property
    def paths(self) -> dict[int, tuple[int, ...]]:
        """Each member's chain of managers from the root down to themselves."""
        found: dict[int, tuple[int, ...]] = {self.root: (self.root,)}
        for user in self.order[1:]:
            found[user] = (*found[self.parent[user]], user)
        return found

    @property
    def members(self) -> frozenset[int]:
        return frozenset(self.order)


def tree_under(managers: dict[int, int], root: int) -> Tree:
    """The tree under ``root`` from a ``{user: manager}`` map (a loop in bad data is cut where it closes)."""
    reports: dict[int, list[int]] = {}
    for user, manager in managers.items():
        reports.setdefault(manager, []).append(user)
    order = [root]
    parent: dict[int, int] = {}
    seen = {root}
    index = 0
    while index < len(order):
        manager = order[index]
        index += 1
        for user in sorted(reports.get(manager, ())):
            if user not in seen:
                seen.add(user)
                parent[user] = manager
                order.append(user)
    return Tree(root=root, parent=parent, order=tuple(order))


@dataclass(frozen=True)
class Segment:
    """``[start, end)`` of a period in which ``tree`` holds (and, when asked, the watcher's scope too)."""

    start: dt.date
    end: dt.date
    tree: Tree
    watched: frozenset[int] = field(default=frozenset())

    @property
    def last(self) -> dt.date:
        return self.end - DAY

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def boundaries(links: Iterable[Link], start: dt.date, end: dt.date) -> list[dt.date]:
    """``start``, ``end`` and every day inside where a link begins or ends, in order."""
    days = {start, end}
    for link in links:
        for day in (link.valid_from, link.valid_to):
            if day is not None and start < day < end:
                days.add(day)
    return sorted(days)


def segments(links: Sequence[Link], root: int, start: dt.date, end: dt.date, *,
             watcher: int | None = None) -> list[Segment]:  # fmt: skip
    """``[start, end)`` cut where the tree under ``root`` changes, each piece with its tree.

    With ``watcher`` (a viewer whose scope is "everyone under me"), also where the set of the tree's people
    under the watcher changes: figures are computed under the viewer's scope as of each segment. Changes that
    touch neither (links elsewhere in the company) do not cut the period."""
    found: list[Segment] = []
    days = boundaries(links, start, end)
    for first, after in itertools.pairwise(days):
        managers = managers_on(links, first)
        tree = tree_under(managers, root)
        watched = frozenset()
        if watcher is not None and watcher != root:
            watched = tree_under(managers, watcher).members & tree.members
        if found and found[-1].tree.parent == tree.parent and found[-1].watched == watched:
            last = found[-1]
            found[-1] = Segment(last.start, after, last.tree, last.watched)
        else:
            found.append(Segment(first, after, tree, watched))
    return found


def under_during(links: Sequence[Link], manager: int, start: dt.date, end: dt.date) -> set[int]:
    """Everyone under ``manager`` (at any depth) on at least one day of ``[start, end)``: the union of the
    trees of the days where the hierarchy changes (it holds still in between)."""
    found: set[int] = set()
    for day in boundaries(links, start, end)[:-1]:
        found |= tree_under(managers_on(links, day), manager).parent.keys()
    return found


def was_under(links: Sequence[Link], manager: int, user: int, start: dt.date, end: dt.date) -> bool:
    """Whether ``user`` was under ``manager`` (at any depth) on some day of ``[start, end)``."""
    return user in under_during(links, manager, start, end)

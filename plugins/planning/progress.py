"""Plan against actual, live: the team tree and "my plan" from each metric's grouped ``values`` query.

- The hierarchy of a period comes from core's manager links with validity dates (:mod:`.segments`). The
  period is cut into *segments* where the links under the root do not change; in each segment a person's
  figures roll up to the managers above them in that segment only ("a record counts toward the manager its
  owner reported to on the record's date"). Figures add up over time, so everyone whose place never changes
  is read in one ``values`` call over the whole period, and those who moved in one call per segment: the
  usual period (nobody moved) costs one call per metric.
- Figures are computed under the viewer's visibility *as of the segment* (``core.security.visibility.AsOf``):
  a manager sees the records of someone who reported to them then, and not after.
- Nothing is cached, so nothing needs invalidating.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.company import company_settings
from voronka.core.metrics import MetricRecord
from voronka.core.models import TeamMember, User
from voronka.core.security.visibility import AsOf

from . import catalogue
from .catalogue import MetricInfo
from .figures import Figures, PlanRef, Span, TeamNode, status_of
from .models import Plan
from .periods import Period
from .segments import Segment, load_links, segments, was_under

Path = tuple[int, ...]


@dataclass
class TeamView:
    """A root's tree for one metric and period (``root.figures`` is the whole team's)."""

    period: Period
    metric: MetricInfo
    root: TeamNode
    today: dt.date


@dataclass(frozen=True)
class PlanProgress:
    """One of a person's plans in a period with its figures (the person and everyone under them)."""

    plan: PlanRef
    metric: MetricInfo
    figures: Figures
    period: Period


@dataclass
class _Sums:
    """What one place in the tree (a path from the root) adds up to over the segments where it holds."""

    actual: float = 0.0
    in_progress: float = 0.0
    own_actual: float = 0.0
    days: list[tuple[dt.date, dt.date]] = field(default_factory=list)


def team_view(session: Session, host: Any, viewer: Any, root_id: int, metric_key: str, period: Period, *,
              today: dt.date | None = None) -> TeamView:  # fmt: skip
    """The tree of ``root_id`` and everyone under them during ``period`` for ``metric_key``."""
    today = today or company_settings(session).today()
    info = catalogue.describe(host, metric_key, session)
    pieces = _segments(session, viewer, root_id, period)
    sums = _sums(session, info, viewer, pieces)
    people = {user for piece in pieces for user in piece.tree.order}
    plans = _plans(session, metric_key, period, people)
    names = _names(session, people)
    expected = period.elapsed(today)
    nodes: dict[Path, TeamNode] = {}
    for path in sorted(sums, key=len):
        found = sums[path]
        user = path[-1]
        plan = plans.get(user)
        target = plan.target if plan else None
        figures = Figures(target=target, stretch=plan.stretch if plan else None, actual=found.actual,
                          in_progress=found.in_progress, expected=expected,
                          status=status_of(target, found.actual, expected, available=info.available,
                                           ended=today >= period.end),
                          ended=today >= period.end)  # fmt: skip
        spans = _spans(found.days)
        node = TeamNode(user_id=user, name=names.get(user, str(user)), plan=plan, figures=figures,
                        own_actual=found.own_actual, spans=spans,
                        partial=len(path) > 1 and spans != (Span(period.start, period.end),))  # fmt: skip
        nodes[path] = node
        if len(path) > 1:
            nodes[path[:-1]].children.append(node)
    allowed = _people_in_scope(session, viewer)
    if allowed is not None:  # someone who sees only themselves and their teams sees no one else in the tree
        for node in nodes.values():
            node.children = [child for child in node.children if child.user_id in allowed]
    for node in nodes.values():
        node.children.sort(key=lambda n: (n.name.casefold(), n.user_id, n.spans[0].start if n.spans else period.start))
        targets = [child.plan.target for child in node.children if child.plan is not None]
        node.children_target = sum(targets) if targets else None
    return TeamView(period=period, metric=info, root=nodes[(root_id,)], today=today)


def my_plan(session: Session, host: Any, viewer: Any, user_id: int, period: Period, *,
            today: dt.date | None = None) -> list[PlanProgress]:  # fmt: skip
    """Every plan of ``user_id`` in ``period`` (one per metric), with figures for them and their team."""
    today = today or company_settings(session).today()
    query = select(Plan.metric_key, Plan.id, Plan.target, Plan.stretch, Plan.version, Plan.method).where(
        Plan.owner_user_id == user_id, Plan.period_kind == period.kind, Plan.period_start == period.start
    )
    rows = list(session.execute(query))
    if not rows:
        return []
    pieces = _segments(session, viewer, user_id, period)
    expected = period.elapsed(today)
    found: list[PlanProgress] = []
    for row in rows:
        info = catalogue.describe(host, row.metric_key, session)
        total = _sums(session, info, viewer, pieces)[(user_id,)]
        actual, in_progress = total.actual, total.in_progress
        plan = PlanRef(id=row.id, target=row.target, stretch=row.stretch, version=row.version, method=row.method)
        figures = Figures(target=plan.target, stretch=plan.stretch, actual=actual, in_progress=in_progress,
                          expected=expected,
                          status=status_of(plan.target, actual, expected, available=info.available,
                                           ended=today >= period.end),
                          ended=today >= period.end)  # fmt: skip
        found.append(PlanProgress(plan=plan, metric=info, figures=figures, period=period))
    found.sort(key=lambda p: (p.metric.label.casefold(), p.metric.key))
    return found


def records(session: Session, host: Any, viewer: Any, user_id: int, metric_key: str, period: Period, which: str,
            limit: int) -> list[MetricRecord]:  # fmt: skip
    """The rows behind ``user_id``'s own figure (``which``: "actual" or "in_progress") in ``period``, seen as
    the viewer's scope stood on the period's last day (today for the current period)."""
    metric = catalogue.describe(host, metric_key).metric
    if metric is None:
        return []
    settings = company_settings(session)
    start, end = settings.utc_range(period.start, period.end)
    on = min(period.last, settings.today())
    return metric.records(session, AsOf(viewer, on), user_id, start, end, which, limit)


def may_view(session: Session, viewer: Any, user_id: int, period: Period) -> bool:
    """Whether ``viewer`` may see ``user_id``'s plans and figures for ``period``: their own, anyone who
    reported to them (at any depth) on some day of the period when their scope is "everyone under me", their
    team's members with the team scope, everyone with "all"."""
    if not getattr(viewer, "is_authenticated", False):
        return False
    if viewer.id == user_id:
        return True
    scope = getattr(viewer, "visibility", "own")
    if scope == "all":
        return True
    if scope == "under":
        return was_under(load_links(session, period.start, period.end), viewer.id, user_id, period.start, period.end)
    if scope == "team":
        teams = list(getattr(viewer, "team_ids", ()) or ())
        query = select(TeamMember.user_id).where(TeamMember.team_id.in_(teams), TeamMember.user_id == user_id)
        return bool(teams) and session.scalar(query.limit(1)) is not None
    return False


def _people_in_scope(session: Session, viewer: Any) -> set[int] | None:
    """Whom a viewer with the "own" or "team" scope may see in a tree (themselves and their teams' members);
    None for "all" and "everyone under me", whose trees are theirs by construction."""
    scope = getattr(viewer, "visibility", "own")
    if scope in ("all", "under"):
        return None
    people = {viewer.id}
    teams = list(getattr(viewer, "team_ids", ()) or ())
    if scope == "team" and teams:
        people |= set(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id.in_(teams))))
    return people


def _segments(session: Session, viewer: Any, root_id: int, period: Period) -> list[Segment]:
    """The period's segments under ``root_id``; for a viewer whose scope is "everyone under me", also cut
    where that scope changes, since each segment is read as the scope stood then."""
    watcher = viewer.id if getattr(viewer, "visibility", None) == "under" else None
    links = load_links(session, period.start, period.end)
    return segments(links, root_id, period.start, period.end, watcher=watcher)


def _values(session: Session, info: MetricInfo, viewer: Any, owners: Sequence[int], start: dt.date, end: dt.date,
            on: dt.date) -> dict[int, tuple[float, float]]:  # fmt: skip
    """One grouped ``values`` call for ``owners`` over ``[start, end)`` with the viewer's scope as of ``on``
    (nothing when the plugin is off)."""
    if info.metric is None or not owners:
        return {}
    first, after = company_settings(session).utc_range(start, end)
    return info.metric.values(session, AsOf(viewer, on), list(owners), first, after)


def _steady(pieces: Sequence[Segment]) -> dict[int, Path]:
    """The people whose place is the same on every day of the period (same path from the root, and the same
    side of the viewer's scope): their figures need one ``values`` call over the whole period."""
    first, rest = pieces[0], pieces[1:]
    return {user: path for user, path in first.tree.paths.items()
            if all(piece.tree.paths.get(user) == path and (user in piece.watched) == (user in first.watched)
                   for piece in rest)}  # fmt: skip


def _sums(session: Session, info: MetricInfo, viewer: Any, pieces: Sequence[Segment]) -> dict[Path, _Sums]:
    """Every place in the trees with what it adds up to: in each segment, the person's own figures plus
    those of everyone under them then.

    Figures add up over time, so the people whose place never changes (everyone, in a quiet period) are read
    in one ``values`` call over the whole period, at whole-month boundaries where a metric keeps monthly sums;
    only those who moved are read segment by segment, in one call per segment for all of them."""
    found: dict[Path, _Sums] = {}
    for piece in pieces:
        for path in piece.tree.paths.values():
            found.setdefault(path, _Sums()).days.append((piece.start, piece.end))
    steady = _steady(pieces)
    whole = _values(session, info, viewer, list(steady), pieces[0].start, pieces[-1].end, pieces[-1].last)
    for user, path in steady.items():
        _add(found, path, whole.get(user))
    for piece in pieces:
        moved = [user for user in piece.tree.order if user not in steady]
        values = _values(session, info, viewer, moved, piece.start, piece.end, piece.last)
        for user in moved:
            _add(found, piece.tree.paths[user], values.get(user))
    return found


def _add(found: dict[Path, _Sums], path: Path, figures: tuple[float, float] | None) -> None:
    """A person's figures into their own place and every place above it."""
    if not figures:
        return
    actual, in_progress = figures
    found[path].own_actual += actual
    for depth in range(1, len(path) + 1):
        place = found[path[:depth]]
        place.actual += actual
        place.in_progress += in_progress


def _plans(session: Session, metric_key: str, period: Period, people: Iterable[int]) -> dict[int, PlanRef]:
    """The plans of ``people`` for the metric and period, in one query."""
    owners = list(people)
    query = select(Plan.owner_user_id, Plan.id, Plan.target, Plan.stretch, Plan.version, Plan.method).where(
        Plan.metric_key == metric_key, Plan.period_kind == period.kind, Plan.period_start == period.start,
        Plan.owner_user_id.in_(owners),
    )  # fmt: skip
    return {row.owner_user_id: PlanRef(id=row.id, target=row.target, stretch=row.stretch, version=row.version,
                                       method=row.method) for row in session.execute(query)}  # fmt: skip


def _names(session: Session, people: Iterable[int]) -> dict[int, str]:
    query = select(User.id, User.display_name).where(User.id.in_(list(people)))
    return {user_id: name for user_id, name in session.execute(query)}


def _spans(days: Sequence[tuple[dt.date, dt.date]]) -> tuple[Span, ...]:
    """Segment ranges joined where one ends the day the next begins."""
    joined: list[list[dt.date]] = []
    for start, end in sorted(days):
        if joined and joined[-1][1] == start:
            joined[-1][1] = end
        else:
            joined.append([start, end])
    return tuple(Span(start, end) for start, end in joined)

"""What planning computes and every view shows: a plan's figures, its pace and its status, and the nodes of
a team tree. Plain data: :mod:`.progress` fills it, the pages and panels read it.

Colours follow the status everywhere (badges, tree rows, chart bars): met and on track green, behind amber,
off track and missed red, not started and no target grey, unavailable (the metric's plugin is off) muted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from voronka.core.i18n import gettext as _

MET, ON_TRACK, BEHIND, OFF_TRACK, MISSED = "met", "on_track", "behind", "off_track", "missed"
NOT_STARTED, NO_TARGET, UNAVAILABLE = "not_started", "no_target", "unavailable"
STATUSES = (MET, ON_TRACK, BEHIND, OFF_TRACK, MISSED, NOT_STARTED, NO_TARGET, UNAVAILABLE)

BEHIND_SHARE = 0.8
"""Under pace but at least this share of it is "behind" (amber); less is "off track" (red)."""


def status_of(target: int | None, actual: float, expected: float, *, available: bool = True,
              ended: bool = False) -> str:  # fmt: skip
    """The status of ``actual`` against ``target`` when ``expected`` (0–1) of the period has passed;
    ``ended``: the period is over (on its last day deals still close, so it is not "missed" yet)."""
    if not available:
        return UNAVAILABLE
    if target is None:
        return NO_TARGET
    if actual >= target:
        return MET
    if ended:
        return MISSED
    if expected <= 0:
        return NOT_STARTED
    share = actual / target if target else 1.0
    if share >= expected:
        return ON_TRACK
    return BEHIND if share >= expected * BEHIND_SHARE else OFF_TRACK


def status_label(status: str) -> str:
    return {
        MET: _("Met"), ON_TRACK: _("On track"), BEHIND: _("Behind"), OFF_TRACK: _("Off track"),
        MISSED: _("Missed"), NOT_STARTED: _("Not started"), NO_TARGET: _("No target"),
        UNAVAILABLE: _("Unavailable"),
    }.get(status, status)  # fmt: skip


@dataclass(frozen=True)
class Figures:
    """One plan's (or one tree node's) numbers for a period, in the metric's unit (money: minor units of the
    base currency). ``expected`` is the share of the period that has passed (the pace), 0.0–1.0."""

    target: int | None
    stretch: int | None
    actual: float
    in_progress: float
    expected: float
    status: str

    ended: bool = False
    """The period is over: nothing is in progress for it any more, the projection is the actual."""

    @property
    def projection(self) -> float:
        """Where the period should end: the actual plus what is in progress for it (for revenue, the
        weighted pipeline expected to close in the period); for a past period, the actual."""
        return self.actual if self.ended else self.actual + self.in_progress

    @property
    def percent(self) -> float | None:
        return _percent(self.actual, self.target)

    @property
    def projected_percent(self) -> float | None:
        return _percent(self.projection, self.target)

    @property
    def pace_percent(self) -> float:
        """ "By today you should be at 45%"."""
        return self.expected * 100

    @property
    def should_be(self) -> float | None:
        """The actual the pace asks for by today."""
        return None if self.target is None else self.target * self.expected


def _percent(value: float, target: int | None) -> float | None:
    if not target:
        return None
    return value * 100 / target


@dataclass(frozen=True)
class PlanRef:
    """The plan behind a figure (None on a node with no plan)."""

    id: int
    target: int
    stretch: int | None
    version: int
    method: str


@dataclass(frozen=True)
class Span:
    """``[start, end)`` within the period: when a person reported to the manager above them in a tree."""

    start: dt.date
    end: dt.date


@dataclass
class TeamNode:
    """A person in a team tree for one metric and period.

    ``figures`` cover the person and everyone under them, counted only for the days (``spans``) they
    reported to this node's parent (the root: the whole period). ``own_actual`` is the part they made
    themselves. A person who changed manager mid-period appears under each manager, each with the days they
    reported there (``partial``), so both team views show them and the common manager above counts them
    once. ``children_target`` is the sum of the children's plan targets (None when no child has a plan).
    """

    user_id: int
    name: str
    plan: PlanRef | None
    figures: Figures
    own_actual: float = 0.0
    spans: tuple[Span, ...] = ()
    partial: bool = False
    children: list[TeamNode] = field(default_factory=list)
    children_target: int | None = None

    @property
    def mismatch(self) -> int | None:
        """How far the children's targets are from this plan's (children minus parent), or None when they
        add up or one side has no targets."""
        if self.plan is None or self.children_target is None or self.children_target == self.plan.target:
            return None
        return self.children_target - self.plan.target

    def walk(self) -> list[TeamNode]:
        """This node and every node below it, depth first."""
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found

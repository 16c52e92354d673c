"""The filters the board, the deal list and the forecast share: pipeline, whose deals (mine, a user's, a
team's queue, everyone under me, everything I may see), close period, status and a name prefix.

A filter is read from a query string (so every filtered view is a link that can be shared) by
:func:`parse`, which never fails: a junk value falls back to the default and is reported in ``problems``.
:meth:`DealFilter.clauses` turns it into WHERE clauses that always include the viewer's visibility.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, case, or_, select
from sqlalchemy.orm import Session

from voronka.core.company import CompanySettings, company_settings
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.models import ManagerLink, Team, TeamMember, User
from voronka.core.search_keys import prefix_filter
from voronka.core.security.visibility import link_valid_on, under_query, visible

from .models import LOST, OPEN, WON, Opportunity
from .stages import catalogue

OWNERS = ("mine", "under", "all")
"""Fixed owner choices; a user is ``u:<id>``, a team's queue ``t:<id>``."""
PERIODS = {
    "": N_("Any close date"),
    "overdue": N_("Overdue"),
    "this_month": N_("This month"),
    "next_month": N_("Next month"),
    "this_quarter": N_("This quarter"),
    "next_quarter": N_("Next quarter"),
    "this_year": N_("This fiscal year"),
    "custom": N_("Between dates"),
}
STATUSES = {OPEN: N_("Open"), WON: N_("Won"), LOST: N_("Lost"), "all": N_("All")}


@dataclass(frozen=True)
class DealFilter:
    pipeline_id: int | None = None
    owner: str = "mine"
    period: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    """``[start, end)`` of the close period, resolved from ``period`` (custom: as typed, end inclusive + 1)."""
    status: str = OPEN
    query: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)
    customer_id: int | None = None
    """One customer's deals (the customer card's "more deals" link)."""

    def clauses(self, viewer: Any, today: dt.date, *, owner: Any = None) -> list[ColumnElement[bool]]:
        """WHERE clauses on :class:`Opportunity`: live, visible to ``viewer``, and as filtered (``owner``:
        this owner condition instead of the filter's, see :meth:`branches`)."""
        found: list[ColumnElement[bool]] = [Opportunity.deleted_at.is_(None), visible(Opportunity, viewer)]
        if self.pipeline_id is not None:
            found.append(Opportunity.pipeline_id == self.pipeline_id)
        if self.status != "all":
            found.append(Opportunity.status == self.status)
        found.extend(self._owner(viewer, today) if owner is None else [owner])
        if self.customer_id is not None:
            found.append(Opportunity.customer_id == self.customer_id)
        # One owner's (or queue's) deals are a few thousand rows of the board indexes: keep the close period
        # and the name prefix out of the planners' index choice (a CASE), or they scan every owner's deals
        # closing this quarter or named "Ser…" (SQLite at a million deals: 290 and 185 ms instead of ~40).
        narrow = self.owner == "mine" or self.owner.startswith(("u:", "t:"))
        if self.start is not None or self.end is not None:
            found.append(_steer(self._closing(self.start, self.end, self.status), narrow))
        if self.query:
            name = prefix_filter(Opportunity.name_key, self.query)
            if name is not None:
                found.append(_steer(name, narrow))
        return found

    def branches(self, viewer: Any, today: dt.date) -> list[list[ColumnElement[bool]]]:
        """The filter as WHERE clauses of disjoint parts whose union is :meth:`clauses`: "mine" with team
        queues is the viewer's own deals, then the queues' deals not the viewer's. Each part is a range of
        one owner index (owner, status, pipeline, ...); behind one OR, SQLite's planner reads every open deal
        of the pipeline instead (300,000 rows at a million deals: a board took 1.2 s)."""
        teams = sorted(getattr(viewer, "team_ids", ()) or ())
        if self.owner != "mine" or not teams:
            return [self.clauses(viewer, today)]
        own = Opportunity.owner_user_id == viewer.id
        queues = and_(Opportunity.owner_team_id.in_(teams),
                      or_(Opportunity.owner_user_id.is_(None), Opportunity.owner_user_id != viewer.id))  # fmt: skip
        return [self.clauses(viewer, today, owner=own), self.clauses(viewer, today, owner=queues)]

    def _owner(self, viewer: Any, today: dt.date) -> list[ColumnElement[bool]]:
        if self.owner == "mine":
            teams = list(getattr(viewer, "team_ids", ()) or ())
            mine = Opportunity.owner_user_id == viewer.id
            return [or_(mine, Opportunity.owner_team_id.in_(teams)) if teams else mine]
        if self.owner == "under":
            team = Opportunity.owner_user_id.in_(_under(viewer.id, today))
            return [or_(Opportunity.owner_user_id == viewer.id, team)]
        prefix, _sep, number = self.owner.partition(":")
        if prefix == "u":
            return [Opportunity.owner_user_id == int(number)]
        if prefix == "t":
            return [Opportunity.owner_team_id == int(number)]
        return []

    @staticmethod
    def _closing(start: dt.date | None, end: dt.date | None, status: str = "all") -> ColumnElement[bool]:
        """An open deal by its expected close date, a closed one by the day it closed. With one status only
        that branch: the planners cannot drop the other themselves, and the OR made them scan a date index
        over every owner (a board's period filter: 1.9 s at a million deals)."""

        def within(column: Any) -> ColumnElement[bool]:
            parts = [column.is_not(None)]
            if start is not None:
                parts.append(column >= start)
            if end is not None:
                parts.append(column < end)
            return and_(*parts)

        if status == OPEN:
            return within(Opportunity.expected_close)
        if status in (WON, LOST):
            return within(Opportunity.closed_on)
        return or_(
            and_(Opportunity.status == OPEN, within(Opportunity.expected_close)),
            and_(Opportunity.status != OPEN, within(Opportunity.closed_on)),
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """The query-string values of this filter (with ``changes``), defaults left out."""
        picked = replace(self, **changes) if changes else self
        values = {"pipeline": str(picked.pipeline_id or ""), "owner": picked.owner, "period": picked.period,
                  "status": picked.status, "q": picked.query, "customer": str(picked.customer_id or "")}  # fmt: skip
        if picked.period == "custom":
            values["from"] = picked.start.isoformat() if picked.start else ""
            values["to"] = (picked.end - dt.timedelta(days=1)).isoformat() if picked.end else ""
        defaults = {"owner": "mine", "status": OPEN}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}

    def query_string(self, **changes: Any) -> str:
        return urlencode(self.params(**changes))


def _steer(condition: ColumnElement[bool], narrow: bool) -> ColumnElement[bool]:
    """``condition`` as it is, or (``narrow``) behind a CASE no index answers, so the owner's index is used."""
    return case((condition, 1), else_=0) == 1 if narrow else condition


@functools.lru_cache(maxsize=1024)
def _under(manager_id: int, on: dt.date) -> Select[Any]:
    """Ids of everyone under ``manager_id`` on ``on`` (as core's ``under_query``), in a CTE of its own name: a
    manager's visibility filter already holds core's ``under_tree``, and one statement cannot hold two
    unrelated CTEs of one name."""
    base = select(ManagerLink.user_id.label("user_id")).where(ManagerLink.manager_id == manager_id,
                                                              link_valid_on(on))  # fmt: skip
    tree = base.cte("owner_under_tree", recursive=True)
    step = select(ManagerLink.user_id).join(tree, ManagerLink.manager_id == tree.c.user_id).where(link_valid_on(on))
    return select(tree.union(step).c.user_id)


def period_bounds(settings: CompanySettings, period: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """``[start, end)`` of a named close period in the company's calendar (fiscal quarters and year)."""
    if period == "overdue":
        return None, today
    if period in ("this_month", "next_month"):
        start = today.replace(day=1)
        if period == "next_month":
            start = (start + dt.timedelta(days=32)).replace(day=1)
        return start, (start + dt.timedelta(days=32)).replace(day=1)
    if period in ("this_quarter", "next_quarter"):
        start, end = settings.fiscal_quarter_bounds(today)
        return (start, end) if period == "this_quarter" else settings.fiscal_quarter_bounds(end)
    if period == "this_year":
        return settings.fiscal_year_bounds(today)
    return None, None


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip()) if raw and raw.strip() else None
    except ValueError:
        return None


def parse(session: Session, viewer: Any, params: Mapping[str, str], *, default_owner: str = "mine") -> DealFilter:
    """The filter a query string asks for; a junk value falls back to the default, with a message."""
    problems: list[str] = []
    book = catalogue(session)
    pipeline_id = parse_id(params.get("pipeline")) if params.get("pipeline") else None
    if params.get("pipeline") and (pipeline_id is None or book.pipeline(pipeline_id) is None):
        problems.append(_("That pipeline does not exist; showing the default one."))
        pipeline_id = None
    owner = (params.get("owner") or default_owner).strip()
    if owner not in OWNERS and not _known_owner(session, owner):
        problems.append(_("That owner does not exist; showing your deals."))
        owner = "mine"
    status = params.get("status") or OPEN
    if status not in STATUSES:
        problems.append(_("Unknown status; showing open deals."))
        status = OPEN
    period = params.get("period") or ""
    settings = company_settings(session)
    today = settings.today()
    start = end = None
    if period == "custom":
        start, last = _date(params.get("from")), _date(params.get("to"))
        if (params.get("from") and start is None) or (params.get("to") and last is None):
            problems.append(_("Write dates as YYYY-MM-DD."))
        end = last + dt.timedelta(days=1) if last else None
        if start and end and end <= start:
            problems.append(_("The period ends before it starts; showing any close date."))
            start = end = None
    elif period in PERIODS:
        start, end = period_bounds(settings, period, today)
    else:
        problems.append(_("Unknown period; showing any close date."))
        period = ""
    query = (params.get("q") or "").strip()[:100]
    customer_id = parse_id(params.get("customer")) if params.get("customer") else None
    if params.get("customer") and customer_id is None:
        problems.append(_("That customer does not exist; showing every customer's deals."))
    return DealFilter(pipeline_id, owner, period, start, end, status, query, tuple(problems), customer_id)


def _known_owner(session: Session, owner: str) -> bool:
    prefix, sep, number = owner.partition(":")
    value = parse_id(number) if sep else None
    if value is None or prefix not in ("u", "t"):
        return False
    query = select(User.id).where(User.id == value) if prefix == "u" else select(Team.id).where(Team.id == value)
    return session.scalar(query) is not None


def owner_options(session: Session, viewer: Any) -> list[tuple[str, str]]:
    """What the owner picker offers: fixed choices, the viewer's teams' queues, then users they may see."""
    options = [("mine", _("My deals")), ("under", _("Everyone under me")), ("all", _("Everything I may see"))]
    teams = list(getattr(viewer, "team_ids", ()) or ())
    if teams:
        options.extend((f"t:{tid}", _("Queue: %(team)s") % {"team": name})
                       for tid, name in session.execute(select(Team.id, Team.name).where(Team.id.in_(teams))
                                                        .order_by(Team.name)))  # fmt: skip
    users = select(User.id, User.display_name).where(User.active.is_(True)).order_by(User.display_name).limit(500)
    if viewer.visibility == "team":
        users = users.where(User.id.in_(select(TeamMember.user_id).where(TeamMember.team_id.in_(teams))))
    elif viewer.visibility == "under":
        users = users.where(User.id.in_(under_query(viewer.id, dt.date.today(), include_self=True)))
    elif viewer.visibility != "all":
        users = users.where(User.id == viewer.id)
    options.extend((f"u:{uid}", name) for uid, name in session.execute(users))
    return options

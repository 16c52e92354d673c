"""A plan's rules, held on every write path (forms, distribution, imports, the API) through ``before_save``.

A target is a whole number of the metric's unit, zero or more, and a stretch target is empty or at least
the target; the period is exactly one fiscal month, quarter or year; the owner is a person (a queue has no
plan); the metric is one an enabled plugin measures when the plan is made or its metric changes (a plan whose
plugin was switched off later keeps working: its target can still be edited); a person has one plan per
metric for any stretch of time (no month inside a quarter that already has one).

Who may set a target: the system (seeding) always; an administrator (``core.admin``) for
anyone; otherwise a holder of ``planning.manage`` for the people who reported to them, at any depth, on some
day of the period (the hierarchy as it was then), and for themselves only at the top of the tree, when
nobody above them had them during the period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from voronka.core.company import company_settings
from voronka.core.db import runtime_of
from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.models import ManagerLink, User
from voronka.core.security.users import load_user

from . import catalogue, periods, segments
from .kinds import MANAGE
from .models import BY_HAND, METHODS, PERIOD_KINDS, Plan

MAX_TARGET = 10**15
"""Ten trillion units (minor units of money): more is a typing slip, and sums of many plans stay in 64 bits."""
OPEN_END = dt.date.max


def before_save(session: Session, plan: Plan, changes: dict[str, Any], actor_id: int | None) -> None:
    """Refuse a plan that breaks a rule, with a message per field the form can show next to its input."""
    with session.no_autoflush:  # the queries below must not write the plan before it is checked
        _check(session, plan, changes, actor_id)


def _check(session: Session, plan: Plan, changes: dict[str, Any], actor_id: int | None) -> None:
    errors: dict[str, str] = {}
    creating = plan.id is None
    if plan.method is None:  # the column default applies at the flush; the rules see it now
        plan.method = BY_HAND
    if plan.note is None:
        plan.note = ""
    _check_numbers(plan, errors)
    if plan.method not in METHODS:
        errors["method"] = _("Choose how the target was set: by hand, evenly or by last period's share.")
    period = _check_period(session, plan, errors)
    owner_name = _check_owner(session, plan, errors)
    if creating or "metric_key" in changes:
        _check_metric(session, plan, errors)
    if errors:
        raise ValidationError(errors)
    assert period is not None and owner_name is not None
    clash = _overlapping(session, plan, period)
    if clash is not None:
        existing = periods.Period(clash.period_start, clash.period_end, clash.period_kind)
        raise ValidationError({"period": _(
            "%(person)s already has a plan for this metric for %(period)s (%(start)s – %(end)s), which overlaps "
            "this period; change that plan or choose another period."
        ) % {"person": owner_name, "period": existing.label(company_settings(session)),
             "start": existing.start.isoformat(), "end": existing.last.isoformat()}})  # fmt: skip
    if actor_id is not None:
        problem = plan_refusal(session, actor_id, plan.owner_user_id, period, owner_name)
        if problem:
            raise ValidationError({"owner_user_id": problem})


def _check_numbers(plan: Plan, errors: dict[str, str]) -> None:
    target, stretch = plan.target, plan.stretch
    if target is None or not isinstance(target, int) or isinstance(target, bool):
        errors["target"] = _("Enter the target as a whole number of zero or more.")
    elif target < 0:
        errors["target"] = _("A target cannot be negative; enter zero or more.")
    elif target > MAX_TARGET:
        errors["target"] = _("The target is too large; check the number of digits.")
    if stretch is None:
        return
    if not isinstance(stretch, int) or isinstance(stretch, bool):
        errors["stretch"] = _("Enter the stretch target as a whole number, or leave it empty.")
    elif stretch > MAX_TARGET:
        errors["stretch"] = _("The stretch target is too large; check the number of digits.")
    elif "target" not in errors and stretch < target:
        errors["stretch"] = _("A stretch target is at least the target; raise it or leave it empty.")


def _check_period(session: Session, plan: Plan, errors: dict[str, str]) -> periods.Period | None:
    kind, start, end = plan.period_kind, plan.period_start, plan.period_end
    if kind not in PERIOD_KINDS:
        errors["period"] = _("Choose a month, a quarter or a year.")
        return None
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        errors["period"] = _("Choose the period's start and end dates.")
        return None
    period = periods.containing(company_settings(session), kind, start)
    if (period.start, period.end) != (start, end):
        errors["period"] = _("A %(kind)s runs from %(start)s to %(last)s; choose a whole fiscal %(kind)s.") % {
            "kind": periods.kind_label(kind), "start": period.start.isoformat(), "last": period.last.isoformat()
        }  # fmt: skip
        return None
    return period


def _check_owner(session: Session, plan: Plan, errors: dict[str, str]) -> str | None:
    if plan.owner_team_id is not None:
        errors["owner_user_id"] = _("A plan belongs to a person, not to a team or a queue; choose a person.")
        return None
    if plan.owner_user_id is None:
        errors["owner_user_id"] = _("Choose the person this plan is for.")
        return None
    name = session.scalar(select(User.display_name).where(User.id == plan.owner_user_id))
    if name is None:
        errors["owner_user_id"] = _("This person does not exist; choose someone from the list.")
    return name


def _check_metric(session: Session, plan: Plan, errors: dict[str, str]) -> None:
    if not plan.metric_key:
        errors["metric_key"] = _("Choose what the plan measures.")
        return
    runtime = runtime_of(session)
    if runtime is None:  # a session made outside an app (a script) has no plugins to ask
        return
    info = catalogue.describe(runtime.host, plan.metric_key)
    plan.unit = info.unit
    if not info.available:
        errors["metric_key"] = _("“%(key)s” cannot be planned now: %(problem)s Choose a metric from the list.") % {
            "key": plan.metric_key, "problem": info.problem
        }  # fmt: skip


def _overlapping(session: Session, plan: Plan, period: periods.Period) -> Plan | None:
    query = select(Plan).where(
        Plan.owner_user_id == plan.owner_user_id,
        Plan.metric_key == plan.metric_key,
        Plan.period_start < period.end,
        Plan.period_end > period.start,
    )
    if plan.id is not None:
        query = query.where(Plan.id != plan.id)
    return session.scalars(query.order_by(Plan.period_start).limit(1)).first()


# -- who may plan for whom ---------------------------------------------------------------------------------


def plan_refusal(session: Session, actor_id: int, owner_id: int, period: periods.Period,
                 owner_name: str | None = None) -> str:  # fmt: skip
    """Why ``actor_id`` may not set ``owner_id``'s target for ``period`` ("" when they may)."""
    actor = load_user(session, actor_id)
    if actor is None:
        return _("Your account is not active, so you cannot set targets.")
    if actor.is_admin:  # an administrator; the "all" visibility scope alone grants no right to set targets
        return ""
    if not actor.can(MANAGE):
        return _("Setting targets needs the “Set targets” permission; ask an administrator.")
    if owner_id == actor_id:
        if has_manager_during(session, actor_id, period):
            return _("Your own target for this period is set by your manager.")
        return ""
    if owner_id in under_during(session, actor_id, period.start, period.end):
        return ""
    name = owner_name or session.scalar(select(User.display_name).where(User.id == owner_id)) or "?"
    return _("%(person)s did not report to you during this period, so their target is not yours to set.") % {
        "person": name
    }


def may_plan(session: Session, actor: Any, owner_id: int, period: periods.Period) -> bool:
    """Whether ``actor`` (a user, their id or None for the system) may set ``owner_id``'s target."""
    actor_id = actor if isinstance(actor, int) or actor is None else getattr(actor, "id", None)
    return actor_id is None or not plan_refusal(session, actor_id, owner_id, period)


def has_manager_during(session: Session, user_id: int, period: periods.Period) -> bool:
    return (
        session.scalar(
            select(ManagerLink.id).where(ManagerLink.user_id == user_id, *_overlap(period.start, period.end)).limit(1)
        )
        is not None
    )


def _overlap(start: dt.date, end: dt.date) -> list[Any]:
    return [ManagerLink.valid_from < end, or_(ManagerLink.valid_to.is_(None), ManagerLink.valid_to > start)]


def links_during(session: Session, start: dt.date, end: dt.date) -> list[tuple[int, int, dt.date, dt.date]]:
    """Every manager link overlapping ``[start, end)``, clipped to it: (user, manager, from, to)."""
    rows = session.execute(
        select(ManagerLink.user_id, ManagerLink.manager_id, ManagerLink.valid_from, ManagerLink.valid_to).where(
            *_overlap(start, end)
        )
    )
    return [(user, boss, max(a, start), min(b or OPEN_END, end)) for user, boss, a, b in rows]


def under_during(session: Session, manager_id: int, start: dt.date, end: dt.date) -> set[int]:
    """Everyone who reported to ``manager_id``, at any depth, on at least one day of ``[start, end)``."""
    return segments.under_during(segments.load_links(session, start, end), manager_id, start, end)

"""Setting targets and handing them down: one person's plan, and a manager's plan split among their team.

Every plan is written through core's write path (:func:`voronka.core.writes.save`), so each target change
has its audit entry, the rules of :mod:`.rules` hold and a form opened before someone else saved is refused
(``expected_version``). The caller owns the transaction: a distribution is all or nothing.

A split is exact in the metric's unit: the children's targets add up to the parent's to the last kopiyka
or deal. What cannot be split evenly goes one unit at a time to the people first in name order; a split by
last period's share gives the remainder to the largest fractions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.company import company_settings
from voronka.core.db import runtime_of
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.models import User
from voronka.core.security.users import load_user
from voronka.core.writes import delete, save

from . import periods, progress, rules
from .figures import Span
from .models import BY_HAND, BY_SHARE, EVENLY, METHODS, Plan

NO_PLAN = 0
"""The ``expected_version`` of a form that was opened when the person had no plan yet."""


@dataclass(frozen=True)
class Report:
    """Someone who reported directly to a manager during a period, and on which days (``spans``)."""

    user_id: int
    name: str
    spans: tuple[Span, ...]
    partial: bool = False
    """True when they reported to the manager on only part of the period."""


class SystemViewer:
    """Who reads figures for the system (seeding, a script): sees everything, like an administrator."""

    id = None
    is_authenticated = True
    visibility = "all"
    team_ids: frozenset[int] = frozenset()
    permissions: frozenset[str] = frozenset()
    is_admin = True

    def can(self, permission: str) -> bool:
        return True


SYSTEM = SystemViewer()


def _kind(session: Session) -> Any:
    runtime = runtime_of(session)
    if runtime is None:
        raise RuntimeError("planning writes need a session of the app (core.db.runtime_of)")
    return runtime.record_kinds["plan"]


def period_of(plan: Plan) -> periods.Period:
    return periods.Period(plan.period_start, plan.period_end, plan.period_kind)


def find_plan(session: Session, owner_id: int, metric_key: str, period: periods.Period) -> Plan | None:
    return session.scalars(
        select(Plan).where(
            Plan.owner_user_id == owner_id, Plan.metric_key == metric_key, Plan.period_start == period.start,
            Plan.period_end == period.end,
        )
    ).first()  # fmt: skip


def set_target(session: Session, actor: Any, owner_id: int, metric_key: str, period: periods.Period, target: int,
               *, stretch: int | None = None, note: str | None = None, method: str = BY_HAND,
               expected_version: int | None = None) -> Plan:  # fmt: skip
    """Create or update ``owner_id``'s plan for ``metric_key`` and ``period``.

    ``expected_version`` is what the form saw: the plan's version, :data:`NO_PLAN` when there was none, or
    None to skip the check. A plan made, changed or deleted since raises :class:`StaleRecord`.
    """
    existing = find_plan(session, owner_id, metric_key, period)
    values: dict[str, Any] = {"target": target, "stretch": stretch, "method": method}
    if note is not None:
        values["note"] = note
    if existing is None:
        if expected_version not in (None, NO_PLAN):
            raise StaleRecord(_("Someone deleted this plan after you opened the form. Reload to see the team as it "
                                "is now, then apply your targets."))  # fmt: skip
        values.update(owner_user_id=owner_id, owner_team_id=None, metric_key=metric_key, period_kind=period.kind,
                      period_start=period.start, period_end=period.end)  # fmt: skip
        return save(session, _kind(session), None, values, actor=actor)
    if expected_version == NO_PLAN:
        raise StaleRecord(_("Someone set this target after you opened the form. Reload to see their changes, then "
                            "apply yours."))  # fmt: skip
    return save(session, _kind(session), existing.id, values, actor=actor, expected_version=expected_version)


def save_plan(session: Session, actor: Any, plan_id: int, values: Mapping[str, Any], *,
              expected_version: int | None = None) -> Plan:  # fmt: skip
    """Change an existing plan's target, stretch or note (the plan page's form)."""
    return save(session, _kind(session), plan_id, dict(values), actor=actor, expected_version=expected_version)


def delete_plan(session: Session, actor: Any, plan_id: int) -> None:
    """Delete a plan (for good: the audit log keeps what it was); only for someone who may set it."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise ValidationError(_("This plan no longer exists; someone may have deleted it."))
    actor_id = actor if isinstance(actor, int) or actor is None else getattr(actor, "id", None)
    if actor_id is not None:
        problem = rules.plan_refusal(session, actor_id, plan.owner_user_id, period_of(plan))
        if problem:
            raise ValidationError({"owner_user_id": problem})
    delete(session, _kind(session), plan_id, actor=actor)


# -- the hierarchy of a period ------------------------------------------------------------------------------


def direct_reports(session: Session, user_id: int, period: periods.Period) -> list[Report]:
    """Who reported directly to ``user_id`` on at least one day of ``period``, with those days, by name."""
    return teams_during(session, period, manager_id=user_id).get(user_id, [])


def teams_during(session: Session, period: periods.Period, *, manager_id: int | None = None) -> dict[int, list[Report]]:
    """Every manager's direct reports during ``period`` (or only ``manager_id``'s), in two queries."""
    spans: dict[int, dict[int, list[Span]]] = {}
    for member, boss, start, end in rules.links_during(session, period.start, period.end):
        if start < end and manager_id in (None, boss):
            spans.setdefault(boss, {}).setdefault(member, []).append(Span(start, end))
    people = {member for team in spans.values() for member in team}
    if not people:
        return {}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(list(people)))).all())
    whole = [(period.start, period.end)]
    return {
        boss: sorted((Report(member, names.get(member, "?"), tuple(sorted(days)),
                             partial=[(d.start, d.end) for d in days] != whole) for member, days in team.items()),
                     key=lambda r: (r.name.casefold(), r.user_id))
        for boss, team in spans.items()
    }  # fmt: skip


def top_of_tree(session: Session, period: periods.Period) -> int | None:
    """The person at the top of the largest tree during ``period``: nobody above them, most people below."""
    links = rules.links_during(session, period.start, period.end)
    has_manager = {user for user, _boss, _a, _b in links}
    tops = {boss for _user, boss, _a, _b in links} - has_manager
    if not tops:
        return None
    return max(sorted(tops), key=lambda top: len(rules.under_during(session, top, period.start, period.end)))


def managers_during(session: Session, period: periods.Period) -> list[tuple[int, str]]:
    """(id, name) of everyone who had someone reporting to them during ``period``, by name."""
    bosses = {boss for _user, boss, _a, _b in rules.links_during(session, period.start, period.end)}
    if not bosses:
        return []
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(list(bosses)))).all()
    return sorted(((r.id, r.display_name) for r in rows), key=lambda r: (r[1].casefold(), r[0]))


# -- splitting a target ----------------------------------------------------------------------------------------


def even_split(total: int, count: int) -> list[int]:
    """``total`` in ``count`` whole parts that add up to it; the first ``total % count`` get one more."""
    if count <= 0:
        return []
    base, extra = divmod(total, count)
    return [base + (1 if index < extra else 0) for index in range(count)]


def share_split(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` in whole parts proportional to ``weights`` (largest remainders get the units left over, ties
    in order), adding up to ``total`` exactly. All weights zero: an even split."""
    clean = [max(float(w), 0.0) for w in weights]
    whole = sum(clean)
    if not clean:
        return []
    if whole <= 0:
        return even_split(total, len(clean))
    exact = [total * w / whole for w in clean]
    parts = [int(x) for x in exact]
    left = total - sum(parts)
    order = sorted(range(len(clean)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in order[: max(left, 0)]:
        parts[index] += 1
    return parts


def stretch_split(stretch: int | None, targets: Sequence[int]) -> list[int | None]:
    """The parent's stretch target handed down in proportion to the children's targets, never below a
    child's own target (so a split that adds up to the parent's target hands down the stretch exactly)."""
    if stretch is None:
        return [None] * len(targets)
    return [max(part, target) for part, target in zip(share_split(stretch, targets), targets, strict=True)]


def previous_actuals(session: Session, host: Any, viewer: Any, root_id: int, metric_key: str,
                     period: periods.Period) -> dict[int, float]:  # fmt: skip
    """Each direct report's actual (them and everyone under them, for the days they reported to
    ``root_id``) in the period before ``period``: the weights of a split by last period's share."""
    view = progress.team_view(session, host, viewer, root_id, metric_key, periods.previous(period))
    found: dict[int, float] = {}
    for child in view.root.children:
        found[child.user_id] = found.get(child.user_id, 0.0) + float(child.figures.actual or 0)
    return found


def split(session: Session, host: Any, viewer: Any, root_id: int, metric_key: str, period: periods.Period,
          method: str, total: int, reports: Sequence[Report]) -> list[int]:  # fmt: skip
    """``total`` split among ``reports`` (in their order) evenly or by last period's share.

    A split by share with no results at all in the previous period is refused: there is nothing to share by.
    """
    if method == EVENLY:
        return even_split(total, len(reports))
    if method != BY_SHARE:
        raise ValidationError({"method": _("Choose evenly, by last period's share or by hand.")})
    actuals = previous_actuals(session, host, viewer, root_id, metric_key, period)
    weights = [actuals.get(r.user_id, 0.0) for r in reports]
    if sum(max(w, 0.0) for w in weights) <= 0:
        raise ValidationError({"method": _(
            "Nobody in the team has results in %(period)s, so there is no share to split by; distribute evenly "
            "or by hand."
        ) % {"period": periods.previous(period).label(company_settings(session))}})  # fmt: skip
    return share_split(total, weights)


def _viewer(session: Session, actor: Any) -> Any:
    """Whose eyes a split by share reads last period's figures with: the actor's (the system sees all)."""
    if actor is None:
        return SYSTEM
    if isinstance(actor, int):
        return load_user(session, actor) or SYSTEM
    return actor


def read_amounts(reports: Sequence[Report], amounts: Mapping[int, Any] | None) -> list[int]:
    """The typed amounts, one per report, each a whole number of zero or more; errors keyed ``amount_<id>``."""
    amounts = amounts or {}
    errors: dict[str, str] = {}
    found: list[int] = []
    for report in reports:
        value = amounts.get(report.user_id)
        key = f"amount_{report.user_id}"
        if value is None or value == "":
            errors[key] = _("Enter %(person)s's target (zero if none).") % {"person": report.name}
        elif isinstance(value, bool) or not isinstance(value, int):
            errors[key] = _("Enter %(person)s's target as a number.") % {"person": report.name}
        elif value < 0:
            errors[key] = _("A target cannot be negative; enter zero or more.")
        elif value > rules.MAX_TARGET:
            errors[key] = _("The target is too large; check the number of digits.")
        found.append(value if isinstance(value, int) else 0)
    if errors:
        raise ValidationError(errors)
    return found


def distribute(session: Session, host: Any, actor: Any, parent_plan_id: int, method: str,
               amounts: Mapping[int, Any] | None = None,
               versions: Mapping[int, int | None] | None = None) -> dict[int, Plan]:  # fmt: skip
    """Hand the parent plan's target down to everyone who reported directly to its owner during the period:
    ``method`` "even", "share" (by each one's share of the previous period's actual) or "hand" (``amounts``
    by user id). The stretch target goes down in proportion. ``versions`` (by user id) are the versions the
    form saw (:data:`NO_PLAN` for none). Returns the children's plans by user id; the caller's transaction
    makes it all or nothing."""
    parent = session.get(Plan, parent_plan_id)
    if parent is None:
        raise ValidationError(_("This plan no longer exists; someone may have deleted it."))
    if method not in METHODS:
        raise ValidationError({"method": _("Choose evenly, by last period's share or by hand.")})
    period = period_of(parent)
    reports = direct_reports(session, parent.owner_user_id, period)
    if not reports:
        raise ValidationError({"method": _("Nobody reported to this person during %(period)s, so there is no one "
                                           "to distribute the target to.")
                               % {"period": period.label(company_settings(session))}})  # fmt: skip
    if method == BY_HAND:
        targets = read_amounts(reports, amounts)
    else:
        viewer = _viewer(session, actor)
        targets = split(session, host, viewer, parent.owner_user_id, parent.metric_key, period, method,
                        parent.target, reports)  # fmt: skip
    stretches = stretch_split(parent.stretch, targets)
    versions = versions or {}
    made: dict[int, Plan] = {}
    for report, target, stretch in zip(reports, targets, stretches, strict=True):
        try:
            made[report.user_id] = set_target(session, actor, report.user_id, parent.metric_key, period, target,
                                              stretch=stretch, method=method,
                                              expected_version=versions.get(report.user_id))  # fmt: skip
        except ValidationError as exc:
            raise ValidationError({
                (f"amount_{report.user_id}" if key in ("", "target", "stretch", "owner_user_id", "period") else key):
                f"{report.name}: {message}" for key, message in exc.errors.items()
            }) from None  # fmt: skip
    return made

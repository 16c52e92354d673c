"""Demo plans (``voronka demo``): the seeded sales organisation's targets for the previous, current and next
fiscal quarter, for revenue won and deals won (pipeline) and leads qualified (leads), each only when its
plugin is on.

The person at the top of the hierarchy (the sales director) gets about 110% of what the organisation made
in the same quarter a year earlier (or of the quarter before, when the seeded history does not reach a year
back; without any results, a figure per person). The target then goes down the hierarchy of the quarter as
a manager would hand it down: each one's direct reports get it split by their share of the previous
quarter's actual (evenly when the team had none), in whole currency units, so the children always add up
to their parent exactly. Someone who reported to a manager for part of the quarter gets a plan too.
Nothing goes below a zero target.

Rows go in through ``ctx.bulk_insert`` with no audit entries or events, like every plugin's seed (see
:mod:`voronka.core.seeding`). Returns ``{"plans": n}``; ``ctx.ids`` gets ``planning.plans``.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from voronka.core.company import company_settings
from voronka.core.seeding import SeedContext
from voronka.core.types import currency_exponent, utcnow

from . import catalogue, periods, plans, progress
from .figures import TeamNode
from .models import BY_HAND, BY_SHARE, QUARTER, Plan

METRICS = ("pipeline.revenue_won", "pipeline.deals_won", "leads.qualified")
GROWTH = 1.10
"""The top target: this times the same quarter a year earlier."""
HISTORY_SHARE = 0.5
"""A year-earlier figure below this share of the quarter before means the history is incomplete there."""
STRETCH = 1.15
"""The top stretch target: this times the target."""
PER_PERSON = {"money": 400_000, "count": 12}
"""A quarter's target per person below the top (money in whole base-currency units) when there are no
results to start from."""

log = logging.getLogger(__name__)


def seed(ctx: SeedContext) -> dict[str, int]:
    session, host = ctx.session, ctx.host
    if host is None:
        log.warning("planning seed skipped: it needs the plugin host to read the metrics")
        return {}
    if session.scalar(select(func.count()).select_from(Plan)):
        return {"plans": 0}
    settings = company_settings(session)
    current = periods.current(settings, QUARTER)
    quarters = [periods.previous(current), current, periods.shift(current, 1)]
    metrics = [info for key in METRICS if (info := catalogue.describe(host, key)).available]
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for quarter in quarters:
        top = plans.top_of_tree(session, quarter)
        if top is None:
            continue
        teams = plans.teams_during(session, quarter)
        for info in metrics:
            unit = 10 ** currency_exponent(settings.base_currency) if info.is_money else 1
            total = _top_target(session, host, top, info, quarter, unit)
            stretch = math.ceil(total * STRETCH)
            weights = _weights(session, host, top, info.key, periods.previous(quarter))
            for owner, target, stretch_units, method in _hand_down(teams, top, total, stretch, weights):
                rows.append({
                    "owner_user_id": owner, "owner_team_id": None, "metric_key": info.key,
                    "period_kind": quarter.kind, "period_start": quarter.start, "period_end": quarter.end,
                    "target": target * unit, "stretch": stretch_units * unit if stretch_units is not None else None,
                    "method": method, "unit": info.unit, "note": "", "version": 1, "custom": {}, "created_at": now,
                    "updated_at": now,
                })  # fmt: skip
    session.info.pop("planning.seed_views", None)
    ids = ctx.bulk_insert(Plan.__table__, rows, returning_ids=True) if rows else []
    ctx.ids["planning.plans"] = ids
    log.info("planning seeded %s plans", len(ids))
    return {"plans": len(ids)}


def _team_actual(session: Any, host: Any, top: int, key: str, period: periods.Period) -> tuple[float, TeamNode]:
    """The top's tree for one metric and period; each is asked for once per seed (quarters share periods)."""
    cache = session.info.setdefault("planning.seed_views", {})
    if (top, key, period) not in cache:
        view = progress.team_view(session, host, plans.SYSTEM, top, key, period)
        cache[(top, key, period)] = (float(view.root.figures.actual or 0), view.root)
    return cache[(top, key, period)]


def _top_target(session: Any, host: Any, top: int, info: catalogue.MetricInfo, quarter: periods.Period,
                unit: int) -> int:  # fmt: skip
    """The top person's target in whole units: 110% of the same quarter a year earlier; of the quarter before
    when the year-earlier figure is missing or far below it (the seeded history does not reach that far);
    a figure per person in the tree when there are no results at all."""
    year_ago, _root = _team_actual(session, host, top, info.key, periods.shift(quarter, -4))
    before, _root = _team_actual(session, host, top, info.key, periods.previous(quarter))
    base = year_ago if year_ago >= before * HISTORY_SHARE else before
    if base > 0:
        return max(1, round(base * GROWTH / unit))
    people = len(plans.rules.under_during(session, top, quarter.start, quarter.end))
    return PER_PERSON["money" if info.is_money else "count"] * max(people, 1)


def _weights(session: Any, host: Any, top: int, key: str, previous: periods.Period) -> dict[int, dict[int, float]]:
    """Per manager, each direct report's actual in ``previous`` for the days they reported to them: read off
    one tree from the top (a person who appears in it more than once adds up)."""
    _actual, root = _team_actual(session, host, top, key, previous)
    found: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for node in root.walk():
        for child in node.children:
            found[node.user_id][child.user_id] += float(child.figures.actual or 0)
    return found


def _hand_down(teams: dict[int, list[plans.Report]], top: int, total: int, stretch: int,
               weights: dict[int, dict[int, float]]) -> list[tuple[int, int, int | None, str]]:  # fmt: skip
    """(owner, target, stretch, method) for the top and everyone below, each team split by share."""
    found = [(top, total, stretch, BY_HAND)]
    stack = [(top, total, stretch, {top})]
    while stack:
        manager, target, stretch_units, seen = stack.pop()
        if target <= 0:
            continue
        reports = [r for r in teams.get(manager, []) if r.user_id not in seen]
        if not reports:
            continue
        mine = weights.get(manager, {})
        shares = [mine.get(r.user_id, 0.0) for r in reports]
        targets = plans.share_split(target, shares)
        stretches = plans.stretch_split(stretch_units, targets)
        for report, part, part_stretch in zip(reports, targets, stretches, strict=True):
            if part <= 0:  # no share last quarter (a contact-centre team for revenue): no plan, not a zero one
                continue
            found.append((report.user_id, part, part_stretch, BY_SHARE))
            stack.append((report.user_id, part, part_stretch, seen | {report.user_id}))
    return _one_per_person(found)


def _one_per_person(found: list[tuple[int, int, int | None, str]]) -> list[tuple[int, int, int | None, str]]:
    """A person who moved between two managers mid-quarter is handed a part by each: one plan, the sum."""
    merged: dict[int, tuple[int, int | None, str]] = {}
    for owner, target, stretch, method in found:
        if owner in merged:
            old_target, old_stretch, old_method = merged[owner]
            stretch = None if stretch is None or old_stretch is None else stretch + old_stretch
            merged[owner] = (old_target + target, stretch, old_method)
        else:
            merged[owner] = (target, stretch, method)
    return [(owner, *values) for owner, values in merged.items()]

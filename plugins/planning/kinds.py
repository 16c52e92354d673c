"""The record kind planning registers with core: plan. Core's write path gives every target change an audit
entry (what the target was on date D), optimistic concurrency and ``before_save`` (see :mod:`.rules`)."""

from __future__ import annotations

from typing import Any

from voronka.core.records import RecordKind

from .models import Plan

VIEW, MANAGE = "planning.view", "planning.manage"
"""See your plan and, with the "everyone under me" scope, your team's; set and distribute targets."""

PLAN_FIELDS = ("metric_key", "period_kind", "period_start", "period_end", "target", "stretch", "method", "note",
               "owner_user_id", "owner_team_id")  # fmt: skip


def plan_url(plan_id: int) -> str:
    return f"/planning/plans/{plan_id}"


def plan_display(plan: Any) -> str:
    return f"{plan.metric_key} · {plan.period_kind} {plan.period_start.isoformat()}"


PLAN_KIND = RecordKind(
    name="plan",
    label="Plan",
    model=Plan,
    url=plan_url,
    display=plan_display,
    fields=PLAN_FIELDS,
    view_permission=VIEW,
    edit_permission=MANAGE,
)

KINDS = (PLAN_KIND,)

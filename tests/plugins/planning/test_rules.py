"""A plan's rules on core's write path: each refusal with its message, and who may set whose target."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.models import Team
from voronka.core.plugin_state import switch_plugins
from voronka.core.writes import save
from voronka.plugins.planning.models import Plan
from voronka.plugins.planning.periods import Period

from .conftest import Q1_2026

JAN_2026 = Period(dt.date(2026, 1, 1), dt.date(2026, 2, 1), "month")
YEAR_2026 = Period(dt.date(2026, 1, 1), dt.date(2027, 1, 1), "year")


def refusal(planning: Any, username: str = "sales", actor: str = "admin", **values: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        planning.plan(username, values.pop("target", 1000), actor=actor, **values)
    return caught.value.errors


def plans(planning: Any) -> int:
    with planning.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Plan))


def test_a_negative_target_is_refused(planning):
    assert "cannot be negative" in refusal(planning, target=-1)["target"]
    assert plans(planning) == 0


def test_a_stretch_below_the_target_is_refused(planning):
    assert "at least the target" in refusal(planning, target=1000, stretch=999)["stretch"]
    assert planning.plan("sales", 1000, stretch=1000) > 0


def test_a_period_that_is_not_a_fiscal_period_is_refused(planning):
    errors = refusal(planning, period_start=dt.date(2026, 1, 15), period_end=dt.date(2026, 4, 15))
    assert "2026-01-01" in errors["period"] and "2026-03-31" in errors["period"]
    assert "month, a quarter or a year" in refusal(planning, period_kind="week")["period"]


def test_a_queue_has_no_plan(planning):
    with planning.runtime.sessions() as session:
        queue = session.scalar(select(Team.id).where(Team.name == "Inbound sales"))
    assert "not to a team" in refusal(planning, owner_team_id=queue)["owner_user_id"]


def test_an_unknown_metric_is_refused(planning):
    errors = refusal(planning, metric="telephony.calls_made")
    assert "telephony.calls_made" in errors["metric_key"] and "Choose a metric" in errors["metric_key"]


def test_a_plan_stays_editable_when_its_plugin_is_switched_off(planning):
    plan_id = planning.plan("sales", 30, metric="leads.qualified")
    with write_transaction(planning.runtime.sessions) as session:
        switch_plugins(session, planning.host, ["leads"], enable=False)
    kind = planning.runtime.record_kinds["plan"]
    with write_transaction(planning.runtime.sessions) as session:
        assert save(session, kind, plan_id, {"target": 40}, actor=planning.uid("admin")).target == 40
    errors = refusal(planning, "sales2", metric="leads.qualified")
    assert "switched off" in errors["metric_key"]


@pytest.mark.parametrize(("existing", "new", "named"), [
    (Q1_2026, JAN_2026, "Q1 2026"),
    (JAN_2026, Q1_2026, "January 2026"),
    (Q1_2026, YEAR_2026, "Q1 2026"),
    (Q1_2026, Q1_2026, "Q1 2026"),
])  # fmt: skip
def test_overlapping_periods_for_one_person_and_metric_are_refused(planning, existing, new, named):
    planning.plan("sales", 1000, period=existing)
    message = refusal(planning, period_kind=new.kind, period_start=new.start, period_end=new.end)["period"]
    assert named in message and "overlaps" in message
    assert planning.plan("sales", 5, metric="pipeline.deals_won", period=new) > 0  # another metric is fine
    assert planning.plan("sales2", 1000, period=new) > 0  # and another person


def test_moving_a_plan_onto_another_period_is_checked_too(planning):
    planning.plan("sales", 1000, period=JAN_2026)
    feb = planning.plan("sales", 1000, period=Period(dt.date(2026, 2, 1), dt.date(2026, 3, 1), "month"))
    kind = planning.runtime.record_kinds["plan"]
    with pytest.raises(ValidationError) as caught, write_transaction(planning.runtime.sessions) as session:
        save(session, kind, feb, {"period_start": JAN_2026.start, "period_end": JAN_2026.end},
             actor=planning.uid("admin"))  # fmt: skip
    assert "January 2026" in caught.value.errors["period"]


def test_a_manager_plans_for_their_team_and_not_for_others(planning):
    planning.user("outsider", manager="admin")
    assert planning.plan("sales", 1000, actor="manager") > 0
    message = refusal(planning, "outsider", actor="manager")["owner_user_id"]
    assert "Outsider did not report to you" in message


def test_a_manager_plans_for_someone_under_them_at_any_depth(planning):
    planning.user("junior", manager="sales", roles=("sales",))
    assert planning.plan("junior", 100, actor="manager") > 0


def test_someone_who_reported_only_part_of_the_period_counts(planning):
    planning.user("mover", manager="manager")
    planning.move("mover", "admin", dt.date(2026, 2, 1))
    assert planning.plan("mover", 100, actor="manager") > 0  # under the manager in January
    message = refusal(planning, "mover", actor="manager", metric="pipeline.deals_won", period_kind="month",
                      period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 4, 1))["owner_user_id"]  # fmt: skip
    assert "did not report to you" in message


def test_a_manager_sets_their_own_target_only_at_the_top(planning):
    assert "set by your manager" in refusal(planning, "manager", actor="manager")["owner_user_id"]
    planning.user("chief", roles=("manager",))
    assert planning.plan("chief", 1000, actor="chief") > 0


def test_a_sales_user_cannot_set_targets(planning):
    assert "permission" in refusal(planning, "sales", actor="sales")["owner_user_id"]


def test_the_system_and_an_administrator_may_plan_for_anyone(planning):
    planning.user("loner")
    assert planning.plan("loner", 10, actor="admin") > 0
    kind = planning.runtime.record_kinds["plan"]
    values = {"owner_user_id": planning.uid("loner"), "metric_key": "pipeline.deals_won", "period_kind": "quarter",
              "period_start": Q1_2026.start, "period_end": Q1_2026.end, "target": 3}  # fmt: skip
    with write_transaction(planning.runtime.sessions) as session:
        assert save(session, kind, None, values, actor=None).id > 0


def test_every_refusal_leaves_nothing_written(planning):
    for values in ({"target": -5}, {"stretch": 1}, {"metric": "nope.nothing"}, {"period_kind": "decade"}):
        with pytest.raises(ValidationError):
            planning.plan("sales", values.pop("target", 100), **values)
    assert plans(planning) == 0

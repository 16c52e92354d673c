"""The targets service: one person's plan (create, update, stale form) and a manager's plan handed down to
the people who reported to them: evenly, by last period's share, by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.models_records import AuditEntry
from voronka.plugins.planning import plans
from voronka.plugins.planning.models import Plan

from .conftest import Q1_2026


def set_target(planning: Any, username: str, target: int, actor: str = "admin", **kw: Any) -> Plan:
    with write_transaction(planning.runtime.sessions) as session:
        return plans.set_target(session, planning.viewer(actor), planning.uid(username), "pipeline.revenue_won",
                                Q1_2026, target, **kw)  # fmt: skip


def distribute(planning: Any, parent: int, method: str, actor: str = "admin", **kw: Any) -> dict[str, int]:
    with write_transaction(planning.runtime.sessions) as session:
        made = plans.distribute(session, planning.host, planning.viewer(actor), parent, method, **kw)
        names = {planning.uid(n): n for n in ("sales", "sales2", "operator", "mover", "late")}
        return {names[uid]: plan.target for uid, plan in made.items()}


def targets(planning: Any, metric: str = "pipeline.revenue_won") -> dict[int, tuple[int, int | None, str]]:
    with planning.runtime.sessions() as session:
        rows = session.execute(select(Plan.owner_user_id, Plan.target, Plan.stretch, Plan.method)
                               .where(Plan.metric_key == metric)).all()  # fmt: skip
    return {owner: (target, stretch, method) for owner, target, stretch, method in rows}


def test_set_target_creates_then_updates_one_plan_with_an_audit_entry(planning):
    made = set_target(planning, "sales", 1_000_00, stretch=1_200_00)
    changed = set_target(planning, "sales", 2_000_00, stretch=None, expected_version=made.version)
    assert changed.id == made.id and changed.version == made.version + 1
    assert targets(planning) == {planning.uid("sales"): (2_000_00, None, "hand")}
    with planning.runtime.sessions() as session:
        fields = set(session.scalars(select(AuditEntry.field).where(AuditEntry.kind == "plan",
                                                                    AuditEntry.record_id == made.id)))  # fmt: skip
    assert {"", "target", "stretch"} <= fields


def test_a_stale_form_is_refused_and_changes_nothing(planning):
    made = set_target(planning, "sales", 1000)
    set_target(planning, "sales", 2000, expected_version=made.version)
    with pytest.raises(StaleRecord):
        set_target(planning, "sales", 3000, expected_version=made.version)
    with pytest.raises(StaleRecord):  # the form had no plan, but someone made one since
        set_target(planning, "sales", 3000, expected_version=plans.NO_PLAN)
    assert targets(planning)[planning.uid("sales")][0] == 2000


def test_direct_reports_follow_the_dated_links(planning):
    planning.user("mover", manager="manager", since=dt.date(2026, 2, 10))
    planning.user("late", manager="admin", since=dt.date(2026, 7, 1))
    with planning.runtime.sessions() as session:
        reports = plans.direct_reports(session, planning.uid("manager"), Q1_2026)
    assert [r.name for r in reports] == ["Mover", "Oksana Operator", "Sofiia Sales", "Taras Sales"]
    mover = reports[0]
    assert mover.partial and (mover.spans[0].start, mover.spans[0].end) == (dt.date(2026, 2, 10), Q1_2026.end)
    assert not reports[1].partial


def test_an_even_split_adds_up_exactly_with_the_remainder_in_name_order(planning):
    parent = set_target(planning, "manager", 1_000_01, stretch=1_100_00)
    made = distribute(planning, parent.id, "even")
    # Oksana Operator, Sofiia Sales, Taras Sales: 100001 = 33334 + 33334 + 33333
    assert made == {"operator": 33334, "sales": 33334, "sales2": 33333}
    stored = targets(planning)
    assert sum(stored[planning.uid(n)][0] for n in made) == 1_000_01
    assert sum(stored[planning.uid(n)][1] for n in made) == 1_100_00
    assert all(stored[planning.uid(n)][2] == "even" for n in made)


def test_a_split_by_share_follows_last_periods_actuals(planning):
    planning.deal("sales", 300_000_00, closed=dt.date(2025, 11, 10))
    planning.deal("sales2", 100_000_00, closed=dt.date(2025, 12, 1))
    planning.deal("sales2", 999_000_00, closed=dt.date(2026, 1, 5))  # in the period itself: not a weight
    parent = set_target(planning, "manager", 1_000_000_00)
    made = distribute(planning, parent.id, "share")
    assert made == {"operator": 0, "sales": 750_000_00, "sales2": 250_000_00}
    assert {m for _t, _s, m in targets(planning).values()} >= {"share"}


def test_a_split_by_share_without_last_periods_results_is_refused(planning):
    parent = set_target(planning, "manager", 1_000)
    with pytest.raises(ValidationError) as caught:
        distribute(planning, parent.id, "share")
    assert "Q4 2025" in caught.value.errors["method"] and "evenly or by hand" in caught.value.errors["method"]
    assert len(targets(planning)) == 1


def test_by_hand_saves_what_was_typed(planning):
    parent = set_target(planning, "manager", 1000, stretch=2000)
    amounts = {planning.uid("sales"): 600, planning.uid("sales2"): 300, planning.uid("operator"): 0}
    made = distribute(planning, parent.id, "hand", amounts=amounts)
    assert made == {"sales": 600, "sales2": 300, "operator": 0}
    stored = targets(planning)
    assert stored[planning.uid("sales")] == (600, 1333, "hand")  # the stretch goes down in proportion
    assert sum(stored[planning.uid(n)][1] for n in made) == 2000


@pytest.mark.parametrize(("bad", "message"), [(None, "Enter"), (-5, "negative"), ("12", "as a number"),
                                              (1.5, "as a number"), (10**16, "too large")])  # fmt: skip
def test_by_hand_refuses_a_missing_negative_or_junk_amount_and_writes_nothing(planning, bad, message):
    parent = set_target(planning, "manager", 1000)
    amounts: dict[int, Any] = {planning.uid("sales"): 600, planning.uid("operator"): 0}
    if bad is not None:
        amounts[planning.uid("sales2")] = bad
    with pytest.raises(ValidationError) as caught:
        distribute(planning, parent.id, "hand", amounts=amounts)
    assert message in caught.value.errors[f"amount_{planning.uid('sales2')}"]
    assert len(targets(planning)) == 1


def test_a_distribution_is_all_or_nothing(planning):
    parent = set_target(planning, "manager", 900)
    old = set_target(planning, "sales2", 5)
    with pytest.raises(StaleRecord):
        distribute(planning, parent.id, "even", versions={planning.uid("sales2"): old.version - 1})
    stored = targets(planning)
    assert stored[planning.uid("sales2")][0] == 5 and planning.uid("sales") not in stored


def test_someone_who_reported_part_of_the_period_gets_a_plan(planning):
    planning.user("mover", manager="manager", since=dt.date(2026, 3, 1))
    parent = set_target(planning, "manager", 400)
    assert distribute(planning, parent.id, "even")["mover"] == 100


def test_a_manager_distributes_only_to_their_own_team(planning):
    planning.user("chief", roles=("manager",))
    planning.user("other", manager="chief")
    parent = set_target(planning, "chief", 100, actor="admin")
    with pytest.raises(ValidationError) as caught:
        distribute(planning, parent.id, "even", actor="manager")
    assert "did not report to you" in next(iter(caught.value.errors.values()))
    with planning.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 1


def test_delete_plan_goes_through_the_write_path(planning):
    made = set_target(planning, "sales", 10)
    with pytest.raises(ValidationError), write_transaction(planning.runtime.sessions) as session:
        plans.delete_plan(session, planning.viewer("sales"), made.id)
    with write_transaction(planning.runtime.sessions) as session:
        plans.delete_plan(session, planning.viewer("manager"), made.id)
    assert targets(planning) == {}
    with planning.runtime.sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.record_id == made.id,
                                                                      AuditEntry.kind == "plan")))  # fmt: skip
    assert "delete" in actions


def test_splits_are_exact():
    assert plans.even_split(10, 3) == [4, 3, 3]
    assert plans.share_split(100, [1, 1, 1]) == [34, 33, 33]
    assert plans.share_split(7, [0, 0]) == [4, 3]
    assert sum(plans.share_split(1_000_003, [0.3, 2.7, 11.1, 0])) == 1_000_003
    assert plans.stretch_split(120, [50, 50]) == [60, 60]
    assert plans.stretch_split(None, [1]) == [None]

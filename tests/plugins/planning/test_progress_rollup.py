"""The engine's roll-up: figures sum up the tree as it was on each record's date, a mover counts toward each
manager for their days there and once above both, and the top figure equals a fresh direct computation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, update

from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.security.visibility import everyone_under
from voronka.plugins.leads.models import Lead
from voronka.plugins.planning import catalogue, progress
from voronka.plugins.planning.figures import MET, NO_TARGET, Span, TeamNode

from .conftest import Q1_2026

MARCH_END = dt.date(2026, 3, 31)


def node(root: TeamNode, *names: str) -> TeamNode:
    """The node reached from ``root`` through children with these display names."""
    found = root
    for name in names:
        matches = [child for child in found.children if child.name == name]
        assert len(matches) == 1, f"{name!r} under {found.name!r}: {[c.name for c in found.children]}"
        found = matches[0]
    return found


def view(planning: Any, viewer: str, root: str, metric: str = "pipeline.revenue_won", period=Q1_2026,
         today: dt.date = MARCH_END) -> progress.TeamView:  # fmt: skip
    with planning.runtime.sessions() as session:
        return progress.team_view(session, planning.host, planning.viewer(viewer), planning.uid(root), metric, period,
                                  today=today)  # fmt: skip


def direct_total(planning: Any, viewer: str, root: str, metric: str = "pipeline.revenue_won") -> float:
    """The metric's own ``values`` over the whole period for the root and everyone under them on its last day."""
    with planning.runtime.sessions() as session:
        root_id = planning.uid(root)
        owners = [root_id, *everyone_under(session, root_id, Q1_2026.last)]
        start, end = company_settings(session).utc_range(Q1_2026.start, Q1_2026.end)
        found = catalogue.describe(planning.host, metric).metric.values(session, planning.viewer(viewer), owners,
                                                                         start, end)  # fmt: skip
    return sum(actual for actual, _progress in found.values())


def test_figures_sum_through_three_levels(planning):
    planning.user("junior", manager="sales")
    planning.deal("junior", 100_00, closed=dt.date(2026, 1, 10))
    planning.deal("sales", 200_00, closed=dt.date(2026, 2, 10))
    planning.deal("sales2", 300_00, closed=dt.date(2026, 3, 10))
    planning.deal("manager", 50_00, closed=dt.date(2026, 3, 20))
    planning.deal("sales", 999_00, closed=dt.date(2026, 4, 2))  # the next quarter counts nowhere here
    planning.deal("sales2", 40_00, stage="Negotiation", expected=dt.date(2026, 3, 25))

    tree = view(planning, "admin", "admin")

    root = tree.root
    assert (root.name, root.figures.actual, root.own_actual) == ("Olena Admin", 650_00, 0)
    assert root.spans == (Span(Q1_2026.start, Q1_2026.end),) and not root.partial
    manager = node(root, "Maksym Manager")
    assert (manager.figures.actual, manager.own_actual) == (650_00, 50_00)
    assert [c.name for c in manager.children] == ["Oksana Operator", "Sofiia Sales", "Taras Sales"]
    sales = node(manager, "Sofiia Sales")
    assert (sales.figures.actual, sales.own_actual) == (300_00, 200_00)
    assert node(sales, "Junior").figures.actual == 100_00
    sales2 = node(manager, "Taras Sales")
    assert sales2.figures.actual == 300_00 and sales2.figures.in_progress > 0
    assert root.figures.in_progress == sales2.figures.in_progress
    assert root.figures.status == NO_TARGET and root.figures.expected == 1.0
    assert root.figures.actual == direct_total(planning, "admin", "admin")


def test_a_mover_counts_toward_each_manager_for_their_days_and_once_above(planning):
    planning.user("manager2", manager="admin", roles=("manager",))
    planning.deal("sales", 100_00, closed=dt.date(2026, 1, 20))
    planning.move("sales", "manager2", dt.date(2026, 2, 15))
    planning.deal("sales", 200_00, closed=dt.date(2026, 2, 14))
    planning.deal("sales", 400_00, closed=dt.date(2026, 2, 15))
    planning.deal("sales2", 1_00, closed=dt.date(2026, 3, 1))

    root = view(planning, "admin", "admin").root

    assert root.figures.actual == 701_00 == direct_total(planning, "admin", "admin")
    before = node(root, "Maksym Manager", "Sofiia Sales")
    after = node(root, "Manager2", "Sofiia Sales")
    assert before.spans == (Span(dt.date(2026, 1, 1), dt.date(2026, 2, 15)),) and before.partial
    assert after.spans == (Span(dt.date(2026, 2, 15), dt.date(2026, 4, 1)),) and after.partial
    assert (before.figures.actual, before.own_actual) == (300_00, 300_00)
    assert (after.figures.actual, after.own_actual) == (400_00, 400_00)
    assert node(root, "Maksym Manager").figures.actual == 301_00
    assert node(root, "Manager2").figures.actual == 400_00
    assert not node(root, "Maksym Manager", "Taras Sales").partial
    # each manager's own team view shows the mover for their days
    mine = view(planning, "manager", "manager").root
    assert node(mine, "Sofiia Sales").figures.actual == 300_00 and mine.figures.actual == 301_00
    theirs = view(planning, "manager2", "manager2").root
    assert node(theirs, "Sofiia Sales").spans[0].start == dt.date(2026, 2, 15) and theirs.figures.actual == 400_00


def test_the_team_under_a_mover_moves_with_them(planning):
    planning.user("manager2", manager="admin", roles=("manager",))
    planning.user("junior", manager="sales")
    planning.deal("junior", 10_00, closed=dt.date(2026, 1, 5))
    planning.move("sales", "manager2", dt.date(2026, 3, 1))
    planning.deal("junior", 20_00, closed=dt.date(2026, 3, 5))

    root = view(planning, "admin", "admin").root

    assert node(root, "Maksym Manager", "Sofiia Sales", "Junior").figures.actual == 10_00
    assert node(root, "Manager2", "Sofiia Sales", "Junior").figures.actual == 20_00
    assert node(root, "Maksym Manager").figures.actual == 10_00 and root.figures.actual == 30_00


def test_children_targets_add_up_or_show_the_gap(planning):
    planning.plan("manager", 1000_00, method="hand")
    planning.plan("sales", 400_00, method="hand")
    planning.plan("sales2", 500_00, method="hand")
    planning.plan("sales", 7, metric="pipeline.deals_won", method="hand")  # another metric's plan is not a child
    planning.deal("sales", 400_00, closed=dt.date(2026, 1, 15))

    root = view(planning, "admin", "admin").root

    manager = node(root, "Maksym Manager")
    assert manager.plan is not None and manager.plan.target == 1000_00
    assert manager.children_target == 900_00 and manager.mismatch == -100_00
    assert root.plan is None and root.children_target == 1000_00 and root.mismatch is None
    sales = node(manager, "Sofiia Sales")
    assert sales.children_target is None and sales.figures.status == MET and sales.figures.percent == 100
    assert node(manager, "Oksana Operator").plan is None
    planning.plan("operator", 100_00, method="hand")
    assert node(view(planning, "admin", "admin").root, "Maksym Manager").mismatch is None


def test_leads_created_roll_up_too(planning, app):
    leads_kind = app.state.voronka.record_kinds["lead"]
    from voronka.core.writes import save

    with write_transaction(app.state.voronka.sessions) as session:
        ids = [save(session, leads_kind, None, {"first_name": name, "last_name": "Lead", "owner_user_id":
                                                 planning.uid(owner)}, actor=planning.uid(owner)).id
               for name, owner in (("A", "sales"), ("B", "sales"), ("C", "sales2"), ("D", "sales2"))]  # fmt: skip
    inside = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)
    with write_transaction(app.state.voronka.sessions) as session:
        session.execute(update(Lead).where(Lead.id.in_(ids[:3])).values(created_at=inside))
        session.execute(update(Lead).where(Lead.id == ids[3]).values(created_at=inside.replace(year=2025)))

    root = view(planning, "admin", "admin", metric="leads.created").root

    assert root.figures.actual == 3 == direct_total(planning, "admin", "admin", "leads.created")
    assert node(root, "Maksym Manager", "Sofiia Sales").figures.actual == 2
    assert node(root, "Maksym Manager", "Taras Sales").figures.actual == 1


def test_my_plan_covers_the_team_and_orders_by_metric(planning):
    planning.plan("manager", 500_00, method="hand")
    planning.plan("manager", 3, metric="pipeline.deals_won", method="hand")
    planning.plan("sales", 100_00, method="hand")
    planning.deal("sales", 100_00, closed=dt.date(2026, 1, 15))
    planning.deal("sales2", 50_00, closed=dt.date(2026, 2, 15))

    with planning.runtime.sessions() as session:
        found = progress.my_plan(session, planning.host, planning.viewer("manager"), planning.uid("manager"), Q1_2026,
                                 today=dt.date(2026, 2, 15))  # fmt: skip
        mine = progress.my_plan(session, planning.host, planning.viewer("sales"), planning.uid("sales"), Q1_2026)
        none = progress.my_plan(session, planning.host, planning.viewer("sales2"), planning.uid("sales2"), Q1_2026)

    assert [p.metric.label for p in found] == ["Deals won", "Revenue won"]
    deals, revenue = found
    assert (deals.figures.actual, deals.figures.target, deals.plan.target) == (2, 3, 3)
    assert (revenue.figures.actual, revenue.figures.target) == (150_00, 500_00)
    assert revenue.figures.expected == Q1_2026.elapsed(dt.date(2026, 2, 15))
    assert [p.figures.actual for p in mine] == [100_00]
    assert none == []


def test_records_list_the_persons_own_rows(planning):
    planning.deal("sales", 100_00, closed=dt.date(2026, 1, 15), name="Mine")
    planning.deal("sales2", 50_00, closed=dt.date(2026, 2, 15), name="Theirs")
    planning.deal("sales", 70_00, stage="Negotiation", expected=dt.date(2026, 3, 1), name="Open")

    with planning.runtime.sessions() as session:
        found = progress.records(session, planning.host, planning.viewer("manager"), planning.uid("sales"),
                                 "pipeline.revenue_won", Q1_2026, "actual", 10)  # fmt: skip
        going = progress.records(session, planning.host, planning.viewer("manager"), planning.uid("sales"),
                                 "pipeline.deals_won", Q1_2026, "in_progress", 10)  # fmt: skip
        unknown = progress.records(session, planning.host, planning.viewer("manager"), planning.uid("sales"),
                                   "telephony.calls", Q1_2026, "actual", 10)  # fmt: skip

    assert [(r.title, r.value) for r in found] == [("Mine", 100_00)]
    assert [r.title for r in going] == ["Open"]
    assert unknown == []


def statements_of(planning: Any, viewer: str, root: str) -> list[str]:
    """The SQL a team view runs (a listener on the app's engine)."""
    found: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        found.append(statement)

    engine = planning.runtime.engine
    who, root_id = planning.viewer(viewer), planning.uid(root)
    with planning.runtime.sessions() as session:
        event.listen(engine, "before_cursor_execute", seen)
        try:
            progress.team_view(session, planning.host, who, root_id, "pipeline.revenue_won", Q1_2026, today=MARCH_END)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    return found


def test_a_quiet_period_costs_one_values_query_and_a_move_one_more_per_segment(planning):
    for n in range(6):
        planning.user(f"rep{n}", manager="sales" if n % 2 else "sales2")
    planning.deal("rep1", 10_00, closed=dt.date(2026, 1, 10))

    quiet = statements_of(planning, "admin", "admin")

    def touching(statements: list[str], table: str) -> int:
        return sum(f"FROM {table}" in s for s in statements)

    assert touching(quiet, "pipeline_rollup") == 1
    assert touching(quiet, "core_manager_link") == 1 and touching(quiet, "planning_plan") == 1
    assert len(quiet) <= 8, quiet  # links, plans, names, settings, the metric's query and its rates
    planning.user("manager2", manager="admin", roles=("manager",))
    planning.move("rep1", "manager2", dt.date(2026, 2, 1))
    moved = statements_of(planning, "admin", "admin")
    # everyone who stayed in one call over the quarter, the mover in one call per segment
    assert touching(moved, "pipeline_rollup") == 3 and len(moved) <= len(quiet) + 6

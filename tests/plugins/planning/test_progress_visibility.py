"""Who sees what: figures are read under the viewer's scope as it stood on each segment's days; a metric whose
plugin is switched off keeps its plans, marked unavailable, and comes back with the plugin."""

from __future__ import annotations

import datetime as dt
from typing import Any

from voronka.core.db import write_transaction
from voronka.core.models import PluginState, Team, TeamMember
from voronka.core.state import bump
from voronka.core.types import utcnow
from voronka.plugins.planning import progress
from voronka.plugins.planning.figures import MET, UNAVAILABLE
from voronka.plugins.planning.periods import Period

from .conftest import Q1_2026
from .test_progress_rollup import node, view

Q2_2026 = Period(dt.date(2026, 4, 1), dt.date(2026, 7, 1), "quarter")


def may_view(planning: Any, viewer: str, user: str, period: Period = Q1_2026) -> bool:
    with planning.runtime.sessions() as session:
        return progress.may_view(session, planning.viewer(viewer), planning.uid(user), period)


def set_enabled(app: Any, name: str, enabled: bool) -> None:
    """What the admin page's plugin toggle stores, then the poll every process does."""
    with write_transaction(app.state.voronka.sessions) as session:
        found = session.get(PluginState, name)
        if found is None:
            session.add(PluginState(name=name, enabled=enabled, changed_at=utcnow()))
        else:
            found.enabled = enabled
        bump(session, "plugins")
    app.state.voronka.sync(force=True)


def test_a_sales_person_sees_only_their_own(planning):
    planning.deal("sales", 100_00, closed=dt.date(2026, 1, 15))
    planning.deal("sales2", 200_00, closed=dt.date(2026, 1, 16))

    root = view(planning, "sales", "manager").root

    assert root.figures.actual == 100_00
    assert node(root, "Sofiia Sales").figures.actual == 100_00
    assert [child.name for child in root.children] == ["Sofiia Sales"]  # nobody she may not see, not even named
    assert may_view(planning, "sales", "sales") and not may_view(planning, "sales", "sales2")
    assert not may_view(planning, "sales", "manager")
    assert view(planning, "manager", "manager").root.figures.actual == 300_00


def test_a_manager_sees_a_former_report_for_the_days_they_managed_them(planning):
    planning.user("manager2", manager="admin", roles=("manager",))
    planning.deal("sales", 100_00, closed=dt.date(2026, 1, 20))
    planning.move("sales", "manager2", dt.date(2026, 2, 15))
    planning.deal("sales", 400_00, closed=dt.date(2026, 3, 1))
    planning.deal("sales", 800_00, closed=dt.date(2026, 4, 10))

    assert view(planning, "manager", "sales").root.figures.actual == 100_00
    assert view(planning, "manager2", "sales").root.figures.actual == 400_00
    # above both managers, the former manager's view still holds only their days
    root = view(planning, "manager", "admin").root
    assert node(root, "Maksym Manager", "Sofiia Sales").figures.actual == 100_00
    assert node(root, "Manager2", "Sofiia Sales").figures.actual == 0
    assert view(planning, "admin", "admin").root.figures.actual == 500_00
    assert may_view(planning, "manager", "sales", Q1_2026)
    assert not may_view(planning, "manager", "sales", Q2_2026)
    assert may_view(planning, "manager2", "sales", Q2_2026) and may_view(planning, "admin", "sales", Q2_2026)
    assert view(planning, "manager", "sales", period=Q2_2026, today=dt.date(2026, 6, 30)).root.figures.actual == 0


def test_the_team_scope_sees_the_teams_members(planning, app):
    planning.user("helper", roles=("operator",))
    with write_transaction(app.state.voronka.sessions) as session:
        queue = session.query(Team).filter_by(name="Inbound sales").one()
        session.add(TeamMember(team_id=queue.id, user_id=planning.uid("helper")))
    assert may_view(planning, "operator", "helper")
    assert not may_view(planning, "operator", "sales")


def test_a_metric_of_a_switched_off_plugin_is_unavailable_and_keeps_its_plan(planning, app):
    planning.plan("manager", 5, metric="leads.created", method="hand")
    planning.plan("sales", 2, metric="leads.created", method="hand")
    planning.plan("manager", 100_00, method="hand")
    planning.deal("sales", 100_00, closed=dt.date(2026, 1, 15))
    set_enabled(app, "leads", False)

    tree = view(planning, "manager", "manager", metric="leads.created")
    assert not tree.metric.available and "leads" in tree.metric.problem
    assert tree.root.figures.status == UNAVAILABLE and tree.root.plan.target == 5
    assert (tree.root.figures.actual, tree.root.children_target) == (0, 2)
    assert node(tree.root, "Sofiia Sales").figures.status == UNAVAILABLE
    with planning.runtime.sessions() as session:
        mine = progress.my_plan(session, planning.host, planning.viewer("manager"), planning.uid("manager"), Q1_2026)
    assert [(p.metric.key, p.figures.status, p.plan.target) for p in mine] == [
        ("leads.created", UNAVAILABLE, 5), ("pipeline.revenue_won", MET, 100_00)]  # fmt: skip

    set_enabled(app, "leads", True)
    assert view(planning, "manager", "manager", metric="leads.created").root.figures.status != UNAVAILABLE


def test_a_viewer_who_sees_only_their_own_sees_no_one_else_in_a_tree(planning):
    planning.user("junior", manager="sales")  # a sales person (scope "own") who has someone under them
    planning.plan("junior", 40_000, actor="admin")
    with planning.runtime.sessions() as session:
        own = progress.team_view(session, planning.host, planning.viewer("sales"), planning.uid("sales"),
                                 "pipeline.revenue_won", Q1_2026)  # fmt: skip
        everyone = progress.team_view(session, planning.host, planning.viewer("admin"), planning.uid("sales"),
                                      "pipeline.revenue_won", Q1_2026)  # fmt: skip
    assert [child.name for child in everyone.root.children] == ["Junior"]
    assert own.root.children == [] and own.root.children_target is None  # no name, no target leaks

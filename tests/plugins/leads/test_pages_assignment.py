"""Who gets a new lead (plugins/leads/assignment.py): the default queue from the settings, round-robin to
the next active member, and two assignments at once never handing out the same turn (PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import update

from voronka.core.db import write_transaction
from voronka.core.models import SettingValue, Team, TeamMember, User
from voronka.core.state import bump
from voronka.core.types import utcnow
from voronka.plugins.leads import assignment
from voronka.plugins.leads.models import Lead, RoundRobin


def set_settings(app: Any, **values: Any) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        for key, value in values.items():
            session.merge(SettingValue(plugin="leads", key=key, value=value, changed_at=utcnow()))
        bump(session, "settings")
    app.state.voronka.sync(force=True)  # as the settings page does: the per-process cache re-reads


def team_of(leads: Any, name: str, members: list[str]) -> int:
    with write_transaction(leads.runtime.sessions) as session:
        team = Team(name=name, is_queue=True)
        session.add(team)
        session.flush()
        for member in members:
            session.add(TeamMember(team_id=team.id, user_id=leads.uid(member)))
        return team.id


def test_without_a_default_queue_a_new_lead_stays_unowned(app: Any, leads: Any) -> None:
    values: dict[str, Any] = {"first_name": "A"}
    with write_transaction(leads.runtime.sessions) as session:
        assignment.place_new_lead(session, values)
    assert "owner_team_id" not in values and "owner_user_id" not in values


def test_the_default_queue_receives_new_leads_and_owned_ones_stay(app: Any, leads: Any) -> None:
    set_settings(app, default_queue="Inbound sales")
    values: dict[str, Any] = {"first_name": "A"}
    owned: dict[str, Any] = {"first_name": "B", "owner_user_id": leads.uid("sales")}
    with write_transaction(leads.runtime.sessions) as session:
        assignment.place_new_lead(session, values)
        assignment.place_new_lead(session, owned)
        lead = Lead(first_name="C")
        assignment.place_new_lead(session, lead)
        assert lead.owner_team_id == leads.team_id("Inbound sales") and lead.owner_user_id is None
    assert values["owner_team_id"] == leads.team_id("Inbound sales") and values["owner_user_id"] is None
    assert owned["owner_user_id"] == leads.uid("sales") and "owner_team_id" not in owned
    set_settings(app, default_queue="No such team")
    other: dict[str, Any] = {}
    with write_transaction(leads.runtime.sessions) as session:
        assignment.place_new_lead(session, other)
    assert other == {}


def test_round_robin_goes_round_and_skips_inactive_members(app: Any, leads: Any) -> None:
    team = team_of(leads, "Round", ["sales", "sales2", "operator"])
    set_settings(app, default_queue="Round", round_robin=True)
    got = []
    for _i in range(4):
        values: dict[str, Any] = {}
        with write_transaction(leads.runtime.sessions) as session:
            assignment.place_new_lead(session, values)
        got.append(values["owner_user_id"])
    members = sorted(leads.uid(u) for u in ("sales", "sales2", "operator"))
    assert got == [*members, members[0]]
    with write_transaction(leads.runtime.sessions) as session:
        session.execute(update(User).where(User.id == members[1]).values(active=False))
    with write_transaction(leads.runtime.sessions) as session:
        assert assignment.assign_round_robin(session, {}, team) == members[2]
        assert assignment.assign_round_robin(session, {}, team) == members[0]
        assert assignment.assign_round_robin(session, {}, team) == members[2]


def test_a_team_without_active_members_leaves_the_lead_in_the_queue(app: Any, leads: Any) -> None:
    team_of(leads, "Empty", [])
    set_settings(app, default_queue="Empty", round_robin=True)
    values: dict[str, Any] = {}
    with write_transaction(leads.runtime.sessions) as session:
        assignment.place_new_lead(session, values)
    assert values["owner_user_id"] is None and values["owner_team_id"] is not None


@pytest.mark.engines("postgresql")
def test_two_assignments_at_once_never_share_a_turn(app: Any, leads: Any) -> None:
    team = team_of(leads, "Race", ["sales", "sales2", "operator", "manager"])
    got: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def assign() -> None:
        try:
            start.wait()
            for _i in range(10):
                with write_transaction(leads.runtime.sessions) as session:
                    found = assignment.assign_round_robin(session, {}, team)
                assert found is not None
                got.append(found)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=assign) for _t in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    members = sorted(leads.uid(u) for u in ("sales", "sales2", "operator", "manager"))
    assert sorted(got) == sorted(members * 5)  # 20 turns over 4 people: 5 each, none handed out twice
    with leads.runtime.sessions() as session:
        assert session.get(RoundRobin, team).last_user_id == members[-1]

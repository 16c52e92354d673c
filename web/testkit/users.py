"""The users every test database starts with (created once in the template, not per test)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from voronka.core.models import ManagerLink, Team, TeamMember
from voronka.core.security.users import create_user

TEST_PASSWORD = "test-password"

TEST_USERS = {
    # username: (display name, roles)
    "admin": ("Olena Admin", ("admin",)),
    "manager": ("Maksym Manager", ("manager",)),
    "sales": ("Sofiia Sales", ("sales",)),
    "sales2": ("Taras Sales", ("sales",)),
    "operator": ("Oksana Operator", ("operator",)),
}


def create_test_users(session: Session) -> dict[str, int]:
    """Create :data:`TEST_USERS`, a "Sales" team (sales, sales2) led by manager, and an inbound queue."""
    ids = {}
    for username, (name, roles) in TEST_USERS.items():
        ids[username] = create_user(session, username, TEST_PASSWORD, display_name=name, roles=roles).id
    team = Team(name="Sales")
    queue = Team(name="Inbound sales", is_queue=True)
    session.add_all([team, queue])
    session.flush()
    for member in ("sales", "sales2"):
        session.add(TeamMember(team_id=team.id, user_id=ids[member]))
    session.add(TeamMember(team_id=queue.id, user_id=ids["operator"]))
    start = dt.date(2020, 1, 1)
    for member in ("sales", "sales2", "operator"):
        session.add(ManagerLink(user_id=ids[member], manager_id=ids["manager"], valid_from=start))
    session.add(ManagerLink(user_id=ids["manager"], manager_id=ids["admin"], valid_from=start))
    ids["team:Sales"] = team.id
    ids["team:Inbound sales"] = queue.id
    return ids

"""Admin: teams and queues, and their members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from voronka.core.models import Team, TeamMember, User


def team(app: Any, name: str) -> Team | None:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(Team).where(Team.name == name))


def user_id(app: Any, username: str) -> int:
    with app.state.voronka.sessions() as session:
        found = session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def members(app: Any, team_id: int) -> set[str]:
    with app.state.voronka.sessions() as session:
        return set(
            session.scalars(
                select(User.username)
                .join(TeamMember, TeamMember.user_id == User.id)
                .where(TeamMember.team_id == team_id)
            )
        )


def test_list_shows_teams_and_queues_with_member_counts(client):
    client.login("admin")
    page = client.get("/admin/teams")
    assert page.status_code == 200
    sales_row = page.text.split(">Sales</a>", 1)[1].split("</tr>", 1)[0]
    assert "Team" in sales_row and ">2</a>" in sales_row
    queue_row = page.text.split(">Inbound sales</a>", 1)[1].split("</tr>", 1)[0]
    assert "Queue" in queue_row and ">1</a>" in queue_row
    fragment = client.hx_get("/admin/teams")
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Inbound sales" in fragment.text


def test_create_rename_and_make_a_queue(client, app):
    client.login("admin")
    created = client.post("/admin/teams", data={"name": "Key accounts"})
    assert created.status_code == 200 and "The team is created." in created.text
    row = team(app, "Key accounts")
    assert row is not None and not row.is_queue
    saved = client.post(f"/admin/teams/{row.id}", data={"name": "Enterprise", "is_queue": "1"})
    assert saved.status_code == 200 and "Saved." in saved.text
    renamed = team(app, "Enterprise")
    assert renamed is not None and renamed.is_queue and renamed.id == row.id


def test_team_name_errors(client, app):
    client.login("admin")
    empty = client.post("/admin/teams", data={"name": "   "})
    assert empty.status_code == 400 and "Enter a name for the team." in empty.text
    duplicate = client.post("/admin/teams", data={"name": "sales"})
    assert duplicate.status_code == 400 and "There is already a team called Sales." in duplicate.text
    long = client.post("/admin/teams", data={"name": "x" * 130})
    assert long.status_code == 400 and "Keep the name under 120 characters." in long.text
    queue = team(app, "Inbound sales")
    rename = client.post(f"/admin/teams/{queue.id}", data={"name": "Sales", "is_queue": "1"})
    assert rename.status_code == 400 and "There is already a team called Sales." in rename.text
    assert team(app, "Inbound sales") is not None
    with app.state.voronka.sessions() as session:
        assert len(session.scalars(select(Team)).all()) == 2
    assert client.get("/admin/teams/999999").status_code == 404
    assert client.post("/admin/teams/999999", data={"name": "Ghost"}).status_code == 404


def test_add_and_remove_members(client, app):
    client.login("admin")
    sales = team(app, "Sales")
    operator = user_id(app, "operator")
    page = client.get(f"/admin/teams/{sales.id}")
    assert page.status_code == 200 and "Sofiia Sales" in page.text and "Remove" in page.text
    added = client.hx_post(f"/admin/teams/{sales.id}/members", data={"user_id": str(operator)})
    assert added.status_code == 200 and "<html" not in added.text and 'id="members"' in added.text
    assert "Oksana Operator" in added.text
    assert members(app, sales.id) == {"sales", "sales2", "operator"}
    assert sales.id in app.state.voronka.user(operator).team_ids  # the user cache was dropped
    again = client.hx_post(f"/admin/teams/{sales.id}/members", data={"user_id": str(operator)})
    assert again.status_code == 400 and "Oksana Operator is already a member." in again.text
    forged = client.post(f"/admin/teams/{sales.id}/members", data={"user_id": "999999"})
    assert forged.status_code == 400 and "Choose a person from the list." in forged.text
    junk = client.post(f"/admin/teams/{sales.id}/members", data={"user_id": "everyone"})
    assert junk.status_code == 400
    removed = client.post(f"/admin/teams/{sales.id}/members/{operator}/remove")
    assert removed.status_code == 200 and str(removed.url).endswith(f"/admin/teams/{sales.id}")
    assert members(app, sales.id) == {"sales", "sales2"}
    assert sales.id not in app.state.voronka.user(operator).team_ids
    assert client.post(f"/admin/teams/{sales.id}/members/{operator}/remove").status_code == 404
    assert client.post("/admin/teams/999999/members", data={"user_id": str(operator)}).status_code == 404

"""Admin: the user directory, creating and editing users, passwords, and manager links with dates."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import select

from voronka.core.models import ManagerLink, Role, Team, TeamMember, User, UserRole
from voronka.core.security.passwords import verify_password
from voronka.web.testkit import TEST_PASSWORD, VoronkaClient


def ids(app: Any) -> dict[str, int]:
    """Ids of the test users by username, roles as ``role:<key>`` and teams as ``team:<name>``."""
    with app.state.voronka.sessions() as session:
        found = {name: uid for uid, name in session.execute(select(User.id, User.username))}
        found.update({f"role:{key}": rid for rid, key in session.execute(select(Role.id, Role.key))})
        found.update({f"team:{name}": tid for tid, name in session.execute(select(Team.id, Team.name))})
    return found


def user_row(app: Any, username: str) -> User | None:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(User).where(User.username == username))


def roles_of(app: Any, user_id: int) -> set[str]:
    with app.state.voronka.sessions() as session:
        return set(
            session.scalars(
                select(Role.key).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
            )
        )


def teams_of(app: Any, user_id: int) -> set[str]:
    with app.state.voronka.sessions() as session:
        return set(
            session.scalars(
                select(Team.name).join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.user_id == user_id)
            )
        )


def links_of(app: Any, user_id: int) -> list[tuple[int, dt.date, dt.date | None]]:
    with app.state.voronka.sessions() as session:
        return [
            (m, f, t)
            for m, f, t in session.execute(
                select(ManagerLink.manager_id, ManagerLink.valid_from, ManagerLink.valid_to)
                .where(ManagerLink.user_id == user_id)
                .order_by(ManagerLink.valid_from)
            )
        ]


def new_user_form(app: Any, **changes: Any) -> dict[str, Any]:
    known = ids(app)
    form = {
        "username": "petro", "display_name": "Петро Коваленко", "email": "petro@example.com",
        "password": "a-long-password", "language": "uk", "timezone": "Europe/Kyiv",
        "roles": [str(known["role:sales"])], "teams": [str(known["team:Sales"])],
    }  # fmt: skip
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def edit_form(app: Any, username: str, **changes: Any) -> dict[str, Any]:
    """The edit form as the page would submit it for ``username`` now, with ``changes`` applied."""
    row = user_row(app, username)
    assert row is not None
    known = ids(app)
    form = {
        "display_name": row.display_name, "email": row.email, "language": row.language, "timezone": row.timezone,
        "active": "1" if row.active else None,
        "roles": [str(known[f"role:{k}"]) for k in sorted(roles_of(app, row.id))],
        "teams": [str(known[f"team:{t}"]) for t in sorted(teams_of(app, row.id))],
    }  # fmt: skip
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


# -- the directory -------------------------------------------------------------------------------------


def listing(response: Any) -> str:
    """The user table of a directory page, without the filter selects that name everyone."""
    assert response.status_code == 200
    return response.text.split('id="user-list"', 1)[1]


def test_directory_lists_users_with_roles_teams_and_manager(client, app):
    client.login("admin")
    page = client.get("/admin/users")
    assert page.status_code == 200
    for name in ("Olena Admin", "Maksym Manager", "Sofiia Sales", "Taras Sales", "Oksana Operator"):
        assert name in page.text
    assert "Sales person" in page.text and "Inbound sales" in page.text
    assert "1–5 of 5" in page.text
    fragment = client.hx_get("/admin/users?q=sofi")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Sofiia Sales" in fragment.text and "Taras Sales" not in fragment.text


def test_directory_filters(client, app):
    client.login("admin")
    known = ids(app)
    assert client.post("/admin/users/new", data=new_user_form(app)).status_code == 200
    by_cyrillic = listing(client.get("/admin/users", params={"q": "петр"}))
    by_latin = listing(client.get("/admin/users", params={"q": "petr"}))
    assert "Петро Коваленко" in by_cyrillic and "Петро Коваленко" in by_latin
    assert "Sofiia Sales" not in by_latin
    by_username = listing(client.get("/admin/users", params={"q": "sales2"}))
    assert "Taras Sales" in by_username and "Sofiia Sales" not in by_username
    reports = listing(client.get("/admin/users", params={"manager": known["manager"]}))
    assert all(n in reports for n in ("Sofiia Sales", "Taras Sales", "Oksana Operator"))
    assert "Olena Admin" not in reports
    queue = listing(client.get("/admin/users", params={"team": known["team:Inbound sales"]}))
    assert "Oksana Operator" in queue and "Sofiia Sales" not in queue
    managers = listing(client.get("/admin/users", params={"role": known["role:manager"]}))
    assert "Maksym Manager" in managers and "Taras Sales" not in managers
    none_inactive = client.get("/admin/users", params={"status": "inactive"}).text
    assert "No users match these filters." in none_inactive
    # nonsense in the query string falls back to "any" instead of failing
    assert client.get("/admin/users", params={"role": "x'; drop", "page": "-3", "status": "zzz"}).status_code == 200


# -- create --------------------------------------------------------------------------------------------


def test_create_user(client, app):
    client.login("admin")
    response = client.post("/admin/users/new", data=new_user_form(app))
    assert response.status_code == 200 and "The user is created." in response.text
    created = user_row(app, "petro")
    assert created is not None and created.display_name == "Петро Коваленко" and created.language == "uk"
    assert created.email == "petro@example.com" and created.active
    assert roles_of(app, created.id) == {"sales"} and teams_of(app, created.id) == {"Sales"}
    assert str(response.url).endswith(f"/admin/users/{created.id}?created=1")
    other = VoronkaClient(app)
    other.login("petro", "a-long-password")
    assert "Петро Коваленко" in other.get("/").text
    assert client.get("/admin/users/new").status_code == 200


def test_create_user_errors_in_place(client, app):
    client.login("admin")
    known = ids(app)
    response = client.post("/admin/users/new", data=new_user_form(
        app, username="sales", password="short", email="not-an-address", language="xx", timezone="Mars/Base",
        roles=[], teams=[str(known["team:Sales"])],
    ))  # fmt: skip
    assert response.status_code == 400
    html = response.text
    assert "The username &#39;sales&#39; is taken." in html
    assert "at least 8 characters" in html
    assert "Enter an e-mail address" in html
    assert "Choose one of the listed languages." in html
    assert "Choose a time zone from the list" in html
    assert "Give the user at least one role." in html
    assert 'value="Петро Коваленко"' in html  # what was typed stays
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(User).where(User.display_name == "Петро Коваленко")) is None
    missing = client.post("/admin/users/new", data=new_user_form(app, username="  ", password=""))
    assert missing.status_code == 400 and "A username is 1-150 characters without spaces." in missing.text
    forged = client.post("/admin/users/new", data=new_user_form(app, roles=["99999"], teams=["abc"]))
    assert forged.status_code == 400
    assert "Choose roles from the list." in forged.text and "Choose teams from the list." in forged.text
    assert user_row(app, "petro") is None


# -- edit ----------------------------------------------------------------------------------------------


def test_edit_roles_teams_and_profile(client, app):
    client.login("admin")
    known = ids(app)
    page = client.get(f"/admin/users/{known['sales']}")
    assert page.status_code == 200 and "Sofiia Sales" in page.text and "Maksym Manager" in page.text
    form = edit_form(app, "sales", display_name="Sofiia Senior", email="sofiia@example.com", timezone="UTC",
                     roles=[str(known["role:manager"]), str(known["role:sales"])],
                     teams=[str(known["team:Inbound sales"])])  # fmt: skip
    response = client.post(f"/admin/users/{known['sales']}", data=form)
    assert response.status_code == 200 and "Saved." in response.text
    row = user_row(app, "sales")
    assert row.display_name == "Sofiia Senior" and row.email == "sofiia@example.com" and row.timezone == "UTC"
    assert roles_of(app, row.id) == {"manager", "sales"} and teams_of(app, row.id) == {"Inbound sales"}
    assert "Sofiia Senior" in client.get("/admin/users", params={"q": "senior"}).text


def test_edit_errors_and_forged_ids(client, app):
    client.login("admin")
    known = ids(app)
    bad = client.post(f"/admin/users/{known['sales']}", data=edit_form(app, "sales", display_name="", roles=[]))
    assert bad.status_code == 400
    assert "Enter the name people see." in bad.text and "Give the user at least one role." in bad.text
    assert user_row(app, "sales").display_name == "Sofiia Sales"
    forged = client.post(f"/admin/users/{known['sales']}", data=edit_form(app, "sales", teams=["424242"]))
    assert forged.status_code == 400 and teams_of(app, known["sales"]) == {"Sales"}
    assert client.get("/admin/users/999999").status_code == 404
    assert client.post("/admin/users/999999", data=edit_form(app, "sales")).status_code == 404
    assert client.post("/admin/users/999999/password", data={"password": "long-enough-1"}).status_code == 404
    assert client.get("/admin/users/abc").status_code == 404


def test_admin_cannot_lock_everyone_out(client, app):
    client.login("admin")
    known = ids(app)
    own = client.post(f"/admin/users/{known['admin']}", data=edit_form(app, "admin", active=None))
    assert own.status_code == 400 and "You cannot deactivate your own account." in own.text
    last = client.post(f"/admin/users/{known['admin']}", data=edit_form(app, "admin", roles=[str(known["role:sales"])]))
    assert last.status_code == 400 and "no active user who can administer" in last.text
    assert roles_of(app, known["admin"]) == {"admin"}


def test_deactivated_user_is_logged_out_at_once(client, app):
    sales = VoronkaClient(app)
    sales.login("sales")
    assert "Sofiia Sales" in sales.get("/").text
    client.login("admin")
    known = ids(app)
    response = client.post(f"/admin/users/{known['sales']}", data=edit_form(app, "sales", active=None))
    assert response.status_code == 200 and not user_row(app, "sales").active
    assert "/login" in str(sales.get("/").url)
    sales.csrf_token = None  # the session was cleared, and its CSRF token with it
    refused = sales.post("/login", data={"username": "sales", "password": TEST_PASSWORD})
    assert refused.status_code == 403 and "This account is deactivated" in refused.text
    inactive = client.get("/admin/users", params={"status": "inactive"}).text
    assert "Sofiia Sales" in inactive


def test_deactivated_user_is_logged_out_of_another_process_within_a_second(make_app):
    admin_app, other_app = make_app(), make_app(state_poll_seconds=1.0)
    with VoronkaClient(admin_app) as admin, VoronkaClient(other_app) as sales:
        sales.login("sales")
        assert "Sofiia Sales" in sales.get("/").text
        admin.login("admin")
        known = ids(admin_app)
        assert (
            admin.post(f"/admin/users/{known['sales']}", data=edit_form(admin_app, "sales", active=None)).status_code
            == 200
        )
        time.sleep(1.05)
        assert "/login" in str(sales.get("/").url)


def test_reset_password(client, app):
    sales = VoronkaClient(app)
    sales.login("sales")
    client.login("admin")
    known = ids(app)
    short = client.post(f"/admin/users/{known['sales']}/password", data={"password": "short"})
    assert short.status_code == 400 and "at least 8 characters" in short.text
    assert verify_password(user_row(app, "sales").password_hash, TEST_PASSWORD)
    done = client.post(f"/admin/users/{known['sales']}/password", data={"password": "brand-new-secret"})
    assert done.status_code == 200 and "The password is changed" in done.text
    assert "/login" in str(sales.get("/").url)  # the old session is gone
    sales.login("sales", "brand-new-secret")


# -- manager links -------------------------------------------------------------------------------------


def add_link(client: VoronkaClient, user_id: int, manager_id: Any, start: str, end: str = "", hx: bool = False) -> Any:
    data = {"manager_id": str(manager_id), "valid_from": start, "valid_to": end}
    post = client.hx_post if hx else client.post
    return post(f"/admin/users/{user_id}/managers", data=data)


def test_add_end_and_delete_manager_links(client, app):
    client.login("admin")
    known = ids(app)
    sales, manager, admin = known["sales"], known["manager"], known["admin"]
    link_id = _link_id(app, sales)
    ended = client.post(f"/admin/users/{sales}/managers/{link_id}/end", data={"valid_to": "2024-07-01"})
    assert ended.status_code == 200
    assert links_of(app, sales) == [(manager, dt.date(2020, 1, 1), dt.date(2024, 7, 1))]
    fragment = add_link(client, sales, admin, "2024-07-01", hx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="managers"' in fragment.text
    assert "Olena Admin" in fragment.text and "2024-07-01" in fragment.text
    assert links_of(app, sales)[-1] == (admin, dt.date(2024, 7, 1), None)
    page = client.get(f"/admin/users/{sales}").text
    assert "Current" in page and "Ended" in page
    new_id = max(_link_ids(app, sales))
    assert client.post(f"/admin/users/{sales}/managers/{new_id}/delete").status_code == 200
    assert len(links_of(app, sales)) == 1


def _link_ids(app: Any, user_id: int) -> list[int]:
    with app.state.voronka.sessions() as session:
        return list(session.scalars(select(ManagerLink.id).where(ManagerLink.user_id == user_id)))


def _link_id(app: Any, user_id: int) -> int:
    found = _link_ids(app, user_id)
    assert len(found) == 1
    return found[0]


def test_manager_link_bad_input(client, app):
    client.login("admin")
    known = ids(app)
    sales, sales2, manager = known["sales"], known["sales2"], known["manager"]
    before = links_of(app, sales)
    overlap = add_link(client, sales, sales2, "2023-01-01", "2023-06-01")
    assert overlap.status_code == 400
    assert "Sofiia Sales already reports to Maksym Manager from 2020-01-01 with no end date" in overlap.text
    own = add_link(client, sales, sales, "2030-01-01")
    assert own.status_code == 400 and "A user cannot be their own manager." in own.text
    for start, end, message in [
        ("2025-13-01", "", "Enter a date as YYYY-MM-DD"),
        ("", "", "Enter a date."),
        ("2031-05-01", "2031-05-01", "The end date must be after the start date."),
        ("0900-01-01", "", "Enter a date between 1900 and 2999."),
    ]:
        response = add_link(client, sales, sales2, start, end)
        assert response.status_code == 400 and message in response.text, (start, end)
    forged = add_link(client, sales, 999999, "2031-01-01")
    assert forged.status_code == 400 and "Choose a manager from the list." in forged.text
    junk = add_link(client, sales, "nobody", "2031-01-01")
    assert junk.status_code == 400 and "Choose a manager from the list." in junk.text
    assert links_of(app, sales) == before
    link_id = _link_id(app, sales)
    early = client.post(f"/admin/users/{sales}/managers/{link_id}/end", data={"valid_to": "2019-12-31"})
    assert early.status_code == 400 and "after the link&#39;s start date 2020-01-01" in early.text
    bad_date = client.hx_post(f"/admin/users/{sales}/managers/{link_id}/end", data={"valid_to": "soon"})
    assert (
        bad_date.status_code == 400 and "<html" not in bad_date.text and "Enter a date as YYYY-MM-DD" in bad_date.text
    )
    # somebody else's link, or no link at all, through this user's address
    other_link = _link_id(app, sales2)
    assert (
        client.post(f"/admin/users/{sales}/managers/{other_link}/end", data={"valid_to": "2030-01-01"}).status_code
        == 404
    )
    assert client.post(f"/admin/users/{sales}/managers/{other_link}/delete").status_code == 404
    assert client.post(f"/admin/users/{sales}/managers/999999/delete").status_code == 404
    assert add_link(client, 999999, manager, "2031-01-01").status_code == 404
    assert links_of(app, sales) == before and len(links_of(app, sales2)) == 1


def test_ending_only_shortens_a_link(client, app):
    client.login("admin")
    known = ids(app)
    sales = known["sales"]
    link_id = _link_id(app, sales)
    assert (
        client.post(f"/admin/users/{sales}/managers/{link_id}/end", data={"valid_to": "2024-01-01"}).status_code == 200
    )
    longer = client.post(f"/admin/users/{sales}/managers/{link_id}/end", data={"valid_to": "2025-01-01"})
    assert longer.status_code == 400 and "already ends on 2024-01-01" in longer.text


def test_loops_are_refused_on_any_date(client, app):
    client.login("admin")
    known = ids(app)
    admin, sales, sales2 = known["admin"], known["sales"], known["sales2"]
    # admin is at the top: sales -> manager -> admin. Admin reporting to sales closes a loop today.
    direct = add_link(client, admin, sales, "2024-01-01")
    assert direct.status_code == 400
    assert "Sofiia Sales is under Olena Admin on 2024-01-01" in direct.text and "loop" in direct.text
    # a loop that exists only for a while: sales2 stops reporting to manager in 2026, then manager reports
    # to sales2 from a date before that (a loop in 2025) is refused, from 2026 on it is fine.
    link_id = _link_id(app, sales2)
    client.post(f"/admin/users/{sales2}/managers/{link_id}/end", data={"valid_to": "2026-01-01"})
    manager = known["manager"]
    manager_link = _link_id(app, manager)
    client.post(f"/admin/users/{manager}/managers/{manager_link}/end", data={"valid_to": "2025-01-01"})
    loop = add_link(client, manager, sales2, "2025-01-01", "2027-01-01")
    assert loop.status_code == 400 and "Taras Sales is under Maksym Manager on 2025-01-01" in loop.text
    fine = add_link(client, manager, sales2, "2026-01-01")
    assert fine.status_code == 200
    assert links_of(app, manager)[-1] == (sales2, dt.date(2026, 1, 1), None)

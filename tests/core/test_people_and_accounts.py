"""Accounts as a new admin meets them: case-insensitive usernames, unique e-mails, typeable passwords, the
people directory and the permissions that gate search and colleagues' pages."""

from __future__ import annotations

from sqlalchemy import delete, select

from voronka.core.db import write_transaction
from voronka.core.models import Role, RolePermission, User
from voronka.core.state import bump
from voronka.web.testkit import TEST_PASSWORD, VoronkaClient


def new_user(client: VoronkaClient, **fields: str) -> object:
    with client.app.state.voronka.sessions() as session:
        sales = str(session.scalar(select(Role.id).where(Role.key == "sales")))
    data = {"username": "", "display_name": "New Person", "email": "", "password": "long-enough-1",
            "roles": sales, "language": "en", "timezone": "Europe/Kyiv"} | fields  # fmt: skip
    return client.post("/admin/users/new", data=data, follow_redirects=False)


def revoke(app: object, role: str, permission: str) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        role_id = session.scalar(select(Role.id).where(Role.key == role))
        session.execute(
            delete(RolePermission).where(RolePermission.role_id == role_id, RolePermission.permission == permission)
        )
        bump(session, "security")


def test_usernames_are_case_insensitive(app, client):
    client.login("admin")
    taken = new_user(client, username="SALES")
    assert taken.status_code == 400 and "taken" in taken.text
    made = new_user(client, username="Emma.Wilson")
    assert made.status_code in (200, 303)
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(User.username).where(User.display_name == "New Person")) == "emma.wilson"
    with VoronkaClient(app) as other:
        other.login("Sales", TEST_PASSWORD)  # typed with a capital: the same account
        assert "Sofiia Sales" in other.get("/").text


def test_an_email_address_belongs_to_one_user(client):
    client.login("admin")
    assert new_user(client, username="first", email="team@example.com").status_code in (200, 303)
    second = new_user(client, username="second", email="TEAM@example.com")
    assert second.status_code == 400 and "already has the e-mail address" in second.text


def test_a_long_username_is_refused_not_cut(client):
    client.login("admin")
    response = new_user(client, username="u" * 300)
    assert response.status_code == 400 and "1-150 characters" in response.text


def test_a_password_must_be_typeable_in_the_login_form(client):
    client.login("admin")
    too_long = new_user(client, username="longpw", password="x" * 1025)
    assert too_long.status_code == 400 and "at most 1024 characters" in too_long.text
    spaces = new_user(client, username="spaces", password=" " * 12)
    assert spaces.status_code == 400 and "only spaces" in spaces.text


def test_colleagues_are_found_by_search_and_have_a_page(client):
    client.login("sales")
    hits = client.hx_get("/search", params={"q": "maks"})
    assert "Maksym Manager" in hits.text and "/users/" in hits.text
    page = client.get(hits.text.split('href="')[1].split('"')[0])
    assert page.status_code == 200
    assert "Maksym Manager" in page.text and "Olena Admin" in page.text  # his manager
    assert "Sofiia Sales" in page.text  # reports to him
    assert client.get("/users/987654").status_code == 404


def test_search_and_the_directory_follow_the_role(app, client):
    revoke(app, "sales", "core.search")
    revoke(app, "sales", "core.users.view")
    client.login("sales")
    home = client.get("/")
    assert 'id="global-search"' not in home.text
    assert client.get("/search?q=maks").status_code == 403
    assert client.get("/users/1").status_code == 403
    client.login("manager")
    assert 'id="global-search"' in client.get("/").text

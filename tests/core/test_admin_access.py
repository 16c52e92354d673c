"""Admin: the overview page, and nobody but an administrator reaches any admin route."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.routing import Route

from voronka.core.models import ManagerLink, Role, Team, User
from voronka.web.routes import admin
from voronka.web.testkit import VoronkaClient


def _admin_urls(app) -> list[tuple[str, str]]:
    """(method, url) for every admin route, with real ids so only the permission can refuse."""
    with app.state.voronka.sessions() as session:
        sales = session.scalar(select(User.id).where(User.username == "sales"))
        values = {
            "name": "contacts", "action": "disable", "plugin": "contacts", "user_id": str(sales),
            "link_id": str(session.scalar(select(ManagerLink.id).where(ManagerLink.user_id == sales))),
            "role_id": str(session.scalar(select(Role.id).where(Role.key == "sales"))),
            "team_id": str(session.scalar(select(Team.id).where(Team.name == "Sales"))),
        }  # fmt: skip
    found = []
    for route in admin.routes:
        assert isinstance(route, Route)
        url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], route.path)
        for method in sorted(route.methods or []):
            if method != "HEAD":
                found.append((method, url))
    return found


def test_every_admin_route_refuses_non_admins(app):
    urls = _admin_urls(app)
    assert len(urls) >= 25
    with VoronkaClient(app) as sales:
        sales.login("sales")
        for method, url in urls:
            response = sales.request(method, url, headers={"X-CSRF-Token": sales.csrf_token or ""})
            assert response.status_code == 403, (method, url, response.status_code)
            assert "Not allowed" in response.text
    with VoronkaClient(app, follow_redirects=False) as anonymous:
        for method, url in urls:
            response = anonymous.request(method, url)
            if method == "GET":
                assert response.status_code == 303 and response.headers["location"].startswith("/login"), url
            else:
                assert response.status_code in (401, 403), (method, url, response.status_code)


def test_nothing_changed_by_refused_requests(app):
    with VoronkaClient(app) as sales:
        sales.login("sales")
        for method, url in _admin_urls(app):
            sales.request(method, url, headers={"X-CSRF-Token": sales.csrf_token or ""}, data={"name": "Hacked"})
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(Team.id).where(Team.name == "Hacked")) is None
        sales = session.scalar(select(User.id).where(User.username == "sales"))
        assert session.scalar(select(ManagerLink.valid_to).where(ManagerLink.user_id == sales)) is None
    assert app.state.voronka.host.is_enabled("contacts")


def test_overview_counts_and_links(client):
    client.login("admin")
    page = client.get("/admin")
    assert page.status_code == 200
    for href in ("/admin/plugins", "/admin/users", "/admin/roles", "/admin/teams", "/admin/settings"):
        assert f'href="{href}"' in page.text
    users_card = page.text.split('href="/admin/users"', 2)[2].split("</a>", 1)[0]
    assert '<p class="stat-figure">5</p>' in users_card
    teams_card = page.text.split('href="/admin/teams"', 2)[2].split("</a>", 1)[0]
    assert '<p class="stat-figure">1</p>' in teams_card and "team · 1 queue" in teams_card
    assert "Administration" in client.get("/").text  # the nav entry for admins


def test_ids_beyond_any_integer_are_404_not_500(client):
    """Path ids are digits of any length; neither engine can even compare with 10**30."""
    client.login("admin")
    huge = "9" * 30
    for url in (f"/admin/users/{huge}", f"/admin/roles/{huge}", f"/admin/teams/{huge}"):
        assert client.get(url).status_code == 404, url
    with client.app.state.voronka.sessions() as session:
        sales = session.scalar(select(User.id).where(User.username == "sales"))
        team = session.scalar(select(Team.id).where(Team.name == "Sales"))
    for url in (f"/admin/users/{sales}/managers/{huge}/end", f"/admin/users/{sales}/managers/{huge}/delete",
                f"/admin/teams/{team}/members/{huge}/remove", f"/admin/users/{huge}/password"):  # fmt: skip
        assert client.post(url, data={"valid_to": "2030-01-01", "password": "long-enough-1"}).status_code == 404, url
    forged = client.post(f"/admin/teams/{team}/members", data={"user_id": huge})
    assert forged.status_code == 400
    link = client.post(f"/admin/users/{sales}/managers", data={"manager_id": huge, "valid_from": "2031-01-01"})
    assert link.status_code == 400 and "Choose a manager from the list." in link.text
    roles = client.post("/admin/users/new", data={"username": "x1", "password": "long-enough-1", "roles": [huge]})
    assert roles.status_code == 400 and "Choose roles from the list." in roles.text
    assert client.get("/admin/users", params={"role": huge, "manager": "１２"}).status_code == 200

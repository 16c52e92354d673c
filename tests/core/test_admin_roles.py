"""Admin: roles — visibility scope, permissions grouped by plugin, built-in and in-use roles kept."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.models import Role, RolePermission, User, UserRole
from voronka.web.testkit import VoronkaClient

pytestmark = pytest.mark.voronka(plugins=["adminfx=voronka_test_admin_fixture"], entry_points=False)


def role(app: Any, key: str) -> Role | None:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(Role).where(Role.key == key))


def grants(app: Any, key: str) -> set[str]:
    with app.state.voronka.sessions() as session:
        return set(
            session.scalars(
                select(RolePermission.permission).join(Role, Role.id == RolePermission.role_id).where(Role.key == key)
            )
        )


def role_form(app: Any, role_key: str, **changes: Any) -> dict[str, Any]:
    found = role(app, role_key)
    assert found is not None
    form = {"label": found.label, "key": found.key, "visibility": found.visibility,
            "permissions": sorted(grants(app, role_key))}  # fmt: skip
    form.update(changes)
    return form


def test_list_shows_scopes_and_members(client):
    client.login("admin")
    page = client.get("/admin/roles")
    assert page.status_code == 200
    for label in ("Administrator", "Sales manager", "Sales person", "Contact-centre operator"):
        assert label in page.text
    assert "Everyone under them in the hierarchy" in page.text and "All records" in page.text
    sales_row = page.text.split("Sales person", 1)[1].split("</tr>", 1)[0]
    assert '&amp;status=active">2</a>' in sales_row  # sales and sales2
    fragment = client.hx_get("/admin/roles")
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Sales person" in fragment.text


def test_form_groups_permissions_by_plugin(client, app):
    client.login("admin")
    page = client.get("/admin/roles/new")
    assert page.status_code == 200
    core_part, plugin_part = page.text.split("<legend>Admin fixture", 1)
    assert 'value="core.admin"' in core_part and 'value="core.search"' in core_part
    assert 'value="adminfx.view"' in plugin_part and "See the fixture page" in plugin_part
    manager = role(app, "manager")
    edit = client.get(f"/admin/roles/{manager.id}")
    assert 'value="adminfx.view" checked' in edit.text  # granted by default to managers
    assert "Built-in roles cannot be deleted." in edit.text and "Maksym Manager" in edit.text


def test_create_and_edit_a_role(client, app):
    client.login("admin")
    response = client.post("/admin/roles/new", data={
        "label": "Team lead", "key": "team_lead", "visibility": "team", "permissions": ["core.search", "adminfx.view"],
    })  # fmt: skip
    assert response.status_code == 200 and "Saved." in response.text
    created = role(app, "team_lead")
    assert created is not None and created.label == "Team lead" and created.visibility == "team"
    assert not created.builtin and grants(app, "team_lead") == {"core.search", "adminfx.view"}
    changed = client.post(f"/admin/roles/{created.id}", data={
        "label": "Senior lead", "key": "senior_lead", "visibility": "under", "permissions": ["core.users.view"],
    })  # fmt: skip
    assert changed.status_code == 200
    assert role(app, "senior_lead").label == "Senior lead" and grants(app, "senior_lead") == {"core.users.view"}
    assert role(app, "team_lead") is None


def test_role_errors_in_place(client, app):
    client.login("admin")
    response = client.post("/admin/roles/new", data={
        "label": "", "key": "Bad Key!", "visibility": "galaxy", "permissions": ["core.search", "nosuch.perm"],
    })  # fmt: skip
    assert response.status_code == 400
    assert "Enter a name for the role." in response.text
    assert "A key is 2-60 lower-case letters" in response.text
    assert "Choose one of the listed scopes." in response.text
    assert "No plugin declares these permissions: nosuch.perm." in response.text
    duplicate = client.post("/admin/roles/new", data={"label": "Again", "key": "sales", "visibility": "own"})
    assert duplicate.status_code == 400 and "Another role already has the key sales." in duplicate.text
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(Role).where(Role.label.in_(["", "Again"]))) is None
    assert client.get("/admin/roles/999999").status_code == 404
    assert client.post("/admin/roles/999999", data={"label": "x", "key": "xx", "visibility": "own"}).status_code == 404
    assert client.post("/admin/roles/999999/delete").status_code == 404


def test_builtin_role_keeps_its_key_and_holders_get_new_permissions_at_once(client, app):
    sales_client = VoronkaClient(app)
    sales_client.login("sales")
    assert sales_client.get("/admin").status_code == 403
    client.login("admin")
    sales = role(app, "sales")
    form = role_form(app, "sales", key="renamed", permissions=[*grants(app, "sales"), "core.admin"])
    assert client.post(f"/admin/roles/{sales.id}", data=form).status_code == 200
    assert role(app, "sales") is not None and role(app, "renamed") is None
    assert "core.admin" in grants(app, "sales")
    assert sales_client.get("/admin").status_code == 200


def test_grants_of_plugins_not_installed_are_kept(client, app):
    client.login("admin")
    sales = role(app, "sales")
    with app.state.voronka.sessions() as session:
        session.add(RolePermission(role_id=sales.id, permission="uninstalled.view"))
        session.commit()
    assert (
        client.post(f"/admin/roles/{sales.id}", data=role_form(app, "sales", permissions=["core.search"])).status_code
        == 200
    )
    assert grants(app, "sales") == {"core.search", "uninstalled.view"}


def test_the_last_admin_permission_cannot_be_removed(client, app):
    client.login("admin")
    admin = role(app, "admin")
    response = client.post(f"/admin/roles/{admin.id}", data=role_form(app, "admin", permissions=["core.search"]))
    assert response.status_code == 400 and "no active user who can administer" in response.text
    assert "core.admin" in grants(app, "admin")


def test_delete_rules(client, app):
    client.login("admin")
    sales = role(app, "sales")
    builtin = client.post(f"/admin/roles/{sales.id}/delete")
    assert builtin.status_code == 409 and "Sales person is a built-in role and cannot be deleted." in builtin.text
    client.post("/admin/roles/new", data={"label": "Temp", "key": "temp", "visibility": "own"})
    temp = role(app, "temp")
    with app.state.voronka.sessions() as session:
        sales2 = session.scalar(select(User.id).where(User.username == "sales2"))
        session.add(UserRole(user_id=sales2, role_id=temp.id))
        session.commit()
    in_use = client.post(f"/admin/roles/{temp.id}/delete")
    assert in_use.status_code == 409
    assert "1 users hold this role (Taras Sales); take it away from them before deleting it." in in_use.text
    assert role(app, "temp") is not None
    with app.state.voronka.sessions() as session:
        session.execute(UserRole.__table__.delete().where(UserRole.role_id == temp.id))
        session.commit()
    gone = client.post(f"/admin/roles/{temp.id}/delete")
    assert gone.status_code == 200 and "The role Temp is deleted." in gone.text
    assert role(app, "temp") is None and grants(app, "temp") == set()

"""Route markers at work (API keys with scopes, rate limits across processes, required permissions) and
roles: the four defaults with their permissions, default grants given once, an admin's removal kept."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, select
from voronka_test_security.helpers import read, write

from voronka.core.models import ApiKey, Role, RolePermission, SettingValue, User, UserRole
from voronka.core.security.permissions import ADMIN, Permission, sync_roles
from voronka.core.security.users import load_user
from voronka.web.guard import hash_api_key
from voronka.web.testkit import VoronkaClient

pytestmark = pytest.mark.voronka(plugins=["voronka_test_security"])

BASE = "/voronka_test_security"
SECRET = "voronka_test_security.secret"


def add_key(app, secret: str, scopes: list[str], active: bool = True, name: str = "crm-sync") -> int:
    with write(app) as session:
        key = ApiKey(name=name, prefix=secret[:8], key_hash=hash_api_key(secret), scopes=scopes, active=active)
        session.add(key)
        session.flush()
        return key.id


# -- API keys -------------------------------------------------------------------------------------------


def test_api_key_routes(app, client):
    reader = add_key(app, "vk_read_0123456789", ["items.read"])
    add_key(app, "vk_both_0123456789", ["items.read", "items.write"], name="writer")
    add_key(app, "vk_gone_0123456789", ["items.read", "items.write"], active=False, name="revoked")
    url = f"{BASE}/api/items"

    def call(method: str, path: str, key: str | None = None, scheme: str = "Bearer"):
        headers = {"Accept": "application/json"}
        if key is not None:
            headers["Authorization"] = f"{scheme} {key}"
        return client.request(method, path, headers=headers, follow_redirects=False)

    missing = call("GET", url)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in missing.json()["error"]
    assert call("GET", url, "vk_read_0123456789", scheme="Basic").status_code == 401
    assert call("GET", url, "").status_code == 401
    wrong = call("GET", url, "vk_read_0123456789x")
    assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]
    assert call("GET", url, "vk_gone_0123456789").status_code == 401  # revoked
    scope = call("POST", f"{url}/write", "vk_read_0123456789")
    assert scope.status_code == 403 and "items.write" in scope.json()["error"]
    ok = call("GET", url, "vk_read_0123456789")
    assert ok.status_code == 200 and ok.json() == {"items": [], "key": "crm-sync", "scopes": ["items.read"]}
    # an API-key route needs no CSRF token: the key is the protection
    assert call("POST", f"{url}/write", "vk_both_0123456789").status_code == 201
    assert call("POST", url, "vk_read_0123456789").status_code == 200
    with read(app) as session:
        assert session.get(ApiKey, reader).last_used_at is not None
    # only the hash is stored
    with read(app) as session:
        stored = session.scalars(select(ApiKey.key_hash)).all()
    assert "vk_read_0123456789" not in stored and hash_api_key("vk_read_0123456789") in stored


def test_a_browser_session_does_not_open_an_api_key_route(client):
    client.login("admin")
    response = client.get(f"{BASE}/api/items", follow_redirects=False)
    assert response.status_code == 401
    assert client.post(f"{BASE}/api/items", follow_redirects=False).status_code == 401


# -- rate limits ----------------------------------------------------------------------------------------


def _away_from_a_window_edge(per: int = 3600) -> None:
    """Counters use fixed windows; do not start a test in the last seconds of one."""
    left = per - time.time() % per
    if left < 5:
        time.sleep(left + 0.1)


def test_a_rate_limit_holds_across_two_processes(make_app):
    _away_from_a_window_edge()
    app1, app2 = make_app(), make_app()
    url = f"{BASE}/limited"
    with VoronkaClient(app1) as first, VoronkaClient(app2) as second:
        assert first.get(url).status_code == 200
        assert second.get(url).status_code == 200
        assert first.get(url).status_code == 200
        over = second.get(url)
        assert over.status_code == 429
        assert over.headers["retry-after"] == "3600"
        assert "Too many requests" in over.text and "Traceback" not in over.text
        assert first.get(url).status_code == 429
    # counted per client address: another address still gets through
    with VoronkaClient(app1, client=("192.0.2.44", 1000)) as elsewhere:
        assert elsewhere.get(url).status_code == 200


def test_an_endpoint_may_count_its_request_in_its_own_transaction(app, client):
    _away_from_a_window_edge()
    assert client.get(f"{BASE}/counted?k=first").text == "written first"
    assert client.get(f"{BASE}/counted?early=1").text == "answered early"  # counted by the guard afterwards
    over = client.get(f"{BASE}/counted?k=third")
    assert over.status_code == 429 and over.headers["retry-after"] == "3600"
    with read(app) as session:  # the refused request's write went with its transaction
        keys = set(session.scalars(select(SettingValue.key).where(SettingValue.plugin == "voronka_test_security")))
    assert keys == {"first"}
    assert client.get(f"{BASE}/counted?early=1").status_code == 200  # an early answer is never refused
    assert client.get(f"{BASE}/counted?k=fourth").status_code == 429


# -- permissions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "status"), [("sales", 403), ("operator", 403), ("manager", 200), ("admin", 200)])
def test_requires_refuses_a_user_without_the_permission(client, username, status):
    client.login(username)
    response = client.get(f"{BASE}/secret", follow_redirects=False)
    assert response.status_code == status
    if status == 403:
        assert "You do not have permission to open this page." in response.text
        assert response.headers["content-type"].startswith("text/html")
        assert client.hx_get(f"{BASE}/secret").status_code == 403
    else:
        assert response.text == "the secret page"


# -- roles ----------------------------------------------------------------------------------------------


def role_permissions(app) -> dict[str, set[str]]:
    with read(app) as session:
        rows = session.execute(select(Role.key, RolePermission.permission).join(RolePermission)).all()
    found: dict[str, set[str]] = {}
    for key, perm in rows:
        found.setdefault(key, set()).add(perm)
    return found


def test_default_roles_exist_with_their_permissions(app):
    with read(app) as session:
        roles = {r.key: r for r in session.scalars(select(Role))}
    assert {k: (r.visibility, r.builtin) for k, r in roles.items() if r.builtin} == {
        "admin": ("all", True),
        "manager": ("under", True),
        "sales": ("own", True),
        "operator": ("team", True),
    }
    perms = role_permissions(app)
    assert ADMIN in perms["admin"]
    for role in ("admin", "manager", "sales", "operator"):
        assert {"core.search", "core.users.view"} <= perms[role], role
        if role != "admin":
            assert ADMIN not in perms[role]
    assert SECRET in perms["manager"]  # the fixture plugin's permission, granted to its default role
    assert SECRET not in perms["sales"] and SECRET not in perms["operator"]


def test_each_test_user_gets_its_roles_scope(app):
    with read(app) as session:
        ids = dict(session.execute(select(User.username, User.id)).all())
        users = {name: load_user(session, uid) for name, uid in ids.items()}
    assert {name: u.visibility for name, u in users.items()} == {
        "admin": "all", "manager": "under", "sales": "own", "sales2": "own", "operator": "team",
    }  # fmt: skip
    assert users["admin"].is_admin and users["admin"].can("anything.at.all")
    assert users["manager"].can(SECRET) and not users["sales"].can(SECRET)


def test_an_admins_removal_of_a_default_grant_survives_a_restart(app, make_app):
    with write(app) as session:
        manager = session.scalar(select(Role.id).where(Role.key == "manager"))
        session.execute(
            delete(RolePermission).where(RolePermission.role_id == manager, RolePermission.permission == SECRET)
        )
    restarted = make_app()  # create_app syncs the plugins' permissions again
    assert SECRET not in role_permissions(restarted)["manager"]
    with VoronkaClient(restarted) as client:
        client.login("manager")
        assert client.get(f"{BASE}/secret", follow_redirects=False).status_code == 403
    # and an admin granting it to another role is kept too
    with write(restarted) as session:
        sales = session.scalar(select(Role.id).where(Role.key == "sales"))
        session.add(RolePermission(role_id=sales, permission=SECRET))
    assert SECRET in role_permissions(make_app())["sales"]


def test_a_new_permission_is_granted_to_its_default_roles_once(app):
    later = Permission("voronka_test_security.later", "Added in a later release", default_roles=("sales", "operator"))
    with write(app) as session:
        sync_roles(session, [later])
    assert later.key in role_permissions(app)["sales"]
    assert later.key in role_permissions(app)["operator"]
    with write(app) as session:
        sales = session.scalar(select(Role.id).where(Role.key == "sales"))
        session.execute(
            delete(RolePermission).where(RolePermission.role_id == sales, RolePermission.permission == later.key)
        )
    for _ in range(2):
        with write(app) as session:
            sync_roles(session, [later])
    perms = role_permissions(app)
    assert later.key not in perms["sales"] and later.key in perms["operator"]
    with read(app) as session:
        known = session.get(SettingValue, ("core", "known_permissions")).value
    assert later.key in known and known == sorted(set(known))


def test_a_deleted_default_role_comes_back_but_an_edited_one_is_left_alone(app, make_app):
    with write(app) as session:
        operator = session.scalar(select(Role).where(Role.key == "operator"))
        operator.visibility = "own"
        operator.label = "Call centre"
        sales = session.scalar(select(Role).where(Role.key == "sales"))
        session.execute(delete(UserRole).where(UserRole.role_id == sales.id))
        session.delete(sales)
    make_app()
    with read(app) as session:
        roles = {r.key: r for r in session.scalars(select(Role))}
    assert (roles["operator"].visibility, roles["operator"].label) == ("own", "Call centre")
    assert "sales" in roles and roles["sales"].visibility == "own"

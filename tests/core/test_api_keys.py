"""API keys end to end: created on the admin page or with the CLI, they open the fixture plugin's
``@api_key`` routes; the secret is shown once and only its hash stored; revoking holds in every process."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner
from voronka_test_security.helpers import read, write

from voronka.core.config import Settings
from voronka.core.errors import ValidationError
from voronka.core.models import ApiKey, User
from voronka.core.security.api_keys import create_api_key, hash_api_key, revoke_api_key
from voronka.web.app import create_app
from voronka.web.cli import create_cli, render_config
from voronka.web.routes.admin_api_keys import known_scopes
from voronka.web.testkit import VoronkaClient

pytestmark = pytest.mark.voronka(plugins=["voronka_test_security"], entry_points=False)  # core and its fixture only

API = "/voronka_test_security/api/items"
SECRET = re.compile(r"vk_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}")


def call(client: VoronkaClient, secret: str, path: str = API, method: str = "GET") -> Any:
    headers = {"Accept": "application/json", "Authorization": f"Bearer {secret}"}
    return client.request(method, path, headers=headers, follow_redirects=False)


def user_id(app: Any, username: str) -> int:
    with read(app) as session:
        found = session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def keys(app: Any) -> list[ApiKey]:
    with read(app) as session:
        return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def create_on_page(client: VoronkaClient, name: str, scopes: list[str], user: int | None = None) -> str:
    data: dict[str, Any] = {"name": name, "scopes": scopes, "user_id": "" if user is None else str(user)}
    response = client.post("/admin/api-keys", data=data)
    assert response.status_code == 201, response.text
    found = SECRET.findall(response.text)
    assert len(set(found)) == 1, found
    return found[0]


# -- the admin page -----------------------------------------------------------------------------------------


def test_a_key_created_on_the_admin_page_opens_its_route_and_its_secret_is_shown_once(app, client):
    client.login("admin")
    empty = client.get("/admin/api-keys")
    assert empty.status_code == 200
    assert 'href="/admin/api-keys" class="active"' in empty.text  # the tab
    for scope in ("items.read", "items.write"):  # from the fixture plugin's @api_key routes, with its label
        assert f'name="scopes" value="{scope}"' in empty.text
    assert "Security fixture" in empty.text

    sales = user_id(app, "sales")
    response = client.post("/admin/api-keys", data={"name": "CRM sync", "scopes": ["items.read"], "user_id": sales})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    assert "cannot be shown again" in response.text
    secret = SECRET.search(response.text).group(0)
    assert secret not in response.headers.get("set-cookie", "")

    [key] = keys(app)
    assert (key.name, key.scopes, key.user_id, key.active) == ("CRM sync", ["items.read"], sales, True)
    assert secret.startswith(key.prefix + "_") and re.fullmatch(r"vk_[0-9a-f]{8}", key.prefix)
    # not stored in plain text: only the SHA-256 of the secret, and no column holds the secret
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest() == hash_api_key(secret)
    with read(app) as session:
        row = session.execute(select(ApiKey.__table__)).one()
    assert not any(secret in str(value) for value in row)

    with VoronkaClient(app) as integration:  # another program: no session, no CSRF token
        ok = call(integration, secret)
        assert ok.status_code == 200
        assert ok.json() == {"items": [], "key": "CRM sync", "scopes": ["items.read"]}
        assert call(integration, secret, method="POST").status_code == 200

    again = client.get("/admin/api-keys")  # the list: never the secret again
    assert secret not in again.text
    row_html = again.text.split(f'id="key-{key.id}"', 1)[1].split("</tr>", 1)[0]
    assert key.prefix in row_html and "items.read" in row_html and "Sofiia Sales" in row_html
    assert "Active" in row_html and "never" not in row_html  # last used is set
    assert keys(app)[0].last_used_at is not None


def test_a_key_without_the_needed_scope_gets_403(app, client):
    client.login("admin")
    reader = create_on_page(client, "Reader", ["items.read"])
    both = create_on_page(client, "Writer", ["items.read", "items.write"])
    with VoronkaClient(app) as integration:
        refused = call(integration, reader, f"{API}/write", "POST")
        assert refused.status_code == 403 and "items.write" in refused.json()["error"]
        assert call(integration, both, f"{API}/write", "POST").status_code == 201


def test_a_revoked_key_gets_401_in_every_process(make_app):
    first, second = make_app(), make_app()  # two processes on one database
    with VoronkaClient(first) as admin, VoronkaClient(second) as other, VoronkaClient(first) as integration:
        admin.login("admin")
        secret = create_on_page(admin, "Website form", ["items.read"])
        keep = create_on_page(admin, "Accounting", ["items.read"])
        assert call(integration, secret).status_code == 200
        assert call(other, secret).status_code == 200
        key = next(k for k in keys(first) if k.name == "Website form")

        listed = admin.get("/admin/api-keys").text
        assert f'hx-vals=\'{{"key": "{key.prefix}"}}\'' in listed and "hx-confirm=" in listed
        confirm = admin.get(f"/admin/api-keys/revoke?key={key.prefix}")  # the question, without JavaScript
        assert confirm.status_code == 200 and "Revoke the key Website form?" in confirm.text
        assert f'name="key" value="{key.prefix}"' in confirm.text

        revoked = admin.post("/admin/api-keys/revoke", data={"key": key.prefix}, follow_redirects=False)
        assert revoked.status_code == 303 and revoked.headers["location"] == "/admin/api-keys?revoked=1"
        for client in (integration, other):
            gone = call(client, secret)
            assert gone.status_code == 401 and "revoked" in gone.json()["error"]
            assert call(client, keep).status_code == 200  # the other key still works

        page = admin.get("/admin/api-keys?revoked=1").text
        assert "The key is revoked" in page
        row_html = page.split(f'id="key-{key.id}"', 1)[1].split("</tr>", 1)[0]
        assert "Revoked" in row_html and "/revoke" not in row_html
        # revoking again, or asking again, changes nothing; an unknown key is a 404
        again = admin.post("/admin/api-keys/revoke", data={"key": key.prefix}, follow_redirects=False)
        assert again.status_code == 303
        asked = admin.get(f"/admin/api-keys/revoke?key={key.prefix}", follow_redirects=False)
        assert asked.status_code == 303
        for data in ({"key": "vk_00000000"}, {"key": ""}, {}):
            assert admin.post("/admin/api-keys/revoke", data=data, follow_redirects=False).status_code == 404
        assert admin.get("/admin/api-keys/revoke?key=nope", follow_redirects=False).status_code == 404
        htmx = admin.hx_post("/admin/api-keys/revoke", data={"key": key.prefix})
        assert htmx.status_code == 200 and htmx.headers["hx-redirect"] == "/admin/api-keys?revoked=1"
        assert call(integration, secret).status_code == 401


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "scopes": ["items.read"]}, "Enter a name for the key"),
        ({"name": "   ", "scopes": ["items.read"]}, "Enter a name for the key"),
        ({"name": "x" * 121, "scopes": ["items.read"]}, "Keep the name to 120 characters or fewer."),
        ({"name": "Forged", "scopes": ["items.read", "items.delete"]}, "Unknown scope(s): items.delete."),
        ({"name": "No scope"}, "Choose at least one scope"),
        ({"name": "Nobody", "scopes": ["items.read"], "user_id": "abc"}, "That user does not exist."),
        ({"name": "Nobody", "scopes": ["items.read"], "user_id": "999999"}, "That user does not exist."),
    ],
)
def test_bad_input_gets_400_with_the_message_in_place(app, client, data, message):
    client.login("admin")
    response = client.post("/admin/api-keys", data=data)
    assert response.status_code == 400
    assert message in response.text
    assert 'class="field-error"' in response.text and "vk_" not in response.text
    fragment = client.hx_post("/admin/api-keys", data=data)
    assert fragment.status_code == 400 and message in fragment.text and "<html" not in fragment.text
    assert keys(app) == []


def test_a_deactivated_user_cannot_be_the_acting_user(app, client):
    with app.state.voronka.sessions.begin() as session:
        session.get(User, user_id(app, "sales2")).active = False
    client.login("admin")
    response = client.post(
        "/admin/api-keys", data={"name": "Old", "scopes": ["items.read"], "user_id": user_id(app, "sales2")}
    )
    assert response.status_code == 400 and "deactivated" in response.text
    assert keys(app) == []


@pytest.mark.parametrize("username", ["sales", "manager", "operator"])
def test_non_admins_get_403(app, client, username):
    with app.state.voronka.sessions.begin() as session:
        key, _secret = create_api_key(session, "Existing", ["items.read"], known_scopes={"items.read"})
        prefix = key.prefix
    client.login(username)
    assert client.get("/admin/api-keys", follow_redirects=False).status_code == 403
    assert client.post("/admin/api-keys", data={"name": "Mine", "scopes": ["items.read"]}).status_code == 403
    assert client.get(f"/admin/api-keys/revoke?key={prefix}", follow_redirects=False).status_code == 403
    revoke = client.post("/admin/api-keys/revoke", data={"key": prefix}, follow_redirects=False)
    assert revoke.status_code == 403
    assert [(k.name, k.active) for k in keys(app)] == [("Existing", True)]
    client.cookies.clear()
    anonymous = client.get("/admin/api-keys", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


@pytest.mark.voronka(plugins=[], entry_points=False)
def test_without_api_key_routes_there_is_nothing_to_grant(app, client):
    client.login("admin")
    page = client.get("/admin/api-keys")
    assert page.status_code == 200
    assert "No installed plugin offers routes for API keys yet" in page.text and 'name="scopes"' not in page.text
    refused = client.post("/admin/api-keys", data={"name": "Sync", "scopes": ["items.read"]})
    assert refused.status_code == 400 and "no scope to grant" in refused.text
    assert keys(app) == []


# -- the core API and the scope walk ------------------------------------------------------------------------


def test_known_scopes_walks_core_and_plugin_gates(app):
    assert known_scopes(app.routes) == {
        "items.read": ["voronka_test_security"],
        "items.write": ["voronka_test_security"],
    }


def test_create_and_revoke_api_key(app):
    with app.state.voronka.sessions.begin() as session:
        with pytest.raises(ValidationError) as problem:
            create_api_key(session, "", [], known_scopes={"items.read"})
        assert set(problem.value.errors) == {"name", "scopes"}
        with pytest.raises(ValidationError, match="no scope to grant"):
            create_api_key(session, "Lonely", ["items.read"], known_scopes=set())
        key, secret = create_api_key(session, " Sync ", ["items.read", "items.read"], known_scopes={"items.read"})
        assert (key.name, key.scopes, key.user_id) == ("Sync", ["items.read"], None)
        assert key.key_hash == hash_api_key(secret) != secret
        other, other_secret = create_api_key(session, "Sync", ["items.read"], known_scopes={"items.read"})
        assert other.prefix != key.prefix and other_secret != secret
        assert revoke_api_key(session, key.id) is key and not key.active
        assert revoke_api_key(session, key.id) is key and not key.active
        assert revoke_api_key(session, 987654) is None


# -- the command line ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_config(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration like ``voronka init`` writes, with the fixture plugin; no VORONKA_* leaks in."""
    for name in list(os.environ):
        if name.startswith("VORONKA_") and name not in ("VORONKA_TEST_PG_URL", "VORONKA_TEST_ENGINES"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    settings = Settings(
        database_url=db_url, secret_key="cli-test-secret-key-cli-test-secret", extra_plugins=["voronka_test_security"]
    )
    path = tmp_path / "voronka.toml"
    path.write_text(render_config(settings), encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(create_cli(), ["--config", str(config), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result


def test_cli_create_list_revoke(engine: str, cli_config: Path):
    assert "No API keys yet" in cli(cli_config, "apikeys", "list").output
    made = cli(cli_config, "apikeys", "create", "Accounting", "--scope", "items.read", "--scope", "items.write",
               "--user", "sales")  # fmt: skip
    assert made.exit_code == 0, made.output
    secret = SECRET.search(made.output).group(0)
    assert made.output.count(secret) == 1 and "shown only this once" in made.output
    prefix = secret[:11]  # vk_ and 8 hex digits
    assert f"Created the API key 'Accounting' ({prefix}) with scopes items.read, items.write." in made.output

    listed = cli(cli_config, "apikeys", "list")
    assert listed.exit_code == 0 and secret not in listed.output
    line = next(line for line in listed.output.splitlines() if line.startswith(prefix))
    assert "Accounting" in line and "items.read,items.write" in line and " sales " in line
    assert line.endswith("active") and " never " in line

    app = create_app(Settings.load(cli_config))
    try:
        with VoronkaClient(app) as integration:
            assert call(integration, secret).status_code == 200
            assert call(integration, secret, f"{API}/write", "POST").status_code == 201
            revoked = cli(cli_config, "apikeys", "revoke", prefix)
            assert revoked.exit_code == 0 and f"Revoked the API key 'Accounting' ({prefix})." in revoked.output
            assert call(integration, secret).status_code == 401
    finally:
        app.state.voronka.engine.dispose()
    line = next(line for line in cli(cli_config, "apikeys", "list").output.splitlines() if line.startswith(prefix))
    assert line.endswith("revoked") and " never " not in line
    again = cli(cli_config, "apikeys", "revoke", prefix.removeprefix("vk_"))  # the bare part works too
    assert again.exit_code == 0 and "already revoked" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["Sync", "--scope", "items.nope"],
            "scopes: Unknown scope(s): items.nope. Known scopes: items.read, items.write.",
        ),
        (["Sync"], "scopes: Choose at least one scope"),
        (["", "--scope", "items.read"], "name: Enter a name for the key"),
        (["Sync", "--scope", "items.read", "--user", "nobody"], "--user: no user is called 'nobody'"),
    ],
)
def test_cli_create_refuses_bad_input_with_exit_2(engine: str, cli_config: Path, args: list[str], message: str):
    result = cli(cli_config, "apikeys", "create", *args)
    assert result.exit_code == 2 and message in result.output
    assert "No API keys yet" in cli(cli_config, "apikeys", "list").output


def test_cli_revoke_an_unknown_prefix(engine: str, cli_config: Path):
    result = cli(cli_config, "apikeys", "revoke", "vk_00000000")
    assert result.exit_code == 2 and "No API key has the prefix 'vk_00000000'" in result.output


def test_a_key_stops_working_when_its_acting_user_is_deactivated(app, client):
    client.login("admin")
    sales = user_id(app, "sales")
    secret = create_on_page(client, "Acts for Sofiia", ["items.read"], user=sales)
    assert call(client, secret).status_code == 200
    with write(app) as session:
        session.execute(update(User).where(User.id == sales).values(active=False))
    refused = call(client, secret)
    assert refused.status_code == 401
    assert "no longer active" in refused.json()["error"]

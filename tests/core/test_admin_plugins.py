"""Admin: the plugins page — statuses, dependencies, load errors, toggles shared by every process."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from voronka.core.db import make_engine, make_sessionmaker
from voronka.core.models import PluginState, StateVersion, User
from voronka.web.testkit import VoronkaClient

FIXTURE = ["adminfx=voronka_test_admin_fixture", "adminfx_dep=voronka_test_admin_fixture.dependent"]
WITH_BROKEN = [
    *FIXTURE,
    "adminfx_broken=voronka_test_admin_fixture.broken",
    "adminfx_needs=voronka_test_admin_fixture.needs_broken",
]

pytestmark = pytest.mark.voronka(plugins=FIXTURE, entry_points=False)


def _row(html: str, name: str) -> str:
    match = re.search(rf'<tr id="plugin-{name}".*?</tr>(\s*<tr class="detail-row">.*?</tr>)?', html, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


def _admin(app) -> VoronkaClient:
    client = VoronkaClient(app)
    client.__enter__()
    client.login("admin")
    return client


def test_page_lists_plugins_with_versions_dependencies_and_settings_link(client):
    client.login("admin")
    page = client.get("/admin/plugins")
    assert page.status_code == 200
    fixture = _row(page.text, "adminfx")
    assert "Admin fixture" in fixture and "1.2.0" in fixture and "Enabled" in fixture
    assert "Required by" in fixture and "Admin fixture add-on" in fixture
    assert "adminfx_extra &gt;=2" in fixture  # an optional plugin that is not installed
    assert "module voronka_test_admin_fixture" in fixture
    assert 'href="/admin/settings/adminfx"' in fixture
    addon = _row(page.text, "adminfx_dep")
    assert "adminfx &gt;=1.0" in addon and "0.3.0" in addon
    assert "/admin/plugins/adminfx_dep/disable" in addon
    assert "/admin/settings/adminfx_dep" not in addon  # it has no settings
    fragment = client.hx_get("/admin/plugins")
    assert fragment.status_code == 200
    assert 'id="plugins"' in fragment.text and "<html" not in fragment.text


def test_disable_then_enable_writes_state_and_hides_routes_and_nav(client, app, db_url):
    client.login("admin")
    assert client.get("/adminfx_dep/").status_code == 200
    assert "Add-on page" in client.get("/").text
    response = client.post("/admin/plugins/adminfx_dep/disable")
    assert response.status_code == 200 and str(response.url).endswith("/admin/plugins?changed=adminfx_dep")
    assert "Admin fixture add-on is disabled." in response.text
    assert "Disabled" in _row(response.text, "adminfx_dep")
    assert client.get("/adminfx_dep/").status_code == 404
    assert "Add-on page" not in client.get("/").text
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        state = session.get(PluginState, "adminfx_dep")
        admin_id = session.scalar(select(User.id).where(User.username == "admin"))
        assert state is not None and state.enabled is False and state.changed_by == admin_id
        version = session.get(StateVersion, "plugins").version
    assert "Changed by Olena Admin" in _row(client.get("/admin/plugins").text, "adminfx_dep")
    assert client.post("/admin/plugins/adminfx_dep/enable").status_code == 200
    assert client.get("/adminfx_dep/").status_code == 200
    with make_sessionmaker(engine)() as session:
        assert session.get(PluginState, "adminfx_dep").enabled is True
        assert session.get(StateVersion, "plugins").version == version + 1
    engine.dispose()


def test_disabling_a_required_plugin_is_refused_in_place(client, db_url):
    client.login("admin")
    response = client.post("/admin/plugins/adminfx/disable")
    assert response.status_code == 409
    assert "Admin fixture is required by Admin fixture add-on; disable it first" in response.text
    assert client.get("/adminfx/").status_code == 200
    fragment = client.hx_post("/admin/plugins/adminfx/disable")
    assert fragment.status_code == 409
    assert "<html" not in fragment.text and 'id="plugins"' in fragment.text
    assert "required by Admin fixture add-on" in fragment.text
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        assert session.get(PluginState, "adminfx") is None  # nothing half-written
    engine.dispose()
    # the other order works: the add-on first, then the plugin it requires; enabling back needs the order too
    assert client.post("/admin/plugins/adminfx_dep/disable").status_code == 200
    assert client.post("/admin/plugins/adminfx/disable").status_code == 200
    refused = client.post("/admin/plugins/adminfx_dep/enable")
    assert refused.status_code == 409 and "requires adminfx; enable it first" in refused.text


def test_htmx_toggle_asks_for_a_full_reload(client):
    client.login("admin")
    response = client.hx_post("/admin/plugins/adminfx_dep/disable", follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/admin/plugins?changed=adminfx_dep"


def test_unknown_plugin_or_action_is_404(client):
    client.login("admin")
    assert client.post("/admin/plugins/nosuch/disable").status_code == 404
    assert client.post("/admin/plugins/adminfx/explode").status_code == 404
    assert client.get("/admin/plugins/adminfx/disable").status_code == 405


def test_second_process_sees_a_toggle_at_once(make_app):
    app1, app2 = make_app(), make_app()
    admin1 = _admin(app1)
    other = _admin(app2)
    try:
        assert other.get("/adminfx_dep/").status_code == 200
        assert admin1.post("/admin/plugins/adminfx_dep/disable").status_code == 200
        assert other.get("/adminfx_dep/").status_code == 404
        assert "Add-on page" not in other.get("/").text
        assert app2.state.voronka.host.is_enabled("adminfx_dep") is False
        assert "Disabled" in _row(other.get("/admin/plugins").text, "adminfx_dep")
    finally:
        admin1.__exit__(None, None, None)
        other.__exit__(None, None, None)


def test_second_process_polling_each_second_sees_a_toggle_within_a_second(make_app):
    app1, app2 = make_app(), make_app(state_poll_seconds=1.0)
    admin1 = _admin(app1)
    other = _admin(app2)
    try:
        assert other.get("/adminfx_dep/").status_code == 200
        assert admin1.post("/admin/plugins/adminfx_dep/disable").status_code == 200
        time.sleep(1.05)
        assert other.get("/adminfx_dep/").status_code == 404
        assert admin1.post("/admin/plugins/adminfx_dep/enable").status_code == 200
        time.sleep(1.05)
        assert other.get("/adminfx_dep/").status_code == 200
    finally:
        admin1.__exit__(None, None, None)
        other.__exit__(None, None, None)


def test_refusal_uses_the_state_another_process_committed(make_app):
    """Process 2 has not polled yet; its admin page must still refuse what process 1 made impossible."""
    app1, app2 = make_app(), make_app(state_poll_seconds=60.0)
    admin1 = _admin(app1)
    admin2 = _admin(app2)
    try:
        assert admin1.post("/admin/plugins/adminfx_dep/disable").status_code == 200
        assert admin1.post("/admin/plugins/adminfx/disable").status_code == 200
        refused = admin2.post("/admin/plugins/adminfx_dep/enable")
        assert refused.status_code == 409 and "enable it first" in refused.text
    finally:
        admin1.__exit__(None, None, None)
        admin2.__exit__(None, None, None)


def test_blocked_plugin_shows_no_toggle_and_cannot_be_enabled(make_app):
    app = make_app(blocked_plugins=["adminfx_dep"], disabled_plugins=["nosuch_plugin"])
    admin = _admin(app)
    try:
        page = admin.get("/admin/plugins")
        row = _row(page.text, "adminfx_dep")
        assert "Blocked by configuration" in row
        assert "/admin/plugins/adminfx_dep/" not in row
        assert "nosuch_plugin" in page.text and "plugins.disabled" in page.text  # the host's config warning
        refused = admin.post("/admin/plugins/adminfx_dep/enable")
        assert refused.status_code == 409 and "blocked by the deployment&#39;s configuration" in refused.text
        assert admin.get("/adminfx_dep/").status_code == 404
    finally:
        admin.__exit__(None, None, None)


@pytest.mark.voronka(plugins=WITH_BROKEN, entry_points=False)
def test_failed_plugins_show_the_reason_chain_and_no_toggle(client):
    client.login("admin")
    page = client.get("/admin/plugins")
    assert page.status_code == 200
    broken = _row(page.text, "adminfx_broken")
    assert "Failed to load" in broken
    assert (
        "cannot be imported: RuntimeError: the admin fixture&#39;s broken plugin fails to import on purpose" in broken
    )
    assert "/admin/plugins/adminfx_broken/" not in broken
    needs = _row(page.text, "adminfx_needs")
    assert "Failed to load" in needs
    assert "requires &#39;adminfx_broken&#39;, which is disabled: adminfx_broken cannot be imported" in needs
    refused = client.post("/admin/plugins/adminfx_needs/enable")
    assert refused.status_code == 409 and "is not a loaded plugin" in refused.text
    assert client.get("/admin").status_code == 200
    assert "2 failed to load" in client.get("/admin").text

"""Admin: each plugin's settings form, generated from its schema, validated in place, saved all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from voronka.core.db import make_engine, make_sessionmaker
from voronka.core.models import SettingValue

pytestmark = pytest.mark.voronka(plugins=["adminfx=voronka_test_admin_fixture"], entry_points=False)

VALID = {
    "greeting": "Good morning",
    "notes": "Line one\nLine two",
    "per_page": "40",
    "compact": "on",
    "tone": "loud",
    "reply_to": "sales@example.com",
    "homepage": "https://example.com/crm",
}


def _stored(db_url: str) -> dict[str, object]:
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        rows = session.execute(select(SettingValue.key, SettingValue.value).where(SettingValue.plugin == "adminfx"))
        found = {key: value for key, value in rows}
    engine.dispose()
    return found


def test_form_shows_every_field_type_with_defaults(client):
    client.login("admin")
    page = client.get("/admin/settings/adminfx")
    assert page.status_code == 200
    html = page.text
    assert 'name="greeting" value="Hello"' in html
    assert '<textarea name="notes"' in html
    assert 'name="per_page" value="25"' in html and 'type="number"' in html and 'min="5"' in html
    assert 'type="checkbox" name="compact"' in html
    assert '<select name="tone"' in html and '<option value="calm" selected>Calm</option>' in html
    assert 'type="email"' in html and 'type="url"' in html
    assert "Shown on top." in html
    index = client.get("/admin/settings")
    assert index.status_code == 200 and 'href="/admin/settings/adminfx"' in index.text


def test_valid_settings_are_saved_and_shown(client, db_url, app):
    client.login("admin")
    response = client.post("/admin/settings/adminfx", data=VALID)
    assert response.status_code == 200 and str(response.url).endswith("/admin/settings/adminfx?saved=1")
    assert "Saved." in response.text
    assert _stored(db_url) == {
        "greeting": "Good morning", "notes": "Line one\nLine two", "per_page": 40, "compact": True,
        "tone": "loud", "reply_to": "sales@example.com", "homepage": "https://example.com/crm",
    }  # fmt: skip
    assert 'name="per_page" value="40"' in response.text
    assert '<option value="loud" selected>Loud</option>' in response.text
    # an unticked checkbox sends nothing and means "off"
    unticked = {k: v for k, v in VALID.items() if k != "compact"}
    assert client.post("/admin/settings/adminfx", data=unticked).status_code == 200
    assert _stored(db_url)["compact"] is False
    store = app.state.voronka.settings_store
    with app.state.voronka.sessions() as session:
        assert store.get(session, "adminfx", "per_page") == 40


def test_bad_values_are_refused_in_place_and_nothing_is_saved(client, db_url):
    client.login("admin")
    bad = {**VALID, "greeting": "  ", "per_page": "9000", "tone": "shouty", "reply_to": "not an address",
           "homepage": "ftp://example.com"}  # fmt: skip
    response = client.post("/admin/settings/adminfx", data=bad)
    assert response.status_code == 400
    html = response.text
    assert "Nothing was saved" in html
    assert "This setting is required." in html
    assert "Enter 200 or less." in html
    assert "Choose one of the listed options." in html
    assert "Enter an e-mail address such as sales@example.com." in html
    assert "Enter an address starting with https://." in html
    assert 'value="9000"' in html  # what the admin typed stays in the form
    assert _stored(db_url) == {}  # all or nothing: the valid fields were not saved either
    not_a_number = client.post("/admin/settings/adminfx", data={**VALID, "per_page": "many"})
    assert not_a_number.status_code == 400 and "Enter a whole number." in not_a_number.text
    fragment = client.hx_post("/admin/settings/adminfx", data={**VALID, "per_page": "1"})
    assert fragment.status_code == 400 and "<html" not in fragment.text and "Enter 5 or more." in fragment.text


def test_unknown_plugin_is_404(client):
    client.login("admin")
    assert client.get("/admin/settings/nosuch").status_code == 404
    assert client.post("/admin/settings/nosuch", data={"x": "1"}).status_code == 404
    assert client.get("/admin/settings/core").status_code == 404


def test_second_process_reads_the_new_value(client, make_app):
    other = make_app()
    client.login("admin")
    with other.state.voronka.sessions() as session:
        assert other.state.voronka.settings_store.get(session, "adminfx", "greeting") == "Hello"
    assert client.post("/admin/settings/adminfx", data=VALID).status_code == 200
    other.state.voronka.sync()
    with other.state.voronka.sessions() as session:
        assert other.state.voronka.settings_store.get(session, "adminfx", "greeting") == "Good morning"

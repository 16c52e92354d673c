"""Installed vs enabled: the config sets the initial state and can block; the database holds the admin's
choice with a version counter every process polls; a disabled plugin loses its routes, nav, panels and
feature hooks but keeps its data and still hears the hooks that keep data consistent."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from voronka_test_notes.models import Note

from voronka.core.db import write_transaction
from voronka.core.models import PluginState, User
from voronka.core.search_keys import search_key
from voronka.core.state import bump
from voronka.core.types import utcnow
from voronka.web.testkit import VoronkaClient

NOTES = "notes=voronka_test_notes"
pytestmark = pytest.mark.voronka(plugins=[NOTES, "fx_root", "fx_trunk", "fx_leaf"], entry_points=False)


def set_enabled(app, name: str, enabled: bool) -> None:
    """What the admin page's toggle stores: the row, and a bump of the "plugins" counter."""
    with write_transaction(app.state.voronka.sessions) as session:
        row = session.get(PluginState, name)
        if row is None:
            session.add(PluginState(name=name, enabled=enabled, changed_at=utcnow()))
        else:
            row.enabled, row.changed_at = enabled, utcnow()
        bump(session, "plugins")


def add_note(app, title: str, **extra) -> int:
    with write_transaction(app.state.voronka.sessions) as session:
        admin = session.scalar(select(User.id).where(User.username == "admin"))
        note = Note(title=title, title_key=search_key(title), body="text", owner_user_id=admin, created_at=utcnow(),
                    **extra)  # fmt: skip
        session.add(note)
        session.flush()
        return note.id


def notes_by_ref(app) -> dict[str, int | None]:
    with app.state.voronka.sessions() as session:
        return dict(session.execute(select(Note.title, Note.ref_id)).all())


def test_config_disabled_plugins_set_the_initial_state_only(make_app):
    app = make_app(disabled_plugins=["notes", "fx_trunk"])
    host = app.state.voronka.host
    assert host.enabled == {"fx_root"}  # fx_leaf requires the disabled fx_trunk
    assert host.wanted("fx_leaf") and not host.wanted("fx_trunk")
    with VoronkaClient(app) as client:
        client.login("admin")
        assert client.get("/notes/").status_code == 404
        assert client.get("/fx_leaf/").status_code == 404
        assert client.get("/fx_root/").status_code == 200
        set_enabled(app, "notes", True)  # an admin's choice in the database overrides the initial state
        set_enabled(app, "fx_trunk", True)
        assert client.get("/notes/").status_code == 200
        assert client.get("/fx_leaf/").text == "fx_leaf is serving"
    assert host.enabled == {"notes", "fx_root", "fx_trunk", "fx_leaf"}


def test_blocked_plugins_win_over_the_database(make_app):
    first = make_app()
    set_enabled(first, "notes", True)
    app = make_app(blocked_plugins=["notes"])
    host = app.state.voronka.host
    assert not host.is_enabled("notes") and not host.wanted("notes")
    assert host.refuse_toggle("notes", True) == "Notes is blocked by the deployment's configuration"
    with VoronkaClient(app) as client:
        client.login("admin")
        assert client.get("/notes/").status_code == 404
        set_enabled(app, "notes", True)
        assert client.get("/notes/").status_code == 404
        assert 'data-key="notes.list"' not in client.get("/").text


def test_a_second_process_picks_up_a_toggle_within_a_second(make_app):
    writer = make_app(state_poll_seconds=1.0)
    reader = make_app(state_poll_seconds=1.0)
    with VoronkaClient(writer) as one, VoronkaClient(reader) as two:
        one.login("admin")
        two.login("admin")
        assert two.get("/notes/").status_code == 200

        set_enabled(writer, "notes", False)
        changed = time.monotonic()
        while two.get("/notes/").status_code != 404:
            assert time.monotonic() - changed < 1.5, "the second app did not see the change within a second"
            time.sleep(0.05)
        seen = time.monotonic() - changed
        assert seen <= 1.25  # one poll interval, plus a request
        assert not reader.state.voronka.host.is_enabled("notes")

        set_enabled(writer, "notes", True)
        changed = time.monotonic()
        while two.get("/notes/").status_code != 200:
            assert time.monotonic() - changed < 1.5, "the second app did not see the change back within a second"
            time.sleep(0.05)
        assert 'data-key="notes.list"' in two.get("/").text


def test_disabling_a_plugin_that_an_enabled_one_requires_is_refused(app):
    host = app.state.voronka.host
    assert host.refuse_toggle("fx_root", False) == "Root (A) is required by Trunk (B), Leaf (C); disable them first"
    assert host.refuse_toggle("fx_trunk", False) == "Trunk (B) is required by Leaf (C); disable it first"
    assert host.refuse_toggle("fx_leaf", False) is None
    set_enabled(app, "fx_leaf", False)
    set_enabled(app, "fx_trunk", False)
    app.state.voronka.sync(force=True)
    assert host.refuse_toggle("fx_root", False) is None
    assert host.refuse_toggle("fx_leaf", True) == "Leaf (C) requires fx_trunk; enable it first"
    assert host.refuse_toggle("fx_trunk", True) is None
    assert host.refuse_toggle("fx_absent", True) == "'fx_absent' is not a loaded plugin"


def test_a_disabled_plugin_vanishes_but_keeps_its_data_and_hears_consistency_hooks(app, client, hook_recorder):
    host = app.state.voronka.host
    add_note(app, "Attached to party 7", ref_kind="contacts.party", ref_id=7)
    add_note(app, "Attached to party 8", ref_kind="contacts.party", ref_id=8)
    add_note(app, "Olena's free note")
    client.login("admin")
    assert 'data-key="notes.list"' in client.get("/").text
    assert 'data-panel="notes.of_user"' in client.get("/me").text
    assert "Olena&#39;s free note" in client.hx_get("/search", params={"q": "olena"}).text
    assert hook_recorder.called_on("nav_items", "notes") and hook_recorder.called_on("slot", "notes")

    set_enabled(app, "notes", False)
    hook_recorder.calls.clear()
    home = client.get("/")
    assert home.status_code == 200
    assert 'data-key="notes.list"' not in home.text and 'data-panel="notes.recent"' not in home.text
    assert 'data-panel="notes.of_user"' not in client.get("/me").text
    assert "free note" not in client.hx_get("/search", params={"q": "olena"}).text  # colleagues still match
    for path in ("/notes/", "/notes/1", "/notes/panels/recent"):
        assert client.get(path).status_code == 404, path
    assert client.post("/notes/", data={"title": "While off"}).status_code == 404
    for feature in ("nav_items", "slot", "search"):
        assert hook_recorder.named(feature), feature  # the hook ran …
        assert not hook_recorder.called_on(feature, "notes"), feature  # … without the disabled plugin
    assert hook_recorder.called_on("nav_items", "fx_root")  # the others still answer

    # its rows stay, and the hooks that keep data consistent still reach it
    with write_transaction(app.state.voronka.sessions) as session:
        host.hook.records_deleted(session=session, kind="contacts.party", ids=[8])  # feature path: not it
    assert notes_by_ref(app)["Attached to party 8"] == 8
    with write_transaction(app.state.voronka.sessions) as session:
        host.all_hooks.records_deleted(session=session, kind="contacts.party", ids=[7])
        host.all_hooks.records_merged(session=session, kind="contacts.party", kept=9, merged=8, actor_id=None)
    assert hook_recorder.called_on("records_deleted", "notes")
    assert notes_by_ref(app) == {"Attached to party 8": 9, "Olena's free note": None}

    set_enabled(app, "notes", True)
    assert "Olena&#39;s free note" in client.get("/notes/").text
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Note)) == 2

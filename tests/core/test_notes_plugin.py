"""The "notes" test plugin proves the plugin contract end to end, on both engines.

It is written only against the documented contract (tests/fixture_plugins/voronka_test_notes): a model with
its own migration branch, a page and its HTMX fragment, a create form, a nav item, panels in the ``home``
and ``user.page`` slots, a search hit, settings, permissions, a metric and seed data.
"""

from __future__ import annotations

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from voronka_test_notes.metrics import NOTES_CREATED
from voronka_test_notes.models import Note

from voronka.core.config import Settings
from voronka.core.db import Base, make_engine, write_transaction
from voronka.core.errors import ValidationError
from voronka.core.migrate import Migrator
from voronka.core.models import User
from voronka.core.search_keys import search_key
from voronka.core.security.users import load_user
from voronka.core.seeding import SeedContext
from voronka.core.types import utcnow
from voronka.web.provision import upgrade
from voronka.web.testkit import check_metric, check_plugin

NOTES = "notes=voronka_test_notes"
pytestmark = pytest.mark.voronka(plugins=[NOTES], entry_points=False)


def user_id(app, username: str) -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def add_note(app, title: str, owner: str = "admin", body: str = "Some text.", **extra) -> int:
    owner_id = user_id(app, owner)
    with write_transaction(app.state.voronka.sessions) as session:
        note = Note(title=title, title_key=search_key(title), body=body, owner_user_id=owner_id,
                    created_at=utcnow(), **extra)  # fmt: skip
        session.add(note)
        session.flush()
        return note.id


def note_count(app) -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(func.count()).select_from(Note))


def test_nav_item_only_for_users_with_the_permission(app, client):
    client.login("sales")
    assert 'data-key="notes.list"' in client.get("/").text
    client.login("operator")  # the operator role does not get notes.view by default
    page = client.get("/")
    assert page.status_code == 200
    assert 'data-key="notes.list"' not in page.text


def test_permission_denies_routes_to_a_user_without_it(app, client):
    note_id = add_note(app, "Operator must not see this")
    client.login("operator")
    assert client.get("/notes/").status_code == 403
    assert client.get(f"/notes/{note_id}").status_code == 403
    assert client.get("/notes/panels/recent").status_code == 403
    refused = client.post("/notes/", data={"title": "Sneaky", "body": ""})
    assert refused.status_code == 403
    assert note_count(app) == 1
    assert "Operator must not see this" not in client.hx_get("/search?q=operator").text


def test_list_page_and_its_htmx_fragment_come_from_one_template(app, client):
    add_note(app, "Олександр: дзвінок про поставку")
    add_note(app, "Budget review")
    client.login("admin")
    page = client.get("/notes/")
    assert page.status_code == 200
    assert "<html" in page.text and 'id="note-form"' in page.text
    assert 'data-key="notes.list"' in page.text  # the layout with the nav is there
    assert "Олександр: дзвінок про поставку" in page.text and "Budget review" in page.text

    fragment = client.hx_get("/notes/?q=budg")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="note-form"' not in fragment.text
    assert "Budget review" in fragment.text
    assert "Олександр" not in fragment.text
    assert "<table" in fragment.text

    nothing = client.hx_get("/notes/?q=zzz")
    assert "No note title starts with" in nothing.text and "<html" not in nothing.text


def test_create_with_bad_input_shows_errors_in_place_and_writes_nothing(app, client):
    client.login("sales")
    empty = client.post("/notes/", data={"title": "   ", "body": "text"})
    assert empty.status_code == 400
    assert "Give the note a title." in empty.text
    assert 'aria-invalid="true"' in empty.text and "<html" in empty.text
    assert ">text</textarea>" in empty.text  # what the user typed is kept

    too_long = client.hx_post("/notes/", data={"title": "x" * 201, "body": "b" * 10_001})
    assert too_long.status_code == 400
    assert "<html" not in too_long.text and 'id="note-form"' in too_long.text  # only the form block
    assert "Keep the title under 200 characters (it has 201)." in too_long.text
    assert "Keep the text under 10,000 characters." in too_long.text
    assert note_count(app) == 0

    created = client.post("/notes/", data={"title": "  Зустріч у четвер ", "body": "Обговорити ціни."})
    assert created.status_code == 200
    assert re.search(r"/notes/\d+$", str(created.url))
    assert "Зустріч у четвер" in created.text and "Обговорити ціни." in created.text
    with app.state.voronka.sessions() as session:
        note = session.scalars(select(Note)).one()
    assert (note.title, note.title_key, note.owner_user_id) == ("Зустріч у четвер", "zustrich u chetver",
                                                               user_id(app, "sales"))  # fmt: skip
    assert note.created_at.tzinfo is not None and note.version == 1


def test_detail_page_respects_visibility(app, client):
    mine = add_note(app, "Sofiia's own note", owner="sales")
    theirs = add_note(app, "Taras's note", owner="sales2")
    client.login("sales")
    assert "Sofiia&#39;s own note" in client.get(f"/notes/{mine}").text
    hidden = client.get(f"/notes/{theirs}")
    assert hidden.status_code == 404 and "Taras" not in hidden.text
    assert client.get("/notes/999999").status_code == 404
    client.login("manager")  # visibility "under": both sales people report to the manager
    assert client.get(f"/notes/{theirs}").status_code == 200


def test_panels_on_home_and_on_the_user_page(app, client):
    add_note(app, "Recent thing to remember", owner="sales")
    client.login("sales")
    home = client.get("/")
    assert 'data-panel="notes.recent"' in home.text
    assert 'hx-get="/notes/panels/recent"' in home.text and 'hx-trigger="load"' in home.text
    assert "Recent thing to remember" not in home.text  # lazy: loaded after the page

    lazy = client.hx_get("/notes/panels/recent")
    assert lazy.status_code == 200
    assert "Recent thing to remember" in lazy.text and "<html" not in lazy.text
    as_link = client.get("/notes/panels/recent")  # opened as a plain link it is a whole page
    assert "<html" in as_link.text and "Recent thing to remember" in as_link.text

    me = client.get("/me")
    assert 'data-panel="notes.of_user"' in me.text
    assert "Recent thing to remember" in me.text  # eager: rendered with the page

    client.login("operator")
    assert 'data-panel="notes.recent"' not in client.get("/").text
    assert 'data-panel="notes.of_user"' not in client.get("/me").text


def test_search_finds_a_note_by_cyrillic_and_by_latin_prefix(app, client):
    add_note(app, "Олександр Петренко: дзвінок", owner="sales")
    add_note(app, "Олена: зустріч", owner="sales2")
    client.login("sales")
    for query in ("олекс", "Олександр П", "oleks", "OLEKSANDR"):
        results = client.hx_get("/search", params={"q": query})
        assert results.status_code == 200
        assert "Олександр Петренко: дзвінок" in results.text, query
        assert "/notes/" in results.text
    assert "Олександр" not in client.hx_get("/search", params={"q": "петренко"}).text  # a prefix of the title
    assert "Олена" not in client.hx_get("/search", params={"q": "оле"}).text  # sales2's note is not visible
    client.login("manager")
    both = client.hx_get("/search", params={"q": "ole"}).text
    assert "Олександр Петренко" in both and "Олена: зустріч" in both


def test_setting_default_and_saved_value(app, client):
    runtime = app.state.voronka
    for i in range(3):
        add_note(app, f"Note number {i}")
    with runtime.sessions() as session:
        assert runtime.settings_store.values(session, "notes") == {"default_title": "Untitled note", "list_limit": 50}
    client.login("admin")
    page = client.get("/notes/")
    assert 'value="Untitled note"' in page.text
    assert all(f"Note number {i}" in page.text for i in range(3))

    with pytest.raises(ValidationError) as refused, write_transaction(runtime.sessions) as session:
        runtime.settings_store.save(session, "notes", {"default_title": "Call notes", "list_limit": "many"})
    assert refused.value.errors == {"list_limit": "Enter a whole number."}
    with runtime.sessions() as session:
        assert runtime.settings_store.get(session, "notes", "default_title") == "Untitled note"

    with write_transaction(runtime.sessions) as session:
        runtime.settings_store.save(session, "notes", {"default_title": "Call notes", "list_limit": "2"})
    with runtime.sessions() as session:
        assert runtime.settings_store.values(session, "notes") == {"default_title": "Call notes", "list_limit": 2}
    page = client.get("/notes/")
    assert 'value="Call notes"' in page.text
    assert sum(f"Note number {i}" in page.text for i in range(3)) == 2
    assert "Showing the newest 2 notes" in page.text


def test_metric_passes_the_contract_and_counts_per_owner(app):
    runtime = app.state.voronka
    admin, sales, sales2 = user_id(app, "admin"), user_id(app, "sales"), user_id(app, "sales2")
    add_note(app, "A1")
    add_note(app, "A2")
    add_note(app, "A draft", body="")
    add_note(app, "S1", owner="sales")
    add_note(app, "T1", owner="sales2")
    metric = next(m for batch in runtime.host.hook.metrics() for m in batch if m.key == "notes.created")
    assert metric is NOTES_CREATED
    with runtime.sessions() as session:
        admin_view = load_user(session, admin)
        sales_view = load_user(session, sales)
        assert check_metric(metric, session, admin_view, [admin, sales, sales2], "notes") == []
        assert check_metric(metric, session, sales_view, [admin, sales], "notes") == []
        start, end = utcnow().replace(year=2000), utcnow().replace(year=2100)
        assert metric.values(session, admin_view, [admin, sales], start, end) == {admin: (2, 1), sales: (1, 0)}
        assert metric.values(session, sales_view, [admin, sales, sales2], start, end) == {sales: (1, 0)}
        assert metric.values(session, admin_view, [], start, end) == {}
        drafts = metric.records(session, admin_view, admin, start, end, "in_progress", 10)
        assert [r.title for r in drafts] == ["A draft"] and drafts[0].url.startswith("/notes/")
        assert {r.title for r in metric.records(session, admin_view, admin, start, end, "actual", 10)} == {"A1", "A2"}


def test_seed_creates_notes_for_the_seeded_users_or_the_admin(app):
    runtime = app.state.voronka
    sales, sales2 = user_id(app, "sales"), user_id(app, "sales2")
    with write_transaction(runtime.sessions) as session:
        ctx = SeedContext(engine=runtime.engine, session=session, ids={"core.users": [sales, sales2]}, language="uk")
        runtime.host.call_ordered("seed", ctx=ctx)
    created = ctx.ids["notes.notes"]
    assert len(created) == 5
    with write_transaction(runtime.sessions) as session:
        owners = set(session.scalars(select(Note.owner_user_id).where(Note.id.in_(created))))
        assert owners == {sales, sales2}
        keys = session.scalars(select(Note.title_key).where(Note.id.in_(created))).all()
        assert keys and not any(re.search("[а-яіїєґ]", k) for k in keys)  # Ukrainian titles got Latin keys
        ctx = SeedContext(engine=runtime.engine, session=session)
        runtime.host.call_ordered("seed", ctx=ctx)
    with runtime.sessions() as session:
        owners = set(session.scalars(select(Note.owner_user_id).where(Note.id.in_(ctx.ids["notes.notes"]))))
    assert owners == {user_id(app, "admin")}


def test_check_plugin_passes_on_notes():
    settings = Settings(database_url="sqlite://", secret_key="check", entry_points=False, extra_plugins=[NOTES])
    result = check_plugin("notes", settings)
    assert result.ok, result.problems
    assert "migrations match models" in result.passed and "templates compile" in result.passed


def test_notes_migrations_match_the_models_and_go_up_and_down(empty_db_url):
    settings = Settings(database_url=empty_db_url, secret_key="x" * 32, entry_points=False, extra_plugins=[NOTES])
    host, failures = upgrade(settings)
    assert failures == {}
    engine = make_engine(empty_db_url)
    try:
        assert "notes_note" in inspect(engine).get_table_names()
        with engine.connect() as conn:
            only_notes = {"include_object": lambda obj, name, type_, *_: type_ != "table" or name.startswith("notes_")}
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, **only_notes})
            assert compare_metadata(ctx, Base.metadata) == []
        migrator = Migrator(engine, host)
        migrator.downgrade("notes@base")
        tables = set(inspect(engine).get_table_names())
        assert "notes_note" not in tables and "core_user" in tables  # core stays
        assert migrator.pending() == ["notes"]
        migrator.upgrade()
        assert "notes_note" in inspect(engine).get_table_names() and migrator.pending() == []
    finally:
        engine.dispose()

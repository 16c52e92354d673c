"""The audit log (issue 3, point 3): one record changed through a form, a bulk action and an import shows all
three in its history, with the right source and actor; ``as_of`` answers what it was at a past moment.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from voronka_test_notes.models import Note

from voronka.core.audit import as_of, as_of_many, history
from voronka.core.db import write_transaction
from voronka.core.models import User
from voronka.core.search_keys import search_key
from voronka.core.types import UTC, Money, utcnow
from voronka.core.writes import delete, json_safe, save

NOTES = "notes=voronka_test_notes"
pytestmark = pytest.mark.voronka(plugins=[NOTES], entry_points=False)

T0 = dt.datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def uid(app: Any, username: str) -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def kind(app: Any) -> Any:
    return app.state.voronka.record_kinds["note"]


def test_form_bulk_and_import_all_show_in_the_history(app, client):
    sales, manager, admin = uid(app, "sales"), uid(app, "manager"), uid(app, "admin")
    client.login("sales")
    created = client.post("/notes/", data={"title": "Дзвінок", "body": "Перший текст"})
    note_id = int(re.search(r"/notes/(\d+)$", str(created.url)).group(1))
    edited = client.post(f"/notes/{note_id}", data={"title": "Дзвінок", "body": "Другий текст", "version": "1"})
    assert edited.status_code == 200

    client.login("manager")  # sees the note: sales reports to the manager
    bulk = client.post("/notes/bulk/owner", data={"ids": [str(note_id)], "owner_user_id": str(manager)})
    assert bulk.status_code == 200

    with write_transaction(app.state.voronka.sessions) as session:  # the way the import service will call it
        save(session, kind(app), note_id, {"title": "Дзвінок (імпорт)"}, actor=admin, source="import")

    with app.state.voronka.sessions() as session:
        entries = history(session, kind(app), note_id)
        note = session.get(Note, note_id)
    assert note.version == 4 and note.title_key == search_key("Дзвінок (імпорт)")
    changes = [(e.source, e.actor_id, e.action, e.field, e.old, e.new) for e in entries]
    assert changes[:3] == [
        ("import", admin, "update", "title", "Дзвінок", "Дзвінок (імпорт)"),
        ("bulk", manager, "update", "owner_user_id", sales, manager),
        ("form", sales, "update", "body", "Перший текст", "Другий текст"),
    ]
    assert {(e.source, e.action, e.field) for e in entries[3:]} == {
        ("form", "create", "title"), ("form", "create", "body"), ("form", "create", "owner_user_id"),
    }  # fmt: skip
    names = _names(app)
    assert [e.actor_name for e in entries[:3]] == [names[admin], names[manager], names[sales]]
    assert len({e.change_id for e in entries}) == 4  # one change set per save

    page = client.get(f"/notes/{note_id}")  # the history on the note's page: who, when, field, old → new, source
    assert page.status_code == 200
    assert [m for m in re.findall(r'data-source="(\w+)"', page.text)][:3] == ["import", "bulk", "form"]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "Дзвінок → Дзвінок (імпорт)" in text and "Import" in text and "Bulk action" in text
    assert "Перший текст → Другий текст" in text
    assert f"{names[sales]} → {names[manager]}" in text  # owner ids shown as names


def _names(app: Any) -> dict[int, str]:
    with app.state.voronka.sessions() as session:
        return dict(session.execute(select(User.id, User.display_name)).all())


def test_as_of_returns_the_values_at_three_moments(app):
    sales, manager = uid(app, "sales"), uid(app, "manager")
    hour = dt.timedelta(hours=1)
    with write_transaction(app.state.voronka.sessions) as session:
        note = save(session, kind(app), None, {"title": "Draft", "body": "", "owner_user_id": sales},
                    actor=sales, at=T0)  # fmt: skip
        note_id = note.id
    with write_transaction(app.state.voronka.sessions) as session:
        save(session, kind(app), note_id, {"title": "Proposal", "body": "v1"}, actor=sales, at=T0 + 2 * hour)
    with write_transaction(app.state.voronka.sessions) as session:
        save(session, kind(app), note_id, {"owner_user_id": manager}, actor=manager, source="bulk", at=T0 + 4 * hour)
    with write_transaction(app.state.voronka.sessions) as session:
        save(session, kind(app), note_id, {"body": "v2"}, actor=manager, source="import", at=T0 + 6 * hour)

    base = {"owner_team_id": None, "ref_kind": None, "ref_id": None}
    with app.state.voronka.sessions() as session:
        assert as_of(session, kind(app), note_id, T0 - hour) is None  # not created yet
        assert as_of(session, kind(app), note_id, T0 + hour) == {
            "title": "Draft", "body": "", "owner_user_id": sales, **base}  # fmt: skip
        assert as_of(session, kind(app), note_id, T0 + 3 * hour) == {
            "title": "Proposal", "body": "v1", "owner_user_id": sales, **base}  # fmt: skip
        assert as_of(session, kind(app), note_id, T0 + 5 * hour) == {
            "title": "Proposal", "body": "v1", "owner_user_id": manager, **base}  # fmt: skip
        assert as_of(session, kind(app), note_id, T0 + 4 * hour)["owner_user_id"] == manager  # inclusive
        assert as_of(session, kind(app), note_id, utcnow())["body"] == "v2"

        later = {"title": "Later", "owner_user_id": sales}
        other = save(session, kind(app), None, later, actor=sales, at=T0 + 5 * hour)  # rolled back below
        for moment in (T0 - hour, T0 + hour, T0 + 3 * hour, T0 + 5 * hour, utcnow()):  # the batch answers alike
            many = as_of_many(session, kind(app), [note_id, other.id, 999_999], moment)
            assert many == {note_id: as_of(session, kind(app), note_id, moment),
                            other.id: as_of(session, kind(app), other.id, moment), 999_999: None}  # fmt: skip
        session.rollback()

    with write_transaction(app.state.voronka.sessions) as session:
        delete(session, kind(app), note_id, actor=manager, at=T0 + 8 * hour)
    with app.state.voronka.sessions() as session:
        assert as_of(session, kind(app), note_id, T0 + 9 * hour) is None  # gone
        assert as_of(session, kind(app), note_id, T0 + 7 * hour)["body"] == "v2"  # from the deletion entry
        assert as_of(session, kind(app), note_id, T0 + 3 * hour)["owner_user_id"] == sales
        assert as_of_many(session, kind(app), [note_id], T0 + 7 * hour)[note_id]["body"] == "v2"
        assert as_of_many(session, kind(app), [note_id], T0 + 9 * hour) == {note_id: None}


def test_as_of_a_record_older_than_the_log(app):
    """Seeded or migrated rows have no creation entry: their values stand until the first logged change."""
    sales = uid(app, "sales")
    with write_transaction(app.state.voronka.sessions) as session:
        note = Note(title="Seeded", title_key="seeded", body="", owner_user_id=sales, created_at=T0)
        session.add(note)
        session.flush()
        note_id = note.id
    with write_transaction(app.state.voronka.sessions) as session:
        save(session, kind(app), note_id, {"title": "Renamed"}, actor=sales, at=T0 + dt.timedelta(days=1))
    with app.state.voronka.sessions() as session:
        assert as_of(session, kind(app), note_id, T0 - dt.timedelta(days=30))["title"] == "Seeded"
        assert as_of(session, kind(app), note_id, T0 + dt.timedelta(days=2))["title"] == "Renamed"


def test_history_pages_newest_first(app):
    sales = uid(app, "sales")
    with write_transaction(app.state.voronka.sessions) as session:
        note_id = save(session, kind(app), None, {"title": "v0", "owner_user_id": sales}, actor=sales, at=T0).id
    for i in range(1, 6):
        with write_transaction(app.state.voronka.sessions) as session:
            save(session, kind(app), note_id, {"title": f"v{i}"}, actor=sales, at=T0 + dt.timedelta(minutes=i))
    with app.state.voronka.sessions() as session:
        first = history(session, kind(app), note_id, limit=2)
        assert [e.new for e in first] == ["v5", "v4"]
        second = history(session, "note", note_id, limit=3, before=(first[-1].at, first[-1].id))
        assert [e.new for e in second] == ["v3", "v2", "v1"]
        assert history(session, kind(app), 999_999) == []


def test_values_are_stored_json_safe():
    when = dt.datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert json_safe(when) == "2026-03-01T12:30:00+00:00"
    assert json_safe(dt.date(2026, 3, 1)) == "2026-03-01"
    assert json_safe(Decimal("1.50")) == "1.50"
    assert json_safe(Money(12345, "UAH")) == {"minor": 12345, "currency": "UAH"}
    assert json_safe({"tags": ("a", "b"), "n": None, "ok": True}) == {"tags": ["a", "b"], "n": None, "ok": True}

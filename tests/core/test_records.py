"""Record kinds, references, tags and the one write path (issue 3, point 1), on both engines.

Proven with the notes test plugin (kind "note"); ``voronka_test_notes.twin`` claims the same kind name.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event, func, select
from voronka_test_notes.models import Note

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.models import User
from voronka.core.models_jobs import OutboxEvent
from voronka.core.models_records import AuditEntry, Tag, TagLink
from voronka.core.records import RecordKind, Ref
from voronka.core.security.users import load_user
from voronka.core.tags import add_tag, remove_tag, tagged, tags_for, tags_of
from voronka.core.writes import delete, save, save_many

NOTES = "notes=voronka_test_notes"
TWIN = "notestwin=voronka_test_notes.twin"
pytestmark = pytest.mark.voronka(plugins=[NOTES], entry_points=False)


def uid(app: Any, username: str) -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def viewer(app: Any, username: str) -> Any:
    with app.state.voronka.sessions() as session:
        return load_user(session, uid(app, username))


def note_kind(app: Any) -> RecordKind:
    return app.state.voronka.record_kinds["note"]


def create(app: Any, title: str, owner: str = "sales", **values: Any) -> int:
    with write_transaction(app.state.voronka.sessions) as session:
        note = save(session, note_kind(app), None, {"title": title, "body": "", "owner_user_id": uid(app, owner),
                    **values}, actor=uid(app, owner))  # fmt: skip
        return note.id


def counts(app: Any) -> tuple[int, int]:
    """(audit rows, outbox rows)."""
    with app.state.voronka.sessions() as session:
        return (session.scalar(select(func.count()).select_from(AuditEntry)),
                session.scalar(select(func.count()).select_from(OutboxEvent)))  # fmt: skip


def row(app: Any, note_id: int) -> Any:
    with app.state.voronka.sessions() as session:
        return session.get(Note, note_id)


# -- the registry and references ---------------------------------------------------------------------------


def test_the_notes_kind_is_registered_at_start(app):
    kinds = app.state.voronka.record_kinds
    kind = kinds["note"]
    assert list(kinds) == ["note"] and kind.plugin == "notes" and kind.host is app.state.voronka.host
    assert kind.url_for(7) == "/notes/7"
    assert kind.writable == ("title", "body", "owner_user_id", "owner_team_id", "ref_kind", "ref_id")
    assert [k.name for k in kinds.enabled()] == ["note"]


def test_references_resolve_and_unknown_kinds_are_refused(app):
    kinds = app.state.voronka.record_kinds
    mine = create(app, "Дзвінок клієнту", owner="sales")
    theirs = create(app, "Taras's note", owner="sales2")
    with app.state.voronka.sessions() as session:
        assert kinds.resolve(session, Ref("note", mine)).title == "Дзвінок клієнту"
        assert kinds.ref_url(Ref("note", mine)) == f"/notes/{mine}"
        assert kinds.ref_label(session, Ref("note", mine)) == "Дзвінок клієнту"
        assert kinds.resolve(session, Ref("note", 999_999)) is None
        sales = viewer(app, "sales")
        assert kinds.resolve(session, Ref("note", theirs), sales) is None  # not visible to sales
        assert kinds.ref_label(session, Ref("note", theirs), sales) is None
        assert kinds.ref_label(session, Ref("note", theirs), viewer(app, "manager")) == "Taras's note"
        with pytest.raises(ValidationError) as unknown:
            kinds.resolve(session, Ref("invoice", 1))
        assert unknown.value.errors == {"kind": "There is no record kind “invoice”."}
        with pytest.raises(ValidationError):
            kinds.check(Ref("note", 0))
    assert Ref.parse(f"note:{mine}") == kinds.check(Ref("note", mine))
    for bad in ("note", "note:x", ":3", ""):
        with pytest.raises(ValidationError):
            Ref.parse(bad)


@pytest.mark.voronka(plugins=[NOTES, TWIN], entry_points=False)
def test_a_taken_kind_name_disables_the_later_plugin_with_a_message(app, client):
    runtime = app.state.voronka
    twin = runtime.host.plugins["notestwin"]
    assert not runtime.host.is_enabled("notestwin") and runtime.host.is_enabled("notes")
    assert "record kind 'note'" in twin.error and "'notes' already registered" in twin.error
    assert list(runtime.record_kinds) == ["note"]  # its other kind ("twin_note") is not half-registered
    assert runtime.record_kinds["note"].plugin == "notes"
    client.login("admin")
    assert "already registered" in client.get("/admin/plugins").text


def test_the_duplicate_matcher_finds_notes_by_folded_title(app):
    first = create(app, "Олександр: дзвінок")
    create(app, "Something else")
    with app.state.voronka.sessions() as session:
        assert note_kind(app).duplicates(session, {"title": "  ОЛЕКСАНДР: Дзвінок"}) == [first]
        assert note_kind(app).duplicates(session, {"title": ""}) == []


# -- the write path ----------------------------------------------------------------------------------------


def test_create_and_update_write_audit_and_events_in_one_transaction(app):
    note_id = create(app, "Олександр", body="перший")
    with write_transaction(app.state.voronka.sessions) as session:
        note = save(session, note_kind(app), note_id, {"title": "Oleksandr", "body": "перший"}, actor=uid(app, "sales"))
        assert note.version == 2 and note.title_key == "oleksandr"  # the kind's derived search key
    with app.state.voronka.sessions() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        events = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
    [created] = [e for e in entries if e.action == "create"]  # one entry holds every value it was created with
    assert (created.field, created.old) == ("", None)
    assert created.new == {"title": "Олександр", "body": "перший", "owner_user_id": uid(app, "sales")}
    updated = [e for e in entries if e.action == "update"]
    assert [(e.field, e.old, e.new, e.source) for e in updated] == [("title", "Олександр", "Oleksandr", "form")]
    assert all(e.actor_id == uid(app, "sales") and e.at.tzinfo is not None for e in entries)
    assert [e.name for e in events] == ["notes.note_created", "notes.note_updated"]
    assert events[1].payload["changes"] == {"title": ["Олександр", "Oleksandr"]}
    assert events[1].payload["id"] == note_id and events[1].payload["change_id"] == updated[0].change_id


def test_saving_the_same_values_writes_nothing(app):
    note_id = create(app, "Same")
    before = counts(app)
    with write_transaction(app.state.voronka.sessions) as session:
        save(session, note_kind(app), note_id, {"title": "Same", "body": ""}, actor=None, source="api")
    assert counts(app) == before and row(app, note_id).version == 1


def test_unknown_fields_and_wrong_types_are_refused_with_nothing_written(app):
    note_id = create(app, "Keep me")
    before = counts(app)
    bad = [
        ({"title": "x", "version": 9}, "version"),
        ({"titel": "x"}, "titel"),
        ({"title_key": "x"}, "title_key"),  # derived: not for callers
        ({"title": None}, "title"),
        ({"title": 5}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"owner_user_id": "3"}, "owner_user_id"),
    ]
    for values, field in bad:
        with pytest.raises(ValidationError) as refused, write_transaction(app.state.voronka.sessions) as session:
            save(session, note_kind(app), note_id, values, actor=None)
        assert field in refused.value.errors, values
    with pytest.raises(ValidationError) as gone, write_transaction(app.state.voronka.sessions) as session:
        save(session, note_kind(app), note_id, {"owner_user_id": 999_999}, actor=None)  # no such user
    assert "does not exist" in str(gone.value)
    assert counts(app) == before
    assert (row(app, note_id).title, row(app, note_id).version) == ("Keep me", 1)


def test_before_save_refusal_writes_nothing(app, hook_recorder):
    note_id = create(app, "A title")
    before = counts(app)
    for values, record_id in (({"title": "   "}, note_id), ({"title": " ", "owner_user_id": uid(app, "sales")}, None)):
        with pytest.raises(ValidationError) as refused, write_transaction(app.state.voronka.sessions) as session:
            save(session, note_kind(app), record_id, values, actor=None, source="import")
        assert refused.value.errors == {"title": "Give the note a title."}
    assert counts(app) == before
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Note)) == 1
    assert (row(app, note_id).title, row(app, note_id).version) == ("A title", 1)
    seen = [c.kwargs["changes"] for c in hook_recorder.calls if c.name == "before_save"]
    assert {"title": ("A title", "   ")} in seen


def test_generic_references_on_a_record_are_checked(app):
    target = create(app, "The record a note is about")
    attached = create(app, "About it", ref_kind="note", ref_id=target)
    assert (row(app, attached).ref_kind, row(app, attached).ref_id) == ("note", target)
    before = counts(app)
    refusals = [
        ({"ref_kind": "invoice", "ref_id": 1}, {"ref_kind": "There is no record kind “invoice”."}),
        ({"ref_kind": "note", "ref_id": 999_999}, {"ref_id": "The linked record does not exist."}),
        ({"ref_kind": "note", "ref_id": None}, {"ref_kind": "A link to a record needs both its kind and its id."}),
    ]
    for values, errors in refusals:
        with pytest.raises(ValidationError) as refused, write_transaction(app.state.voronka.sessions) as session:
            save(session, note_kind(app), attached, values, actor=None, source="api")
        assert refused.value.errors == errors
    assert counts(app) == before and row(app, attached).ref_id == target


def test_a_stale_version_is_refused(app):
    note_id = create(app, "Version one")
    with write_transaction(app.state.voronka.sessions) as session:
        save(session, note_kind(app), note_id, {"body": "someone else"}, actor=uid(app, "sales2"), expected_version=1)
    before = counts(app)
    with pytest.raises(StaleRecord), write_transaction(app.state.voronka.sessions) as session:
        save(session, note_kind(app), note_id, {"body": "mine"}, actor=uid(app, "sales"), expected_version=1)
    assert counts(app) == before
    assert (row(app, note_id).body, row(app, note_id).version) == ("someone else", 2)


def test_save_many_batches_queries_and_audits_each_record(app):
    ids = [create(app, f"Note {i}") for i in range(120)]
    manager = uid(app, "manager")
    statements: list[str] = []
    engine = app.state.voronka.engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith("INSERT INTO core_outbox"):  # the outbox's own batching is not ours
            found = re.match(r"\s*(UPDATE)\s+(\w+)|\s*(\w+).*?(?:FROM|INTO)\s+(\w+)", statement, re.S | re.I)
            words = [w for w in found.groups() if w] if found else [statement.strip()]
            statements.append(" ".join(words).upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        with write_transaction(app.state.voronka.sessions) as session:
            records = save_many(session, note_kind(app), [*ids, ids[0]], {"owner_user_id": manager}, actor=manager)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [r.id for r in records] == ids
    # one SELECT for the records, the UPDATEs and the audit INSERTs batched (executemany), not 120 each
    assert statements.count("SELECT NOTES_NOTE") == 1, statements
    assert statements.count("UPDATE NOTES_NOTE") == 1, statements
    # audit rows: one executemany on SQLite; on PostgreSQL a COPY, which SQLAlchemy's events do not see
    assert statements.count("INSERT CORE_AUDIT") == (1 if engine.dialect.name == "sqlite" else 0), statements
    assert len(statements) < 8, statements
    with app.state.voronka.sessions() as session:
        assert set(session.scalars(select(Note.owner_user_id))) == {manager}
        assert set(session.scalars(select(Note.version))) == {2}
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all()
        assert len(entries) == 120 and {e.source for e in entries} == {"bulk"}
        assert {e.record_id for e in entries} == set(ids) and len({e.change_id for e in entries}) == 1
        assert {(e.field, e.old, e.new) for e in entries} == {("owner_user_id", uid(app, "sales"), manager)}
        updated = session.scalar(select(func.count()).where(OutboxEvent.name == "notes.note_updated"))
        assert updated == 120


def test_save_many_is_all_or_nothing(app):
    ids = [create(app, f"Note {i}") for i in range(3)]
    before = counts(app)
    with pytest.raises(ValidationError) as refused, write_transaction(app.state.voronka.sessions) as session:
        save_many(session, note_kind(app), ids, {"title": ""}, actor=None, source="import")
    assert refused.value.errors == {"title": "Note 0: Give the note a title."}  # names the record refused
    with pytest.raises(ValidationError) as gone, write_transaction(app.state.voronka.sessions) as session:
        save_many(session, note_kind(app), [*ids, 999_999], {"body": "x"}, actor=None)
    assert "1 of the selected records no longer exists" in str(gone.value)
    assert counts(app) == before
    with app.state.voronka.sessions() as session:
        assert set(session.scalars(select(Note.body))) == {""}


def test_delete_keeps_an_audit_entry_and_the_tags_until_the_record_is_purged(app):
    from voronka.core.recycle import purge

    note_id = create(app, "Short-lived", body="text")
    with write_transaction(app.state.voronka.sessions) as session:
        add_tag(session, note_kind(app), note_id, "VIP")
        delete(session, note_kind(app), note_id, actor=uid(app, "admin"))
    assert row(app, note_id).deleted_at is not None  # in the recycle bin: restorable with its tags
    with app.state.voronka.sessions() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (last.action, last.field, last.new, last.actor_id) == ("delete", "", None, uid(app, "admin"))
        assert last.old["title"] == "Short-lived" and last.old["body"] == "text"
        assert session.scalar(select(func.count()).select_from(TagLink)) == 1
        assert session.scalar(select(func.count()).where(OutboxEvent.name == "notes.note_deleted")) == 1
    with pytest.raises(ValidationError), write_transaction(app.state.voronka.sessions) as session:
        delete(session, note_kind(app), note_id, actor=None)
    with write_transaction(app.state.voronka.sessions) as session:
        assert purge(session, note_kind(app), [note_id], actor=None) == 1
    assert row(app, note_id) is None
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TagLink)) == 0


def test_an_unregistered_kind_or_source_is_a_programming_error(app):
    raw = RecordKind(name="note", label="Note", model=Note, url="/notes/{id}")
    with app.state.voronka.sessions() as session:
        with pytest.raises(TypeError, match=r"runtime\.record_kinds"):
            save(session, raw, None, {"title": "x"}, actor=None)
        with pytest.raises(ValueError, match="source must be one of"):
            save(session, note_kind(app), None, {"title": "x"}, actor=None, source="csv")


# -- tags ------------------------------------------------------------------------------------------------


def test_tags_round_trip_under_visibility(app):
    kind = note_kind(app)
    mine, theirs = create(app, "Mine", owner="sales"), create(app, "Theirs", owner="sales2")
    sales = viewer(app, "sales")
    with write_transaction(app.state.voronka.sessions) as session:
        vip = add_tag(session, kind, mine, "VIP", colour="#d97706")
        assert add_tag(session, kind, mine, "vip").id == vip.id  # folded: the same tag, linked once
        add_tag(session, kind, mine, "Гарячий")
        assert add_tag(session, kind, theirs, "ViP").id == vip.id
        with pytest.raises(ValidationError):
            add_tag(session, kind, theirs, "Nosy", user=sales)  # sales may not see that note
    with app.state.voronka.sessions() as session:
        assert [t.name for t in tags_of(session, kind, mine, sales)] == ["Гарячий", "VIP"]  # by folded key
        assert tags_of(session, kind, theirs, sales) == []
        assert [t.name for t in tags_of(session, kind, theirs, viewer(app, "manager"))] == ["VIP"]
        assert set(tags_for(session, kind, [mine, theirs], sales)) == {mine}
        assert set(tags_for(session, kind, [mine, theirs])) == {mine, theirs}
        assert list(session.scalars(tagged(kind, vip.id, sales))) == [mine]
        assert session.scalar(select(func.count()).select_from(Tag)) == 2
    for bad, field in (("", "tag"), ("x" * 61, "tag")):
        with pytest.raises(ValidationError) as refused, write_transaction(app.state.voronka.sessions) as session:
            add_tag(session, kind, mine, bad)
        assert field in refused.value.errors
    with pytest.raises(ValidationError) as colour, write_transaction(app.state.voronka.sessions) as session:
        add_tag(session, kind, mine, "New", colour="red")
    assert "colour" in colour.value.errors
    with write_transaction(app.state.voronka.sessions) as session:
        assert remove_tag(session, kind, mine, vip.id, user=sales) is True
        assert remove_tag(session, kind, mine, vip.id, user=sales) is False
    with app.state.voronka.sessions() as session:
        assert [t.name for t in tags_of(session, kind, mine)] == ["Гарячий"]


# -- the notes pages on the write path ----------------------------------------------------------------------


def test_edit_form_uses_the_version_it_was_opened_at(app, client):
    note_id = create(app, "Before", owner="sales")
    client.login("sales")
    page = client.get(f"/notes/{note_id}")
    assert 'name="version" value="1"' in page.text and "History" in page.text
    saved = client.post(f"/notes/{note_id}", data={"title": "After", "body": "new text", "version": "1"})
    assert saved.status_code == 200 and "After" in saved.text
    stale = client.hx_post(f"/notes/{note_id}", data={"title": "Late", "body": "", "version": "1"})
    assert stale.status_code == 409 and "Someone else saved this record" in stale.text
    assert 'name="version" value="2"' in stale.text and "<html" not in stale.text
    empty = client.hx_post(f"/notes/{note_id}", data={"title": " ", "body": "", "version": "2"})
    assert empty.status_code == 400 and "Give the note a title." in empty.text
    broken = client.post(f"/notes/{note_id}", data={"title": "x", "body": "", "version": "two"})
    assert broken.status_code == 400 and "The form is incomplete" in broken.text
    assert (row(app, note_id).title, row(app, note_id).version) == ("After", 2)
    other = create(app, "Not for sales", owner="sales2")
    assert client.post(f"/notes/{other}", data={"title": "x", "body": "", "version": "1"}).status_code == 404
    assert row(app, other).title == "Not for sales"


def test_bulk_assign_owner_from_the_list(app, client):
    ids = [create(app, f"Lead {i}", owner="sales") for i in range(3)]
    hidden = create(app, "Hidden", owner="sales2")
    client.login("sales")
    page = client.get("/notes/")
    assert 'action="/notes/bulk/owner"' in page.text and f'name="ids" value="{ids[0]}"' in page.text
    manager = uid(app, "manager")
    done = client.post("/notes/bulk/owner", data={"ids": [str(i) for i in ids[:2]], "owner_user_id": str(manager)})
    assert done.status_code == 200
    assert [row(app, i).owner_user_id for i in ids] == [manager, manager, uid(app, "sales")]
    before = counts(app)
    refusals = [
        ({"ids": [str(ids[2]), str(hidden)], "owner_user_id": str(manager)}, "not yours to see"),
        ({"owner_user_id": str(manager)}, "Select the notes"),
        ({"ids": ["x"], "owner_user_id": str(manager)}, "not valid"),
        ({"ids": [str(ids[2])], "owner_user_id": "999999"}, "active user"),
    ]
    for data, message in refusals:
        refused = client.hx_post("/notes/bulk/owner", data=data)
        assert refused.status_code == 400 and message in refused.text, data
    assert counts(app) == before and row(app, hidden).owner_user_id == uid(app, "sales2")


def test_tags_on_the_note_page(app, client):
    note_id = create(app, "Tagged", owner="sales")
    client.login("sales")
    added = client.post(f"/notes/{note_id}/tags", data={"tag": "Партнер"})
    assert added.status_code == 200 and "Партнер" in added.text
    refused = client.hx_post(f"/notes/{note_id}/tags", data={"tag": "   "})
    assert refused.status_code == 400 and "Give the tag a name." in refused.text
    tag_id = re.search(rf"/notes/{note_id}/tags/(\d+)/remove", added.text).group(1)
    removed = client.post(f"/notes/{note_id}/tags/{tag_id}/remove")
    assert removed.status_code == 200 and "No tags yet." in removed.text

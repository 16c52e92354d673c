"""Custom fields (issue 3, point 2) on both engines, proven with the notes test plugin (kind "note").

Values are parsed, validated, stored in the note's ``custom`` JSON, mirrored into ``core_custom_value`` in
the same transaction, audited as ``cf.<key>`` and answered by ``as_of``; lists filter and search on them;
the admin editor defines, changes, reorders, archives and restores fields; cards edit them in place.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from voronka_test_notes.models import Note

from voronka.core import custom_fields as cf
from voronka.core import custom_fields_admin as cfa
from voronka.core.audit import as_of, history
from voronka.core.custom_fields_index import recount, reindex
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.models import User
from voronka.core.models_fields import CustomValue
from voronka.core.records import Ref
from voronka.core.types import Money, utcnow
from voronka.core.writes import save, save_many

NOTES = "notes=voronka_test_notes"
pytestmark = pytest.mark.voronka(plugins=[NOTES], entry_points=False)


def uid(app: Any, username: str = "admin") -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def kind(app: Any) -> Any:
    return app.state.voronka.record_kinds["note"]


def define(app: Any, label: str, type_: str, **form: Any) -> cf.FieldDef:
    with write_transaction(app.state.voronka.sessions) as session:
        return cfa.create_field(session, kind(app), {"label": label, "type": type_, **form})


def create(app: Any, title: str, owner: str = "admin", **custom: Any) -> int:
    values = {"title": title, "body": "", "owner_user_id": uid(app, owner), **{f"cf.{k}": v for k, v in custom.items()}}
    with write_transaction(app.state.voronka.sessions) as session:
        return save(session, kind(app), None, values, actor=uid(app, owner)).id


def update(app: Any, note_id: int, **custom: Any) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        save(session, kind(app), note_id, {f"cf.{k}": v for k, v in custom.items()}, actor=uid(app))


def stored(app: Any, note_id: int) -> dict[str, Any]:
    with app.state.voronka.sessions() as session:
        return session.get(Note, note_id).custom


def in_step(app: Any) -> None:
    with app.state.voronka.sessions() as session:
        held, wanted = recount(session, kind(app))
    assert held == wanted


def audit(app: Any, note_id: int, field: str) -> list[tuple[str, Any, Any, str]]:
    """The field's entries in the note's history, oldest first (a creation is one stored entry for all
    fields; history() shows it field by field)."""
    with app.state.voronka.sessions() as session:
        entries = history(session, "note", note_id, limit=10_000)
    return [(e.action, e.old, e.new, e.source) for e in reversed(entries) if e.field == field]


# -- parse, format, coerce: every type --------------------------------------------------------------------


def fd(type_: str, **options: Any) -> cf.FieldDef:
    return cf.FieldDef(1, "note", "x", "X", type_, options, False, False, None, False, False, 1, False)


@pytest.mark.parametrize(
    ("field", "text", "value", "shown"),
    [
        (fd("text"), "  Київ  ", "Київ", "Київ"),
        (fd("number"), "42", 42, "42"),
        (fd("number", decimals=2), "1 234,5", Decimal("1234.5"), "1234.50"),
        (fd("money", currency="UAH"), "1 234,50", Money(123450, "UAH"), "1234.50 UAH"),
        (fd("money"), "99.99 eur", Money(9999, "EUR"), "99.99 EUR"),
        (fd("date"), "2025-01-31", dt.date(2025, 1, 31), "2025-01-31"),
        (fd("choice", choices=["Hot", "Cold"]), "hot", "Hot", "Hot"),
        (fd("multichoice", choices=["A", "B", "C"]), "c; a", ["A", "C"], "A; C"),
        (fd("bool"), "так", True, "yes"),
        (fd("bool"), "no", False, "no"),
        (fd("link", kind="note"), "12", Ref("note", 12), "note:12"),
        (fd("link"), "note:7", Ref("note", 7), "note:7"),
    ],
)
def test_parse_and_format_round_trip(field, text, value, shown, engine):
    parsed = cf.parse(field, text)
    assert parsed == value
    assert cf.format_value(field, parsed) == shown
    assert cf.format_value(field, cf.coerce(field, parsed)) == shown  # the stored form formats the same
    assert cf.parse(field, cf.format_value(field, parsed)) == value
    assert cf.parse(field, "   ") is None


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        (fd("number"), "twelve", "Enter a number"),
        (fd("number"), "1.5", "whole number"),
        (fd("number", decimals=1), "1.55", "decimal places"),
        (fd("money"), "12", "currency"),
        (fd("money"), "12.345 EUR", "decimal place"),
        (fd("date"), "31.01.2025", "YYYY-MM-DD"),
        (fd("choice", choices=["Hot"]), "Warm", "not one of the options"),
        (fd("multichoice", choices=["A"]), "A; Z", "not one of the options"),
        (fd("bool"), "maybe", "yes or no"),
        (fd("link", kind="note"), "person:3", "Link to a record of kind"),
        (fd("link"), "nonsense", "not a record reference"),
        (fd("text", max_length=3), "long", "under 3 characters"),
    ],
)
def test_bad_text_gets_a_clear_message(field, text, message, engine):
    with pytest.raises(ValidationError) as caught:
        cf.parse(field, text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("type_", "value"),
    [("text", 5), ("number", "5"), ("number", True), ("money", 5), ("date", dt.datetime(2025, 1, 1)),
     ("choice", ["Hot"]), ("multichoice", "Hot"), ("bool", "yes"), ("link", 5)],
)  # fmt: skip
def test_wrong_python_types_are_refused(type_, value, engine):
    with pytest.raises(ValidationError):
        cf.coerce(fd(type_, choices=["Hot"]), value)


# -- the write path -------------------------------------------------------------------------------------------


def test_values_are_stored_indexed_and_audited_through_save(app):
    budget = define(app, "Budget", "money", currency="EUR", filterable="on")
    stage = define(app, "Stage", "choice", choices="New\nWon\nLost", filterable="on")
    due = define(app, "Due", "date")
    note_id = create(app, "Deal notes", budget=Money(150000, "EUR"), stage="New", due=dt.date(2025, 3, 1))
    assert stored(app, note_id) == {"budget": {"minor": 150000, "currency": "EUR"}, "stage": "New", "due": "2025-03-01"}
    assert audit(app, note_id, "cf.stage") == [("create", None, "New", "form")]
    update(app, note_id, stage="Won", due=None)
    assert stored(app, note_id) == {"budget": {"minor": 150000, "currency": "EUR"}, "stage": "Won"}
    assert audit(app, note_id, "cf.stage")[-1] == ("update", "New", "Won", "form")
    assert audit(app, note_id, "cf.due")[-1] == ("update", "2025-03-01", None, "form")
    with app.state.voronka.sessions() as session:
        values = cf.values_of(session, "note", session.get(Note, note_id).custom)
    assert values == {"budget": Money(150000, "EUR"), "stage": "Won", "due": None}
    assert {budget.key, stage.key, due.key} == {"budget", "stage", "due"}
    in_step(app)


def test_bad_values_are_refused_per_field_and_nothing_is_written(app):
    define(app, "Score", "number")
    define(app, "Stage", "choice", choices="New\nWon")
    before = note_count(app)
    with pytest.raises(ValidationError) as caught:
        create(app, "Bad", score="12", stage="Maybe", nope=1)
    assert set(caught.value.errors) == {"cf.score", "cf.stage", "cf.nope"}
    assert "Enter a number" in caught.value.errors["cf.score"]
    assert note_count(app) == before
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CustomValue)) == 0


def note_count(app: Any) -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(func.count()).select_from(Note))


def test_required_default_and_unique(app):
    define(app, "Region", "choice", choices="North\nSouth", required="on", default="North")
    define(app, "Code", "text", unique="on")
    first = create(app, "One", code="ABC-1")
    assert stored(app, first) == {"region": "North", "code": "ABC-1"}
    with pytest.raises(ValidationError) as caught:
        create(app, "Two", code="abc-1")  # folded like search keys: the same code
    assert "must be unique" in caught.value.errors["cf.code"]
    with pytest.raises(ValidationError) as caught:
        update(app, first, region=None)
    assert caught.value.errors == {"cf.region": "This field is required."}
    second = create(app, "Two", code="ABC-2", region="South")
    update(app, first, code="ABC-1")  # its own value is no clash
    with pytest.raises(ValidationError):
        update(app, second, code="ABC-1")
    with app.state.voronka.sessions() as session, pytest.raises(ValidationError) as caught:
        save_many(session, kind(app), [first, second], {"cf.code": "SAME"}, actor=uid(app))
    assert "must be unique" in str(caught.value)
    assert stored(app, second)["code"] == "ABC-2"
    in_step(app)


def test_link_must_point_at_an_existing_record(app):
    define(app, "Related", "link", link_kind="note")
    target = create(app, "Target")
    linked = create(app, "Linked", related=Ref("note", target))
    assert stored(app, linked) == {"related": f"note:{target}"}
    with pytest.raises(ValidationError) as caught:
        create(app, "Dangling", related=Ref("note", 999999))
    assert caught.value.errors == {"cf.related": "The linked record does not exist."}


def test_bulk_update_audits_each_record_and_as_of_answers_custom_values(app):
    define(app, "Priority", "choice", choices="Low\nHigh", filterable="on")
    ids = [create(app, f"Note {i}", priority="Low") for i in range(3)]
    mark = utcnow()
    with write_transaction(app.state.voronka.sessions) as session:
        save_many(session, kind(app), ids, {"cf.priority": "High"}, actor=uid(app), source="bulk")
    for note_id in ids:
        assert audit(app, note_id, "cf.priority")[-1] == ("update", "Low", "High", "bulk")
    with app.state.voronka.sessions() as session:
        assert as_of(session, kind(app), ids[0], mark)["cf.priority"] == "Low"
        assert as_of(session, kind(app), ids[0], utcnow())["cf.priority"] == "High"
    in_step(app)


def test_as_of_sees_a_value_that_was_cleared_since(app):
    define(app, "Phone", "text")
    note_id = create(app, "Call", phone="+380 44 000")
    mark = utcnow()
    update(app, note_id, phone=None)
    with app.state.voronka.sessions() as session:
        assert as_of(session, kind(app), note_id, mark)["cf.phone"] == "+380 44 000"


def test_removing_a_field_keeps_its_values_and_restoring_brings_them_back(app):
    field = define(app, "Source", "choice", choices="Web\nFair", filterable="on")
    note_id = create(app, "Lead", source="Fair")
    with write_transaction(app.state.voronka.sessions) as session:
        cfa.remove_field(session, kind(app), field.id)
    with app.state.voronka.sessions() as session:
        assert cf.definitions(session, "note") == []
        assert [f.key for f in cf.definitions(session, "note", include_removed=True)] == ["source"]
    assert stored(app, note_id) == {"source": "Fair"}
    with pytest.raises(ValidationError):
        update(app, note_id, source="Web")  # archived: not writable
    with write_transaction(app.state.voronka.sessions) as session, pytest.raises(ValidationError) as caught:
        cfa.delete_field(session, kind(app), field.id)
    assert "confirm" in caught.value.errors
    with write_transaction(app.state.voronka.sessions) as session:
        cfa.restore_field(session, kind(app), field.id)
    with app.state.voronka.sessions() as session:
        match = cf.filter_clause(kind(app), cf.definitions(session, "note")[0], "eq", "Fair")
        assert list(session.scalars(select(Note.id).where(match))) == [note_id]
    in_step(app)


def test_delete_for_good_with_confirmation_clears_values_with_audit(app):
    field = define(app, "Temp", "text")
    note_id = create(app, "Has temp", temp="x")
    with write_transaction(app.state.voronka.sessions) as session:
        cfa.remove_field(session, kind(app), field.id)
    with write_transaction(app.state.voronka.sessions) as session:
        assert cfa.delete_field(session, kind(app), field.id, confirm="temp") == 1
    assert stored(app, note_id) == {}
    assert audit(app, note_id, "cf.temp")[-1] == ("update", "x", None, "form")
    in_step(app)


def test_type_change_is_refused_while_values_exist_and_options_in_use_stay(app):
    field = define(app, "Size", "choice", choices="S\nM\nL")
    create(app, "Sized", size="M")
    with write_transaction(app.state.voronka.sessions) as session, pytest.raises(ValidationError) as caught:
        cfa.update_field(session, kind(app), field.id, {"label": "Size", "type": "text"})
    assert "type cannot change" in caught.value.errors["type"]
    with write_transaction(app.state.voronka.sessions) as session, pytest.raises(ValidationError) as caught:
        cfa.update_field(session, kind(app), field.id, {"label": "Size", "type": "choice", "choices": "S\nL"})
    assert "M" in caught.value.errors["choices"]


def test_definitions_are_refused_for_kinds_without_the_column(app):
    from voronka.core.records import RecordKind

    plain = RecordKind(name="plain", label="Plain", model=User, url="/u/{id}", visibility=lambda u: True)
    with write_transaction(app.state.voronka.sessions) as session, pytest.raises(ValidationError):
        cfa.create_field(session, plain, {"label": "X", "type": "text"})


def test_index_equals_a_recount_after_edits_bulk_and_reindex(app, monkeypatch):
    define(app, "Tags", "multichoice", choices="a\nb\nc", filterable="on")
    define(app, "Score", "number", decimals="1", filterable="on")
    define(app, "Done", "bool", filterable="on")
    ids = [create(app, f"N{i}", tags=["a", "c"], score=Decimal(i) / 2, done=i % 2 == 0) for i in range(6)]
    update(app, ids[0], tags=["b"], score=None)
    with write_transaction(app.state.voronka.sessions) as session:
        save_many(session, kind(app), ids[2:], {"cf.tags": ["a", "b", "c"], "cf.done": True}, actor=uid(app))
    in_step(app)
    with write_transaction(app.state.voronka.sessions) as session:
        written = reindex(session, kind(app))
    assert written == (1 + 2 + 4 * 3) + 5 + 6  # tag rows (one per option) + scores + yes/no
    in_step(app)
    with app.state.voronka.sessions() as session:
        fields = {f.key: f for f in cf.definitions(session, "note")}
        high = cf.filter_clause(kind(app), fields["score"], "ge", Decimal("2"))
        assert sorted(session.scalars(select(Note.id).where(high))) == ids[4:]
        tagged_b = cf.filter_clause(kind(app), fields["tags"], "eq", "b")
        assert sorted(session.scalars(select(Note.id).where(tagged_b))) == [ids[0], *ids[2:]]
        empty = cf.filter_clause(kind(app), fields["score"], "empty")
        assert list(session.scalars(select(Note.id).where(empty))) == [ids[0]]

    # common values read the list in order and probe (EXISTS): the same answers as fetching ids first
    monkeypatch.setattr("voronka.core.custom_fields_lists.PROBE", 1)
    with app.state.voronka.sessions() as session:
        probed = cf.filter_clause(kind(app), fields["tags"], "eq", "b", session=session)
        assert "EXISTS" in str(probed)
        assert sorted(session.scalars(select(Note.id).where(probed))) == [ids[0], *ids[2:]]
        ranged = cf.filter_clause(kind(app), fields["score"], "between", (Decimal("1"), Decimal("2")), session=session)
        assert sorted(session.scalars(select(Note.id).where(ranged))) == ids[2:5]


def test_merge_fills_empty_values_and_deleted_records_leave_the_index(app):
    define(app, "City", "text", filterable="on")
    define(app, "Phone", "text")
    kept = create(app, "Kept", city="Lviv")
    merged = create(app, "Merged", city="Kyiv", phone="123")
    with write_transaction(app.state.voronka.sessions) as session:
        cf.on_records_merged(session, kind(app), kept, merged)
    assert stored(app, kept) == {"city": "Lviv", "phone": "123"}
    assert audit(app, kept, "cf.phone")[-1][:3] == ("update", None, "123")
    in_step(app)
    with write_transaction(app.state.voronka.sessions) as session:
        cf.on_records_deleted(session, "note", [merged])
        assert session.scalar(select(func.count()).where(CustomValue.record_id == merged)) == 0


# -- lists: filter and search in the notes list ------------------------------------------------------------------


def test_notes_list_filters_and_searches_custom_fields(app, client):
    define(app, "Stage", "choice", choices="New\nWon", filterable="on")
    define(app, "Amount", "number", filterable="on")
    define(app, "Client code", "text", key="client_code", searchable="on")
    create(app, "Alpha", stage="New", amount=10, client_code="ZX-100")
    create(app, "Beta", stage="Won", amount=500, client_code="QQ-7")
    create(app, "Gamma", stage="Won", amount=50)
    client.login("admin")
    page = client.get("/notes/", params={"cf.stage": "Won"})
    assert page.status_code == 200 and "Beta" in page.text and "Gamma" in page.text and "Alpha" not in page.text
    assert 'name="cf.stage"' in page.text and 'name="cf.amount.from"' in page.text
    ranged = client.hx_get("/notes/?cf.stage=Won&cf.amount.from=100")
    assert "Beta" in ranged.text and "Gamma" not in ranged.text
    searched = client.get("/notes/", params={"q": "zx-1"})
    assert "Alpha" in searched.text and "Beta" not in searched.text
    assert "Beta" in client.get("/notes/", params={"q": "bet"}).text  # the title still matches
    bad = client.get("/notes/", params={"cf.amount.from": "lots"})
    assert bad.status_code == 200 and "Enter a number" in bad.text
    empty = client.get("/notes/", params={"cf.stage": "__empty__"})
    assert "Alpha" not in empty.text and "No note matches these filters." in empty.text


# -- forms, cards, in-place edit --------------------------------------------------------------------------------


def test_create_form_takes_custom_values_and_refuses_bad_ones(app, client):
    define(app, "Budget", "money", currency="UAH")
    define(app, "Labels", "multichoice", choices="x\ny")
    client.login("admin")
    assert 'name="cf.budget"' in client.get("/notes/").text
    bad = client.post("/notes/", data={"title": "Form note", "body": "", "cf.budget": "a lot"})
    assert bad.status_code == 400 and "Enter an amount such as 1200.50." in bad.text
    assert note_count(app) == 0
    good = client.post(
        "/notes/",
        data={"title": "Form note", "body": "", "cf.budget": "1 200,50", "cf.budget.currency": "uah",
              "cf.labels": ["x", "y"], "cf.labels.present": "1"},
    )  # fmt: skip
    assert good.status_code in (200, 303)
    with app.state.voronka.sessions() as session:
        note = session.scalars(select(Note)).one()
    assert note.custom == {"budget": {"minor": 120050, "currency": "UAH"}, "labels": ["x", "y"]}
    assert audit(app, note.id, "cf.budget") == [("create", None, {"minor": 120050, "currency": "UAH"}, "form")]
    page = client.get(f"/notes/{note.id}")
    assert "1200.50 UAH" in page.text and 'id="cf-card-note-' in page.text


def test_in_place_edit_saves_refuses_and_checks_the_version(app, client):
    define(app, "Score", "number")
    note_id = create(app, "Editable", score=1)
    client.login("admin")
    base = f"/records/note/{note_id}/fields"
    form = client.hx_get(f"{base}/score/edit")
    assert form.status_code == 200 and 'name="version" value="1"' in form.text
    bad = client.hx_post(f"{base}/score", data={"cf.score": "abc", "version": "1"})
    assert bad.status_code == 400 and "Enter a number" in bad.text
    assert stored(app, note_id) == {"score": 1}
    ok = client.hx_post(f"{base}/score", data={"cf.score": "7", "version": "1"})
    assert ok.status_code == 200 and re.search(r'data-field="score">\s*7<', ok.text)
    assert 'name="version"' not in ok.text  # back to showing values
    assert stored(app, note_id) == {"score": 7}
    stale = client.hx_post(f"{base}/score", data={"cf.score": "9", "version": "1"})
    assert stale.status_code == 409 and "Someone else saved" in stale.text
    assert stored(app, note_id) == {"score": 7}
    plain = client.post(f"{base}/score", data={"cf.score": "", "version": "2"}, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/notes/{note_id}"
    assert stored(app, note_id) == {}
    assert client.get(f"/records/note/{note_id}/fields/nope/edit").status_code == 404
    assert client.get("/records/nokind/1/fields").status_code == 404


def test_in_place_edit_needs_the_kinds_edit_permission(app, client):
    define(app, "Score", "number")
    note_id = create(app, "Owned by sales", owner="sales", score=1)
    client.login("operator")  # no notes permissions
    assert client.get(f"/records/note/{note_id}/fields").status_code == 403
    refused = client.post(f"/records/note/{note_id}/fields/score", data={"cf.score": "5", "version": "1"})
    assert refused.status_code == 403
    assert stored(app, note_id) == {"score": 1}


def test_stale_write_path_call_raises(app):
    define(app, "Score", "number")
    note_id = create(app, "V", score=1)
    with write_transaction(app.state.voronka.sessions) as session, pytest.raises(StaleRecord):
        save(session, kind(app), note_id, {"cf.score": 2}, actor=uid(app), expected_version=99)


# -- the admin editor ------------------------------------------------------------------------------------------------


def test_admin_editor_create_edit_reorder_remove_restore(app, client):
    client.login("admin")
    assert "Custom fields" in client.get("/admin").text
    index = client.get("/admin/fields")
    assert index.status_code == 200 and "/admin/fields/note" in index.text
    refused = client.post("/admin/fields/note", data={"label": "", "type": "choice"})
    assert refused.status_code == 400
    assert "Give the field a name." in refused.text and "List the options" in refused.text
    for label, type_ in (("Stage", "choice"), ("Budget", "money")):
        made = client.post("/admin/fields/note", data={"label": label, "type": type_, "choices": "A\nB"},
                           follow_redirects=False)  # fmt: skip
        assert made.status_code == 303
    with app.state.voronka.sessions() as session:
        stage, budget = cf.definitions(session, "note")
    assert (stage.key, stage.choices, budget.key) == ("stage", ["A", "B"], "budget")
    edit = client.post(f"/admin/fields/note/{stage.id}", data={"label": "Deal stage", "type": "choice",
                       "choices": "A\nB\nC", "filterable": "on"}, follow_redirects=False)  # fmt: skip
    assert edit.status_code == 303
    client.post(f"/admin/fields/note/{budget.id}/move", data={"direction": "up"})
    with app.state.voronka.sessions() as session:
        assert [(f.key, f.label, f.filterable) for f in cf.definitions(session, "note")] == [
            ("budget", "Budget", False), ("stage", "Deal stage", True)]  # fmt: skip
    client.post(f"/admin/fields/note/{stage.id}/remove")
    page = client.get("/admin/fields/note")
    assert "Removed fields" in page.text and f"/admin/fields/note/{stage.id}/restore" in page.text
    client.post(f"/admin/fields/note/{stage.id}/restore")
    with app.state.voronka.sessions() as session:
        assert [f.key for f in cf.definitions(session, "note")] == ["budget", "stage"]
    client.post(f"/admin/fields/note/{stage.id}/remove")
    gone = client.post(f"/admin/fields/note/{stage.id}/delete", follow_redirects=False)
    assert gone.status_code == 303  # no values: deleted without confirmation
    assert client.get(f"/admin/fields/note/{stage.id}").status_code == 404


def test_admin_editor_is_for_admins_only(app, client):
    field = define(app, "Stage", "text")
    client.login("sales")
    assert client.get("/admin/fields").status_code == 403
    assert client.get("/admin/fields/note").status_code == 403
    assert client.post("/admin/fields/note", data={"label": "X", "type": "text"}).status_code == 403
    assert client.post(f"/admin/fields/note/{field.id}/remove").status_code == 403
    with app.state.voronka.sessions() as session:
        assert [f.key for f in cf.definitions(session, "note")] == ["stage"]


def test_mapping_targets_offer_custom_fields(app):
    define(app, "Region", "text", required="on")
    with app.state.voronka.sessions() as session:
        assert cf.mapping_targets(session, kind(app)) == [("cf.region", "Region", True)]

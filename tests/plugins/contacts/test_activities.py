"""Activities: logging each type through the form (plain and HTMX), validation in place, participants,
the rules every write path obeys, the activity page (edit, stale edit, delete) and visibility."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from voronka.core.errors import ValidationError
from voronka.plugins.contacts.models import Activity, ActivityParticipant

UTC = dt.UTC


def activities(contacts, **where):
    with contacts.runtime.sessions() as session:
        query = select(Activity).where(*(getattr(Activity, k) == v for k, v in where.items())).order_by(Activity.id)
        found = list(session.scalars(query))
        for row in found:
            session.expunge(row)
        return found


def participants(contacts, activity_id):
    with contacts.runtime.sessions() as session:
        rows = session.execute(
            select(ActivityParticipant.party_id, ActivityParticipant.user_id).where(
                ActivityParticipant.activity_id == activity_id
            )
        )
        return {tuple(r) for r in rows}


FORMS = {
    "note": {"subject": "Met at the fair", "body": "Wants a quote", "occurred_at": "2026-03-02T10:15"},
    "call": {"subject": "Intro call", "direction": "inbound", "duration_minutes": "12", "outcome": "Demo agreed",
             "occurred_at": "2026-03-02T11:00"},
    "meeting": {"subject": "Demo", "occurred_at": "2026-03-05T14:00", "ends_at": "2026-03-05T15:30",
                "location": "Kyiv office"},
    "task": {"subject": "Send the quote", "due_date": "2026-03-06", "due_time": "09:30"},
}  # fmt: skip


@pytest.mark.parametrize("activity_type", ["note", "call", "meeting", "task"])
def test_log_each_type_through_the_form(client, contacts, activity_type):
    olena = contacts.person("Олена", "Коваленко")
    client.login("sales")
    page = client.get(f"/contacts/{olena}/activities/new?type={activity_type}")
    assert page.status_code == 200 and 'name="subject"' in page.text and "<html" in page.text
    form = {**FORMS[activity_type], "party_ids": str(olena), "user_ids": str(contacts.uid("sales"))}
    saved = client.post(f"/contacts/{olena}/activities/new?type={activity_type}", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/contacts/{olena}"
    [activity] = activities(contacts, ref_id=olena)
    assert (activity.type, activity.ref_kind) == (activity_type, "person")
    assert activity.owner_user_id == contacts.uid("sales")
    assert participants(contacts, activity.id) == {(olena, None), (None, contacts.uid("sales"))}
    kyiv = dt.timezone(dt.timedelta(hours=2))  # Europe/Kyiv in March: EET
    if activity_type == "call":
        assert (activity.direction, activity.duration_minutes, activity.outcome) == ("inbound", 12, "Demo agreed")
        assert activity.occurred_at == dt.datetime(2026, 3, 2, 11, 0, tzinfo=kyiv)
    elif activity_type == "meeting":
        assert activity.ends_at - activity.occurred_at == dt.timedelta(minutes=90)
        assert activity.location == "Kyiv office"
    elif activity_type == "task":
        due = dt.datetime(2026, 3, 6, 9, 30, tzinfo=kyiv)
        assert (activity.due_at, activity.occurred_at, activity.done, activity.done_at) == (due, due, False, None)
    else:
        assert activity.body == "Wants a quote" and activity.direction == "" and activity.due_at is None


@pytest.mark.parametrize(
    ("activity_type", "form", "field", "message"),
    [
        ("note", {"subject": "  "}, "subject", "Give it a subject."),
        ("meeting", {"subject": "Demo", "occurred_at": "2026-03-05T14:00", "ends_at": "2026-03-05T13:00"},
         "ends_at", "The meeting must end after it starts."),
        ("meeting", {"subject": "Demo"}, "occurred_at", "Enter when the meeting starts."),
        ("task", {"subject": "Quote", "due_date": "2026-02-31"}, "due_date", "Enter the due date"),
        ("call", {"subject": "Call", "duration_minutes": "ten"}, "duration_minutes", "whole number"),
        ("call", {"subject": "Call", "direction": "sideways"}, "direction", "inbound or outbound"),
        ("note", {"subject": "Note", "occurred_at": "yesterday"}, "occurred_at", "Enter a date and time"),
        ("note", {"subject": "Note", "party_add": "abc"}, "party_ids", "Pick people"),
        ("note", {"subject": "Note", "party_add": "999999"}, "party_ids", "not yours to see"),
        ("note", {"subject": "Note", "party_add_q": "Nobody"}, "party_add", "Pick one of the people found"),
        ("task", {"subject": "Quote", "owner": "u:999999"}, "owner", "active colleague"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_in_place_and_nothing_is_written(client, contacts, activity_type, form, field, message):
    olena = contacts.person("Олена", "Коваленко")
    client.login("sales")
    response = client.post(f"/contacts/{olena}/activities/new?type={activity_type}", data=form)
    assert response.status_code == 400
    assert message in response.text and 'class="field-error"' in response.text
    assert activities(contacts) == []


def test_the_form_opens_in_the_card_and_the_entry_lands_on_top(client, contacts):
    olena = contacts.person("Олена", "Коваленко")
    client.login("sales")
    form = client.hx_get(f"/contacts/{olena}/activities/new?type=call")
    assert form.status_code == 200 and "<html" not in form.text
    assert f'hx-post="/contacts/{olena}/activities/new?type=call"' in form.text and 'name="inline"' in form.text
    bad = client.hx_post(f"/contacts/{olena}/activities/new?type=call", data={"subject": "", "inline": "1"})
    assert bad.status_code == 400 and "<html" not in bad.text and 'name="inline"' in bad.text
    saved = client.hx_post(f"/contacts/{olena}/activities/new?type=call", data={"subject": "Quick call", "inline": "1"})
    assert saved.status_code == 200
    assert 'hx-swap-oob="afterbegin:#timeline-entries"' in saved.text and "Quick call" in saved.text
    assert "timeline-fresh" in saved.text
    # the current user and the person are participants by default (the form pre-ticks them)
    assert re.search(rf'name="party_ids" value="{olena}"\s+checked', form.text)
    assert re.search(rf'name="user_ids" value="{contacts.uid("sales")}"\s+checked', form.text)


def test_participants_are_found_by_name_with_or_without_javascript(client, contacts):
    olena = contacts.person("Олена", "Коваленко")
    taras = contacts.person("Тарас", "Бондар")
    client.login("sales")
    form = client.get(f"/contacts/{olena}/activities/new?type=meeting")
    assert 'name="party_add_q"' in form.text and "/contacts/lookup?kind=person" in form.text
    # without JS: the typed name comes back with its matches to pick from, nothing is saved yet
    data = {"subject": "Demo", "occurred_at": "2026-03-05T14:00", "party_ids": str(olena), "party_add_q": "Тар"}
    again = client.post(f"/contacts/{olena}/activities/new?type=meeting", data=data)
    assert again.status_code == 400 and f'name="party_add" value="{taras}"' in again.text
    assert activities(contacts) == []
    saved = client.post(f"/contacts/{olena}/activities/new?type=meeting", data={**data, "party_add": str(taras)},
                        follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    [meeting] = activities(contacts)
    assert participants(contacts, meeting.id) == {(olena, None), (taras, None)}


def test_an_activity_attaches_to_any_registered_kind(client, contacts):
    acme = contacts.organisation("Acme")
    client.login("sales")
    page = client.get(f"/contacts/activities/new?type=note&ref=organisation:{acme}")
    assert page.status_code == 200 and "Acme" in page.text
    assert client.get("/contacts/activities/new?type=note&ref=nosuchkind:1").status_code == 404
    assert client.get(f"/contacts/activities/new?type=note&ref=organisation:{acme + 1000}").status_code == 404
    saved = client.post(f"/contacts/activities/new?type=note&ref=organisation:{acme}", data={"subject": "Hello"},
                        follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"] == f"/contacts/{acme}"
    # a task needs no record at all
    client.post("/contacts/activities/new?type=task", data={"subject": "Plan the week"})
    [hello, plan] = activities(contacts)
    assert (hello.ref_kind, hello.ref_id) == ("organisation", acme) and (plan.ref_kind, plan.ref_id) == (None, None)
    # the write path refuses a reference to nothing
    with pytest.raises(ValidationError):
        contacts.save("activity", None, {"type": "note", "subject": "x", "ref_kind": "person", "ref_id": 987654})


def test_rules_hold_on_every_write_path(contacts):
    olena = contacts.person("Олена", "Коваленко")
    note = {"type": "note", "subject": "Hi", "ref_kind": "person", "ref_id": olena}
    with pytest.raises(ValidationError) as task_field:
        contacts.save("activity", None, {**note, "due_at": dt.datetime(2026, 1, 1, tzinfo=UTC)})
    assert "due_at" in task_field.value.errors
    with pytest.raises(ValidationError) as done_note:
        contacts.save("activity", None, {**note, "done": True})
    assert "done" in done_note.value.errors
    with pytest.raises(ValidationError) as unknown:
        contacts.save("activity", None, {**note, "type": "fax"})
    assert "type" in unknown.value.errors
    with pytest.raises(ValidationError) as blank:
        contacts.save("activity", None, {**note, "subject": " "})
    assert "subject" in blank.value.errors
    with pytest.raises(ValidationError) as call_on_note:
        contacts.save("activity", None, {**note, "direction": "inbound"})
    assert "direction" in call_on_note.value.errors
    assert activities(contacts) == []

    due = dt.datetime(2026, 5, 1, 12, tzinfo=UTC)
    task_id = contacts.save("activity", None, {**note, "type": "task", "due_at": due})
    task = contacts.get(Activity, task_id)
    assert task.occurred_at == due and task.done_at is None
    contacts.save("activity", task_id, {"done": True}, source="api")
    done = contacts.get(Activity, task_id)
    assert done.done and done.done_at is not None
    contacts.save("activity", task_id, {"done": False}, source="bulk")
    assert contacts.get(Activity, task_id).done_at is None
    later = dt.datetime(2026, 6, 1, 8, tzinfo=UTC)
    contacts.save("activity", task_id, {"due_at": later})
    assert contacts.get(Activity, task_id).occurred_at == later


def test_the_activity_page_edits_deletes_and_refuses_a_stale_form(client, contacts):
    olena = contacts.person("Олена", "Коваленко")
    taras = contacts.person("Тарас", "Бондар")
    client.login("sales")
    client.post(f"/contacts/{olena}/activities/new?type=call", data={"subject": "First call", "party_ids": olena})
    [call] = activities(contacts)
    page = client.get(f"/contacts/activities/{call.id}")
    assert page.status_code == 200 and "First call" in page.text and "Олена Коваленко" in page.text
    form = {"subject": "First call, again", "direction": "outbound", "version": str(call.version),
            "party_ids": [str(olena), str(taras)], "user_ids": str(contacts.uid("sales2"))}  # fmt: skip
    saved = client.post(f"/contacts/activities/{call.id}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert activities(contacts)[0].subject == "First call, again"
    assert participants(contacts, call.id) == {(olena, None), (taras, None), (None, contacts.uid("sales2"))}
    stale = client.post(f"/contacts/activities/{call.id}", data={**form, "subject": "Mine"})
    assert stale.status_code == 409 and "Someone else saved" in stale.text
    assert activities(contacts)[0].subject == "First call, again"
    bad = client.post(f"/contacts/activities/{call.id}", data={**form, "subject": "", "version": "2"})
    assert bad.status_code == 400 and "Give it a subject." in bad.text
    assert client.get(f"/contacts/activities/{call.id}/delete").status_code == 200
    gone = client.post(f"/contacts/activities/{call.id}/delete", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == f"/contacts/{olena}"
    assert client.get(f"/contacts/activities/{call.id}").status_code == 404


def test_another_owners_activity_is_not_there(client, contacts):
    olena = contacts.person("Олена", "Коваленко", owner="sales2")
    values = {"type": "note", "subject": "Private", "ref_kind": "person", "ref_id": olena,
              "owner_user_id": contacts.uid("sales2")}  # fmt: skip
    secret = contacts.save("activity", None, values, actor="sales2")
    client.login("sales")
    assert client.get(f"/contacts/activities/{secret}").status_code == 404
    assert client.post(f"/contacts/activities/{secret}/delete").status_code == 404
    assert client.get(f"/contacts/{olena}/activities/new?type=note").status_code == 404
    client.login("manager")  # sees everyone under them
    assert client.get(f"/contacts/activities/{secret}").status_code == 200

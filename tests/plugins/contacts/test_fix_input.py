"""Review fixes on the card and activities: junk ids and versions are a 400/404 with nothing written, dates
out of range are refused, an edit keeps participants the editor cannot see, and a plugin whose timeline
breaks the database transaction does not take the card down."""

from __future__ import annotations

import importlib.machinery
import sys
import types

import pytest
from sqlalchemy import event, func, select, text

from voronka.core.db import write_transaction
from voronka.core.manifest import Manifest
from voronka.core.markers import hookimpl
from voronka.plugins.contacts.activity_queries import set_participants
from voronka.plugins.contacts.models import Activity, ActivityParticipant, ContactPoint, Party


def count(contacts, model, *where):
    with contacts.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def note(contacts, party_id, owner="sales"):
    values = {"type": "note", "subject": "Met", "ref_kind": "person", "ref_id": party_id,
              "owner_user_id": contacts.uid(owner)}  # fmt: skip
    return contacts.save("activity", None, values, actor=owner)


# -- 1. junk ids and versions ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["²", "99999999999999999999", "-1", ""])
def test_a_junk_version_on_a_detail_is_a_400(client, contacts, version):
    pid = contacts.person("Olena", "K", job_title="Accountant")
    client.login("sales")
    bad = client.hx_post(f"/contacts/{pid}/fields/job_title", data={"job_title": "Clerk", "version": version})
    assert bad.status_code == 400 and "reload the page" in bad.text
    assert contacts.get(Party, pid).job_title == "Accountant"


@pytest.mark.parametrize("owner", ["u:²", "t:²", "u:99999999999999999999", "u:999999999999", "x:1", "u:"])
def test_a_junk_owner_on_the_card_is_a_400(client, contacts, owner):
    pid = contacts.person("Olena", "K")
    client.login("manager")
    version = str(contacts.get(Party, pid).version)
    bad = client.hx_post(f"/contacts/{pid}/fields/owner", data={"owner": owner, "version": version})
    assert bad.status_code == 400 and "field-error" in bad.text
    assert contacts.get(Party, pid).owner_user_id == contacts.uid("sales")


@pytest.mark.parametrize("url", ["/contacts/99999999999999999999", "/contacts/99999999999999999999/points",
                                 "/contacts/99999999999999999999/fields/job_title/edit",
                                 "/contacts/99999999999999999999/timeline"])  # fmt: skip
def test_a_huge_party_id_in_the_path_is_a_404(client, contacts, url):
    client.login("sales")
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("row", ["99999999999999999999", "999999999999"])
def test_huge_point_and_address_ids_are_a_404_or_400(client, contacts, row):
    pid = contacts.person("Olena", "K", primary_email="olena@example.com")
    client.login("sales")
    assert client.hx_get(f"/contacts/{pid}/points/{row}/edit").status_code == 404
    assert client.hx_get(f"/contacts/{pid}/addresses/{row}/edit").status_code == 404
    for url in (f"/contacts/{pid}/points/{row}", f"/contacts/{pid}/points/{row}/remove",
                f"/contacts/{pid}/points/{row}/primary", f"/contacts/{pid}/addresses/{row}/remove"):  # fmt: skip
        assert client.hx_post(url, data={"value": "x@example.com"}).status_code == 404
    assert count(contacts, ContactPoint, ContactPoint.party_id == pid) == 1


@pytest.mark.parametrize("version", ["²", "99999999999999999999"])
def test_a_junk_activity_version_is_a_400(client, contacts, version):
    olena = contacts.person("Olena", "K")
    activity_id = note(contacts, olena)
    client.login("sales")
    form = {"subject": "Changed", "occurred_at": "2026-03-02T10:15", "version": version}
    bad = client.post(f"/contacts/activities/{activity_id}", data=form)
    assert bad.status_code == 400 and "reload the page" in bad.text
    assert contacts.get(Activity, activity_id).subject == "Met"


@pytest.mark.parametrize(
    ("field", "value"),
    [("party_ids", "999999999999"), ("party_ids", "99999999999999999999"), ("party_ids", "²"),
     ("user_ids", "999999999999"), ("owner", "u:999999999999"), ("owner", "t:²")],
)  # fmt: skip
def test_junk_participants_and_owners_are_a_400(client, contacts, field, value):
    olena = contacts.person("Olena", "K")
    client.login("sales")
    form = {"subject": "Call back", "due_date": "2026-03-06", field: value}
    bad = client.post(f"/contacts/{olena}/activities/new?type=task", data=form)
    assert bad.status_code == 400 and "field-error" in bad.text
    assert count(contacts, Activity) == 0


@pytest.mark.parametrize("ref", ["person:99999999999999999999", "person:²", "person:999999999999", "person:0"])
def test_a_junk_ref_is_a_404(client, contacts, ref):
    client.login("sales")
    assert client.get(f"/contacts/activities/new?ref={ref}").status_code == 404
    assert client.post(f"/contacts/activities/new?ref={ref}&type=note", data={"subject": "x"}).status_code == 404
    assert count(contacts, Activity) == 0


# -- 1 and 4. dates out of range ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activity_type", "form", "message"),
    [("meeting", {"occurred_at": "0001-01-01T00:00"}, "Enter a date"),
     ("meeting", {"occurred_at": "2026-03-05T14:00", "ends_at": "9999-12-31T23:59"}, "Enter a date"),
     ("meeting", {"occurred_at": "9999-12-31T23:59"}, "Enter a date"),
     ("note", {"occurred_at": "0001-01-01T00:00"}, "Enter a date"),
     ("task", {"due_date": "0001-01-01"}, "Enter the due date"),
     ("task", {"due_date": "9999-12-31"}, "Enter the due date"),
     ("task", {"due_date": "9999-12-31", "due_time": "23:59"}, "Enter the due date")],
)  # fmt: skip
def test_dates_out_of_range_are_a_400_with_a_message(client, contacts, activity_type, form, message):
    olena = contacts.person("Olena", "K")
    client.login("sales")
    bad = client.post(f"/contacts/{olena}/activities/new?type={activity_type}", data={"subject": "S", **form})
    assert bad.status_code == 400 and message in bad.text and "field-error" in bad.text
    assert count(contacts, Activity) == 0


# -- 2. participants the editor cannot see ---------------------------------------------------------------


def test_an_edit_keeps_participants_the_editor_cannot_see(client, contacts):
    olena = contacts.person("Олена", "Коваленко")
    taras = contacts.person("Тарас", "Бондар")
    hidden = contacts.person("Secret", "Person", owner="sales2")
    activity_id = note(contacts, olena)
    with write_transaction(contacts.runtime.sessions) as session:
        set_participants(session, activity_id, [olena, taras, hidden], [contacts.uid("sales")])
    client.login("sales")
    page = client.get(f"/contacts/activities/{activity_id}")
    assert page.status_code == 200 and f'href="/contacts/{hidden}"' not in page.text
    assert "someone you cannot see" in page.text and f'href="/contacts/{olena}"' in page.text
    version = str(contacts.get(Activity, activity_id).version)
    form = {"subject": "Met again", "occurred_at": "2026-03-02T10:15", "version": version,
            "party_ids": [str(olena)], "user_ids": str(contacts.uid("sales"))}  # fmt: skip
    saved = client.post(f"/contacts/activities/{activity_id}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    with contacts.runtime.sessions() as session:
        rows = session.execute(select(ActivityParticipant.party_id, ActivityParticipant.user_id).where(
            ActivityParticipant.activity_id == activity_id))  # fmt: skip
        assert {tuple(r) for r in rows} == {(olena, None), (hidden, None), (None, contacts.uid("sales"))}
    assert contacts.get(Activity, activity_id).subject == "Met again"


# -- 3. a timeline hook that breaks the transaction ------------------------------------------------------

BROKEN_NAME = "voronka_test_fix_input_broken_timeline"


def _broken_timeline(session, viewer, ref, kinds, before, limit):
    session.execute(text("SELECT * FROM no_such_table_for_the_timeline"))
    return []


def _install_broken() -> None:
    if BROKEN_NAME in sys.modules:
        return
    package = types.ModuleType(BROKEN_NAME)
    package.__spec__ = importlib.machinery.ModuleSpec(BROKEN_NAME, None, is_package=True)
    package.__path__ = []
    package.manifest = Manifest(name="broken", label="Broken", version="1.0.0", hook_api=">=1.0,<2")
    hooks = types.ModuleType(f"{BROKEN_NAME}.hooks")
    hooks.__spec__ = importlib.machinery.ModuleSpec(f"{BROKEN_NAME}.hooks", None)
    hooks.timeline = hookimpl(optionalhook=True)(_broken_timeline)
    package.hooks = hooks
    sys.modules[BROKEN_NAME] = package
    sys.modules[hooks.__name__] = hooks


_install_broken()


@pytest.mark.voronka(plugins=[f"broken={BROKEN_NAME}"])
def test_a_timeline_hook_that_fails_in_sql_leaves_the_card_working(client, contacts):
    olena = contacts.person("Олена", "Коваленко", primary_email="olena@example.com")
    note(contacts, olena)
    client.login("sales")
    page = client.get(f"/contacts/{olena}")
    assert page.status_code == 200 and "Met" in page.text and "olena@example.com" in page.text
    assert client.get(f"/contacts/{olena}/timeline").status_code == 200


# -- 6. a duplicate contact point cannot race past the check ---------------------------------------------


@pytest.mark.engines("postgresql")
def test_adding_a_point_locks_the_party_before_the_duplicate_check(app, client, contacts):
    pid = contacts.person("Olena", "K")
    client.login("sales")
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()).lower())

    event.listen(app.state.voronka.engine, "before_cursor_execute", record)
    try:
        added = client.hx_post(f"/contacts/{pid}/points", data={"channel": "email", "value": "o@example.com"})
    finally:
        event.remove(app.state.voronka.engine, "before_cursor_execute", record)
    assert added.status_code == 200
    lock = next(i for i, s in enumerate(seen) if s.startswith("select contacts_party.id") and "for update" in s)
    check = next(i for i, s in enumerate(seen) if "from contacts_point" in s and "value_key =" in s)
    assert lock < check

"""Bulk actions on a list (owner, tag, export, delete, each all or nothing) and the create forms."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from voronka.core.models import Team
from voronka.core.models_records import AuditEntry, Tag, TagLink
from voronka.plugins.contacts import list_bulk
from voronka.plugins.contacts.models import Party


@pytest.fixture
def book(contacts):
    return {
        "a": contacts.person("Андрій", "Антоненко"),
        "b": contacts.person("Богдан", "Бондар"),
        "c": contacts.person("Віра", "Вовк"),
        "other": contacts.person("Чужий", "Чоловік", owner="sales2"),
        "org": contacts.organisation("ТОВ «Альфа»"),
    }


def owners(app, ids):
    with app.state.voronka.sessions() as session:
        rows = session.execute(select(Party.id, Party.owner_user_id, Party.owner_team_id).where(Party.id.in_(ids)))
        return {r.id: (r.owner_user_id, r.owner_team_id) for r in rows}


def test_assign_owner_to_a_user_and_to_a_team(client, app, contacts, book):
    client.login("sales")
    sales2 = contacts.uid("sales2")
    response = client.post("/contacts/people/bulk?q=%D0%B0", data={"action": "owner", "owner": f"u:{sales2}",
                                                                  "ids": [book["a"], book["b"]]},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    assert (
        response.headers["location"].startswith("/contacts/people?q=") and "done=owner" in response.headers["location"]
    )
    assert owners(app, [book["a"], book["b"]]) == {book["a"]: (sales2, None), book["b"]: (sales2, None)}
    with app.state.voronka.sessions() as session:
        audited = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.record_id.in_([book["a"], book["b"]]), AuditEntry.field == "owner_user_id",
            AuditEntry.source == "bulk"))  # fmt: skip
        team = session.scalar(select(Team.id).where(Team.name == "Sales"))
    assert audited == 2
    page = client.get(response.headers["location"])
    assert "2 records have a new owner." in page.text
    # to a team (a queue): the user owner is cleared
    client.post("/contacts/people/bulk", data={"action": "owner", "owner": f"t:{team}", "ids": [book["c"]]})
    assert owners(app, [book["c"]]) == {book["c"]: (None, team)}


def test_bulk_refusals_change_nothing(client, app, contacts, book):
    client.login("sales")
    before = owners(app, list(book.values()))
    sales2 = contacts.uid("sales2")
    cases = [
        ({"action": "owner", "owner": f"u:{sales2}"}, "Select the rows"),
        ({"action": "owner", "owner": f"u:{sales2}", "ids": [book["a"], book["other"]]}, "not yours to see"),
        ({"action": "owner", "owner": f"u:{sales2}", "ids": [book["a"], book["org"]]}, "not yours to see"),
        ({"action": "owner", "owner": "u:999999", "ids": [book["a"]]}, "active user or a team"),
        ({"action": "owner", "owner": f"u:{sales2}", "ids": ["1x"]}, "not valid"),
        ({"action": "explode", "ids": [book["a"]]}, "Choose what to do"),
        ({"action": "tag", "tag": "", "ids": [book["a"]]}, "Give the tag a name"),
        ({"action": "tag", "tag": "x" * 61, "ids": [book["a"]]}, "under 60"),
    ]
    for data, message in cases:
        response = client.post("/contacts/people/bulk", data=data)
        assert response.status_code == 400 and message in response.text, (data, response.text[:300])
        assert 'id="party-bulk"' in response.text  # the list again, with the message
    too_many = {"action": "owner", "owner": f"u:{sales2}", "ids": [str(i) for i in range(1, list_bulk.BULK_MAX + 2)]}
    response = client.post("/contacts/people/bulk", data=too_many)
    assert response.status_code == 400 and "at most 500" in response.text
    assert owners(app, list(book.values())) == before
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TagLink)) == 0
    client.login("operator")
    blocked = client.post("/contacts/people/bulk", data={"action": "delete", "confirm": "1", "ids": [book["a"]]})
    assert blocked.status_code == 400
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(Party.deleted_at).where(Party.id == book["a"])) is None


def test_add_a_tag_to_the_selection_and_all_shown(client, app, book):
    client.login("sales")
    response = client.hx_post("/contacts/people/bulk", data={"action": "tag", "tag": "Конференція",
                                                             "ids": [book["a"], book["c"]]})  # fmt: skip
    assert response.status_code == 200 and "The tag is on 2 records." in response.text and "<html" not in response.text
    with app.state.voronka.sessions() as session:
        tag_id = session.scalar(select(Tag.id).where(Tag.name == "Конференція"))
        tagged = set(session.scalars(select(TagLink.record_id).where(TagLink.tag_id == tag_id)))
    assert tagged == {book["a"], book["c"]}
    # "select all shown": every row the list rendered, ticked or not
    client.post("/contacts/people/bulk", data={"action": "tag", "tag": "Конференція", "all_shown": "1",
                                               "page_ids": [book["a"], book["b"], book["c"]]})  # fmt: skip
    with app.state.voronka.sessions() as session:
        assert set(session.scalars(select(TagLink.record_id).where(TagLink.tag_id == tag_id))) == {
            book["a"], book["b"], book["c"]}  # fmt: skip
    assert "Конференція" in client.get("/contacts/people", params={"tag": tag_id}).text


def test_export_the_selection(client, book):
    client.login("sales")
    response = client.post("/contacts/people/bulk", data={"action": "export", "ids": [book["b"], book["a"]]},
                           params={"bom": "0"})  # fmt: skip
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert {int(r["id"]) for r in csv.DictReader(io.StringIO(response.text))} == {book["a"], book["b"]}
    refused = client.post("/contacts/people/bulk", data={"action": "export", "ids": [book["a"], book["other"]]})
    assert refused.status_code == 400 and "text/html" in refused.headers["content-type"]


def test_delete_asks_first_then_moves_to_the_recycle_bin(client, app, book):
    client.login("sales")
    ask = client.post("/contacts/people/bulk", data={"action": "delete", "ids": [book["a"], book["b"]]})
    assert ask.status_code == 200 and "Delete 2 records?" in ask.text and 'name="confirm"' in ask.text
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).where(Party.deleted_at.is_not(None))) == 0
    data = {"action": "delete", "confirm": "1", "ids": [book["a"], book["b"]]}
    done = client.post("/contacts/people/bulk", data=data, follow_redirects=False)
    assert done.status_code == 303
    with app.state.voronka.sessions() as session:
        gone = set(session.scalars(select(Party.id).where(Party.deleted_at.is_not(None))))
    assert gone == {book["a"], book["b"]}
    page = client.get(done.headers["location"])
    assert "recycle bin" in page.text
    ids = [int(x) for x in __import__("re").findall(r'name="ids" value="(\d+)"', page.text)]
    assert ids == [book["c"]]


def test_delete_refuses_the_whole_batch_when_one_is_gone(client, app, contacts, book):
    """One record of the selection gone meanwhile (deleted by someone else) refuses the whole batch."""
    client.login("sales")
    contacts.save("person", book["c"], {"job_title": "x"})
    done = client.post("/contacts/people/bulk", data={"action": "delete", "confirm": "1", "ids": [book["a"]]})
    assert done.status_code == 200
    again = client.post("/contacts/people/bulk", data={"action": "delete", "confirm": "1",
                                                       "ids": [book["b"], book["a"]]})  # fmt: skip
    assert again.status_code == 400 and "gone or not yours" in again.text
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(Party.deleted_at).where(Party.id == book["b"])) is None


def test_all_list_bulk_across_kinds(client, app, contacts, book):
    client.login("sales")
    sales2 = contacts.uid("sales2")
    response = client.post("/contacts/all/bulk", data={"action": "owner", "owner": f"u:{sales2}",
                                                       "ids": [book["a"], book["org"]]})  # fmt: skip
    assert response.status_code == 200
    assert owners(app, [book["a"], book["org"]]) == {book["a"]: (sales2, None), book["org"]: (sales2, None)}


# -- the create forms -------------------------------------------------------------------------------------


def test_create_a_person(client, app, contacts):
    client.login("sales")
    form = client.get("/contacts/people/new")
    assert form.status_code == 200 and 'name="first_name"' in form.text and 'name="csrf_token"' in form.text
    assert f'value="u:{contacts.uid("sales")}" selected' in form.text
    response = client.post("/contacts/people/new", data={
        "first_name": " Леся ", "last_name": "Українка", "job_title": "Поетеса", "city": "Київ",
        "owner": f"u:{contacts.uid('sales')}"}, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    party_id = int(response.headers["location"].rsplit("/", 1)[1])
    person = contacts.get(Party, party_id)
    assert (person.kind, person.name, person.city, person.owner_user_id) == (
        "person", "Леся Українка", "Київ", contacts.uid("sales"))  # fmt: skip
    htmx = client.hx_post("/contacts/people/new", data={"first_name": "Ольга", "owner": f"u:{contacts.uid('sales')}"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/contacts/")


def test_create_an_organisation_owned_by_a_team(client, app, contacts):
    client.login("sales")
    with app.state.voronka.sessions() as session:
        team = session.scalar(select(Team.id).where(Team.name == "Sales"))
    response = client.post("/contacts/organisations/new", data={
        "name": "Globex LLC", "legal_name": "Globex Corporation LLC", "registration_no": "12345678",
        "industry": "Energy", "owner": f"t:{team}"}, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    org = contacts.get(Party, int(response.headers["location"].rsplit("/", 1)[1]))
    assert (org.kind, org.name, org.registration_no, org.owner_team_id) == ("organisation", "Globex LLC", "12345678",
                                                                          team)  # fmt: skip


def test_create_form_errors_come_back_next_to_the_fields(client, app, contacts):
    client.login("sales")
    with app.state.voronka.sessions() as session:
        before = session.scalar(select(func.count()).select_from(Party))
    me = f"u:{contacts.uid('sales')}"
    nameless = client.post("/contacts/people/new", data={"job_title": "Ghost", "owner": me})
    assert nameless.status_code == 400 and "Give the person a first or a last name." in nameless.text
    assert 'value="Ghost"' in nameless.text  # what was typed stays
    htmx = client.hx_post("/contacts/people/new", data={"job_title": "Ghost", "owner": me})
    assert htmx.status_code == 400 and "<html" not in htmx.text and "Give the person a first" in htmx.text
    orgless = client.post("/contacts/organisations/new", data={"name": "  ", "owner": me})
    assert orgless.status_code == 400 and "Give the organisation a name." in orgless.text
    too_long = client.post("/contacts/people/new", data={"first_name": "x" * 121, "owner": me})
    assert too_long.status_code == 400 and "field-error" in too_long.text
    bad_owner = client.post("/contacts/people/new", data={"first_name": "Ok", "owner": "u:999999"})
    assert bad_owner.status_code == 400 and "as the owner" in bad_owner.text
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Party)) == before


def test_create_form_shows_duplicate_hints_until_create_anyway(client, app, contacts, monkeypatch):
    from voronka.plugins.contacts import duplicates

    class Hint:
        reason, name, owner_name, url = "Same e-mail", "Леся Українка", "Sofiia Sales", "/contacts/1"

    seen = []

    def hints(session, viewer, kind_name, values, exclude=None):
        seen.append((kind_name, values["last_name"]))
        return [Hint()]

    monkeypatch.setattr(duplicates, "hints", hints)
    client.login("sales")
    data = {"first_name": "Леся", "last_name": "Українка", "owner": f"u:{contacts.uid('sales')}"}
    held = client.post("/contacts/people/new", data=data)
    assert held.status_code == 400 and "Same e-mail" in held.text and 'name="create_anyway"' in held.text
    assert seen == [("person", "Українка")]
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Party)) == 0
    created = client.post("/contacts/people/new", data={**data, "create_anyway": "1"}, follow_redirects=False)
    assert created.status_code == 303

"""What the bulk path of an import batch keeps (core's ``imports_bulk``, contacts' ``import_bulk``): people
written as one executemany still get their contact points, address, search and city keys, audit entry and
event; duplicates among one batch's own rows are found before writing (no second matcher pass), with the
outcome of writing the rows one by one; a row a rule refuses fails alone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.models_imports import ImportRow
from voronka.core.models_jobs import OutboxEvent
from voronka.core.models_records import AuditEntry
from voronka.plugins.contacts import duplicates
from voronka.plugins.contacts.models import Address, ContactPoint, Party, Relationship

from .test_contacts_import import draft, run


def people(contacts: Any) -> dict[str, Any]:
    with contacts.runtime.sessions() as session:
        found = session.scalars(select(Party).where(Party.kind == "person"))
        return {p.primary_email: (p.id, p.name, p.description) for p in found}


def outcomes(contacts: Any, import_id: int) -> list[tuple[int, str, int | None, str]]:
    with contacts.runtime.sessions() as session:
        rows = session.scalars(select(ImportRow).where(ImportRow.import_id == import_id).order_by(ImportRow.row))
        return [(r.row, r.outcome, r.record_id, r.message) for r in rows]


def test_people_written_in_bulk_get_points_address_keys_audit_and_events(contacts):
    data = (
        "name,email,phone,city,company\n"
        "Олена Коваленко,Olena@Acme.example,067 123 4567,Київ,ТОВ «Ромашка»\n"
        "Taras Shevchenko,taras@globex.example,+380441234567,  Lviv ,Globex Ltd\n"
    ).encode()
    imp = draft(contacts, "person", data)
    done = run(contacts, imp, ["name", "primary_email", "primary_phone", "city", "employer"], duplicates="skip")
    assert (done.created, done.failed) == (2, 0)
    with contacts.runtime.sessions() as session:
        olena = session.scalars(select(Party).where(Party.last_name == "Коваленко")).one()
        assert (olena.primary_email, olena.primary_phone, olena.city) == ("olena@acme.example", "+380671234567", "Київ")
        assert olena.name_key.startswith("kovalenko") and olena.alt_key.startswith("olena")
        assert olena.city_key == "kyiv" and olena.version == 1 and olena.owner_user_id == contacts.uid("sales")
        points = session.execute(
            select(ContactPoint.channel, ContactPoint.value_key, ContactPoint.is_primary)
            .where(ContactPoint.party_id == olena.id)
            .order_by(ContactPoint.channel)
        ).all()
        assert points == [("email", "olena@acme.example", True), ("phone", "+380671234567", True)]
        taras = session.scalars(select(Party).where(Party.last_name == "Shevchenko")).one()
        assert taras.city == "Lviv"
        assert session.scalar(select(Address.city).where(Address.party_id == taras.id)) == "Lviv"
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.kind == "person", AuditEntry.record_id == olena.id)
        ).one()
        assert entry.source == "import" and entry.field == "" and entry.new["primary_phone"] == "+380671234567"
        assert entry.new["name"] == "Олена Коваленко" and entry.new["job_title"] == ""  # defaults too
        events = session.scalars(select(OutboxEvent).where(OutboxEvent.name == "contacts.person_created")).all()
        assert sorted(e.payload["id"] for e in events) == sorted([olena.id, taras.id])
        assert all(e.payload["source"] == "import" for e in events)
        ties = session.scalar(select(func.count()).select_from(Relationship))
        tie_events = session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.name == "contacts.relationship_created")
        )
        assert ties == tie_events == 2
        orgs = session.scalars(select(Party.name).where(Party.kind == "organisation").order_by(Party.name)).all()
        assert orgs == ["Globex Ltd", "ТОВ «Ромашка»"]


@pytest.mark.parametrize("mode", ["skip", "update"])
def test_duplicates_among_one_batchs_rows_match_as_if_written_one_by_one(contacts, mode):
    data = (
        "first_name,last_name,email,description\n"
        "Olena,Kovalenko,olena@example.com,first\n"
        "Petro,Bondar,petro@example.com,\n"
        "Олена,Коваленко,OLENA@example.com,second\n"  # row 4: row 2 again, by e-mail
        "Ivan,Franko,ivan@example.com,\n"
        "Petro,Bondar,petro@example.com,third\n"  # row 6: row 3 again
    ).encode()
    asked: list[int] = []
    many = duplicates.person_candidates_many
    original = type(many).__call__

    def counting(self: Any, session: Any, rows: list[dict[str, Any]]) -> list[list[int]]:
        asked.append(len(rows))
        return original(self, session, rows)

    type(many).__call__ = counting  # type: ignore[method-assign]
    try:
        imp = draft(contacts, "person", data)
        done = run(contacts, imp, ["first_name", "last_name", "primary_email", "description"], duplicates=mode)
    finally:
        type(many).__call__ = original  # type: ignore[method-assign]
    found = people(contacts)
    assert set(found) == {"olena@example.com", "petro@example.com", "ivan@example.com"}
    olena, petro = found["olena@example.com"][0], found["petro@example.com"][0]
    assert asked == [5, 3]  # the batch, then the rows from the first repeat on, in the database: no second look
    if mode == "skip":
        assert (done.created, done.skipped, done.updated) == (3, 2, 0)
        skipped = [(r, o, i) for r, o, i, _m in outcomes(contacts, imp.id)]
        assert skipped == [(4, "skipped", olena), (6, "skipped", petro)]
        assert found["olena@example.com"][1:] == ("Olena Kovalenko", "first")
    else:
        assert (done.created, done.skipped, done.updated) == (3, 0, 2)
        assert found["olena@example.com"][1:] == ("Олена Коваленко", "second")  # row 4 updated row 2's record
        assert found["petro@example.com"][2] == "third"


def test_organisations_named_alike_in_one_batch_are_one(contacts):
    data = "name\nТОВ «Ромашка»\nGlobex Ltd\nRomashka LLC\n".encode()
    imp = draft(contacts, "organisation", data)
    done = run(contacts, imp, ["name"], duplicates="skip")
    assert (done.created, done.skipped) == (2, 1)
    ((row, outcome, _id, _message),) = outcomes(contacts, imp.id)
    assert (row, outcome) == (4, "skipped")


def test_a_row_a_rule_refuses_fails_alone_and_writes_nothing(contacts):
    data = (
        b"name,email,phone,company\n"
        b"Good One,good@example.com,+380501234567,Acme\n"
        b"Bad Mail,not an address,+380501234568,Acme\n"
        b"Good Two,two@example.com,,Acme\n"
    )
    imp = draft(contacts, "person", data)
    done = run(contacts, imp, ["name", "primary_email", "primary_phone", "employer"], duplicates="create")
    assert (done.created, done.failed) == (2, 1)
    ((row, outcome, _id, message),) = outcomes(contacts, imp.id)
    assert (row, outcome) == (3, "failed") and "e-mail" in message.lower()
    with contacts.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Party).where(Party.name == "Bad Mail")) == 0
        assert session.scalar(select(func.count()).select_from(ContactPoint)) == 3  # 2 e-mails, 1 phone
        assert session.scalar(select(func.count()).select_from(Relationship)) == 2
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.kind == "person")) == 2

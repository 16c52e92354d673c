"""CSV imports into people and organisations through core's import service (issue 4, point 7), both
engines: accounts.csv as organisations with custom fields and subsidiary links (parents further down the
file too), people with their employer, and a binary "CSV" refused with a message."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.custom_fields_admin import create_field
from voronka.core.db import write_transaction
from voronka.core.imports import create_import, run_import, start_import
from voronka.core.models_imports import Import, ImportRow
from voronka.plugins.contacts.models import Party, Relationship, RelationshipType
from voronka.web.testkit import corpus_dir
from voronka.web.testkit.plugin import in_ci

ACCOUNTS = corpus_dir() / "crm_csv" / "accounts.csv"
SECTORS = [
    "employment",
    "entertainment",
    "finance",
    "marketing",
    "medical",
    "retail",
    "services",
    "software",
    "technolgy",
    "telecommunications",
]


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app(run_jobs_in_server=False)


def draft(contacts: Any, target: str, data: bytes, user: str = "sales") -> Import:
    with write_transaction(contacts.runtime.sessions) as session:
        imp = create_import(session, contacts.runtime.record_kinds, contacts.viewer(user), target, "f.csv", data)
        session.expunge(imp)
        return imp


def run(
    contacts: Any,
    imp: Import,
    mapping: list[str],
    *,
    duplicates: str = "skip",
    dry_run: bool = False,
    user: str = "sales",
) -> Import:
    with write_transaction(contacts.runtime.sessions) as session:
        start_import(
            session,
            contacts.runtime.record_kinds,
            session.get(Import, imp.id),
            contacts.viewer(user),
            mapping=mapping,
            duplicates=duplicates,
            dry_run=dry_run,
        )
    return run_import(contacts.runtime.sessions, contacts.runtime.record_kinds, imp.id)


def links(contacts: Any, key: str) -> set[tuple[str, str]]:
    """(A's name, B's name) of every relationship of type ``key``."""
    with contacts.runtime.sessions() as session:
        a = Party.__table__.alias("a")
        b = Party.__table__.alias("b")
        return set(
            session.execute(
                select(a.c.name, b.c.name)
                .select_from(Relationship)
                .join(RelationshipType, RelationshipType.id == Relationship.type_id)
                .join(a, a.c.id == Relationship.a_id)
                .join(b, b.c.id == Relationship.b_id)
                .where(RelationshipType.key == key)
            ).all()
        )


def define_account_fields(contacts: Any) -> None:
    kind = contacts.kind("organisation")
    with write_transaction(contacts.runtime.sessions) as session:
        create_field(
            session, kind, {"label": "Sector", "key": "sector", "type": "choice", "choices": "\n".join(SECTORS)}
        )
        create_field(session, kind, {"label": "Revenue", "key": "revenue", "type": "money", "currency": "USD"})
        create_field(session, kind, {"label": "Employees", "key": "employees", "type": "number"})
        create_field(session, kind, {"label": "Year established", "key": "year_established", "type": "number"})
        create_field(session, kind, {"label": "Office location", "key": "office_location", "type": "text"})


def test_accounts_csv_imports_as_organisations_with_custom_fields_and_subsidiaries(contacts):
    if not ACCOUNTS.is_file():
        if in_ci():
            pytest.fail(f"the CSV corpus is missing: {ACCOUNTS}")
        pytest.skip(f"the CSV corpus is not here: {ACCOUNTS}")
    define_account_fields(contacts)
    data = ACCOUNTS.read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    imp = draft(contacts, "organisation", data)
    assert imp.mapping == [
        "",
        "cf.sector",
        "cf.year_established",
        "cf.revenue",
        "cf.employees",
        "cf.office_location",
        "subsidiary_of",
    ]
    mapping = ["name", *imp.mapping[1:]]

    dry = run(contacts, imp, mapping, dry_run=True)
    assert (dry.status, dry.created, dry.failed) == ("done", 85, 0)
    assert links(contacts, "subsidiary") == set()

    real = draft(contacts, "organisation", data)
    done = run(contacts, real, mapping)
    assert (done.status, done.created, done.updated, done.skipped, done.failed) == ("done", 85, 0, 0, 0)
    with contacts.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Party).where(Party.kind == "organisation")) == 85
        acme = session.scalars(select(Party).where(Party.name == "Acme Corporation")).one()
        assert acme.custom["sector"] == "technolgy" and acme.custom["office_location"] == "United States"
        assert int(acme.custom["employees"]) == 2822 and int(acme.custom["year_established"]) == 1996
        assert acme.custom["revenue"] == {"minor": 110004, "currency": "USD"}
        assert session.scalar(select(func.count()).select_from(ImportRow).where(ImportRow.import_id == real.id)) == 0
    expected = {(r["account"], r["subsidiary_of"]) for r in rows if r["subsidiary_of"]}
    assert len(expected) == 15
    assert links(contacts, "subsidiary") == expected  # A = subsidiary, B = parent; 6 parents come later

    again = run(contacts, draft(contacts, "organisation", data), mapping, duplicates="skip")
    assert (again.created, again.skipped) == (0, 85) and len(links(contacts, "subsidiary")) == 15


def test_a_parent_that_never_appears_is_reported_on_its_row(contacts):
    data = b"name,subsidiary_of\nChild Co,Nowhere Holding\nParent Co,\nOther Co,Parent Co\n"
    imp = draft(contacts, "organisation", data)
    assert imp.mapping == ["name", "subsidiary_of"]
    done = run(contacts, imp, imp.mapping)
    assert (done.created, done.failed) == (3, 0)
    assert links(contacts, "subsidiary") == {("Other Co", "Parent Co")}
    with contacts.runtime.sessions() as session:
        (row,) = session.scalars(select(ImportRow).where(ImportRow.import_id == imp.id))
    assert row.row == 2 and "Nowhere Holding" in row.message and row.message.startswith("Subsidiary of")


def test_people_csv_with_name_email_phone_city_and_company(contacts):
    existing = contacts.organisation("Acme")
    data = (
        "name,email,phone,city,company\n"
        "Олена Коваленко,olena@acme.example,+380501234567,Київ,Acme\n"
        "Taras Shevchenko,taras@globex.example,044 123 4567,Lviv,Globex\n"
        "Bad Phone,bad@example.com,12,Odesa,Acme\n"
    ).encode()
    imp = draft(contacts, "person", data)
    assert imp.mapping[-1] == "employer"
    done = run(contacts, imp, ["name", "primary_email", "primary_phone", "city", "employer"])
    assert (done.created, done.failed) == (2, 1)
    with contacts.runtime.sessions() as session:
        olena = session.scalars(select(Party).where(Party.last_name == "Коваленко")).one()
        assert (olena.first_name, olena.primary_email, olena.primary_phone, olena.city) == (
            "Олена",
            "olena@acme.example",
            "+380501234567",
            "Київ",
        )
        taras = session.scalars(select(Party).where(Party.last_name == "Shevchenko")).one()
        assert taras.primary_phone == "+380441234567"  # the company's region (UA) for a local number
        (failed,) = session.scalars(select(ImportRow).where(ImportRow.import_id == imp.id))
        assert failed.row == 4 and "phone" in failed.message.lower()
        assert session.scalar(select(func.count()).select_from(Party).where(Party.name == "Acme")) == 1
    assert links(contacts, "employment") == {("Олена Коваленко", "Acme"), ("Taras Shevchenko", "Globex")}
    assert existing


def test_a_binary_file_posted_as_csv_is_refused_with_a_message_and_nothing_is_written(contacts, client):
    client.login("sales")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    response = client.post("/import", data={"target": "person"}, files={"file": ("people.csv", png, "text/csv")})
    assert response.status_code == 400
    assert "not UTF-8 text" in response.text or "binary data" in response.text
    zeros = client.post(
        "/import", data={"target": "organisation"}, files={"file": ("orgs.csv", b"name\n\x00\x01\x02\x03", "text/csv")}
    )
    assert zeros.status_code == 400 and "binary data" in zeros.text
    with contacts.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Import)) == 0
        assert session.scalar(select(func.count()).select_from(Party)) == 0

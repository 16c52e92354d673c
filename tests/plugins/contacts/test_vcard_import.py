"""vCard import through core's import service and vCard export (issue 4, point 7), on both engines:
every corpus file with its expected counts, employers found or created, organisations from ORG-only
cards, duplicates, the round trip, the upload/preview pages, binary and oversized files."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.db import write_transaction
from voronka.core.imports import run_import, start_import
from voronka.core.models_imports import Import, ImportRow
from voronka.plugins.contacts.models import Address, ContactPoint, Party, Relationship, RelationshipType
from voronka.plugins.contacts.vcard import create_imports
from voronka.web.testkit import corpus_dir
from voronka.web.testkit.plugin import in_ci

CORPUS = corpus_dir() / "vcard"


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app(run_jobs_in_server=False)


def import_vcards(
    contacts: Any, data: bytes | str, *, user: str = "sales", duplicates: str = "skip", dry_run: bool = False
) -> list[Import]:
    """Upload, start and run (in-process) every import of the file's group; their final states."""
    runtime = contacts.runtime
    data = data.encode() if isinstance(data, str) else data
    first = create_imports(runtime, contacts.viewer(user), "cards.vcf", data)
    with write_transaction(runtime.sessions) as session:
        group = session.get(Import, first).options["group"]
        for import_id in group:
            start_import(
                session,
                runtime.record_kinds,
                session.get(Import, import_id),
                contacts.viewer(user),
                mapping=list(session.get(Import, import_id).mapping),
                duplicates=duplicates,
                dry_run=dry_run,
            )
    return [run_import(runtime.sessions, runtime.record_kinds, import_id) for import_id in group]


def count(contacts: Any, query: Any) -> int:
    with contacts.runtime.sessions() as session:
        return session.scalar(query) or 0


def tally(contacts: Any) -> dict[str, int]:
    def party(kind: str) -> Any:
        return select(func.count()).select_from(Party).where(Party.kind == kind)

    def point(channel: str) -> Any:
        return select(func.count()).select_from(ContactPoint).where(ContactPoint.channel == channel)

    return {
        "people": count(contacts, party("person")),
        "organisations": count(contacts, party("organisation")),
        "emails": count(contacts, point("email")),
        "phones": count(contacts, point("phone")),
        "addresses": count(contacts, select(func.count()).select_from(Address)),
        "employments": count(
            contacts,
            select(func.count())
            .select_from(Relationship)
            .join(RelationshipType, RelationshipType.id == Relationship.type_id)
            .where(RelationshipType.key == "employment"),
        ),
    }


def notes(contacts: Any, imports: list[Import]) -> list[tuple[int, str, str]]:
    with contacts.runtime.sessions() as session:
        return [
            (r.row, r.outcome, r.message)
            for r in session.scalars(
                select(ImportRow).where(ImportRow.import_id.in_([i.id for i in imports])).order_by(ImportRow.row)
            )
        ]


# file: (people, organisations, e-mails, phones, named from e-mail, failed cards), imported in this order
# into one database: IBM is created by the Evolution card and found by name for the later IBM cards; phones
# that are not possible numbers ("BusinessPhone", 6-digit Android test numbers) and e-mails that are not
# addresses are left out with a note on the card's row.
EXPECTED = {
    "John_Doe_ANDROID.vcf": (6, 2, 4, 5, 2, 0),
    "John_Doe_EVOLUTION.vcf": (1, 1, 1, 2, 0, 0),
    "John_Doe_IPHONE.vcf": (1, 0, 1, 7, 0, 0),
    "John_Doe_LOTUS_NOTES.vcf": (1, 0, 2, 1, 0, 0),
    "John_Doe_MS_OUTLOOK.vcf": (1, 0, 1, 2, 0, 0),
    "broken-vcards.vcf": (2, 0, 2, 0, 2, 0),
    "contact4-with-bday-no-year.vcf": (1, 0, 0, 0, 0, 0),
    "gmail-list.vcf": (3, 0, 3, 0, 0, 0),
    "issue114.vcf": (1, 1, 1, 2, 0, 0),
    "outlook-2003.vcf": (1, 1, 1, 0, 0, 0),
    "radicale-1587.vcf": (1, 0, 0, 0, 0, 0),
    "rfc6350-example.vcf": (1, 1, 1, 2, 0, 0),
    "thunderbird-MoreFunctionsForAddressBook-extension.vcf": (1, 1, 5, 5, 0, 0),
    "vcard-quoted-printable1.vcf": (1, 0, 0, 0, 0, 0),
}


def test_every_corpus_file_imports_with_the_expected_counts(contacts):
    if not CORPUS.is_dir():
        if in_ci():
            pytest.fail(f"the vCard corpus is missing: {CORPUS}")
        pytest.skip(f"the vCard corpus is not here: {CORPUS}")
    assert sorted(p.name for p in CORPUS.glob("*.vcf")) == sorted(EXPECTED), "a corpus file without expectations"
    found, problems = {}, {}
    for name in EXPECTED:
        before = tally(contacts)
        imports = import_vcards(contacts, (CORPUS / name).read_bytes(), duplicates="create")
        after = tally(contacts)
        noted = notes(contacts, imports)
        named = sum("from the e-mail address" in m for _r, _o, m in noted)
        failed = sum(i.failed for i in imports)
        got = (
            after["people"] - before["people"],
            after["organisations"] - before["organisations"],
            after["emails"] - before["emails"],
            after["phones"] - before["phones"],
            named,
            failed,
        )
        found[name] = got
        problems[name] = [m for _r, _o, m in noted]
        assert all(i.status == "done" for i in imports), name
    assert found == EXPECTED, problems


def test_a_person_card_links_to_its_employer_found_or_created_and_an_org_card_is_an_organisation(contacts):
    existing = contacts.organisation("Acme Ltd")
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nN:Kovalenko;Olena;;;\nORG:Acme Ltd;Sales\nTITLE:Buyer\n"
        "EMAIL;TYPE=work,pref:olena@acme.example\nEMAIL;TYPE=home:olena@home.example\n"
        "TEL;TYPE=cell:+380 50 123 4567\nTEL;TYPE=work:+380 44 765 4321\nX-TELEGRAM:@olena\n"
        "ADR;TYPE=work:;;вул. Хрещатик, 1;Київ;;01001;Україна\nADR;TYPE=home:;;Main St 5;Lviv;;79000;UA\n"
        "BDAY:--1224\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nN:Shevchenko;Taras;;;\nORG:Новий Рік ТОВ\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:4.0\nKIND:org\nFN:Globex\nORG:Globex\nURL:https://globex.example\n"
        "TEL:+380 44 000 1122\nEND:VCARD\n"
    )
    imports = import_vcards(contacts, text)
    assert [(i.target, i.created, i.failed) for i in imports] == [("organisation", 1, 0), ("person", 2, 0)]
    with contacts.runtime.sessions() as session:
        olena = session.scalars(select(Party).where(Party.last_name == "Kovalenko")).one()
        assert (olena.primary_email, olena.city, olena.job_title) == ("olena@acme.example", "Київ", "Buyer")
        assert (olena.birthday.month, olena.birthday.day) == (12, 24) and "Department: Sales" in olena.description
        assert olena.owner_user_id == contacts.uid("sales")
        points = {
            (p.channel, p.value_key)
            for p in session.scalars(select(ContactPoint).where(ContactPoint.party_id == olena.id))
        }
        assert points == {
            ("email", "olena@acme.example"),
            ("email", "olena@home.example"),
            ("messenger", "olena"),
            ("phone", "+380447654321"),
            ("phone", "+380501234567"),
        }
        places = {
            (a.street, a.city, a.country) for a in session.scalars(select(Address).where(Address.party_id == olena.id))
        }
        assert places == {("вул. Хрещатик, 1", "Київ", "UA"), ("Main St 5", "Lviv", "UA")}
        employers = dict(
            session.execute(
                select(Relationship.a_id, Party.name)
                .join(Party, Party.id == Relationship.b_id)
                .join(RelationshipType, RelationshipType.id == Relationship.type_id)
                .where(RelationshipType.key == "employment")
            ).all()
        )
        assert employers[olena.id] == "Acme Ltd"  # the existing one, not a new "Acme Ltd"
        assert session.scalar(select(func.count()).select_from(Party).where(Party.name == "Acme Ltd")) == 1
        assert existing in {i for (i,) in session.execute(select(Relationship.b_id))}
        taras = session.scalars(select(Party).where(Party.last_name == "Shevchenko")).one()
        assert employers[taras.id] == "Новий Рік ТОВ"  # created
        globex = session.scalars(select(Party).where(Party.name == "Globex")).one()
        assert globex.kind == "organisation" and globex.primary_phone


def test_duplicate_modes_and_a_dry_run(contacts):
    text = "BEGIN:VCARD\nVERSION:3.0\nN:Bondar;Iryna;;;\nEMAIL:iryna@example.com\nEND:VCARD\n"
    dry = import_vcards(contacts, text, dry_run=True)
    assert [(i.created, i.status) for i in dry] == [(1, "done")] and tally(contacts)["people"] == 0
    import_vcards(contacts, text)
    assert tally(contacts)["people"] == 1
    again = import_vcards(contacts, text, duplicates="create")
    assert again[0].created == 1 and tally(contacts)["people"] == 2


def test_export_then_import_keeps_e_mails_phones_and_addresses(contacts, client):
    acme = contacts.organisation("Acme")
    olena = contacts.person(
        "Олена", "Коваленко", primary_email="olena@acme.example", primary_phone="+380501234567", job_title="Бухгалтер"
    )
    with write_transaction(contacts.runtime.sessions) as session:
        session.add_all(
            [
                ContactPoint(
                    party_id=olena,
                    channel="email",
                    label="home",
                    value="olena@home.example",
                    value_key="olena@home.example",
                    position=5,
                ),
                ContactPoint(
                    party_id=olena,
                    channel="phone",
                    label="work",
                    value="+380447654321",
                    value_key="+380447654321",
                    position=6,
                ),
                ContactPoint(
                    party_id=olena, channel="messenger", label="telegram", value="@olena", value_key="olena", position=7
                ),
                Address(
                    party_id=olena,
                    label="work",
                    street="вул. Хрещатик, 1; офіс 2",
                    city="Київ",
                    postcode="01001",
                    country="UA",
                    position=1,
                ),
                Address(
                    party_id=olena,
                    label="home",
                    street="Main St 5",
                    city="Lviv",
                    region="Львівська",
                    country="UA",
                    position=2,
                ),
            ]
        )

    def facts(party_id: int) -> tuple[set, set]:
        with contacts.runtime.sessions() as session:
            party = session.get(Party, party_id)
            found = {
                (p.channel, p.value_key, p.is_primary)
                for p in session.scalars(select(ContactPoint).where(ContactPoint.party_id == party_id))
            }
            found |= {("email", party.primary_email, True), ("phone", party.primary_phone, True)}
            places = {
                (a.street, a.city, a.region, a.postcode, a.country)
                for a in session.scalars(select(Address).where(Address.party_id == party_id))
            }
            return found, places

    client.login("sales")
    one = client.get(f"/contacts/{olena}.vcf")
    assert one.status_code == 200 and one.headers["content-type"].startswith("text/vcard")
    assert "VERSION:3.0" in one.text and "EMAIL;TYPE=INTERNET,HOME:olena@home.example" in one.text
    many = client.get(f"/contacts/export.vcf?ids={olena},{acme}")
    assert many.text.count("BEGIN:VCARD") == 2 and "X-ABShowAs:COMPANY" in many.text
    assert client.get("/contacts/export.vcf?kind=person&q=Коваленко").text.count("BEGIN:VCARD") == 1
    imports = import_vcards(contacts, one.content, duplicates="create")
    assert imports[0].created == 1
    with contacts.runtime.sessions() as session:
        copy = session.scalars(select(Party.id).where(Party.last_name == "Коваленко", Party.id != olena)).one()
    assert facts(copy) == facts(olena)


def test_export_shows_only_what_the_viewer_may_see(contacts, client):
    hidden = contacts.person("Admin", "Only", owner="admin")
    mine = contacts.person("Sales", "Own", owner="sales")
    client.login("sales")
    assert client.get(f"/contacts/{hidden}.vcf").status_code == 404
    text = client.get(f"/contacts/export.vcf?ids={hidden},{mine}").text
    assert text.count("BEGIN:VCARD") == 1 and "Own" in text
    assert client.get("/contacts/export.vcf?ids=1,x").status_code == 400


def test_upload_preview_and_start_pages(contacts, client):
    client.login("sales")
    page = client.get("/contacts/import/vcard")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nEMAIL:petro.ivanenko@example.com\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nbroken line\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Globex\nORG:Globex\nEND:VCARD\n"
    )
    response = client.post(
        "/contacts/import/vcard", files={"file": ("phone.vcf", text.encode(), "text/vcard")}, follow_redirects=False
    )
    assert response.status_code == 303
    url = response.headers["location"]
    shown = client.get(url)
    assert shown.status_code == 200
    assert "Petro Ivanenko" in shown.text and "from the e-mail address" in shown.text and "Cannot be read" in shown.text
    started = client.post(f"{url}/start", data={"duplicates": "skip"}, follow_redirects=False)
    assert started.status_code == 303
    with contacts.runtime.sessions() as session:
        group = session.get(Import, int(url.rsplit("/", 1)[1])).options["group"]
    for import_id in group:
        run_import(contacts.runtime.sessions, contacts.runtime.record_kinds, import_id)
    status = client.get(url)
    assert "Finished" in status.text and "cannot be read" in status.text and "from the e-mail address" in status.text
    assert tally(contacts)["people"] == 1 and tally(contacts)["organisations"] == 1
    other = client.get(url, headers={"HX-Request": "true"})
    assert other.status_code == 200 and 'id="vcard-status"' in other.text and "<html" not in other.text
    client.login("manager")
    assert client.get(url).status_code == 404  # someone else's import


def test_a_binary_or_oversized_file_is_refused_with_a_message_and_nothing_is_written(contacts, client, make_app):
    client.login("sales")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    response = client.post("/contacts/import/vcard", files={"file": ("photo.vcf", png, "text/vcard")})
    assert response.status_code == 400 and "not a vCard file" in response.text
    csv = client.post("/contacts/import/vcard", files={"file": ("people.vcf", b"name,email\nA,a@b.c\n", "text/vcard")})
    assert csv.status_code == 400 and "BEGIN:VCARD" in csv.text
    assert count(contacts, select(func.count()).select_from(Import)) == 0
    assert tally(contacts)["people"] == 0
    small = make_app(run_jobs_in_server=False, max_upload_bytes=2000)
    from voronka.web.testkit.client import VoronkaClient

    with VoronkaClient(small) as other:
        other.login("sales")
        big = "BEGIN:VCARD\nVERSION:3.0\nFN:X\nNOTE:" + "x" * 5000 + "\nEND:VCARD\n"
        refused = other.post("/contacts/import/vcard", files={"file": ("big.vcf", big.encode(), "text/vcard")})
        assert refused.status_code == 413 and "larger than" in refused.text
    assert count(contacts, select(func.count()).select_from(Import)) == 0


def test_the_import_runs_as_core_import_jobs_in_batches(contacts):
    cards = "".join(
        f"BEGIN:VCARD\nVERSION:3.0\nN:Person{i};Test;;;\nEMAIL:p{i}@example.com\nEND:VCARD\n" for i in range(120)
    )
    first = create_imports(contacts.runtime, contacts.viewer("sales"), "many.vcf", cards.encode())
    with write_transaction(contacts.runtime.sessions) as session:
        imp = session.get(Import, first)
        start_import(
            session,
            contacts.runtime.record_kinds,
            imp,
            contacts.viewer("sales"),
            mapping=list(imp.mapping),
            duplicates="skip",
            dry_run=False,
        )
        assert imp.job_id is not None and imp.total_rows == 120
    began = time.perf_counter()
    done = run_import(contacts.runtime.sessions, contacts.runtime.record_kinds, first)
    assert (done.status, done.created, done.next_row) == ("done", 120, 120)
    assert time.perf_counter() - began < 30
    assert tally(contacts)["emails"] == 120

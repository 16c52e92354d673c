"""Review fix (task fix-review): junk ids — letters, negative, past 32 bits, empty, "²" — on every route of
the holding page, the create forms, bulk actions, relationship types, duplicates and merge, and vCard are a
4xx (a 404 in a path), never a 500 and never a write. On both engines."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.ids import existing_owner, parse_count, parse_ids
from voronka.core.models_records import AuditEntry

JUNK = ("abc", "-1", "99999999999", "", "²")


def audit_rows(contacts: Any) -> int:
    with contacts.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry))


def path_cases(ids: dict[str, int], junk: str) -> list[tuple[str, str]]:
    """(method, url) with ``junk`` where a path names a record: each must be a 404."""
    kept, other = ids["kept"], ids["other"]
    return [
        ("GET", f"/contacts/{junk}/holding"),
        ("GET", f"/contacts/{junk}/duplicates"),
        ("GET", f"/contacts/{junk}/merge"),
        ("GET", f"/contacts/{junk}/merge/{other}"),
        ("GET", f"/contacts/{kept}/merge/{junk}"),
        ("POST", f"/contacts/{junk}/merge/{other}"),
        ("POST", f"/contacts/{kept}/merge/{junk}"),
        ("GET", f"/contacts/{junk}.vcf"),
        ("GET", f"/contacts/import/vcard/{junk}"),
        ("POST", f"/contacts/import/vcard/{junk}/start"),
        ("POST", f"/contacts/import/vcard/{junk}/again"),
        ("GET", f"/contacts/relationship-types/{junk}"),
        ("POST", f"/contacts/relationship-types/{junk}"),
        ("POST", f"/contacts/relationship-types/{junk}/archive"),
        ("POST", f"/contacts/relationship-types/{junk}/delete"),
    ]


def field_cases(ids: dict[str, int], junk: str) -> list[tuple[str, str, dict[str, Any], set[int]]]:
    """(method, url, form, statuses allowed) with ``junk`` in a query or form field naming a record."""
    kept, other = ids["kept"], ids["other"]
    refused = {400} if junk else {200, 400}  # an empty optional filter is no filter
    merge = f"/contacts/{kept}/merge/{other}"
    return [
        ("GET", f"/contacts/duplicates/check?first_name=Ivan&organisation_id={junk}", {}, refused),
        ("GET", f"/contacts/duplicates/check?first_name=Ivan&exclude={junk}", {}, {200}),
        ("POST", merge, {"kept_version": junk, "merged_version": "1"}, {400}),
        ("POST", merge, {"kept_version": "1", "merged_version": junk}, {400}),
        ("GET", f"/contacts/export.vcf?ids={junk}", {}, refused),
        ("GET", f"/contacts/export.vcf?ids={kept},{junk}", {}, refused),
        ("GET", f"/contacts/export.vcf?owner={junk}", {}, refused),
        ("GET", f"/contacts/export.vcf?owner=t:{junk}", {}, {400}),
        ("POST", "/contacts/people/bulk", {"action": "owner", "owner": f"u:{ids['sales']}", "ids": junk}, {400}),
        ("POST", "/contacts/people/bulk", {"action": "tag", "tag": "x", "ids": [str(kept), junk]}, {400}),
        ("POST", "/contacts/people/bulk", {"action": "delete", "all_shown": "1", "page_ids": junk}, {400}),
        ("POST", "/contacts/people/bulk", {"action": "owner", "owner": f"u:{junk}", "ids": str(kept)}, {400}),
        ("POST", "/contacts/people/bulk", {"action": "owner", "owner": f"t:{junk}", "ids": str(kept)}, {400}),
        ("POST", "/contacts/people/bulk", {"action": "owner", "owner": junk, "ids": str(kept)}, {400}),
        ("GET", f"/contacts/people?done=owner&n={junk}", {}, {200}),
        ("POST", "/contacts/people/new", {"first_name": "Junk", "owner": f"u:{junk}"}, {400}),
        ("POST", "/contacts/organisations/new", {"name": "Junk Ltd", "owner": f"t:{junk}"}, {400}),
        ("POST", "/contacts/organisations/new", {"name": "Junk Ltd", "owner": junk}, {400}),
    ]


@pytest.fixture
def ids(contacts: Any, client: Any) -> dict[str, int]:
    from voronka.plugins.contacts.models import RelationshipType

    kept = contacts.person("Ivan", "Franko")
    other = contacts.person("Ivan", "Franko", primary_email="ivan@example.com")
    client.login("admin")
    vcf = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Lesia Ukrainka\r\nN:Ukrainka;Lesia;;;\r\nEND:VCARD\r\n"
    upload = client.post("/contacts/import/vcard", files={"file": ("one.vcf", vcf, "text/vcard")},
                         follow_redirects=False)  # fmt: skip
    assert upload.status_code == 303, upload.text
    with contacts.runtime.sessions() as session:
        rtype = session.scalar(select(RelationshipType.id).where(RelationshipType.key == "friend"))
    return {"kept": kept, "other": other, "sales": contacts.uid("sales"), "type": rtype,
            "import": int(upload.headers["location"].rsplit("/", 1)[1])}  # fmt: skip


@pytest.mark.parametrize("junk", JUNK)
def test_a_junk_id_in_a_path_is_a_404(client, contacts, ids, junk):
    for url in (
        f"/contacts/{ids['kept']}/holding",
        f"/contacts/import/vcard/{ids['import']}",
        f"/contacts/relationship-types/{ids['type']}",
        f"/contacts/{ids['kept']}/merge/{ids['other']}",
    ):
        assert client.get(url).status_code == 200, url  # the real ones answer
    before = audit_rows(contacts)
    for method, url in path_cases(ids, junk):
        response = client.get(url) if method == "GET" else client.post(url, data={"archived": "1"})
        if junk:
            assert response.status_code == 404, (method, url, response.status_code)
        else:  # "/contacts//holding" is no page, but "/contacts/1/merge/" is the pick page, slash aside
            assert response.status_code < 500, (method, url, response.status_code)
    assert audit_rows(contacts) == before


@pytest.mark.parametrize("junk", JUNK)
def test_a_junk_id_in_a_field_is_refused_not_a_500(client, contacts, ids, junk):
    client.login("sales")
    before = audit_rows(contacts)
    for method, url, form, allowed in field_cases(ids, junk):
        response = client.get(url) if method == "GET" else client.post(url, data=form)
        assert response.status_code in allowed, (method, url, form, response.status_code)
        if url.startswith("/contacts/export.vcf") and response.status_code == 400:
            assert "BEGIN:VCARD" not in response.text
    assert audit_rows(contacts) == before


def test_the_shared_parsers_refuse_junk_and_dedupe_in_linear_time(contacts):
    assert parse_ids(["3", "1", "3"]) == [3, 1] and parse_ids(["1", "²"]) is None
    assert parse_ids(str(i % 50 + 1) for i in range(200_000)) == list(range(1, 51))
    assert [parse_count(v) for v in ("0", "12", "-1", "²", "99999999999", "")] == [0, 12, None, None, None, None]
    with contacts.runtime.sessions() as session:
        sales = contacts.uid("sales")
        assert existing_owner(session, f"u:{sales}") == {"owner_user_id": sales, "owner_team_id": None}
        assert existing_owner(session, "u:2147483647") is None and existing_owner(session, "t:99999999999") is None
        assert existing_owner(session, "x:1") is None and existing_owner(session, None) is None

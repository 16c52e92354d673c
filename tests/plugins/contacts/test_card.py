"""The customer card: one page per party, visibility, click-to-edit details with optimistic concurrency,
tags, delete and the history of changes made through it."""

from __future__ import annotations

import re

from sqlalchemy import event, select

from voronka.core.db import write_transaction
from voronka.core.models_records import AuditEntry
from voronka.core.recycle import merge
from voronka.plugins.contacts.models import Party


def version_in(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "no version in the edit form"
    return found.group(1)


def test_person_card_shows_every_section(client, contacts):
    pid = contacts.person("Олена", "Коваленко", job_title="Бухгалтер", primary_email="Olena@Example.com",
                          primary_phone="+380 44 123 4567", city="Київ", country="ua")  # fmt: skip
    client.login("sales")
    page = client.get(f"/contacts/{pid}")
    assert page.status_code == 200
    html = page.text
    assert "Олена Коваленко" in html and "Бухгалтер" in html
    assert 'href="mailto:Olena@example.com"' in html and 'href="tel:+380441234567"' in html
    for section in ('id="card-header"', 'id="card-details"', 'id="card-points"', 'id="attachments"',
                    'id="card-history"', "/records/person/", f"/contacts/{pid}/activities/new?type=call",
                    f"/contacts/{pid}.vcf", 'data-field="birthday"', "Sofiia Sales"):  # fmt: skip
        assert section in html, section
    assert 'data-field="legal_name"' not in html  # an organisation's field


def test_organisation_card_has_its_own_fields(client, contacts):
    oid = contacts.organisation("ТОВ «Ромашка»", industry="Retail")
    client.login("sales")
    html = client.get(f"/contacts/{oid}").text
    assert "ТОВ «Ромашка»" in html and "Retail" in html
    assert 'data-field="legal_name"' in html and 'data-field="registration_no"' in html
    assert 'data-field="birthday"' not in html and "/records/organisation/" in html


def test_another_owners_party_is_a_404(client, contacts):
    """The sales role sees its own records only: sales2's customer is as missing as a wrong id."""
    theirs = contacts.person("Taras", "Other", owner="sales2")
    mine = contacts.person("Sofiia", "Mine", owner="sales")
    client.login("sales")
    assert client.get(f"/contacts/{mine}").status_code == 200
    assert client.get(f"/contacts/{theirs}").status_code == 404
    assert client.get("/contacts/999999").status_code == 404
    assert client.hx_get(f"/contacts/{theirs}/fields/job_title/edit").status_code == 404
    assert (
        client.post(f"/contacts/{theirs}/fields/job_title", data={"job_title": "x", "version": "1"}).status_code == 404
    )
    client.login("manager")  # everyone under them
    assert client.get(f"/contacts/{theirs}").status_code == 200


def test_deleted_is_404_and_merged_redirects(client, contacts, app):
    runtime = app.state.voronka
    kept = contacts.person("Iryna", "Kept")
    gone = contacts.person("Iryna", "Gone")
    with write_transaction(runtime.sessions) as session:
        merge(session, runtime.record_kinds["person"], kept, gone, actor=contacts.uid("sales"))
    client.login("sales")
    moved = client.get(f"/contacts/{gone}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == f"/contacts/{kept}"
    deleted = contacts.person("Del", "Eted")
    confirm = client.get(f"/contacts/{deleted}/delete")
    assert confirm.status_code == 200 and f'action="/contacts/{deleted}/delete"' in confirm.text
    done = client.post(f"/contacts/{deleted}/delete", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/contacts/people")
    assert contacts.get(Party, deleted).deleted_at is not None
    assert client.get(f"/contacts/{deleted}").status_code == 404


def test_edit_a_detail_in_place(client, contacts):
    pid = contacts.person("Olena", "Kovalenko")
    client.login("sales")
    form = client.hx_get(f"/contacts/{pid}/fields/job_title/edit")
    assert form.status_code == 200 and 'name="job_title"' in form.text and "<html" not in form.text
    saved = client.hx_post(f"/contacts/{pid}/fields/job_title",
                           data={"job_title": "  Chief   accountant ", "version": version_in(form.text)})  # fmt: skip
    assert saved.status_code == 200 and "Chief accountant" in saved.text and 'name="job_title"' not in saved.text
    assert 'hx-swap-oob="true"' in saved.text  # the header follows
    assert contacts.get(Party, pid).job_title == "Chief accountant"
    # the last name changes the display name too
    form = client.hx_get(f"/contacts/{pid}/fields/last_name/edit")
    client.hx_post(
        f"/contacts/{pid}/fields/last_name", data={"last_name": "Shevchenko", "version": version_in(form.text)}
    )
    assert contacts.get(Party, pid).name == "Olena Shevchenko"


def test_invalid_detail_is_400_in_place_and_nothing_saved(client, contacts):
    pid = contacts.person("Olena", "Kovalenko", birthday=None)
    client.login("sales")
    version = version_in(client.hx_get(f"/contacts/{pid}/fields/birthday/edit").text)
    bad = client.hx_post(f"/contacts/{pid}/fields/birthday", data={"birthday": "31.02.1990", "version": version})
    assert bad.status_code == 400 and "field-error" in bad.text and 'value="31.02.1990"' in bad.text  # kept to fix
    future = client.hx_post(f"/contacts/{pid}/fields/birthday", data={"birthday": "2999-01-01", "version": version})
    assert future.status_code == 400
    # a person with neither first nor last name is refused by the write path's rules
    version = version_in(client.hx_get(f"/contacts/{pid}/fields/first_name/edit").text)
    client.hx_post(f"/contacts/{pid}/fields/last_name", data={"last_name": "", "version": version})
    version = str(contacts.get(Party, pid).version)
    empty = client.hx_post(f"/contacts/{pid}/fields/first_name", data={"first_name": "", "version": version})
    assert empty.status_code == 400 and "field-error" in empty.text
    party = contacts.get(Party, pid)
    assert party.birthday is None and party.first_name == "Olena"


def test_stale_edit_is_409_with_the_current_value(client, contacts):
    pid = contacts.person("Olena", "Kovalenko", job_title="Accountant")
    client.login("sales")
    version = version_in(client.hx_get(f"/contacts/{pid}/fields/job_title/edit").text)
    contacts.save("person", pid, {"job_title": "Director"})  # someone else saves meanwhile
    stale = client.hx_post(f"/contacts/{pid}/fields/job_title", data={"job_title": "Clerk", "version": version})
    assert stale.status_code == 409 and "Director" in stale.text and "alert" in stale.text
    assert contacts.get(Party, pid).job_title == "Director"
    # the form now carries the saved version: submitting again applies the change
    again = client.hx_post(
        f"/contacts/{pid}/fields/job_title", data={"job_title": "Clerk", "version": version_in(stale.text)}
    )
    assert again.status_code == 200 and contacts.get(Party, pid).job_title == "Clerk"


def test_owner_flags_and_consent(client, contacts):
    pid = contacts.person("Olena", "Kovalenko")
    client.login("manager")
    version = version_in(client.hx_get(f"/contacts/{pid}/fields/owner/edit").text)
    team = contacts.uid("sales2")
    moved = client.hx_post(f"/contacts/{pid}/fields/owner", data={"owner": f"u:{team}", "version": version})
    assert moved.status_code == 200 and "Taras Sales" in moved.text
    bad = client.hx_post(f"/contacts/{pid}/fields/owner", data={"owner": "u:999999", "version": version})
    assert bad.status_code == 400
    party = contacts.get(Party, pid)
    assert party.owner_user_id == team
    version = str(party.version)
    client.hx_post(f"/contacts/{pid}/fields/do_not_contact", data={"do_not_contact": "yes", "version": version})
    version = str(contacts.get(Party, pid).version)
    client.hx_post(f"/contacts/{pid}/fields/consent", data={"marketing_consent": "yes", "consent_source": "web form",
                                                             "consent_at": "", "version": version})  # fmt: skip
    party = contacts.get(Party, pid)
    assert party.do_not_contact and party.marketing_consent and party.consent_source == "web form"
    assert party.consent_at is not None
    html = client.get(f"/contacts/{pid}").text
    assert "Do not contact" in html and "badge ok" in html


def test_plain_form_without_javascript(client, contacts):
    pid = contacts.person("Olena", "Kovalenko")
    client.login("sales")
    page = client.get(f"/contacts/{pid}/fields/job_title/edit")
    assert page.status_code == 200 and "<html" in page.text and 'name="job_title"' in page.text
    form = {"job_title": "Clerk", "version": version_in(page.text)}
    done = client.post(f"/contacts/{pid}/fields/job_title", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/contacts/{pid}"
    bad = client.post(f"/contacts/{pid}/fields/job_title", data={"job_title": "x" * 300, "version": "1"})
    assert bad.status_code == 400 and "<html" in bad.text and "field-error" in bad.text


def test_tags_in_place(client, contacts):
    pid = contacts.person("Olena", "Kovalenko")
    client.login("sales")
    added = client.hx_post(f"/contacts/{pid}/tags", data={"tag": "VIP"})
    assert added.status_code == 200 and "VIP" in added.text
    tag_id = re.search(r"/tags/(\d+)/remove", added.text).group(1)
    removed = client.hx_post(f"/contacts/{pid}/tags/{tag_id}/remove")
    assert removed.status_code == 200 and "VIP" not in removed.text
    assert client.hx_post(f"/contacts/{pid}/tags", data={"tag": "   "}).status_code == 400


def test_history_shows_a_change_made_through_the_card(client, contacts, app):
    pid = contacts.person("Olena", "Kovalenko", job_title="Accountant")
    client.login("sales")
    version = version_in(client.hx_get(f"/contacts/{pid}/fields/job_title/edit").text)
    client.hx_post(f"/contacts/{pid}/fields/job_title", data={"job_title": "Director", "version": version})
    with app.state.voronka.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.record_id == pid, AuditEntry.field == "job_title")
        ).one()
        assert (entry.old, entry.new, entry.source) == ("Accountant", "Director", "form")
    html = client.get(f"/contacts/{pid}").text
    history = html[html.index('id="card-history"') :]
    assert 'data-field="job_title"' in history and "Job title" in history and "Director" in history


POLLED = ("core_state_version", "core_plugin_state", "core_setting", "core_session", "BEGIN")
"""Queries core's caches make now and then (every second or so), not per page."""


def count_queries(app, client, url):
    engine = app.state.voronka.engine
    seen: list[str] = []

    def listener(conn, cursor, statement, params, context, executemany):
        if not any(cached in statement for cached in POLLED):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def test_the_card_costs_the_same_queries_however_much_it_holds(client, contacts, app):
    """No query per contact point, address, tag or history entry (N+1)."""
    small = contacts.person("Small", "Card", primary_email="s@example.com")
    big = contacts.person("Big", "Card", primary_email="b0@example.com", city="Kyiv")
    client.login("sales")
    for i in range(1, 8):
        client.hx_post(f"/contacts/{big}/points", data={"channel": "email", "value": f"b{i}@example.com"})
        client.hx_post(f"/contacts/{big}/addresses", data={"city": f"City {i}"})
        client.hx_post(f"/contacts/{big}/tags", data={"tag": f"tag {i}"})
    client.get(f"/contacts/{small}")  # warm the caches (settings, custom field definitions)
    assert count_queries(app, client, f"/contacts/{big}") == count_queries(app, client, f"/contacts/{small}")

"""Contact points and addresses: normalised values, one primary per channel that the party's columns follow
on every write path (card, import), duplicates and bad values refused with nothing saved, audit entries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.models_records import AuditEntry
from voronka.core.writes import save_batch
from voronka.plugins.contacts.models import Address, ContactPoint, Party
from voronka.plugins.contacts.points import clean_web, normalise_email, normalise_phone


def rows(app, model, party_id):
    with app.state.voronka.sessions() as session:
        found = list(session.scalars(select(model).where(model.party_id == party_id).order_by(model.id)))
        session.expunge_all()
        return found


def primaries(app, party_id):
    return {(p.channel, p.value_key) for p in rows(app, ContactPoint, party_id) if p.is_primary}


def audit(app, party_id, field):
    with app.state.voronka.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.record_id == party_id, AuditEntry.field == field)
        return [(e.old, e.new) for e in session.scalars(query.order_by(AuditEntry.id))]


def point_id(html, value):
    found = re.search(r'data-point="(\d+)"[^>]*>\s*<a href="[^"]*">' + re.escape(value), html)
    assert found, f"no row for {value}"
    return found.group(1)


def test_normalising_helpers():
    assert normalise_email("  Olena.K@Example.COM ") == "olena.k@example.com"
    assert normalise_phone("044 123 45 67", "UA") == "+380441234567"
    assert normalise_phone("+48 22 123 45 67", "UA") == "+48221234567"
    assert normalise_phone("12", "UA") == "" and normalise_phone("not a phone", "UA") == ""
    assert clean_web("WWW.Acme.ua/about/") == ("https://WWW.Acme.ua/about/", "acme.ua/about")
    with pytest.raises(ValueError):
        clean_web("not a site")


def test_primary_values_on_create_make_point_rows(contacts, app):
    pid = contacts.person("Olena", "K", primary_email=" Olena@Example.com ", primary_phone="044 123 45 67",
                          city="Київ", country="ua")  # fmt: skip
    party = contacts.get(Party, pid)
    assert (party.primary_email, party.primary_phone, party.country) == ("olena@example.com", "+380441234567", "UA")
    assert primaries(app, pid) == {("email", "olena@example.com"), ("phone", "+380441234567")}
    (address,) = rows(app, Address, pid)
    assert (address.city, address.country, address.is_primary) == ("Київ", "UA", True)


def test_bad_primary_values_are_refused_on_every_path(contacts, app):
    with pytest.raises(ValidationError) as bad_email:
        contacts.person("Olena", "K", primary_email="olena@@example")
    assert "primary_email" in bad_email.value.errors
    with pytest.raises(ValidationError) as bad_phone:
        contacts.person("Olena", "K", primary_phone="call me maybe")
    assert "primary_phone" in bad_phone.value.errors
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Party)) == 0
        assert session.scalar(select(func.count()).select_from(ContactPoint)) == 0


def test_changing_the_primary_value_keeps_the_old_one(contacts, app):
    pid = contacts.person("Olena", "K", primary_email="old@example.com")
    contacts.save("person", pid, {"primary_email": "New@Example.com", "city": "Lviv"})
    found = {(p.value_key, p.is_primary) for p in rows(app, ContactPoint, pid)}
    assert found == {("old@example.com", False), ("new@example.com", True)}
    contacts.save("person", pid, {"primary_email": "old@example.com"})  # back to the first: promoted, not added
    assert primaries(app, pid) == {("email", "old@example.com")} and len(rows(app, ContactPoint, pid)) == 2
    contacts.save("person", pid, {"primary_email": ""})
    assert primaries(app, pid) == set() and contacts.get(Party, pid).primary_email == ""
    assert [a.city for a in rows(app, Address, pid) if a.is_primary] == ["Lviv"]


def test_import_batch_creates_point_rows(contacts, app):
    runtime = app.state.voronka
    batch = [(None, {"first_name": f"P{i}", "last_name": "Batch", "primary_email": f"p{i}@Example.com",
                     "primary_phone": f"+38050{i:07d}", "city": "Odesa"}) for i in range(50)]  # fmt: skip
    batch.append((None, {"first_name": "Bad", "primary_email": "not an email"}))
    statements: list[tuple[str, bool]] = []

    def listener(conn, cursor, statement, params, context, executemany):
        statements.append((statement, executemany))

    event.listen(runtime.engine, "before_cursor_execute", listener)
    try:
        with write_transaction(runtime.sessions) as session:
            outcomes = save_batch(session, runtime.record_kinds["person"], batch, actor=None)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", listener)
    touching = [(s, many) for s, many in statements if "contacts_point" in s or "contacts_address" in s]
    # at most one statement per table (an executemany, or PostgreSQL's COPY, which bypasses cursor events), no SELECT
    assert len(touching) <= 2 and not any(s.lstrip().upper().startswith("SELECT") for s, _many in touching)
    assert [o.outcome for o in outcomes].count("created") == 50 and outcomes[-1].outcome == "failed"
    assert "primary_email" in outcomes[-1].errors
    with runtime.sessions() as session:
        points = session.execute(select(ContactPoint.party_id, ContactPoint.channel, ContactPoint.value_key,
                                        ContactPoint.is_primary)).all()  # fmt: skip
        cities = session.scalar(select(func.count()).select_from(Address).where(Address.is_primary.is_(True)))
        parties = dict(session.execute(select(Party.id, Party.primary_email)).all())
    assert len(points) == 100 and all(p.is_primary for p in points) and cities == 50
    assert {(pid, key) for pid, channel, key, _p in points if channel == "email"} == set(parties.items())


def test_add_points_in_place(client, contacts, app):
    pid = contacts.person("Olena", "K")
    client.login("sales")
    form = client.hx_get(f"/contacts/{pid}/points/new?channel=email")
    assert form.status_code == 200 and 'name="value"' in form.text
    first = client.hx_post(f"/contacts/{pid}/points", data={"channel": "email", "value": "Olena@Example.com",
                                                            "label": "work"})  # fmt: skip
    assert first.status_code == 200 and "Olena@example.com" in first.text
    assert contacts.get(Party, pid).primary_email == "olena@example.com"  # the first of a channel is primary
    second = client.hx_post(f"/contacts/{pid}/points", data={"channel": "email", "value": "home@example.com"})
    assert second.status_code == 200 and contacts.get(Party, pid).primary_email == "olena@example.com"
    assert audit(app, pid, "email") == [(None, "home@example.com")]
    assert audit(app, pid, "primary_email") == [("", "olena@example.com")]
    client.hx_post(f"/contacts/{pid}/points", data={"channel": "phone", "value": "050 123 4567", "label": "mobile"})
    client.hx_post(f"/contacts/{pid}/points", data={"channel": "web", "value": "acme.ua"})
    client.hx_post(f"/contacts/{pid}/points", data={"channel": "messenger", "value": "@Olena_K", "label": "telegram"})
    found = {(p.channel, p.value_key, p.is_primary) for p in rows(app, ContactPoint, pid)}
    assert ("phone", "+380501234567", True) in found and ("web", "acme.ua", True) in found
    assert ("messenger", "olena_k", True) in found
    assert contacts.get(Party, pid).primary_phone == "+380501234567"
    html = client.get(f"/contacts/{pid}").text
    assert 'href="tel:+380501234567"' in html and "Telegram" in html


def test_bad_and_duplicate_points_are_400_and_nothing_saved(client, contacts, app):
    pid = contacts.person("Olena", "K", primary_email="olena@example.com")
    client.login("sales")
    before = audit(app, pid, "email")
    bad = client.hx_post(f"/contacts/{pid}/points", data={"channel": "email", "value": "olena@"})
    assert bad.status_code == 400 and "field-error" in bad.text and 'value="olena@"' in bad.text
    phone = client.hx_post(f"/contacts/{pid}/points", data={"channel": "phone", "value": "123"})
    assert phone.status_code == 400 and "field-error" in phone.text
    same = client.hx_post(f"/contacts/{pid}/points", data={"channel": "email", "value": "OLENA@example.com"})
    assert same.status_code == 400 and "already has" in same.text
    label = client.hx_post(f"/contacts/{pid}/points", data={"channel": "email", "value": "x@example.com", "label": "?"})
    assert label.status_code == 400
    assert len(rows(app, ContactPoint, pid)) == 1 and audit(app, pid, "email") == before
    plain = client.post(f"/contacts/{pid}/points", data={"channel": "phone", "value": "nope"})
    assert plain.status_code == 400 and "<html" in plain.text


def test_edit_remove_and_make_primary(client, contacts, app):
    pid = contacts.person("Olena", "K", primary_email="a@example.com")
    client.login("sales")
    html = client.hx_post(f"/contacts/{pid}/points", data={"channel": "email", "value": "b@example.com"}).text
    b_id = point_id(html, "b@example.com")
    a_id = point_id(html, "a@example.com")
    made = client.hx_post(f"/contacts/{pid}/points/{b_id}/primary")
    assert made.status_code == 200 and contacts.get(Party, pid).primary_email == "b@example.com"
    assert primaries(app, pid) == {("email", "b@example.com")}
    # editing the primary changes the party's column; a non-primary one is audited as "email"
    edit = client.hx_get(f"/contacts/{pid}/points/{b_id}/edit")
    assert edit.status_code == 200 and 'value="b@example.com"' in edit.text
    client.hx_post(f"/contacts/{pid}/points/{b_id}", data={"value": "c@example.com", "label": "home"})
    assert contacts.get(Party, pid).primary_email == "c@example.com"
    client.hx_post(f"/contacts/{pid}/points/{a_id}", data={"value": "d@example.com"})
    assert audit(app, pid, "email")[-1] == ("a@example.com", "d@example.com")
    taken = client.hx_post(f"/contacts/{pid}/points/{a_id}", data={"value": "C@example.com"})
    assert taken.status_code == 400
    # removing the primary promotes the next one
    client.hx_post(f"/contacts/{pid}/points/{b_id}/remove")
    assert contacts.get(Party, pid).primary_email == "d@example.com"
    assert primaries(app, pid) == {("email", "d@example.com")}
    client.hx_post(f"/contacts/{pid}/points/{a_id}/remove")
    assert contacts.get(Party, pid).primary_email == "" and rows(app, ContactPoint, pid) == []
    gone = client.hx_post(f"/contacts/{pid}/points/{a_id}/remove")
    assert gone.status_code == 400


def test_addresses_follow_city_and_country(client, contacts, app):
    pid = contacts.organisation("Acme")
    client.login("sales")
    bad = client.hx_post(f"/contacts/{pid}/addresses", data={"street": "Main 1", "city": "", "country": "XX"})
    assert bad.status_code == 400 and rows(app, Address, pid) == []
    client.hx_post(f"/contacts/{pid}/addresses", data={"street": "Хрещатик 1", "city": "Київ", "country": "ua",
                                                       "postcode": "01001", "label": "work"})  # fmt: skip
    party = contacts.get(Party, pid)
    assert (party.city, party.country) == ("Київ", "UA")
    html = client.hx_post(f"/contacts/{pid}/addresses", data={"city": "Lviv", "country": "UA"}).text
    second = re.search(r'data-address="(\d+)"[^>]*>\s*<address>Lviv', html).group(1)
    assert contacts.get(Party, pid).city == "Київ"
    client.hx_post(f"/contacts/{pid}/addresses/{second}/primary")
    assert contacts.get(Party, pid).city == "Lviv"
    client.hx_post(
        f"/contacts/{pid}/addresses/{second}", data={"city": "Odesa", "country": "UA", "street": "Deribasivska"}
    )
    assert contacts.get(Party, pid).city == "Odesa"
    client.hx_post(f"/contacts/{pid}/addresses/{second}/remove")
    assert contacts.get(Party, pid).city == "Київ"
    assert [a.is_primary for a in rows(app, Address, pid)] == [True]
    assert audit(app, pid, "address")[0] == (None, "Хрещатик 1, Київ, 01001, UA")

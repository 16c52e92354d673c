"""Review findings on relationships, vCard export and merging (task fix-integrity), on both engines: hidden
names stay out of vCards, holding trees and merge counts; junk and huge ids are a 4xx, never a 500; batch
rows see each other in the relationship rules; stale edits need a version; merges bump and audit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord
from voronka.core.models_records import AuditEntry
from voronka.core.recycle import merge
from voronka.core.writes import delete, save, save_batch
from voronka.plugins.contacts import relationship_queries, relationship_types
from voronka.plugins.contacts.models import Party, Relationship, RelationshipType
from voronka.plugins.contacts.relationship_queries import holding

HUGE = "999999999999999999"


def type_id(contacts: Any, key: str) -> int:
    with contacts.runtime.sessions() as session:
        return session.scalar(select(RelationshipType.id).where(RelationshipType.key == key))


def link(contacts: Any, a: int, key: str, b: int, actor: str = "sales") -> int:
    return contacts.save("relationship", None, {"type_id": type_id(contacts, key), "a_id": a, "b_id": b}, actor=actor)


def test_vcard_export_leaves_out_employers_the_viewer_cannot_see(contacts, client):
    olena = contacts.person("Olena", "Koval")
    secret = contacts.organisation("Secret Employer", owner="operator")
    link(contacts, olena, "employment", secret, actor="operator")
    client.login("sales")
    one, many = client.get(f"/contacts/{olena}.vcf"), client.get(f"/contacts/export.vcf?ids={olena}")
    assert one.status_code == 200 and many.status_code == 200
    assert "Secret" not in one.text and "ORG:" not in one.text
    assert "Secret" not in many.text and many.text.count("BEGIN:VCARD") == 1
    contacts.save("organisation", secret, {"owner_user_id": contacts.uid("sales")}, actor="admin")
    assert "ORG:Secret Employer" in client.get(f"/contacts/{olena}.vcf").text


def test_vcard_export_refuses_ids_that_are_not_ids_before_streaming(contacts, client):
    mine = contacts.person("Sales", "Own")
    client.login("sales")
    for query in ("ids=²", f"ids={mine},{'9' * 30}", f"ids={HUGE}", "ids=-1", "owner=²", f"owner={HUGE}", "owner=t:x"):
        response = client.get(f"/contacts/export.vcf?{query}")
        assert response.status_code == 400, query
        assert "BEGIN:VCARD" not in response.text
    assert client.get(f"/contacts/export.vcf?owner={contacts.uid('sales')}").text.count("BEGIN:VCARD") == 1
    assert client.get(f"/contacts/export.vcf?owner=u:{contacts.uid('sales')}").text.count("BEGIN:VCARD") == 1


def test_the_holding_tree_prunes_hidden_and_binned_companies(contacts, client, app):
    top = contacts.organisation("Top Visible")
    hidden = contacts.organisation("Hidden Holding", owner="operator")
    beneath = contacts.organisation("Beneath Hidden")
    shown = contacts.organisation("Shown Sub")
    binned = contacts.organisation("Binned Sub")
    link(contacts, hidden, "subsidiary", top, actor="admin")
    link(contacts, beneath, "subsidiary", hidden, actor="admin")
    link(contacts, shown, "subsidiary", top)
    link(contacts, binned, "subsidiary", top)
    with write_transaction(contacts.runtime.sessions) as session:
        delete(session, contacts.kind("organisation"), binned, actor=contacts.uid("sales"))
    with contacts.runtime.sessions() as session:
        tree = holding(session, contacts.viewer("sales"), session.get(Party, top))
    (root,) = tree.root_nodes
    assert [c.name for c in root.children] == ["Shown Sub"] and root.hidden == 2
    client.login("sales")
    page = client.get(f"/contacts/{top}/holding").text
    assert "2 more you cannot see" in page and "Shown Sub" in page
    assert "cannot see</span>" not in page and "Beneath Hidden" not in page and "Hidden Holding" not in page
    # from below: the hidden parent is counted, not shown, and the visible company under it starts the tree
    with contacts.runtime.sessions() as session:
        tree = holding(session, contacts.viewer("sales"), session.get(Party, beneath))
    assert [n.name for n in tree.root_nodes] == ["Beneath Hidden"] and tree.hidden == 1 and tree.ancestors == 0


def test_one_batch_cannot_make_a_holding_loop_or_the_same_tie_twice(contacts):
    a, b, c = contacts.organisation("Alpha"), contacts.organisation("Beta"), contacts.organisation("Gamma")
    olena = contacts.person("Olena", "K")
    sub, job = type_id(contacts, "subsidiary"), type_id(contacts, "employment")
    rows = [
        (None, {"type_id": sub, "a_id": a, "b_id": b}),
        (None, {"type_id": sub, "a_id": b, "b_id": c}),
        (None, {"type_id": sub, "a_id": c, "b_id": a}),  # Gamma under Alpha, which is under Gamma: a loop
        (None, {"type_id": sub, "a_id": b, "b_id": a}),  # Alpha–Beta again, the other way round
        (None, {"type_id": job, "a_id": olena, "b_id": a}),
        (None, {"type_id": job, "a_id": olena, "b_id": a}),
    ]
    with write_transaction(contacts.runtime.sessions) as session:
        outcomes = save_batch(session, contacts.kind("relationship"), rows, actor=contacts.uid("sales"))
    assert [o.outcome for o in outcomes] == ["created", "created", "failed", "failed", "created", "failed"]
    assert "loop" in outcomes[2].errors["b_id"]
    assert "already have" in outcomes[3].errors["b_id"] and "already have" in outcomes[5].errors["b_id"]
    with contacts.runtime.sessions() as session:
        assert len(session.scalars(select(Relationship.id)).all()) == 3


def test_a_relationship_edit_without_its_version_is_refused(contacts, client):
    olena, acme = contacts.person("Olena", "K"), contacts.organisation("ACME")
    tie = link(contacts, olena, "employment", acme)
    client.login("sales")
    for data in ({"note": "blind"}, {"note": "blind", "version": "²"}, {"note": "blind", "version": HUGE}):
        response = client.hx_post(f"/contacts/{acme}/relationships/{tie}", data=data)
        assert response.status_code == 400 and "missing its version" in response.text
    assert client.hx_post(f"/contacts/{acme}/relationships/{tie}/end", data={}).status_code == 400
    stored = contacts.get(Relationship, tie)
    assert stored.note == "" and stored.valid_to is None and stored.version == 1


def test_hidden_tie_count_and_type_usage_are_capped(contacts, client, monkeypatch):
    acme = contacts.organisation("ACME")
    for n in range(3):
        link(contacts, contacts.person(f"Hidden{n}", "X", owner="operator"), "employment", acme, actor="operator")
    monkeypatch.setattr(relationship_queries, "HIDDEN_CAP", 2)
    monkeypatch.setattr(relationship_types, "USAGE_CAP", 2)
    client.login("sales")
    page = client.get(f"/contacts/{acme}/relationships").text
    assert "2+ more you cannot see" in page and "+3 you cannot see" not in page
    monkeypatch.setattr(relationship_queries, "HIDDEN_CAP", 5)
    assert "+3 you cannot see" in client.get(f"/contacts/{acme}/relationships").text
    job, spouse = type_id(contacts, "employment"), type_id(contacts, "spouse")
    with contacts.runtime.sessions() as session:
        usage = relationship_types.type_usage(session, [job, spouse])
    assert spouse not in usage and usage[job] == 3 and str(usage[job]) == "2+"
    monkeypatch.setattr(relationship_types, "USAGE_CAP", 1000)
    with contacts.runtime.sessions() as session:
        assert str(relationship_types.type_usage(session, [job])[job]) == "3"


def test_a_merge_bumps_the_kept_version_and_audits_what_it_filled(contacts, app):
    kept = contacts.person("Oleksandr", "Shevchenko")
    merged = contacts.person("Olexandr", "Shevchenko", primary_email="o@example.com", primary_phone="+380441234567")
    wife = contacts.person("Olena", "Shevchenko")
    tie = link(contacts, wife, "spouse", merged)
    opened = contacts.get(Party, kept).version
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        merge(session, runtime.record_kinds["person"], kept, merged, actor=contacts.uid("sales"))
    after = contacts.get(Party, kept)
    assert after.primary_email == "o@example.com" and after.primary_phone and after.version > opened
    with runtime.sessions() as session:
        audited = {
            e.field: e.new
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.kind == "person", AuditEntry.record_id == kept)
            )
        }
    assert audited["primary_email"] == "o@example.com" and "primary_phone" in audited
    assert audited["relationship"]["moved"] == [tie] and audited["relationship"]["merged"] == merged
    with pytest.raises(StaleRecord), write_transaction(runtime.sessions) as session:
        save(session, runtime.record_kinds["person"], kept, {"job_title": "CEO"}, actor=contacts.uid("sales"),
             expected_version=opened)  # fmt: skip


def test_the_merge_page_counts_only_what_the_viewer_may_see(contacts, client):
    kept, merged = contacts.person("Ivan", "Petrenko"), contacts.person("Ivan", "Petrenko")
    link(contacts, contacts.person("Secret", "Boss", owner="operator"), "spouse", merged, actor="operator")
    contacts.save("activity", None, {"type": "call", "subject": "Hidden call", "ref_kind": "person", "ref_id": merged,
                                     "owner_user_id": contacts.uid("operator")}, actor="operator")  # fmt: skip
    contacts.save("activity", None, {"type": "call", "subject": "My call", "ref_kind": "person", "ref_id": merged,
                                     "owner_user_id": contacts.uid("sales")})  # fmt: skip
    client.login("sales")
    page = client.get(f"/contacts/{kept}/merge/{merged}")
    assert page.status_code == 200
    assert "relationships: 1" not in page.text and "activities: 2" not in page.text
    assert page.text.count("relationships: 0") == 2 and "activities: 1" in page.text


def test_ids_above_32_bits_are_a_4xx_not_a_500(contacts, client):
    olena, acme = contacts.person("Olena", "K"), contacts.organisation("ACME")
    other = contacts.person("Ivan", "K")
    client.login("sales")
    assert client.get("/contacts/relationships/99999999999").status_code == 404
    added = client.post(f"/contacts/{acme}/relationships", data={"role": f"{type_id(contacts, 'employment')}:b",
                                                                 "other": HUGE})  # fmt: skip
    assert added.status_code == 400
    check = client.get(f"/contacts/duplicates/check?first_name=a&organisation_id={HUGE}")
    assert check.status_code == 400
    assert client.get(f"/contacts/duplicates/check?first_name=a&exclude={HUGE}").status_code == 200
    versions = {"kept_version": HUGE, "merged_version": "1"}
    assert client.post(f"/contacts/{olena}/merge/{other}", data=versions).status_code == 400
    assert contacts.get(Party, other).deleted_at is None
    assert client.get("/contacts/relationship-types/99999999999/edit").status_code in (403, 404)

"""Merging two people: everything either had ends on the kept one (points, relationships, activities,
participations, tags, documents, another plugin's notes), the old address redirects, and refusals leave
both records as they were."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, or_, select

from voronka.core.attachments import add as attach_file
from voronka.core.db import write_transaction
from voronka.core.models_files import Attachment
from voronka.core.recycle import merge, purge, redirect_url
from voronka.core.tags import add_tag, tags_of
from voronka.core.writes import save
from voronka.plugins.contacts.models import (
    Activity,
    ActivityParticipant,
    Address,
    ContactPoint,
    Party,
    Relationship,
    RelationshipType,
)

NOTES = pytest.mark.voronka(plugins=["notes=voronka_test_notes"])


def type_id(contacts: Any, key: str) -> int:
    with contacts.runtime.sessions() as session:
        return session.scalar(select(RelationshipType.id).where(RelationshipType.key == key))


def relate(contacts: Any, key: str, a: int, b: int) -> int:
    return contacts.save("relationship", None, {"type_id": type_id(contacts, key), "a_id": a, "b_id": b})


def activity(contacts: Any, subject: str, ref: int, kind: str = "person") -> int:
    values = {
        "type": "call",
        "subject": subject,
        "ref_kind": kind,
        "ref_id": ref,
        "owner_user_id": contacts.uid("sales"),
    }
    return contacts.save("activity", None, values)


def participate(contacts: Any, activity_id: int, party_id: int) -> None:
    with write_transaction(contacts.runtime.sessions) as session:
        session.add(ActivityParticipant(activity_id=activity_id, party_id=party_id))


def relationships_of(contacts: Any, party_id: int) -> list[tuple[str, int, int]]:
    with contacts.runtime.sessions() as session:
        rows = session.execute(
            select(RelationshipType.key, Relationship.a_id, Relationship.b_id)
            .join(RelationshipType, RelationshipType.id == Relationship.type_id)
            .where(or_(Relationship.a_id == party_id, Relationship.b_id == party_id))
        )
        return sorted(tuple(r) for r in rows)


def versions(contacts: Any, *ids: int) -> list[int]:
    return [contacts.get(Party, i).version for i in ids]


@pytest.fixture
def family(contacts: Any) -> dict[str, int]:
    """Two records of one man (one in Cyrillic, one in Latin), with an employer, a wife, activities and ties."""
    ids = {
        "org": contacts.organisation("ТОВ «Ромашка»"),
        "kept": contacts.person("Олександр", "Шевченко", primary_email="o.shevchenko@romashka.ua",
                                primary_phone="+380441234567", city="Київ"),
        "merged": contacts.person("Oleksandr", "Shevchenko", primary_email="O.Shevchenko@Romashka.ua",
                                  primary_phone="+380671112233", city="Lviv", job_title="Sales director"),
        "wife": contacts.person("Олена", "Шевченко"),
    }  # fmt: skip
    relate(contacts, "employment", ids["kept"], ids["org"])
    relate(contacts, "employment", ids["merged"], ids["org"])  # the same tie: dropped as a repeat
    relate(contacts, "spouse", ids["wife"], ids["merged"])  # B side: re-pointed
    relate(contacts, "colleague", ids["kept"], ids["merged"])  # would link him to himself: dropped
    ids["call"] = activity(contacts, "Called about the offer", ids["merged"])
    ids["meeting"] = activity(contacts, "Met at the fair", ids["kept"])
    participate(contacts, ids["meeting"], ids["kept"])
    participate(contacts, ids["meeting"], ids["merged"])  # both took part: one participation stays
    ids["org_call"] = activity(contacts, "Called the office", ids["org"], kind="organisation")
    participate(contacts, ids["org_call"], ids["merged"])
    return ids


def merge_form(contacts: Any, kept: int, merged: int, **choices: str) -> dict[str, Any]:
    kept_version, merged_version = versions(contacts, kept, merged)
    return {"kept_version": kept_version, "merged_version": merged_version,
            **{f"keep.{k}": v for k, v in choices.items()}}  # fmt: skip


@NOTES
def test_merge_keeps_everything_and_redirects(client, contacts, family, app):
    kept, merged, org = family["kept"], family["merged"], family["org"]
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        person = runtime.record_kinds["person"]
        add_tag(session, person, merged, "VIP", user=contacts.viewer("sales"))
        attach_file(session, person, merged, "offer.txt", io.BytesIO(b"our offer"), "text/plain",
                    contacts.viewer("sales"))  # fmt: skip
        note = save(session, runtime.record_kinds["note"], None,
                    {"title": "Prefers calls", "ref_kind": "person", "ref_id": merged,
                     "owner_user_id": contacts.uid("sales")}, actor=contacts.uid("sales")).id  # fmt: skip
    client.login("sales")
    page = client.get(f"/contacts/{kept}/merge/{merged}")
    assert page.status_code == 200 and "Sales director" in page.text and 'name="keep.primary_phone"' in page.text
    form = merge_form(contacts, kept, merged, primary_phone="merged", city="kept")
    done = client.post(f"/contacts/{kept}/merge/{merged}", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(f"/contacts/{kept}")

    person_row = contacts.get(Party, kept)
    assert person_row.primary_phone == "+380671112233" and person_row.city == "Київ"
    assert person_row.job_title == "Sales director"  # empty on the kept record: filled from the merged one
    assert contacts.get(Party, merged).deleted_at is not None
    with runtime.sessions() as session:
        points = session.execute(
            select(ContactPoint.channel, ContactPoint.value_key, ContactPoint.is_primary).where(
                ContactPoint.party_id == kept
            )
        ).all()
        assert sorted(points) == [
            ("email", "o.shevchenko@romashka.ua", True),
            ("phone", "+380441234567", False),
            ("phone", "+380671112233", True),
        ]
        assert (
            session.scalar(select(func.count()).select_from(ContactPoint).where(ContactPoint.party_id == merged)) == 0
        )
        cities = sorted(session.scalars(select(Address.city).where(Address.party_id == kept)))
        assert cities == ["Lviv", "Київ"]
        assert session.scalar(select(Activity.ref_id).where(Activity.id == family["call"])) == kept
        participants = session.execute(
            select(ActivityParticipant.activity_id, ActivityParticipant.party_id).order_by(ActivityParticipant.id)
        ).all()
        assert sorted(participants) == sorted([(family["meeting"], kept), (family["org_call"], kept)])
        assert [t.name for t in tags_of(session, runtime.record_kinds["person"], kept)] == ["VIP"]
        assert session.scalars(select(Attachment.record_id).where(Attachment.filename == "offer.txt")).all() == [kept]
        from voronka_test_notes.models import Note

        assert session.get(Note, note).ref_id == kept  # another plugin's reference moved (records_merged)
        assert redirect_url(session, runtime.record_kinds["person"], merged, contacts.viewer("sales")) == (
            f"/contacts/{kept}"
        )
    assert relationships_of(contacts, kept) == sorted([("employment", kept, org), ("spouse", family["wife"], kept)])
    old = client.get(f"/contacts/{merged}", follow_redirects=False)
    assert old.status_code == 303 and old.headers["location"] == f"/contacts/{kept}"
    card = client.get(f"/contacts/{kept}")
    assert card.status_code == 200 and "Олександр Шевченко" in card.text


def test_card_offers_visible_duplicates_and_a_search(client, contacts, family):
    kept, merged = family["kept"], family["merged"]
    client.login("sales")
    lazy = client.hx_get(f"/contacts/{kept}/duplicates")
    assert lazy.status_code == 200 and f"/contacts/{kept}/merge/{merged}" in lazy.text
    plain = client.get(f"/contacts/{kept}/duplicates")
    assert plain.status_code == 200 and "Oleksandr Shevchenko" in plain.text
    found = client.hx_get(f"/contacts/{kept}/merge?q=shevch")
    assert f"/contacts/{kept}/merge/{merged}" in found.text and f"/merge/{family['wife']}" in found.text
    assert f"/merge/{family['org']}" not in found.text  # only the same kind
    client.login("sales2")  # sees none of them
    assert client.hx_get(f"/contacts/{kept}/duplicates").status_code == 404


def test_the_pick_search_tells_namesakes_apart_and_leaves_out_itself_and_the_hidden(client, contacts, family):
    kept, merged = family["kept"], family["merged"]
    hidden = contacts.person("Oleksa", "Shevchuk", owner="operator", primary_email="secret@example.com")
    client.login("sales")
    found = client.hx_get(f"/contacts/{kept}/merge?q=shev").text
    assert "o.shevchenko@romashka.ua · Lviv" in found and f"/merge/{merged}" in found  # e-mail and city shown
    assert f"/merge/{kept}" not in found and f"/merge/{hidden}" not in found and "secret@" not in found
    assert found.index("Oleksandr Shevchenko") < found.index("Олена Шевченко")  # by name
    assert "Nobody you can see" in client.hx_get(f"/contacts/{kept}/merge?q=shevchuk").text


def test_merging_a_person_with_an_organisation_is_refused(client, contacts, family):
    kept, org = family["kept"], family["org"]
    client.login("sales")
    before = versions(contacts, kept, org)
    page = client.get(f"/contacts/{kept}/merge/{org}")
    assert page.status_code == 400 and "Only two people or two organisations" in page.text
    refused = client.post(f"/contacts/{kept}/merge/{org}", data=merge_form(contacts, kept, org))
    assert refused.status_code == 400
    assert versions(contacts, kept, org) == before and contacts.get(Party, org).deleted_at is None


def test_merging_a_record_the_user_cannot_see_is_refused(client, contacts, family):
    hidden = contacts.person("Oleksandr", "Shevchenko", owner="sales2")
    client.login("sales")
    form = merge_form(contacts, family["kept"], hidden)
    assert client.get(f"/contacts/{family['kept']}/merge/{hidden}").status_code == 404
    assert client.post(f"/contacts/{family['kept']}/merge/{hidden}", data=form).status_code == 404
    assert client.post(f"/contacts/{hidden}/merge/{family['kept']}", data=form).status_code == 404
    assert contacts.get(Party, hidden).deleted_at is None and contacts.get(Party, family["kept"]).deleted_at is None


def test_a_stale_merge_form_is_a_409_and_changes_nothing(client, contacts, family):
    kept, merged = family["kept"], family["merged"]
    client.login("sales")
    form = merge_form(contacts, kept, merged, primary_phone="merged")
    contacts.save("person", merged, {"job_title": "CEO"})  # someone edits it meanwhile
    stale = client.post(f"/contacts/{kept}/merge/{merged}", data=form)
    assert stale.status_code == 409 and "CEO" in stale.text
    assert contacts.get(Party, merged).deleted_at is None and contacts.get(Party, kept).primary_phone == "+380441234567"
    bad = client.post(f"/contacts/{kept}/merge/{merged}", data={"kept_version": "x"})
    assert bad.status_code == 400 and contacts.get(Party, merged).deleted_at is None


def test_a_party_purged_for_good_takes_its_rows_with_it(contacts, family, app):
    runtime = app.state.voronka
    merged = family["merged"]
    with write_transaction(runtime.sessions) as session:
        purge(session, runtime.record_kinds["person"], [merged], actor=None)
    with runtime.sessions() as session:
        assert session.get(Party, merged) is None
        assert session.get(Activity, family["call"]) is None  # attached to him: purged through core
        assert session.get(Activity, family["meeting"]) is not None  # attached to the other one: stays
        for model, column in ((ContactPoint, ContactPoint.party_id), (Address, Address.party_id),
                              (ActivityParticipant, ActivityParticipant.party_id)):  # fmt: skip
            assert session.scalar(select(func.count()).select_from(model).where(column == merged)) == 0
    assert all(merged not in (a, b) for _k, a, b in relationships_of(contacts, family["kept"]))
    assert relationships_of(contacts, merged) == []


def test_merging_organisations_keeps_the_holding_tree_free_of_loops(contacts, app):
    """X is a subsidiary of Y, Y of Z. Z is found to be X: merging Z into X would make Y a subsidiary of its
    own subsidiary, so that tie goes; X's own tie to Y stays."""
    runtime = app.state.voronka
    x, y, z = (contacts.organisation(name) for name in ("ТОВ «Ікс»", "ТОВ «Ігрек»", "Iks LLC"))
    x_in_y = relate(contacts, "subsidiary", x, y)
    relate(contacts, "subsidiary", y, z)
    with write_transaction(runtime.sessions) as session:
        merge(session, runtime.record_kinds["organisation"], x, z, actor=contacts.uid("sales"))
    assert relationships_of(contacts, x) == [("subsidiary", x, y)]
    with runtime.sessions() as session:
        assert session.scalar(select(Relationship.id).where(Relationship.a_id == x)) == x_in_y

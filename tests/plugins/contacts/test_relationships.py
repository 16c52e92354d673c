"""Typed relationships between parties: built-in types, wording from both sides, the card section and its
quick add, the rules every write obeys, holding trees, the admin page for types, and visibility."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.models_records import AuditEntry
from voronka.plugins.contacts.models import Party, Relationship, RelationshipType
from voronka.plugins.contacts.relationship_queries import holding
from voronka.plugins.contacts.relationship_types import BUILTIN_TYPES
from voronka.plugins.contacts.relationships import card_section

TODAY = dt.date.today()
LAST_YEAR = TODAY - dt.timedelta(days=365)


class Ties:
    """Relationships written through core's write path, as the quick add does."""

    def __init__(self, contacts):
        self.contacts = contacts
        self.runtime = contacts.runtime

    def type_id(self, key: str) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(RelationshipType.id).where(RelationshipType.key == key))

    def link(self, a: int, key: str, b: int, actor: str = "sales", **values) -> int:
        values = {"type_id": self.type_id(key), "a_id": a, "b_id": b, **values}
        return self.contacts.save("relationship", None, values, actor=actor)

    def section(self, party_id: int, viewer: str = "sales") -> dict:
        with self.runtime.sessions() as session:
            party = session.get(Party, party_id)
            return card_section(session, self.contacts.viewer(viewer), party)

    def count(self) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(Relationship))


@pytest.fixture
def ties(contacts) -> Ties:
    return Ties(contacts)


def words(section: dict) -> set[tuple[str, str]]:
    """(role words, other party's name) of every tie the section lists."""
    return {(t.role, t.other_name) for _label, group in section["groups"] for t in group}


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# -- types -------------------------------------------------------------------------------------------------


def test_builtin_types_are_present_after_the_migration(ties):
    with ties.runtime.sessions() as session:
        stored = {t.key: t for t in session.scalars(select(RelationshipType))}
    for key, category, a_role, b_role in BUILTIN_TYPES:
        rtype = stored[key]
        assert (rtype.category, rtype.a_role, rtype.b_role, rtype.builtin) == (category, a_role, b_role, True)
    assert stored["subsidiary"].hierarchy and (stored["subsidiary"].a_kinds, stored["subsidiary"].b_kinds) == (
        "organisation",
        "organisation",
    )
    assert stored["decision_maker"].influence and stored["decision_maker"].one_sided
    assert stored["colleague"].symmetric and not stored["employment"].symmetric
    assert (stored["employment"].a_kinds, stored["employment"].b_kinds) == ("person", "organisation")
    assert not any(t.hierarchy for k, t in stored.items() if k != "subsidiary")


# -- wording from both sides -------------------------------------------------------------------------------


def test_each_side_sees_the_other_with_the_right_words(contacts, ties):
    olena, ivan = contacts.person("Olena", "Kovalenko"), contacts.person("Ivan", "Petrenko")
    acme = contacts.organisation("ACME")
    ties.link(olena, "employment", acme)  # reciprocal
    ties.link(olena, "colleague", ivan)  # symmetric
    ties.link(olena, "decision_maker", acme)  # one-sided
    assert words(ties.section(acme)) == {("Employee", "Olena Kovalenko"), ("Decision maker", "Olena Kovalenko")}
    assert words(ties.section(olena)) == {("Employer", "ACME"), ("Colleague", "Ivan Petrenko"),
                                          ("Decision maker at", "ACME")}  # fmt: skip
    assert words(ties.section(ivan)) == {("Colleague", "Olena Kovalenko")}


def test_the_section_page_words_ties_and_groups_them(client, contacts, ties):
    olena, taras = contacts.person("Olena", "Kovalenko"), contacts.person("Taras", "Kovalenko")
    acme = contacts.organisation("ACME")
    ties.link(olena, "decision_maker", acme)
    ties.link(taras, "child", olena, valid_from=dt.date(2001, 5, 1))
    ties.link(olena, "employment", acme, valid_from=dt.date(2015, 1, 1), valid_to=dt.date(2024, 3, 31),
              note="Head of purchasing")  # fmt: skip
    client.login("sales")
    org = text(client.get(f"/contacts/{acme}/relationships").text)
    assert "Decision maker: Olena Kovalenko" in org and "Head of purchasing" in org
    person_html = client.get(f"/contacts/{olena}/relationships").text
    person = text(person_html)
    assert "Decision maker at ACME" in person and "Child: Taras Kovalenko" in person
    assert "Business" in person and "Family" in person
    assert re.search(r'class="rel-item rel-ended"[^>]*data-type="employment"', person_html)
    assert "until" not in person.split("Employer:")[0] and "2024" in person.split("Employer: ACME")[1][:40]


def test_who_influences_decisions_lists_current_influencers_only(client, contacts, ties):
    acme = contacts.organisation("ACME")
    olena, ivan = contacts.person("Olena", "Kovalenko"), contacts.person("Ivan", "Petrenko")
    maria, petro = contacts.person("Maria", "Shevchuk"), contacts.person("Petro", "Bondar")
    ties.link(olena, "decision_maker", acme)
    ties.link(ivan, "champion", acme, valid_from=LAST_YEAR)
    ties.link(maria, "influencer", acme, valid_from=dt.date(2019, 1, 1), valid_to=LAST_YEAR)  # ended
    ties.link(petro, "employment", acme)  # works there, influences nothing
    section = ties.section(acme)
    assert {(t.other_name, t.other_role) for t in section["influencers"]} == {
        ("Olena Kovalenko", "Decision maker"),
        ("Ivan Petrenko", "Champion"),
    }
    by_role = {role: {t.other_name for t in group} for role, group in section["people_by_role"]}
    assert by_role == {"Decision maker": {"Olena Kovalenko"}, "Champion": {"Ivan Petrenko"},
                       "Employee": {"Petro Bondar"}}  # fmt: skip
    client.login("sales")
    glance = client.get(f"/contacts/{acme}/relationships").text.split("Who influences decisions here")[1]
    glance = glance.split("</ul>")[0]
    assert "Olena Kovalenko" in glance and "Ivan Petrenko" in glance
    assert "Maria Shevchuk" not in glance and "Petro Bondar" not in glance
    assert "Who influences decisions here" not in client.get(f"/contacts/{petro}/relationships").text


# -- quick add ---------------------------------------------------------------------------------------------


def test_quick_add_links_an_existing_party(client, contacts, ties):
    acme, olena = contacts.organisation("ACME"), contacts.person("Olena", "Kovalenko")
    client.login("sales")
    page = client.get(f"/contacts/{acme}/relationships").text
    employment = ties.type_id("employment")
    assert f'value="{employment}:b"' in page and "Employer of…" in page  # the org's own role
    assert f'value="{employment}:a"' not in page  # an organisation cannot be an employee
    form = {"role": f"{employment}:b", "other": str(olena), "valid_from": "2020-02-01", "note": "Accountant"}
    response = client.post(f"/contacts/{acme}/relationships", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/contacts/{acme}#relationships"
    with ties.runtime.sessions() as session:
        tie = session.scalar(select(Relationship))
        assert (tie.a_id, tie.b_id, tie.valid_from, tie.note) == (olena, acme, dt.date(2020, 2, 1), "Accountant")
        audited = session.scalar(select(func.count()).where(AuditEntry.kind == "relationship",
                                                            AuditEntry.record_id == tie.id))  # fmt: skip
        assert audited == 1
    fragment = client.hx_post(f"/contacts/{olena}/relationships",
                              data={"role": f"{ties.type_id('colleague')}:a", "other_q": "Nobody"})  # fmt: skip
    assert fragment.status_code == 400 and "<html" not in fragment.text
    assert "Find who to link, or type a name to create them." in fragment.text


def test_quick_add_creates_a_party_in_place(client, contacts, ties):
    acme = contacts.organisation("ACME")
    client.login("sales")
    form = {"role": f"{ties.type_id('employment')}:b", "new_name": "Petro Bondar", "new_kind": "organisation"}
    response = client.hx_post(f"/contacts/{acme}/relationships", data=form)
    assert response.status_code == 200 and "Employee:" in text(response.text) and "Petro Bondar" in response.text
    with ties.runtime.sessions() as session:
        petro = session.scalar(select(Party).where(Party.name == "Petro Bondar"))
        assert petro.kind == "person" and petro.owner_user_id == contacts.uid("sales")  # kind from the type
        assert (petro.first_name, petro.last_name) == ("Petro", "Bondar")
        tie = session.scalar(select(Relationship))
        assert (tie.a_id, tie.b_id) == (petro.id, acme)


def test_quick_add_without_js_offers_the_matches(client, contacts, ties):
    olena = contacts.person("Олена", "Коваленко")
    ivan = contacts.person("Ivan", "Petrenko")
    client.login("sales")
    form = {"role": f"{ties.type_id('colleague')}:a", "other_q": "olena"}
    response = client.post(f"/contacts/{ivan}/relationships", data=form)
    assert response.status_code == 400 and ties.count() == 0
    assert f'name="other" value="{olena}"' in response.text and "Choose one of the matches below" in response.text


def test_quick_add_refusals_say_what_to_fix_and_save_nothing(client, contacts, ties):
    olena, acme = contacts.person("Olena", "Kovalenko"), contacts.organisation("ACME")
    client.login("sales")
    employment = ties.type_id("employment")
    bad_dates = {"role": f"{employment}:b", "other": str(olena), "valid_from": "2024-05-01", "valid_to": "2023-01-01"}
    response = client.hx_post(f"/contacts/{acme}/relationships", data=bad_dates)
    assert response.status_code == 400 and "The end date is before the start date." in response.text
    not_a_date = {"role": f"{employment}:b", "other": str(olena), "valid_from": "yesterday"}
    assert "Enter a date as YYYY-MM-DD." in client.hx_post(f"/contacts/{acme}/relationships", data=not_a_date).text
    to_itself = {"role": f"{ties.type_id('partner')}:a", "other": str(acme)}
    response = client.hx_post(f"/contacts/{acme}/relationships", data=to_itself)
    assert response.status_code == 400 and "cannot have a relationship with itself" in response.text
    new_name_fails = {"role": f"{employment}:b", "new_name": "   "}
    assert client.hx_post(f"/contacts/{acme}/relationships", data=new_name_fails).status_code == 400
    with ties.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Party)) == 2
    assert ties.count() == 0


# -- the rules of every write ------------------------------------------------------------------------------


def refused(ties, a, key, b, **values) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        ties.link(a, key, b, **values)
    return exc.value.errors


def test_a_relationship_to_itself_is_refused(contacts, ties):
    olena = contacts.person("Olena", "Kovalenko")
    assert "cannot have a relationship with itself" in refused(ties, olena, "friend", olena)["b_id"]


def test_party_kinds_must_fit_the_type(contacts, ties):
    olena, acme, globex = contacts.person("Olena", "K"), contacts.organisation("ACME"), contacts.organisation("G")
    assert refused(ties, acme, "employment", olena)["a_id"] == "“Employee” must be a person."
    assert refused(ties, olena, "spouse", acme)["b_id"] == "“Spouse” must be a person."
    assert "b_id" in refused(ties, acme, "subsidiary", olena) and "a_id" in refused(ties, olena, "partner", globex)
    assert ties.count() == 0


def test_the_same_type_twice_between_a_pair_is_refused_when_dates_overlap(contacts, ties):
    olena, acme = contacts.person("Olena", "K"), contacts.organisation("ACME")
    ivan = contacts.person("Ivan", "P")
    ties.link(olena, "employment", acme, valid_from=dt.date(2015, 1, 1), valid_to=dt.date(2018, 12, 31))
    assert "already have this relationship" in refused(ties, olena, "employment", acme)["b_id"]  # open: overlaps
    assert "b_id" in refused(ties, olena, "employment", acme, valid_from=dt.date(2018, 6, 1))
    ties.link(olena, "employment", acme, valid_from=dt.date(2019, 1, 1))  # came back later: a new tie
    ties.link(olena, "friend", ivan)
    assert "b_id" in refused(ties, ivan, "friend", olena)  # a symmetric tie the other way round is the same
    ties.link(olena, "decision_maker", acme)  # another type between the same pair is fine
    assert ties.count() == 4


def test_bad_dates_and_archived_types_are_refused(contacts, ties):
    olena, acme = contacts.person("Olena", "K"), contacts.organisation("ACME")
    errors = refused(ties, olena, "employment", acme, valid_from=dt.date(2024, 5, 1), valid_to=dt.date(2024, 1, 1))
    assert errors == {"valid_to": "The end date is before the start date."}
    assert refused(ties, olena, "employment", acme, valid_from="2024-13-01") == {
        "valid_from": "Enter a date as YYYY-MM-DD."
    }
    kept = ties.link(olena, "champion", acme)
    with write_transaction(ties.runtime.sessions) as session:
        session.scalar(select(RelationshipType).where(RelationshipType.key == "champion")).archived = True
    assert "archived" in refused(ties, contacts.person("Ivan", "P"), "champion", acme)["type_id"]
    contacts.save("relationship", kept, {"note": "still counts"})  # an existing tie of it may still change
    assert ties.count() == 1


def test_a_holding_cycle_is_refused_three_levels_deep(contacts, ties):
    a, b, c = (contacts.organisation(name) for name in ("Alpha", "Beta", "Gamma"))
    ties.link(a, "subsidiary", b)
    ties.link(b, "subsidiary", c)
    assert "loop in the holding structure" in refused(ties, c, "subsidiary", a)["b_id"]
    assert "b_id" in refused(ties, b, "subsidiary", a)
    ended = ties.link(c, "subsidiary", contacts.organisation("Delta"), valid_to=LAST_YEAR)
    assert ended and ties.count() == 3
    # changing a link's end into the future must not close a loop either
    loop = ties.link(c, "subsidiary", a, valid_from=dt.date(2000, 1, 1), valid_to=dt.date(2001, 1, 1))
    with pytest.raises(ValidationError):
        contacts.save("relationship", loop, {"valid_to": None})


# -- holding tree ------------------------------------------------------------------------------------------


def test_the_holding_tree_goes_up_to_the_top_and_down_to_all_subsidiaries(client, contacts, ties):
    top, mid, leaf, leaf2, deep = (contacts.organisation(n) for n in ("Top Group", "Mid Holding", "Leaf One",
                                                                      "Leaf Two", "Deep Works"))  # fmt: skip
    gone = contacts.organisation("Sold Off")
    ties.link(mid, "subsidiary", top)
    ties.link(leaf, "subsidiary", mid)
    ties.link(leaf2, "subsidiary", mid)
    ties.link(deep, "subsidiary", leaf)
    ties.link(gone, "subsidiary", mid, valid_to=LAST_YEAR)
    with ties.runtime.sessions() as session:
        tree = holding(session, contacts.viewer("sales"), session.get(Party, mid))
    assert (tree.ancestors, tree.direct, tree.descendants) == (1, 2, 3)
    (root,) = tree.root_nodes
    assert root.name == "Top Group" and root.children[0].is_self
    below = root.children[0]
    assert [c.name for c in below.children] == ["Leaf One", "Leaf Two"]
    assert [c.name for c in below.children[0].children] == ["Deep Works"]
    client.login("sales")
    page = client.get(f"/contacts/{mid}/holding")
    assert page.status_code == 200 and "Sold Off" not in page.text
    tree_html = page.text.split('class="holding-tree"')[1]
    assert tree_html.index("Top Group") < tree_html.index("Mid Holding") < tree_html.index("Deep Works")
    assert "Holding structure" in client.get(f"/contacts/{leaf}/relationships").text
    lone = contacts.organisation("Lone Ltd")
    assert "Holding structure" not in client.get(f"/contacts/{lone}/relationships").text.split("</h2>")[1][:200]


# -- admin -------------------------------------------------------------------------------------------------


def test_an_admin_adds_a_type_and_it_appears_in_the_picker(client, contacts, ties):
    client.login("sales")
    assert client.get("/contacts/relationship-types").status_code == 403
    client.login("manager")
    bad = client.post("/contacts/relationship-types", data={"category": "business", "shape": "reciprocal",
                                                            "a_role": "Mentor", "b_role": ""})  # fmt: skip
    assert bad.status_code == 400 and "Name the role of the second party" in bad.text
    form = {"category": "business", "shape": "reciprocal", "a_role": "Mentor", "b_role": "Mentee",
            "a_kinds": "person", "b_kinds": "person"}  # fmt: skip
    response = client.post("/contacts/relationship-types", data=form, follow_redirects=False)
    assert response.status_code == 303
    with ties.runtime.sessions() as session:
        mentor = session.scalar(select(RelationshipType).where(RelationshipType.a_role == "Mentor"))
        assert (mentor.key, mentor.builtin, mentor.b_role) == ("mentor", False, "Mentee")
    olena = contacts.person("Olena", "K")
    page = client.get(f"/contacts/{olena}/relationships").text
    assert f'value="{mentor.id}:a"' in page and "Mentor of…" in page and "Mentee of…" in page
    edited = client.post(f"/contacts/relationship-types/{mentor.id}", data={**form, "a_role": "Coach",
                                                                           "b_role": "Trainee"})  # fmt: skip
    assert edited.status_code == 200 and "Coach" in client.get(f"/contacts/{olena}/relationships").text
    assert client.post(f"/contacts/relationship-types/{mentor.id}/delete").status_code == 200
    with ties.runtime.sessions() as session:
        assert session.get(RelationshipType, mentor.id) is None


def test_the_type_form_fills_and_flags_both_sides(client, ties):
    client.login("manager")
    employment = ties.type_id("employment")
    page = client.get(f"/contacts/relationship-types/{employment}").text
    assert 'name="a_role" value="Employee" maxlength="120" required' in page
    assert 'name="b_role" value="Employer" maxlength="120" placeholder' in page
    a_kinds = page.split('name="a_kinds"')[1].split("</select>")[0]
    b_kinds = page.split('name="b_kinds"')[1].split("</select>")[0]
    assert '<option value="person" selected>' in a_kinds and '<option value="organisation" selected>' in b_kinds
    bad = client.post(
        "/contacts/relationship-types",
        data={"category": "business", "shape": "reciprocal", "a_role": "Mentor", "b_role": "", "b_kinds": "robot"},
    )
    assert bad.status_code == 400
    b_side = bad.text.split('name="b_role"')[1].split("</div>")[0]
    assert 'aria-invalid="true"' in b_side and "Name the role of the second party" in b_side
    assert "Choose person, organisation or anyone." in b_side
    assert "aria-invalid" not in bad.text.split('name="a_role"')[1].split("</label>")[0]


def test_an_archived_type_leaves_the_picker_but_existing_ties_still_show(client, contacts, ties):
    olena, ivan = contacts.person("Olena", "K"), contacts.person("Ivan", "P")
    ties.link(olena, "acquaintance", ivan)
    acquaintance = ties.type_id("acquaintance")
    client.login("admin")
    client.post(f"/contacts/relationship-types/{acquaintance}/archive", data={"archived": "1"})
    assert client.post(f"/contacts/relationship-types/{acquaintance}/delete").status_code == 409  # used
    page = client.get(f"/contacts/{olena}/relationships").text
    assert f'value="{acquaintance}:a"' not in page
    assert "Acquaintance: Ivan P" in text(page)
    refused_add = client.post(
        f"/contacts/{olena}/relationships",
        data={"role": f"{acquaintance}:a", "other": str(contacts.person("Maria", "S"))},
    )
    assert refused_add.status_code == 400 and ties.count() == 1


# -- edit, end, delete in place ----------------------------------------------------------------------------


def test_a_relationship_is_edited_ended_and_deleted_in_place(client, contacts, ties):
    olena, acme = contacts.person("Olena", "K"), contacts.organisation("ACME")
    tie = ties.link(olena, "employment", acme, valid_from=dt.date(2020, 1, 1))
    client.login("sales")
    edit = client.hx_get(f"/contacts/{acme}/relationships/{tie}/edit")
    assert edit.status_code == 200 and 'name="version" value="1"' in edit.text
    saved = client.hx_post(f"/contacts/{acme}/relationships/{tie}", data={"valid_from": "2020-01-01", "valid_to": "",
                                                                        "note": "CFO", "version": "1"})  # fmt: skip
    assert saved.status_code == 200 and "CFO" in saved.text
    stale = client.hx_post(
        f"/contacts/{acme}/relationships/{tie}", data={"valid_from": "", "note": "x", "version": "1"}
    )
    assert stale.status_code == 409 and "Someone else saved" in stale.text
    bad = client.hx_post(
        f"/contacts/{acme}/relationships/{tie}",
        data={"valid_from": "2020-01-01", "valid_to": "2019-01-01", "version": "2"},
    )
    assert bad.status_code == 400 and "before the start date" in bad.text
    ended = client.hx_post(f"/contacts/{acme}/relationships/{tie}/end", data={"version": "2"})
    assert ended.status_code == 200 and "rel-ended" in ended.text
    with contacts.runtime.sessions() as session:
        company_today = company_settings(session).today()
    assert contacts.get(Relationship, tie).valid_to == company_today - dt.timedelta(days=1)
    assert client.get(f"/contacts/{ivan_id(contacts)}/relationships/{tie}/edit").status_code == 404
    deleted = client.post(f"/contacts/{acme}/relationships/{tie}/delete", follow_redirects=False)
    assert deleted.status_code == 303 and ties.count() == 0


def ivan_id(contacts) -> int:
    return contacts.person("Ivan", "P")


# -- visibility ----------------------------------------------------------------------------------------------


def test_ties_to_parties_the_viewer_cannot_see_are_counted_not_named(client, contacts, ties):
    acme = contacts.organisation("ACME")
    secret = contacts.person("Secret", "Agent", owner="operator")
    ties.link(secret, "decision_maker", acme, actor="operator")
    ties.link(contacts.person("Olena", "K"), "employment", acme)
    section = ties.section(acme, "sales")
    assert section["hidden"] == 1 and section["influencers"] == []
    client.login("sales")
    page = client.get(f"/contacts/{acme}/relationships").text
    assert "Secret" not in page and "+1 you cannot see" in page
    assert ties.section(acme, "admin")["hidden"] == 0
    assert client.get(f"/contacts/{secret}/relationships").status_code == 404
    hidden_pick = client.post(
        f"/contacts/{acme}/relationships", data={"role": f"{ties.type_id('employment')}:b", "other": str(secret)}
    )
    assert hidden_pick.status_code == 400 and "not yours to see" in hidden_pick.text


# -- the data migration ------------------------------------------------------------------------------------


def test_the_data_migration_goes_down_and_up_again(empty_db_url, plugin_set):
    from voronka.core.db import make_engine
    from voronka.core.migrate import Migrator
    from voronka.web.plugins_setup import build_host

    engine = make_engine(empty_db_url)
    try:
        migrator = Migrator(engine, build_host(plugin_set.settings(empty_db_url)))
        assert migrator.upgrade() == {}
        types = RelationshipType.__table__
        with engine.begin() as conn:
            assert conn.scalar(select(func.count()).select_from(types).where(types.c.builtin)) == len(BUILTIN_TYPES)
            conn.execute(types.insert().values(key="mentor", category="business", a_role="Mentor", b_role="Mentee",
                                               a_kinds="any", b_kinds="any", hierarchy=False, influence=False,
                                               builtin=False, archived=False, position=999))  # fmt: skip
        migrator.downgrade("contacts@contacts_0001")
        with engine.begin() as conn:
            assert list(conn.scalars(select(types.c.key))) == ["mentor"]  # an admin's own type stays
        assert migrator.upgrade() == {}
        with engine.begin() as conn:
            assert conn.scalar(select(func.count()).select_from(types)) == len(BUILTIN_TYPES) + 1
    finally:
        engine.dispose()

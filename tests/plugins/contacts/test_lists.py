"""Lists of people and organisations: search (names in both scripts, e-mail, phone, city), visibility,
keyset paging, filters, sorting, CSV export and the global search hook."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import insert, select, update

from voronka.core.db import write_transaction
from voronka.core.models import SettingValue
from voronka.core.models_records import Tag
from voronka.core.security.users import load_user
from voronka.core.state import bump
from voronka.core.tags import add_tag
from voronka.core.types import utcnow
from voronka.plugins.contacts import list_query as lq
from voronka.plugins.contacts import lists
from voronka.plugins.contacts.models import Address, ContactPoint, Party, RelationshipType

ROW_LINK = re.compile(r'<td class="party-name"><a href="/contacts/(\d+)">')


def shown(response) -> list[int]:
    """The party ids a list response shows, in order."""
    assert response.status_code == 200, response.text[:500]
    return [int(i) for i in ROW_LINK.findall(response.text)]


def set_list_limit(app, limit: int) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        session.merge(SettingValue(plugin="contacts", key="list_limit", value=limit, changed_at=utcnow()))
        bump(session, "settings")
    app.state.voronka.settings_store.invalidate()


def add_point(app, party_id: int, channel: str, value: str, key: str) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        session.execute(insert(ContactPoint).values(party_id=party_id, channel=channel, value=value, value_key=key,
                                                    is_primary=True, position=0))  # fmt: skip


@pytest.fixture
def people(contacts):
    """A small address book owned by "sales", plus one person of "sales2"."""
    ids = {
        "shevchenko": contacts.person("Тарас", "Шевченко", job_title="Поет"),
        "oleksandr": contacts.person("Олександр", "Коваль"),
        "olena": contacts.person("Olena", "Kovalenko", city="Lviv"),
        "ivan": contacts.person("Іван", "Франко", city="Львів"),
        "hidden": contacts.person("Шевчик", "Прихований", owner="sales2"),
    }
    ids["romashka"] = contacts.organisation("ТОВ «Ромашка»", city="Київ")
    return ids


def test_contacts_home_goes_to_people(client):
    client.login("sales")
    response = client.get("/contacts/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/contacts/people"


def test_people_list_shows_only_what_the_viewer_may_see(client, people):
    client.login("sales")
    page = client.get("/contacts/people")
    ids = shown(page)
    assert set(ids) == {people[k] for k in ("shevchenko", "oleksandr", "olena", "ivan")}
    assert people["romashka"] not in ids and people["hidden"] not in ids
    # sorted by last name: Franko, Koval, Kovalenko, Shevchenko
    assert ids == [people["ivan"], people["oleksandr"], people["olena"], people["shevchenko"]]
    assert "Поет" in page.text and 'class="table-wrap"' in page.text
    orgs = shown(client.get("/contacts/organisations"))
    assert orgs == [people["romashka"]]
    both = shown(client.get("/contacts/all"))
    assert set(both) == {*ids, people["romashka"]}
    client.login("sales2")
    assert shown(client.get("/contacts/people")) == [people["hidden"]]
    client.login("admin")
    assert people["hidden"] in shown(client.get("/contacts/people"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Шевч", {"shevchenko"}),
        ("shevch", {"shevchenko"}),
        ("SHEVCHENKO", {"shevchenko"}),
        ("Olek", {"oleksandr"}),
        ("олек", {"oleksandr"}),
        ("Олександр Ков", {"oleksandr"}),
        ("Ковал", {"oleksandr", "olena"}),
        ("kovalenko", {"olena"}),
        ("Тарас", {"shevchenko"}),
        ("львів", {"olena", "ivan"}),
        ("zzz", set()),
    ],
)
def test_search_by_name_both_scripts_and_city(client, people, query, expected):
    client.login("sales")
    ids = set(shown(client.get("/contacts/people", params={"q": query})))
    assert ids == {people[k] for k in expected}


def test_search_finds_organisations_by_name_without_legal_form(client, people):
    client.login("sales")
    for query in ("Ромаш", "romash", "ТОВ", "tov"):
        assert shown(client.get("/contacts/organisations", params={"q": query})) == [people["romashka"]], query


def test_search_by_email_prefix_and_whole_address(client, app, people):
    add_point(app, people["olena"], "email", "Olena.K@Example.com", "olena.k@example.com")
    add_point(app, people["hidden"], "email", "olena.x@example.com", "olena.x@example.com")
    client.login("sales")
    for query in ("olena.k@", "Olena.K@Example.com", "OLENA.K@EXAMPLE.C"):
        assert shown(client.get("/contacts/people", params={"q": query})) == [people["olena"]], query
    assert shown(client.get("/contacts/people", params={"q": "nobody@example.com"})) == []


def test_search_by_phone_in_any_form(client, app, people):
    add_point(app, people["ivan"], "phone", "+380 67 123 4567", "+380671234567")
    add_point(app, people["olena"], "phone", "+380 50 765 4321", "+380507654321")
    add_point(app, people["hidden"], "phone", "+380 67 123 4567", "+380671234567")
    client.login("sales")
    for query in ("+380 67 123 4567", "0671234567", "067 123", "(067) 123-45-67", "380671", "+38067"):
        assert shown(client.get("/contacts/people", params={"q": query})) == [people["ivan"]], query
    assert set(shown(client.get("/contacts/people", params={"q": "+380"}))) == {people["ivan"], people["olena"]}
    assert shown(client.get("/contacts/people", params={"q": "0991234567"})) == []


def test_search_through_the_write_path_and_the_city(client, app, contacts):
    """A person saved with an e-mail, a phone and a city is found by each (points and the city key come from
    the write path). The city is the party's, the one the list shows: another address on the card (a
    delivery address) does not list the party under its town."""
    pid = contacts.person("Марія", "Заньковецька", primary_email="maria@teatr.ua", primary_phone="+380 44 111 2233",
                          city="Ніжин")  # fmt: skip
    with write_transaction(app.state.voronka.sessions) as session:
        session.execute(insert(Address).values(party_id=pid, city="Полтава", city_key="poltava", position=1))
    client.login("sales")
    for query in ("Ніж", "ніжин", "nizh", "NIZHYN"):
        assert shown(client.get("/contacts/people", params={"q": query})) == [pid], query
    assert shown(client.get("/contacts/people", params={"q": "Полтава"})) == []
    assert shown(client.get("/contacts/people", params={"q": "maria@teatr.ua"})) == [pid]


def test_phone_prefixes():
    assert lq.phone_prefixes("+380 67 123 4567", "UA") == ["+380671234567"]
    assert lq.phone_prefixes("0671234567", "UA") == ["+380671234567"]
    assert lq.phone_prefixes("067 12", "UA") == ["+3806712"]
    assert set(lq.phone_prefixes("6712", "UA")) == {"+3806712", "+6712"}
    assert lq.phone_prefixes("0044 20 7946", "UA") == ["+44207946"]
    assert lq.query_shape("a@b") == "email" and lq.query_shape("+380 (67)") == "phone"
    assert lq.query_shape("12") == "text" and lq.query_shape("Київ") == "text"


def test_keyset_pages_return_every_row_once_with_ties(client, app, contacts):
    """Seven people called the same, among others: paging by (name key, id) skips and repeats nothing."""
    ids = [contacts.person("Anna", "Same") for _i in range(7)]
    ids += [contacts.person(f"P{i}", f"Name{i:02d}") for i in range(8)]
    set_list_limit(app, 10)
    client.login("sales")
    for sort in ("name", "-name", "created", "-created", "updated", "-updated"):
        seen: list[int] = []
        url = f"/contacts/people?sort={sort}"
        for _page in range(10):
            page = client.get(url)
            seen += shown(page)
            found = re.search(r'<a href="([^"]+)" class="next-page">', page.text)
            if not found:
                break
            url = found.group(1).replace("&amp;", "&")
        assert sorted(seen) == sorted(ids), sort
        assert len(seen) == len(set(seen)) == 15
    # the HTMX "load more" fragment: only rows, and a next link while more remain
    first = client.get("/contacts/people")
    more = re.search(r'hx-get="([^"]+)"', first.text.split('class="load-more"')[1]).group(1).replace("&amp;", "&")
    fragment = client.hx_get(more)
    assert "<html" not in fragment.text and len(shown(fragment)) == 5 and "load-more" not in fragment.text


def test_a_mangled_cursor_starts_from_the_first_page(client, people):
    client.login("sales")
    assert shown(client.get("/contacts/people", params={"after": "bm9wZQ"}))[0] == people["ivan"]
    assert shown(client.get("/contacts/people", params={"after": "%%%", "sort": "-created"}))


def test_filters_owner_team_tag_relationship_and_do_not_contact(client, app, contacts, people):
    runtime = app.state.voronka
    sales_id, sales2_id = contacts.uid("sales"), contacts.uid("sales2")
    with write_transaction(runtime.sessions) as session:
        viewer = load_user(session, sales_id)
        add_tag(session, runtime.record_kinds["person"], people["olena"], "VIP", user=viewer)
        session.execute(update(Party).where(Party.id == people["ivan"]).values(do_not_contact=True))
        rel_type = RelationshipType(key="lists_colleague", category="business", a_role="Colleague", b_role="Colleague")
        session.add(rel_type)
        session.flush()
        from voronka.plugins.contacts.models import Relationship

        session.add(Relationship(type_id=rel_type.id, a_id=people["shevchenko"], b_id=people["oleksandr"]))
        type_id = rel_type.id
        tag_id = session.scalar(select(Tag.id).where(Tag.name == "VIP"))
    client.login("manager")  # sees everyone under them: sales and sales2
    every = set(shown(client.get("/contacts/people")))
    assert people["hidden"] in every
    assert set(shown(client.get("/contacts/people", params={"owner": sales2_id}))) == {people["hidden"]}
    assert people["hidden"] not in shown(client.get("/contacts/people", params={"owner": sales_id}))
    team = min(contacts.viewer("sales").team_ids)
    assert set(shown(client.get("/contacts/people", params={"team": team}))) == every
    assert shown(client.get("/contacts/people", params={"tag": tag_id})) == [people["olena"]]
    related = set(shown(client.get("/contacts/people", params={"rel": type_id})))
    assert related == {people["shevchenko"], people["oleksandr"]}
    assert shown(client.get("/contacts/people", params={"dnc": "yes"})) == [people["ivan"]]
    assert people["ivan"] not in shown(client.get("/contacts/people", params={"dnc": "no"}))
    assert shown(client.get("/contacts/people", params={"owner": "nobody"})) == []
    combined = shown(client.get("/contacts/people", params={"q": "kov", "tag": tag_id}))
    assert combined == [people["olena"]]
    client.login("sales")
    assert shown(client.get("/contacts/people", params={"owner": "me", "q": "шевч"})) == [people["shevchenko"]]


def test_relationship_filter_uses_exists_for_common_types(app, contacts, people, monkeypatch):
    """Both shapes of the relationship filter answer the same."""
    runtime = app.state.voronka
    from voronka.plugins.contacts.models import Relationship

    with write_transaction(runtime.sessions) as session:
        rel_type = RelationshipType(key="lists_friend", category="social", a_role="Friend", b_role="Friend")
        session.add(rel_type)
        session.flush()
        session.add(Relationship(type_id=rel_type.id, a_id=people["ivan"], b_id=people["olena"]))
        type_id = rel_type.id
    viewer = contacts.viewer("sales")
    params = lq.ListParams(rel=str(type_id))
    found = []
    for probe in (lq.REL_PROBE, 1):
        monkeypatch.setattr(lq, "REL_PROBE", probe)
        with runtime.sessions() as session:
            stmt = lq.base_query(session, runtime.record_kinds["person"], viewer, params, "UA")
            found.append({r.id for r in session.execute(stmt)})
    assert found[0] == found[1] == {people["ivan"], people["olena"]}


def test_sorting_by_created_and_updated(client, app, contacts, people):
    client.login("sales")
    newest_first = shown(client.get("/contacts/people", params={"sort": "-created"}))
    assert newest_first[0] == people["olena"] or newest_first.index(people["ivan"]) < newest_first.index(
        people["shevchenko"]
    )
    assert newest_first == list(reversed(shown(client.get("/contacts/people", params={"sort": "created"}))))
    contacts.save("person", people["shevchenko"], {"job_title": "Художник"})
    assert shown(client.get("/contacts/people", params={"sort": "-updated"}))[0] == people["shevchenko"]
    assert shown(client.get("/contacts/people", params={"sort": "-name"}))[0] == people["shevchenko"]
    assert shown(client.get("/contacts/people", params={"sort": "bogus"}))[0] == people["ivan"]


def test_htmx_search_returns_the_list_block(client, people):
    client.login("sales")
    response = client.hx_get("/contacts/people", params={"q": "shev"})
    assert "<html" not in response.text and shown(response) == [people["shevchenko"]]
    assert 'id="party-bulk"' in response.text


def test_csv_export_holds_only_visible_rows_of_the_filtered_list(client, people):
    client.login("sales")
    whole = client.get("/contacts/people/export.csv", params={"bom": "0"})
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(whole.text)))
    assert {int(r["id"]) for r in rows} == {people[k] for k in ("shevchenko", "oleksandr", "olena", "ivan")}
    searched = list(csv.DictReader(io.StringIO(client.get("/contacts/people/export.csv?q=shev&bom=0").text)))
    assert [int(r["id"]) for r in searched] == [people["shevchenko"]]
    orgs = list(csv.DictReader(io.StringIO(client.get("/contacts/organisations/export.csv?bom=0").text)))
    assert [int(r["id"]) for r in orgs] == [people["romashka"]]


def test_operator_without_contacts_sees_nothing_and_anonymous_is_sent_to_login(client, app, people):
    response = client.get("/contacts/people", follow_redirects=False)
    assert response.status_code in (302, 303, 401)
    client.login("operator")  # team visibility: the inbound queue's records only
    assert shown(client.get("/contacts/people")) == []


def test_global_search_hook(app, contacts, people):
    runtime = app.state.voronka
    add_point(app, people["ivan"], "phone", "+380 67 123 4567", "+380671234567")
    with runtime.sessions() as session:
        sales = load_user(session, contacts.uid("sales"))
        hits = lists.search_hits(session, sales, "shev", 8)
        assert [(h.title, h.url, h.kind) for h in hits] == [("Тарас Шевченко", f"/contacts/{people['shevchenko']}",
                                                             "Person")]  # fmt: skip
        assert "Поет" in hits[0].subtitle
        assert [h.url for h in lists.search_hits(session, sales, "0671234567", 8)] == [f"/contacts/{people['ivan']}"]
        assert [h.title for h in lists.search_hits(session, sales, "ромаш", 8)] == ["ТОВ «Ромашка»"]
        assert lists.search_hits(session, sales, "Прихов", 8) == []  # sales2's
        assert len(lists.search_hits(session, sales, "k", 1)) == 1
        admin = load_user(session, contacts.uid("admin"))
        assert [h.title for h in lists.search_hits(session, admin, "Прихов", 8)] == ["Шевчик Прихований"]


def test_global_search_page_lists_contacts(client, people):
    client.login("sales")
    response = client.hx_get("/search", params={"q": "Шевч"})
    assert response.status_code == 200
    assert f"/contacts/{people['shevchenko']}" in response.text and "Прихований" not in response.text


def define_fields(app) -> None:
    from voronka.core import custom_fields_admin as cfa

    with write_transaction(app.state.voronka.sessions) as session:
        kind = app.state.voronka.record_kinds["person"]
        cfa.create_field(session, kind, {"label": "Segment", "type": "choice", "choices": "SMB\nEnterprise",
                                         "filterable": "1"})  # fmt: skip
        cfa.create_field(session, kind, {"label": "Nickname", "type": "text", "searchable": "1"})


def test_custom_field_filters_and_search(client, app, contacts):
    define_fields(app)
    big = contacts.person("Велика", "Компанія", **{"cf.segment": "Enterprise", "cf.nickname": "Бос"})
    small = contacts.person("Мала", "Фірма", **{"cf.segment": "SMB"})
    client.login("sales")
    page = client.get("/contacts/people", params={"cf.segment": "Enterprise"})
    assert shown(page) == [big] and 'name="cf.segment"' in page.text
    assert shown(client.get("/contacts/people", params={"cf.segment": "SMB"})) == [small]
    assert shown(client.get("/contacts/people", params={"q": "бос"})) == [big]  # a searchable field
    assert shown(client.get("/contacts/people", params={"q": "bos"})) == [big]
    exported = client.get("/contacts/people/export.csv", params={"cf.segment": "SMB", "bom": "0"})
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(exported.text))] == [small]
    # the create form has the custom fields' inputs, and their errors come back next to them
    form = client.get("/contacts/people/new")
    assert 'name="cf.segment"' in form.text and 'name="cf.nickname"' in form.text
    me = f"u:{contacts.uid('sales')}"
    bad = client.post("/contacts/people/new", data={"first_name": "Нова", "cf.segment": "Galaxy", "owner": me})
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text
    good = client.post("/contacts/people/new", data={"first_name": "Нова", "cf.segment": "SMB", "owner": me},
                       follow_redirects=False)  # fmt: skip
    assert good.status_code == 303
    assert len(shown(client.get("/contacts/people", params={"cf.segment": "SMB"}))) == 2


@pytest.mark.parametrize("query", ["Шевч", "shev", "olek", "ков", "Львів", "+380", "067 123", "olena.k@", "тов"])
def test_common_and_rare_matches_read_alike(client, app, people, monkeypatch, query):
    """A search source with many matches is tested row by row along the list's index; one with few is read
    by id and sorted. Forcing every source to count as common gives the same pages in every order."""
    add_point(app, people["ivan"], "phone", "+380 67 123 4567", "+380671234567")
    add_point(app, people["olena"], "email", "olena.k@example.com", "olena.k@example.com")
    add_point(app, people["hidden"], "phone", "+380 67 123 4567", "+380671234567")  # sales2's: never shown
    add_point(app, people["hidden"], "email", "olena.k@example.org", "olena.k@example.org")
    with write_transaction(app.state.voronka.sessions) as session:
        session.execute(insert(Address).values(party_id=people["olena"], city="Львів", city_key="lviv", position=0))
    client.login("sales")
    for sort in ("name", "-name", "-created", "updated"):
        for view in ("people", "organisations", "all"):
            url = f"/contacts/{view}"
            monkeypatch.setattr(lq, "SEARCH_PROBE", 5000)
            rare = shown(client.get(url, params={"q": query, "sort": sort}))
            monkeypatch.setattr(lq, "SEARCH_PROBE", 1)
            common = shown(client.get(url, params={"q": query, "sort": sort}))
            assert rare == common, (query, sort, view)
    assert rare  # every query finds someone in the "all" list
    kinds = [app.state.voronka.record_kinds[k] for k in ("person", "organisation")]
    with app.state.voronka.sessions() as session:
        parts = lq.search_parts(session, kinds, query, "UA", "name") or []
        assert parts and any(not p.few for p in parts)  # SEARCH_PROBE=1: sources counted as common

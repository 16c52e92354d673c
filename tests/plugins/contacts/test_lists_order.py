"""A search lists rows in the order of the key that matched (name, first name, city, e-mail, phone), each
source read along its own index and merged: every row exactly once across keyset pages, a row matched by
two sources at its smaller key, under the viewer's visibility."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from tests.plugins.contacts.test_lists import add_point, set_list_limit, shown
from voronka.core.search_keys import search_key
from voronka.core.security.users import load_user
from voronka.plugins.contacts import list_query as lq
from voronka.plugins.contacts.models import ContactPoint, Party

NEXT = re.compile(r'<a href="([^"]+)" class="next-page">')


def walk(client, url: str, params: dict) -> list[int]:
    """Every row of a list, following its "next page" links to the end."""
    page = client.get(url, params=params)
    ids = shown(page)
    for _ in range(50):
        found = NEXT.search(page.text)
        if not found:
            return ids
        page = client.get(html.unescape(found.group(1)))
        ids += shown(page)
    raise AssertionError("the pages do not end")


def expected_order(app, viewer_name: str, contacts, query: str, kind: str = "person") -> list[int]:
    """The match order worked out by hand: each visible party at its smallest matching key, then id."""
    prefix = search_key(query)
    with app.state.voronka.sessions() as session:
        uid = contacts.uid(viewer_name)
        parties = session.execute(select(Party.id, Party.name_key, Party.alt_key, Party.city_key).where(
            Party.kind == kind, Party.owner_user_id == uid, Party.deleted_at.is_(None))).all()  # fmt: skip
    keyed = []
    for row in parties:
        keys = [k for k in (row.name_key, row.alt_key, row.city_key) if k.startswith(prefix)]
        if keys:
            keyed.append((min(keys), row.id))
    return [i for _key, i in sorted(keyed)]


def olek_book(app, contacts) -> dict[str, int]:
    ids = {
        "last": contacts.person("Ірина", "Олексієнко"),  # name_key "oleksiienko iryna"
        "first": contacts.person("Олександр", "Бондар"),  # alt_key "oleksandr bondar"
        "both": contacts.person("Олексій", "Олексюк", city="Олександрія"),  # three keys of one person
        "latin": contacts.person("Oleksa", "Dovbush"),
        "city": contacts.person("Марія", "Коваль", city="Олександрія"),  # "oleksandriia"
        "city_and_name": contacts.person("Олена", "Мельник", city="Олександрія"),  # first name and city
        "other": contacts.person("Петро", "Сидоренко", city="Київ"),
        "hidden": contacts.person("Олег", "Олексенко", owner="sales2", city="Олександрія"),
    }
    for n in range(7):
        ids[f"many{n}"] = contacts.person(f"Олекса{n}", f"Прізвище{n}")
    return ids


def test_pages_list_every_match_once_in_match_order(client, app, contacts):
    ids = olek_book(app, contacts)
    set_list_limit(app, 2)
    client.login("sales")
    for query in ("olek", "Олек"):
        walked = walk(client, "/contacts/people", {"q": query})
        assert len(walked) == len(set(walked))  # exactly once across pages
        assert walked == expected_order(app, "sales", contacts, query)
        assert ids["both"] in walked and ids["city"] in walked and ids["hidden"] not in walked
        assert ids["other"] not in walked
        backwards = walk(client, "/contacts/people", {"q": query, "sort": "-name"})
        assert backwards == list(reversed(walked))
    # "oleksa dovbush" (first name) before "oleksandr bondar" (first name), though "bondar" sorts first by name
    walked = walk(client, "/contacts/people", {"q": "olek"})
    assert walked.index(ids["latin"]) < walked.index(ids["first"])


def test_sources_agree_at_any_page_size(app, contacts):
    """The merge reads each stream in batches; every page size gives the same sequence."""
    olek_book(app, contacts)
    runtime = app.state.voronka
    kinds = [runtime.record_kinds["person"], runtime.record_kinds["organisation"]]
    with runtime.sessions() as session:
        viewer = load_user(session, contacts.uid("sales"))
        params = lq.ListParams(q="olek")
        sequences = []
        for size in (1, 2, 3, 5, 50):
            seen, cursor = [], None
            while True:
                rows, more = lq.search_page(session, kinds, viewer, params, "UA", size, cursor)
                seen += [r.id for r in rows]
                if not more:
                    break
                cursor = (lq.sort_value(rows[-1], params), rows[-1].id)
            sequences.append(seen)
        assert all(s == sequences[0] for s in sequences) and len(sequences[0]) == len(set(sequences[0])) == 13


def test_two_phones_and_two_emails_of_one_party_list_it_once(client, app, contacts):
    two = contacts.person("Андрій", "Два")
    one = contacts.person("Борис", "Один")
    add_point(app, two, "phone", "+380 67 070 1111", "+380670701111")
    add_point(app, two, "phone", "+380 67 070 2222", "+380670702222")
    add_point(app, one, "phone", "+380 67 070 1500", "+380670701500")
    add_point(app, two, "email", "a@firm.ua", "a@firm.ua")
    add_point(app, two, "email", "a@firm.ua.example", "a@firm.ua.example")
    set_list_limit(app, 1)
    client.login("sales")
    assert walk(client, "/contacts/people", {"q": "067 070"}) == [two, one]  # +380670701111 < …1500
    assert walk(client, "/contacts/people", {"q": "a@firm.ua"}) == [two]
    with app.state.voronka.sessions() as session:  # both points matched: the party still comes once
        matched = session.scalars(select(ContactPoint.party_id).where(ContactPoint.value_key.startswith("a@firm.ua")))
        assert list(matched) == [two, two]


def test_all_view_merges_kinds_in_match_order(client, app, contacts):
    person = contacts.person("Олександр", "Бондар")
    org = contacts.organisation("ТОВ «Олександрія Агро»")  # alt_key "oleksandriia ahro"
    third = contacts.person("Олексій", "Ярош")
    set_list_limit(app, 1)
    client.login("sales")
    assert walk(client, "/contacts/all", {"q": "olek"}) == [person, org, third]
    # without a search the name sort stays the name sort, created/updated too
    assert shown(client.get("/contacts/all", params={"sort": "created"}))[:1] == [person]

"""The party lookup: name prefixes (either name, Cyrillic or Latin), kinds, visibility, a limit of ten."""

from __future__ import annotations

import re


def names(html: str) -> list[str]:
    return re.findall(r'class="lookup-name">([^<]+)<', html)


def test_lookup_finds_parties_by_either_name_in_both_scripts(client, contacts):
    olena = contacts.person("Олена", "Коваленко")
    contacts.person("Ivan", "Kovalchuk")
    contacts.organisation("ТОВ «Коваль»")
    contacts.person("Petro", "Bondar")
    client.login("sales")
    hits = client.hx_get("/contacts/lookup", params={"q": "koval", "kind": "person"})
    assert hits.status_code == 200 and names(hits.text) == ["Ivan Kovalchuk", "Олена Коваленко"]
    assert f'type="radio" name="party_id" value="{olena}"' in hits.text
    by_first_name = client.hx_get("/contacts/lookup", params={"q": "олен", "kind": "any", "field": "other"})
    assert names(by_first_name.text) == ["Олена Коваленко"] and 'name="other"' in by_first_name.text
    assert names(client.hx_get("/contacts/lookup", params={"q": "Коваль", "kind": "organisation"}).text) == [
        "ТОВ «Коваль»"
    ]
    assert names(client.get("/contacts/lookup", params={"other_q": "bond", "field": "other"}).text) == ["Petro Bondar"]
    assert "Nobody you can see" in client.get("/contacts/lookup", params={"q": "zzz"}).text


def test_lookup_shows_only_what_the_viewer_may_see_and_at_most_ten(client, contacts):
    contacts.person("Hidden", "Somebody", owner="operator")
    for i in range(12):
        contacts.person(f"Han{i:02d}", "Many")
    client.login("sales")
    assert names(client.get("/contacts/lookup", params={"q": "hidden"}).text) == []
    assert len(names(client.get("/contacts/lookup", params={"q": "han"}).text)) == 10
    client.login("admin")
    assert names(client.get("/contacts/lookup", params={"q": "hidden"}).text) == ["Hidden Somebody"]
    assert "<b" not in client.get("/contacts/lookup", params={"q": "han", "field": 'x"><b'}).text


def test_lookup_needs_a_login(client):
    assert "/login" in str(client.get("/contacts/lookup", params={"q": "a"}).url)

"""Search by city: the party's city key follows its city on every write, and the lists find it by a prefix
in either script, in any case, on the party row's own index (no join through the addresses)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from tests.plugins.contacts.test_lists import set_list_limit, shown
from tests.plugins.contacts.test_lists_order import walk
from voronka.plugins.contacts.city_keys import CITY_KEY_MAX, city_key
from voronka.plugins.contacts.models import Party


def test_city_key_folds_case_script_and_spaces():
    assert city_key("Київ") == city_key("київ") == city_key("KYIV") == city_key("  Kyiv ") == "kyiv"
    assert city_key("Кам'янець-Подільський") == "kamianets-podilskyi"
    assert city_key("Біла  Церква") == "bila tserkva"
    assert city_key("") == city_key(None) == ""
    assert len(city_key("Щ" * 120)) == CITY_KEY_MAX  # щ folds to four letters: cut to the column


def city_key_of(contacts, party_id: int) -> str:
    with contacts.runtime.sessions() as session:
        return session.scalar(select(Party.city_key).where(Party.id == party_id))


def test_the_key_follows_the_city_on_create_edit_and_clear(contacts):
    pid = contacts.person("Олена", "Пчілка", city="Гадяч")
    assert city_key_of(contacts, pid) == "hadiach"
    contacts.save("person", pid, {"job_title": "Письменниця"})  # another field: the key stays
    assert city_key_of(contacts, pid) == "hadiach"
    contacts.save("person", pid, {"city": "Київ"})
    assert city_key_of(contacts, pid) == "kyiv"
    contacts.save("person", pid, {"city": ""})
    assert city_key_of(contacts, pid) == ""
    org = contacts.organisation("ТОВ «Карпати Агро»", city="Ужгород")
    assert city_key_of(contacts, org) == "uzhhorod"


@pytest.fixture
def towns(contacts):
    return {
        "kyiv": contacts.person("Леся", "Українка", city="Київ"),
        "kyiv_latin": contacts.person("Ivan", "Petrenko", city="Kyiv"),
        "kyivska": contacts.person("Олег", "Ярмола", city="Київська Русь"),
        "lviv": contacts.person("Іван", "Франко", city="Львів"),
        "hidden": contacts.person("Петро", "Сховний", owner="sales2", city="Київ"),
        "org": contacts.organisation("ТОВ «Дніпро Буд»", city="Київ"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Київ", {"kyiv", "kyiv_latin", "kyivska"}),
        ("київ", {"kyiv", "kyiv_latin", "kyivska"}),
        ("kyiv", {"kyiv", "kyiv_latin", "kyivska"}),
        ("Kyiv", {"kyiv", "kyiv_latin", "kyivska"}),
        ("Ки", {"kyiv", "kyiv_latin", "kyivska"}),
        ("київська", {"kyivska"}),
        ("lviv", {"lviv"}),
        ("Львів", {"lviv"}),
        ("Одеса", set()),
    ],
)
def test_people_are_found_by_their_city_in_every_order(client, towns, query, expected):
    client.login("sales")
    for sort in ("name", "-name", "created", "-updated"):
        found = shown(client.get("/contacts/people", params={"q": query, "sort": sort}))
        assert len(found) == len(set(found)) and set(found) == {towns[k] for k in expected}, (query, sort)


def test_organisations_and_the_all_list_by_city(client, towns):
    client.login("sales")
    assert shown(client.get("/contacts/organisations", params={"q": "kyiv"})) == [towns["org"]]
    everyone = shown(client.get("/contacts/all", params={"q": "Київ"}))
    assert set(everyone) == {towns[k] for k in ("kyiv", "kyiv_latin", "kyivska", "org")}
    client.login("admin")  # sees sales2's too
    assert towns["hidden"] in shown(client.get("/contacts/people", params={"q": "kyiv"}))


def test_a_city_search_pages_in_key_order(client, app, towns):
    """Cities "Київ" and "Kyiv" share a key: ties go by id; "kyivska rus" comes after them."""
    set_list_limit(app, 1)
    client.login("sales")
    in_order = [towns["kyiv"], towns["kyiv_latin"], towns["kyivska"]]
    assert walk(client, "/contacts/people", {"q": "kyiv"}) == in_order
    assert walk(client, "/contacts/people", {"q": "kyiv", "sort": "-name"}) == in_order[::-1]


def test_a_city_search_reads_the_party_index_not_the_addresses(client, app, towns):
    """The list and its count read ``contacts_party`` by ``(kind, city_key, id)``: no statement of a search
    by city touches ``contacts_address`` (a join there walked every address in the city)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = app.state.voronka.engine
    client.login("sales")
    event.listen(engine, "before_cursor_execute", record)
    try:
        for sort in ("name", "created"):
            assert shown(client.get("/contacts/people", params={"q": "Київ", "sort": sort}))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    searches = [s for s in statements if "city_key" in s]
    assert searches and not any("contacts_address" in s for s in statements)

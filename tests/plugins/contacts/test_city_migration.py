"""Migration contacts_0003 on both engines: parties that existed before it get their city key, the search
index replaces the old one, and going down and up again keeps every party and the rows pointing at it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy import func, inspect, select

from tests.plugins.contacts.test_lists import shown
from voronka.plugins.contacts.city_keys import city_key
from voronka.plugins.contacts.models import Address, ContactPoint, Party

VERSIONS = Path(__file__).resolve().parents[3] / "plugins" / "contacts" / "migrations" / "versions"


def migration():
    path = VERSIONS / "contacts_0003_party_city_key.py"
    spec = importlib.util.spec_from_file_location("contacts_0003_party_city_key", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def party_indexes(engine) -> set[str]:
    return {ix["name"] for ix in inspect(engine).get_indexes("contacts_party")}


def test_upgrade_fills_the_city_key_of_existing_parties(app, contacts, client):
    cities = ["Київ", "Кам'янець-Подільський", "New York", "  Біла  Церква ", "", "Київ"]
    ids = [contacts.person(f"Особа{n}", "Тест", city=city) for n, city in enumerate(cities)]
    ids.append(contacts.organisation("ТОВ «Поділля Агро»", city="Вінниця"))
    runtime = app.state.voronka
    engine, migrator = runtime.engine, runtime.migrator
    with runtime.sessions() as session:
        before = session.execute(select(Party.id, Party.city).order_by(Party.id)).all()
        points, addresses = (session.scalar(select(func.count()).select_from(t)) for t in (ContactPoint, Address))

    migrator.downgrade("contacts_0002")  # the schema as it was: no city key, the old index
    columns = {c["name"] for c in inspect(engine).get_columns("contacts_party")}
    assert "city_key" not in columns and "city" in columns
    assert "ix_contacts_party_kind_city" in party_indexes(engine)

    assert migrator.upgrade(["contacts"]) == {}
    assert "ix_contacts_party_kind_city_key" in party_indexes(engine)
    assert "ix_contacts_party_kind_city" not in party_indexes(engine)
    with runtime.sessions() as session:
        after = session.execute(select(Party.id, Party.city, Party.city_key).order_by(Party.id)).all()
        assert [(r.id, r.city) for r in after] == [tuple(r) for r in before]  # every party kept as it was
        assert all(r.city_key == city_key(r.city) for r in after)
        assert [r.city_key for r in after if r.id in ids] == ["kyiv", "kamianets-podilskyi", "new york",
                                                              "bila tserkva", "", "kyiv", "vinnytsia"]  # fmt: skip
        assert session.scalar(select(func.count()).select_from(ContactPoint)) == points  # no cascade on the way
        assert session.scalar(select(func.count()).select_from(Address)) == addresses
    client.login("sales")
    assert shown(client.get("/contacts/people", params={"q": "kyiv"})) == [ids[0], ids[5]]


def test_the_fill_goes_batch_by_batch(app, contacts):
    """Batches of two ids, with a gap in the ids and more distinct cities than one UPDATE takes."""
    ids = [contacts.person(f"Особа{n}", "Партія", city=f"Місто{n % 5}") for n in range(9)]
    contacts.save("person", ids[3], {"city": "Суми"})
    runtime = app.state.voronka
    module = migration()
    with runtime.engine.begin() as conn:
        conn.execute(Party.__table__.update().values(city_key=""))
        conn.execute(Party.__table__.delete().where(Party.id == ids[4]))
    module.CITIES_PER_UPDATE = 2
    with runtime.engine.begin() as conn:
        assert module.fill_city_keys(conn, batch=2) == 8
    with runtime.sessions() as session:
        rows = session.execute(select(Party.city, Party.city_key)).all()
    assert len(rows) == 8 and all(key == city_key(city) and key for city, key in rows)
    assert ("Суми", "sumy") in rows and ("Місто1", "misto1") in rows

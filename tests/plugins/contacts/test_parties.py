"""People and organisations on one party table: kinds, names and search keys on every write path."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from voronka.core.db import Base, write_transaction
from voronka.core.errors import ValidationError
from voronka.core.writes import save_batch
from voronka.plugins.contacts.models import Organisation, Party, Person
from voronka.plugins.contacts.parties import bare_organisation_name, split_name


def test_contacts_registers_its_kinds(app):
    kinds = app.state.voronka.record_kinds
    assert {"person", "organisation", "relationship", "activity"} <= set(kinds)
    assert kinds["person"].plugin == "contacts" and kinds["person"].url_for(5) == "/contacts/5"


def test_models_match_the_migrations(app):
    with app.state.voronka.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if "contacts_" in repr(d)]
    assert ours == []


def test_people_and_organisations_share_the_party_table(contacts):
    olena = contacts.person("Олена", "Коваленко", job_title="Бухгалтер")
    acme = contacts.organisation("ТОВ «Ромашка»")
    person, org = contacts.get(Party, olena), contacts.get(Party, acme)
    assert isinstance(person, Person) and person.kind == "person" and person.name == "Олена Коваленко"
    assert person.name_key == "kovalenko olena" and person.alt_key == "olena kovalenko"
    assert isinstance(org, Organisation) and org.name_key.startswith("tov") and org.alt_key == "romashka"


def test_a_whole_name_is_split_and_a_party_needs_a_name(contacts):
    pid = contacts.save("person", None, {"name": "Тарас Григорович Шевченко", "owner_user_id": contacts.uid("sales")})
    taras = contacts.get(Party, pid)
    assert (taras.first_name, taras.middle_name, taras.last_name) == ("Тарас", "Григорович", "Шевченко")
    with pytest.raises(ValidationError) as nameless:
        contacts.person("", "")
    assert "first_name" in nameless.value.errors
    with pytest.raises(ValidationError):
        contacts.organisation("   ")


def test_a_batch_of_people_and_organisations_gets_distinct_ids(contacts, app):
    """Both kinds live in one table: ids assigned for a batch of one kind never collide with the other's."""
    contacts.organisation("First Org")
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        rows = [(None, {"first_name": f"P{i}", "last_name": "Batch"}) for i in range(5)]
        people = save_batch(session, runtime.record_kinds["person"], rows, actor=None)
    with write_transaction(runtime.sessions) as session:
        rows = [(None, {"name": f"Org {i}"}) for i in range(5)]
        orgs = save_batch(session, runtime.record_kinds["organisation"], rows, actor=None)
    ids = [o.record_id for o in people + orgs]
    assert all(o.outcome == "created" for o in people + orgs) and len(set(ids)) == 10
    with runtime.sessions() as session:
        assert session.scalar(select(Party.kind).where(Party.id == ids[-1])) == "organisation"


def test_name_helpers():
    assert split_name("Olena Kovalenko") == {"first_name": "Olena", "middle_name": "", "last_name": "Kovalenko"}
    assert bare_organisation_name("Acme Ltd.") == "Acme"
    assert bare_organisation_name("ТОВ «Ромашка»") == "Ромашка"
    assert bare_organisation_name("Globex LLC") == "Globex"

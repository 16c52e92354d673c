"""Contacts' demo data: deterministic, consistent with the write path's rules, and sound as a graph.

Every test runs on SQLite and PostgreSQL (executemany there, COPY here) at a small plan.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

import phonenumbers
import pytest
from sqlalchemy import delete, func, inspect, select, text

from voronka.core.db import write_transaction
from voronka.core.models import User
from voronka.core.search_keys import search_key
from voronka.core.seeding import SeedContext, seed_plugins
from voronka.core.types import utcnow
from voronka.plugins.contacts.city_keys import city_key
from voronka.plugins.contacts.models import (
    Activity,
    ActivityParticipant,
    Address,
    ContactPoint,
    Party,
    Relationship,
    RelationshipType,
)
from voronka.plugins.contacts.parties import keys_for
from voronka.plugins.contacts.seed import Plan, seed_plan
from voronka.web import seed_core

SMALL = Plan(parties=600, relationships=1200, activities=3000)
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def seeded(app: Any, seed: int = 7, plan: Plan = SMALL, core: dict[str, list[int]] | None = None) -> SeedContext:
    """Core's organisation (unless ``core`` ids are given) and contacts' ``plan`` with ``seed``."""
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        ctx = SeedContext(engine=runtime.engine, session=session, rng=random.Random(seed), language="uk")
        if core is None:
            seed_core.seed_core(ctx)
        else:
            ctx.ids.update(core)
        ctx.ids["contacts.counts"] = list(seed_plan(ctx, plan).values())
    return ctx


def snapshot(session: Any, ids: list[int]) -> list[tuple[Any, ...]]:
    """The seeded parties as data, without their ids."""
    rows = session.execute(
        select(Party.kind, Party.name, Party.name_key, Party.alt_key, Party.job_title, Party.primary_email,
               Party.primary_phone, Party.city, Party.birthday, Party.owner_user_id, Party.owner_team_id)
        .where(Party.id.in_(ids)).order_by(Party.id)
    ).all()  # fmt: skip
    return [tuple(row) for row in rows]


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(app):
    first = seeded(app, seed=7)
    core = {key: value for key, value in first.ids.items() if key.startswith("core.")}
    again = seeded(app, seed=7, core=core)
    other = seeded(app, seed=8, core=core)
    with app.state.voronka.sessions() as session:
        ids = [first.ids["contacts.organisations"] + first.ids["contacts.people"]]
        ids.append(again.ids["contacts.organisations"] + again.ids["contacts.people"])
        ids.append(other.ids["contacts.organisations"] + other.ids["contacts.people"])
        assert not set(ids[0]) & set(ids[1])
        a, b, c = (snapshot(session, group) for group in ids)
        assert len(a) == SMALL.parties and a == b
        assert a != c and len(c) == SMALL.parties
        assert first.ids["contacts.counts"] == again.ids["contacts.counts"]

        def ties(group: list[int]) -> list[tuple[int, int, int]]:
            position = {party_id: n for n, party_id in enumerate(group)}
            found = session.execute(
                select(Relationship.type_id, Relationship.a_id, Relationship.b_id)
                .where(Relationship.a_id.in_(group)).order_by(Relationship.id)
            ).all()  # fmt: skip
            return [(t, position[x], position[y]) for t, x, y in found]

        assert ties(ids[0]) == ties(ids[1]) and len(ties(ids[0])) > SMALL.parties


def test_names_and_search_keys_are_what_the_write_path_makes(app):
    ctx = seeded(app)
    with app.state.voronka.sessions() as session:
        parties = session.scalars(select(Party)).all()
        assert len(parties) == SMALL.parties
        for party in parties:
            assert (party.name_key, party.alt_key) == keys_for(party), party.name
            assert party.city and party.city_key == city_key(party.city), party.city
            assert party.version == 1 and party.custom == {} and party.deleted_at is None
            assert party.created_at <= party.updated_at <= utcnow()
        people = [p for p in parties if p.kind == "person"]
        orgs = [p for p in parties if p.kind == "organisation"]
        assert len(orgs) == len(ctx.ids["contacts.organisations"]) == 150
        cyrillic = [p for p in people if re.search("[а-яіїєґ]", p.name, re.I)]
        assert 0.5 * len(people) < len(cyrillic) < len(people)  # Ukrainian first, English too (language uk)
        assert any(p.middle_name.endswith(("вич", "івна", "ївна")) for p in cyrillic)  # patronymics
        assert any(p.last_name.endswith("ська") for p in cyrillic) or any(p.last_name.endswith("ова") for p in cyrillic)
        assert all(p.first_name and p.last_name and p.name == f"{p.first_name} {p.middle_name} {p.last_name}"
                   .replace("  ", " ") for p in people)  # fmt: skip
        assert sum(1 for p in people if p.birthday) > 0.2 * len(people)
        assert sum(1 for p in people if p.job_title) > 0.6 * len(people)
        assert any(o.name.startswith(("ТОВ «", "ПП «", "ФОП ")) for o in orgs)
        assert any(o.name.endswith(("Ltd", "LLC", "Inc.", "PLC", "Limited", "Corp.")) for o in orgs)
        assert all(o.legal_name and o.registration_no and o.industry and o.primary_email for o in orgs)
        assert {p.country for p in parties} == {"UA", "GB", "US"}


def test_owners_are_the_sales_people_and_each_has_a_few_hundred_parties_at_scale_1(app):
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        ctx = SeedContext(engine=runtime.engine, session=session, scale=1, language="en")
        seed_core.seed_core(ctx)
        [contacts] = [p for p in seed_plugins(runtime.host, ctx) if p.plugin == "contacts"]
    assert contacts.rows > 20_000 and contacts.seconds > 0
    assert len(ctx.ids["contacts.people"]) + len(ctx.ids["contacts.organisations"]) == 1500
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == Plan.for_scale(1).activities
        by_owner = Counter(session.scalars(select(Party.owner_user_id)).all())
        queue_owned = session.scalar(select(func.count()).where(Party.owner_team_id.is_not(None)))
    sales = ctx.ids["core.sales"]
    assert set(by_owner) - {None} == set(sales)
    assert all(150 < by_owner[user] < 400 for user in sales), by_owner
    assert by_owner[None] == queue_owned and 0 < queue_owned < 100


def test_contact_points_and_addresses_are_normalised_and_follow_the_party(app):
    seeded(app)
    with app.state.voronka.sessions() as session:
        points = session.scalars(select(ContactPoint)).all()
        parties = {p.id: p for p in session.scalars(select(Party))}
        primary = {(p.party_id, p.channel): p for p in points if p.is_primary}
        assert len(primary) == sum(1 for p in points if p.is_primary)  # one primary per channel
        for point in points:
            assert point.party_id in parties
            if point.channel == "email":
                assert point.value_key == point.value.lower() and "@" in point.value
            elif point.channel == "phone":
                assert E164.match(point.value_key), point.value_key
                assert point.value_key == "+" + "".join(ch for ch in point.value if ch.isdigit())
                number = phonenumbers.parse(point.value_key)
                assert phonenumbers.is_possible_number(number), point.value
        for party in parties.values():
            assert primary[(party.id, "phone")].value_key == party.primary_phone
            if party.primary_email:
                assert primary[(party.id, "email")].value == party.primary_email
        ua = [p for p in parties.values() if p.country == "UA"]
        assert all(p.primary_phone.startswith("+380") and len(p.primary_phone) == 13 for p in ua)
        addresses = session.scalars(select(Address)).all()
        orgs = {p.id for p in parties.values() if p.kind == "organisation"}
        assert orgs <= {a.party_id for a in addresses}
        assert all(a.street and a.city and a.postcode and a.country for a in addresses)
        assert all(a.city_key == search_key(a.city) for a in addresses)
        assert any(a.city_key == "kyiv" for a in addresses)


def test_relationships_are_sound_and_holdings_have_no_cycles(app):
    seeded(app)
    with app.state.voronka.sessions() as session:
        kinds = dict(session.execute(select(Party.id, Party.kind)).all())
        types = {t.id: t for t in session.scalars(select(RelationshipType))}
        ties = session.scalars(select(Relationship)).all()
        assert len(ties) >= SMALL.relationships
        used = Counter(types[t.type_id].key for t in ties)
        for key in ("employment", "subsidiary", "decision_maker", "influencer", "spouse", "child", "colleague"):
            assert used[key] > 0, (key, used)
        for tie in ties:
            assert tie.a_id in kinds and tie.b_id in kinds and tie.a_id != tie.b_id
            kind = types[tie.type_id]
            assert kind.a_kinds in ("any", kinds[tie.a_id]) and kind.b_kinds in ("any", kinds[tie.b_id]), kind.key
            assert tie.valid_to is None or tie.valid_from is None or tie.valid_from <= tie.valid_to
        parent: dict[int, int] = {}
        for tie in ties:
            if types[tie.type_id].key == "subsidiary":
                assert tie.a_id not in parent  # one parent company each
                parent[tie.a_id] = tie.b_id
        depth = 0
        for org in parent:
            seen, at = {org}, org
            while at in parent:
                at = parent[at]
                assert at not in seen, "a cycle in a holding"
                seen.add(at)
            depth = max(depth, len(seen))
        assert depth >= 3  # parent → subsidiary → its subsidiary
        employed = {t.a_id for t in ties if types[t.type_id].key == "employment" and t.valid_to is None}
        deciders = {t.a_id for t in ties if types[t.type_id].key == "decision_maker"}
        assert deciders <= employed


def test_a_missing_relationship_type_is_skipped(app):
    with write_transaction(app.state.voronka.sessions) as session:
        session.execute(delete(RelationshipType).where(RelationshipType.key.in_(["spouse", "colleague"])))
    seeded(app, plan=Plan(300, 600, 500))
    with app.state.voronka.sessions() as session:
        keys = set(session.scalars(select(RelationshipType.key).join(Relationship)).all())
        assert {"employment", "child"} <= keys and not {"spouse", "colleague"} & keys
        assert session.scalar(select(func.count()).select_from(Relationship)) >= 600  # friends fill up instead


def test_activities_reference_parties_and_every_sales_person_has_open_tasks(app):
    ctx = seeded(app)
    now = utcnow()
    with app.state.voronka.sessions() as session:
        kinds = dict(session.execute(select(Party.id, Party.kind)).all())
        activities = session.execute(
            select(Activity.id, Activity.type, Activity.ref_kind, Activity.ref_id, Activity.occurred_at,
                   Activity.due_at, Activity.done, Activity.done_at, Activity.owner_user_id)
        ).all()  # fmt: skip
        assert len(activities) == SMALL.activities
        assert {a.type for a in activities} == {"note", "call", "meeting", "task"}
        for a in activities:
            assert kinds[a.ref_id] == a.ref_kind
            assert a.owner_user_id is not None
            if a.type == "task":
                assert a.due_at == a.occurred_at and a.done == (a.done_at is not None)
        stale = [a for a in activities if a.type == "task" and not a.done and (now - a.due_at).days > 14]
        assert stale == []  # a demo user's overdue list holds the last fortnight, not two years of debris
        times = [a.occurred_at for a in activities]
        assert (now - min(times)).days > 600 and max(times) > now  # two years back, some planned ahead
        for user in ctx.ids["core.sales"]:
            open_soon = [a for a in activities if a.owner_user_id == user and a.type == "task" and not a.done
                         and now < a.due_at < now.replace(year=now.year + 1)]  # fmt: skip
            overdue = [a for a in activities if a.owner_user_id == user and a.type == "task" and not a.done
                       and a.due_at < now]  # fmt: skip
            assert len(open_soon) >= 4 and overdue, user
        ids = {a.id for a in activities}
        participants = session.scalars(select(ActivityParticipant)).all()
        with_people = {p.activity_id for p in participants}
        assert with_people <= ids and 0.05 * len(ids) < len(with_people) < 0.2 * len(ids)
        users = set(session.scalars(select(User.id)))
        for p in participants:
            assert (p.party_id is None) != (p.user_id is None)
            assert p.party_id is None or kinds[p.party_id] == "person"
            assert p.user_id is None or p.user_id in users


@pytest.mark.parametrize("language", ["uk", "en"])
def test_the_demo_command_seeds_contacts(engine: str, db_url: str, tmp_path: Any, monkeypatch, language: str):
    import os

    from typer.testing import CliRunner

    from voronka.core.config import Settings
    from voronka.core.db import make_engine, make_sessionmaker
    from voronka.web.cli import create_cli, render_config

    if engine == "postgresql" and language == "en":
        pytest.skip("one language is enough on the second engine")
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("VORONKA_") and not n.startswith("VORONKA_TEST_")]:
        monkeypatch.delenv(name)
    config = tmp_path / "voronka.toml"
    settings = Settings(database_url=db_url, secret_key="x" * 32, default_language=language)
    config.write_text(render_config(settings), encoding="utf-8")
    result = CliRunner().invoke(create_cli(), ["--config", str(config), "demo", "--scale", "1"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "contacts: seeded" in line)
    assert "rows/s" in line
    db = make_engine(db_url)
    try:
        with make_sessionmaker(db)() as session:
            # contacts seeds 1,500; leads (when installed) qualifies a few demo leads into new customers
            qualified = 0
            if inspect(db).has_table("leads_outcome"):
                qualified = session.scalar(text("SELECT count(*) FROM leads_outcome WHERE created "
                                                "AND kind IN ('person', 'organisation')"))  # fmt: skip
            assert session.scalar(select(func.count()).select_from(Party)) == 1500 + qualified
            names = session.scalars(select(Party.name).where(Party.kind == "person")).all()
            cyrillic = sum(1 for n in names if re.search("[а-яіїєґ]", n, re.I))
            assert (cyrillic > 0.6 * len(names)) == (language == "uk")
    finally:
        db.dispose()

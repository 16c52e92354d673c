"""A batch of relationships (an import's links) is checked against what ``before_save_batch`` loaded once:
each row is refused exactly as a single save of it would be, a duplicate, a kind mismatch or a holding loop
made of two rows of the same batch included, in a number of queries that does not grow with the rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, func, select

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.writes import save, save_batch
from voronka.plugins.contacts.models import Relationship, RelationshipType

NAMES = ("Olena", "Ivan", "Acme", "Globex", "Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta")
ROWS = [
    ("Olena", "employment", "Acme", {}),
    ("Olena", "employment", "Acme", {}),  # the row above again: refused inside the batch
    ("Acme", "employment", "Olena", {}),  # a person's role taken by an organisation
    ("Olena", "employment", "Olena", {}),  # a tie to itself
    ("Ivan", "friend", "Olena", {}),  # a symmetric tie the other way round of a stored one
    ("Ivan", "employment", "Globex", {"valid_to": dt.date(2019, 12, 31)}),
    ("Ivan", "employment", "Globex", {"valid_from": dt.date(2020, 1, 1)}),  # after the row above ended: fine
    ("Ivan", "employment", "Globex", {"valid_from": dt.date(2019, 6, 1)}),  # overlaps both rows above
    ("Alpha", "subsidiary", "Beta", {}),
    ("Beta", "subsidiary", "Gamma", {}),
    ("Gamma", "subsidiary", "Alpha", {}),  # Alpha → Beta → Gamma → Alpha: a loop through two rows of this batch
    ("Delta", "subsidiary", "Alpha", {}),
    ("Gamma", "subsidiary", "Delta", {}),  # Delta → Alpha → Beta → Gamma → Delta: a loop through three
    ("Delta", "subsidiary", "Acme", {"valid_to": dt.date(2001, 1, 1)}),  # ended: no loop to look for
    ("Epsilon", "subsidiary", "Alpha", {}),
    ("Gamma", "subsidiary", "Zeta", {}),  # Zeta → Epsilon (stored) → Alpha → Beta → Gamma → Zeta
    ("Olena", "employment", "Nobody", {}),  # a party that does not exist
    ("Olena", "employment", "Acme", {"valid_from": "2024-13-01"}),  # a bad date
]
REFUSED = {1, 2, 3, 4, 7, 10, 12, 15, 16, 17}


def world(contacts: Any) -> dict[str, int]:
    """The parties of :data:`ROWS` and two stored ties: Olena and Ivan are friends, Zeta belongs to Epsilon."""
    ids = {name: contacts.person(name, "K") for name in ("Olena", "Ivan")}
    ids |= {name: contacts.organisation(name) for name in NAMES[2:]}
    ids["Nobody"] = 10_000_000
    contacts.save("relationship", None, {"type_id": type_id(contacts, "friend"), "a_id": ids["Olena"],
                                         "b_id": ids["Ivan"]})  # fmt: skip
    contacts.save("relationship", None, {"type_id": type_id(contacts, "subsidiary"), "a_id": ids["Zeta"],
                                         "b_id": ids["Epsilon"]})  # fmt: skip
    return ids


def type_id(contacts: Any, key: str) -> int:
    with contacts.runtime.sessions() as session:
        return session.scalar(select(RelationshipType.id).where(RelationshipType.key == key))


def values_of(contacts: Any, ids: dict[str, int]) -> list[dict[str, Any]]:
    return [{"type_id": type_id(contacts, key), "a_id": ids[a], "b_id": ids[b], **extra} for a, key, b, extra in ROWS]


def singles(contacts: Any, rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each row saved on its own, in its own transaction: its errors ({} when saved)."""
    found = []
    for values in rows:
        try:
            contacts.save("relationship", None, values)
        except ValidationError as exc:
            found.append(exc.errors)
        else:
            found.append({})
    return found


def count_queries(contacts: Any, run: Any) -> tuple[Any, list[str]]:
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(contacts.runtime.engine, "before_cursor_execute", listen)
    try:
        return run(), seen
    finally:
        event.remove(contacts.runtime.engine, "before_cursor_execute", listen)


def test_a_batch_refuses_each_row_exactly_as_single_saves_do(contacts):
    one, two = world(contacts), world(contacts)
    expected = singles(contacts, values_of(contacts, two))
    assert {i for i, errors in enumerate(expected) if errors} == REFUSED  # the rows say what they mean
    assert "already have this relationship" in expected[1]["b_id"] and expected[4] == expected[1]
    assert expected[2] == {"a_id": "“Employee” must be a person.", "b_id": "“Employer” must be an organisation."}
    assert "loop in the holding structure" in expected[10]["b_id"] and expected[12] == expected[15] == expected[10]
    kind = contacts.kind("relationship")
    with write_transaction(contacts.runtime.sessions) as session:
        outcomes = save_batch(session, kind, [(None, v) for v in values_of(contacts, one)], actor=contacts.uid("sales"))
    assert [o.errors for o in outcomes] == expected
    assert [o.outcome for o in outcomes] == ["failed" if i in REFUSED else "created" for i in range(len(ROWS))]
    with contacts.runtime.sessions() as session:
        stored = session.scalar(
            select(func.count()).select_from(Relationship).where(Relationship.a_id.in_(one.values()))
        )
    assert stored == 2 + len(ROWS) - len(REFUSED)


def test_a_row_refused_after_the_rules_passed_it_does_not_count_against_later_rows(contacts):
    """Another rule (here: a bad date) refuses a row the duplicate check let through; the same tie in a later
    row of the batch is then the first one, and is saved."""
    olena, acme = contacts.person("Olena", "K"), contacts.organisation("Acme")
    employment = type_id(contacts, "employment")
    rows = [(None, {"type_id": employment, "a_id": olena, "b_id": acme, "valid_to": "someday"}),
            (None, {"type_id": employment, "a_id": olena, "b_id": acme})]  # fmt: skip
    with write_transaction(contacts.runtime.sessions) as session:
        outcomes = save_batch(session, contacts.kind("relationship"), rows, actor=contacts.uid("sales"))
    assert [o.outcome for o in outcomes] == ["failed", "created"]


def test_the_rules_of_a_batch_cost_a_few_queries_whatever_its_size(contacts):
    """Checking 11 ties or 65 asks the database the same number of times (types, kinds, stored ties, the
    holding climb); single saves keep asking per tie."""
    people = [contacts.person(f"P{i}", "K") for i in range(60)]
    firms = [contacts.organisation(f"Firm {i}") for i in range(6)]
    employment, subsidiary = type_id(contacts, "employment"), type_id(contacts, "subsidiary")
    sales = contacts.uid("sales")

    def batch(n: int) -> Any:
        rows = [(None, {"type_id": employment, "a_id": p, "b_id": firms[i % 6]}) for i, p in enumerate(people[:n])]
        rows += [
            (None, {"type_id": subsidiary, "a_id": firms[i], "b_id": firms[i + 1]}) for i in range(max(1, n // 12))
        ]
        with write_transaction(contacts.runtime.sessions) as session:
            return save_batch(session, contacts.kind("relationship"), rows, actor=sales)

    with write_transaction(contacts.runtime.sessions) as session:
        session.execute(Relationship.__table__.delete())
    small, small_queries = count_queries(contacts, lambda: batch(10))
    with write_transaction(contacts.runtime.sessions) as session:
        session.execute(Relationship.__table__.delete())
    large, large_queries = count_queries(contacts, lambda: batch(60))
    assert all(o.outcome == "created" for o in (*small, *large))
    # (a large batch's audit rows may go by COPY on PostgreSQL, which no statement event sees: at most as many)
    assert len(large) == 65 and len(large_queries) <= len(small_queries), (small_queries, large_queries)

    def one_by_one() -> None:
        with write_transaction(contacts.runtime.sessions) as session:
            for p in people[:10]:
                save(session, contacts.kind("relationship"), None, {"type_id": employment, "a_id": p,
                                                                    "b_id": other}, actor=sales)  # fmt: skip

    other = contacts.organisation("Other Firm")
    _nothing, single_queries = count_queries(contacts, one_by_one)
    assert len(single_queries) > len(small_queries)


@pytest.mark.parametrize("existing", [False, True])
def test_a_batch_that_changes_stored_ties_keeps_the_single_checks(contacts, existing):
    """Updates are not primed (a tie's own stored row must not count against it): a loop made by changing a
    stored tie's end is still refused, and a harmless change saved."""
    a, b, c = (contacts.organisation(name) for name in ("Alpha", "Beta", "Gamma"))
    subsidiary = type_id(contacts, "subsidiary")
    contacts.save("relationship", None, {"type_id": subsidiary, "a_id": a, "b_id": b})
    contacts.save("relationship", None, {"type_id": subsidiary, "a_id": b, "b_id": c})
    ended = {"valid_from": dt.date(2000, 1, 1), "valid_to": dt.date(2001, 1, 1)}
    loop = contacts.save("relationship", None, {"type_id": subsidiary, "a_id": c, "b_id": a, **ended})
    rows = [(loop, {"valid_to": None} if existing else {"note": "kept"})]
    with write_transaction(contacts.runtime.sessions) as session:
        outcomes = save_batch(session, contacts.kind("relationship"), rows, actor=contacts.uid("sales"))
    if existing:
        assert outcomes[0].outcome == "failed" and "loop" in outcomes[0].errors["b_id"]
    else:
        assert outcomes[0].outcome == "updated"

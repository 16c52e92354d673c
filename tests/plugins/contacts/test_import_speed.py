"""Import speed (issue 4): the duplicate matcher asked for a whole batch answers exactly as asked row by row,
and a people import asks it a bounded number of queries per batch, not some per row."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from sqlalchemy import event, select

from voronka.core.db import write_transaction
from voronka.core.imports import create_import, run_import, start_import
from voronka.plugins.contacts.duplicate_pages import party_values
from voronka.plugins.contacts.duplicates import candidates_many, matches
from voronka.plugins.contacts.models import Party

from .test_duplicates import PAIRS, insert_side


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app(run_jobs_in_server=False)


def test_batched_candidates_equal_row_by_row_on_the_committed_pairs(contacts):
    """Every pair of the matcher's quality set is written; each side's values, asked in one batch, get the
    same candidates in the same order as :func:`matches` row by row (so the batch keeps its quality)."""
    with PAIRS.open(encoding="utf-8") as pairs:
        rows = list(csv.DictReader(pairs))
    owner = contacts.uid("sales")
    with write_transaction(contacts.runtime.sessions) as session:
        ids = []
        for row in rows:
            orgs: dict[str, int] = {}
            ids += [(row["kind"], insert_side(session, contacts, row, side, orgs, owner)) for side in ("a", "b")]
    with contacts.runtime.sessions() as session:
        for kind in ("person", "organisation"):
            values = [party_values(session, session.get(Party, i)) for k, i in ids if k == kind]
            if kind == "person":  # the organisation by name too, as a file with a company column gives it
                values += [{**v, "organisation_ids": [], "company": org} for v in values[:40] for org in ("Ромашка",)]
                values += [{"first_name": r["b_first"], "last_name": r["b_last"], "company": r["b_org"]}
                           for r in rows if r["kind"] == "person" and r["b_org"]]  # fmt: skip
            one_by_one = [[m.party_id for m in matches(session, kind, v)] for v in values]
            batched = candidates_many(session, kind, values)
            assert batched == one_by_one
            assert sum(1 for found in batched if len(found) > 1) >= 10  # the pairs do match each other


def people_csv(n: int, start: int = 0) -> bytes:
    lines = ["First name,Last name,Email,Phone,City,Company"]
    for i in range(start, start + n):
        lines.append(f"Name{i},Surname{i},person{i}@example.com,+38067{i:07d},Київ,Firm {i % 7}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def import_people(contacts: Any, data: bytes, mode: str) -> Any:
    mapping = ["first_name", "last_name", "primary_email", "primary_phone", "city", "employer"]
    with write_transaction(contacts.runtime.sessions) as session:
        kinds = contacts.runtime.record_kinds
        imp = create_import(session, kinds, contacts.viewer("sales"), "person", "p.csv", data)
        start_import(session, kinds, imp, contacts.viewer("sales"), mapping=mapping, duplicates=mode, dry_run=False)
        import_id = imp.id
    return run_import(contacts.runtime.sessions, contacts.runtime.record_kinds, import_id, target_seconds=30)


def count_statements(contacts: Any, run: Any) -> tuple[Any, int]:
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(contacts.runtime.engine, "before_cursor_execute", listen)
    try:
        return run(), len(seen)
    finally:
        event.remove(contacts.runtime.engine, "before_cursor_execute", listen)


def test_people_import_skips_duplicates_with_a_bounded_number_of_queries(contacts):
    """200 people, then the same 200 again with 200 new ones: the repeats are skipped (found by e-mail and
    phone), the employers exist once each; and twice the rows costs no more statements per batch."""
    first, small = count_statements(contacts, lambda: import_people(contacts, people_csv(200), "skip"))
    assert (first.status, first.created, first.skipped, first.failed) == ("done", 200, 0, 0)
    again, large = count_statements(contacts, lambda: import_people(contacts, people_csv(400), "skip"))
    assert (again.status, again.created, again.skipped, again.failed) == ("done", 200, 200, 0)
    with contacts.runtime.sessions() as session:
        firms = session.scalars(select(Party.name).where(Party.kind == "organisation", Party.name.like("Firm %")))
        assert sorted(firms) == [f"Firm {i}" for i in range(7)]
        people = session.scalar(select(Party.id).where(Party.primary_email == "person399@example.com"))
        assert people is not None
    # per-row queries would add hundreds of statements for the 200 extra rows; a batched import adds few
    assert large < small + 100, (small, large)

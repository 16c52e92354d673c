"""A people import asks the database a fixed number of times per batch, whatever the batch holds: the
employer's organisation, the employment tie and its rule checks, the contact points and the duplicate check
are each looked up for the whole batch, not per row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, select

from voronka.plugins.contacts.models import Party, Relationship

from .test_import_speed import import_people, people_csv


def run(contacts: Any, rows: int, start: int) -> tuple[Any, list[str]]:
    """Import ``rows`` new people (numbered from ``start``); the import's state and every statement it sent."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(contacts.runtime.engine, "before_cursor_execute", listen)
    try:
        return import_people(contacts, people_csv(rows, start), "skip"), seen
    finally:
        event.remove(contacts.runtime.engine, "before_cursor_execute", listen)


def test_importing_people_costs_queries_per_batch_not_per_row(contacts):
    """200 people in (as ``import_people`` sizes them) two batches, then 400 others in two batches: twice the
    rows, the same statements give or take a few; and far fewer statements than rows."""
    small, small_seen = run(contacts, 200, 0)
    large, large_seen = run(contacts, 400, 1000)
    assert (small.status, small.created, small.failed) == ("done", 200, 0)
    assert (large.status, large.created, large.failed) == ("done", 400, 0)
    with contacts.runtime.sessions() as session:
        ties = session.scalar(select(func.count()).select_from(Relationship))
        firms = session.scalar(select(func.count()).select_from(Party).where(Party.kind == "organisation"))
    assert (ties, firms) == (600, 7)
    per_row = [s for s in large_seen if "contacts_relationship" in s or "contacts_point" in s]
    assert len(per_row) < 40, per_row  # a per-row check would make hundreds
    assert len(small_seen) < 200 * 0.6, len(small_seen)  # the import itself costs some (file, row, progress)
    assert len(large_seen) <= len(small_seen) + 10, (len(small_seen), len(large_seen))

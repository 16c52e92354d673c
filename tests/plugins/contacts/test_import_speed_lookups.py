"""Import speed (issue 4): records looked up by primary key alone (the kind and the recycle bin told apart in
Python, so SQLite without statistics cannot walk a (kind, …) index instead) answer exactly as the SQL
filters did."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event as sa_event

from voronka.core.db import write_transaction
from voronka.core.imports import _visible, create_import, run_import, start_import
from voronka.core.writes import delete, live_ids, save_batch


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app(run_jobs_in_server=False)


def test_live_ids_and_updates_leave_out_other_kinds_and_the_recycle_bin(contacts):
    alive, binned = contacts.person("Ада", "Жива"), contacts.person("Бін", "Кошик")
    firm = contacts.organisation("Ромашка")
    with write_transaction(contacts.runtime.sessions) as session:
        delete(session, contacts.kind("person"), binned, actor=contacts.uid("admin"))
    person, organisation = contacts.kind("person"), contacts.kind("organisation")
    with write_transaction(contacts.runtime.sessions) as session:
        asked = [alive, binned, firm, 10**9]
        assert live_ids(session, person, asked) == {alive}
        assert live_ids(session, organisation, asked) == {firm}
        assert _visible(session, person, None, asked) == [alive]
        assert _visible(session, person, contacts.viewer("sales"), asked) == [alive]
        outcomes = save_batch(session, person, [(alive, {"job_title": "CEO"}), (binned, {"job_title": "x"}),
                                                (firm, {"job_title": "y"})], actor=contacts.uid("sales"))  # fmt: skip
    assert [o.outcome for o in outcomes] == ["updated", "failed", "failed"]
    assert "no longer exists" in outcomes[1].errors[""] and "no longer exists" in outcomes[2].errors[""]
    with contacts.runtime.sessions() as session:
        assert session.get(contacts.kind("person").model, alive).job_title == "CEO"


def test_an_update_import_by_id_finds_the_record_and_refuses_another_kinds_id(contacts):
    alive, firm = contacts.person("Ада", "Жива", primary_email="ada@example.com"), contacts.organisation("Ромашка")
    data = f"id,Job title\n{alive},CTO\n{firm},CFO\n".encode()
    with write_transaction(contacts.runtime.sessions) as session:
        kinds, sales = contacts.runtime.record_kinds, contacts.viewer("sales")
        imp = create_import(session, kinds, sales, "person", "p.csv", data)
        start_import(session, kinds, imp, sales, mapping=["id", "job_title"], duplicates="update", dry_run=False)
        import_id = imp.id
    final = run_import(contacts.runtime.sessions, contacts.runtime.record_kinds, import_id, target_seconds=30)
    assert (final.status, final.updated, final.failed) == ("done", 1, 1)


def test_on_sqlite_the_lookups_search_by_primary_key_not_a_kind_index(contacts, engine):
    """Without statistics SQLite took ``kind IN (…)`` for the better index and walked every person."""
    if engine != "sqlite":
        pytest.skip("the plan in question is SQLite's")
    ids = [contacts.person(f"P{i}", "Plan") for i in range(3)]
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, params: Any, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "contacts_party" in statement:
            seen.append((statement, params))

    person = contacts.kind("person")
    sa_event.listen(contacts.runtime.engine, "before_cursor_execute", listen)
    try:
        with write_transaction(contacts.runtime.sessions) as session:
            live_ids(session, person, ids)
            _visible(session, person, None, ids)
            save_batch(session, person, [(i, {"job_title": "Planner"}) for i in ids], actor=contacts.uid("sales"))
    finally:
        sa_event.remove(contacts.runtime.engine, "before_cursor_execute", listen)
    assert len(seen) >= 3
    with contacts.runtime.engine.connect() as conn:
        for statement, params in seen:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
            assert "PRIMARY KEY" in plan and "ix_contacts_party_kind" not in plan, (statement, plan)

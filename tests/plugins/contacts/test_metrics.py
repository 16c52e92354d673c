"""Contacts' metrics obey the host's contract (the test kit's check) and count the right things per owner,
period and viewer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from voronka.core.db import write_transaction
from voronka.plugins.contacts.metrics import ACTIVITIES_COMPLETED, METRICS, NEW_CUSTOMERS
from voronka.plugins.contacts.models import Activity, Party
from voronka.web.testkit.conformance import check_metric

UTC = dt.UTC
START, END = dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC)
IN, BEFORE = dt.datetime(2026, 3, 10, tzinfo=UTC), dt.datetime(2026, 2, 10, tzinfo=UTC)


def backdate(contacts, model, record_id, **values):
    """Bookkeeping columns (created_at, done_at) are the write path's own; tests move them in time."""
    with write_transaction(contacts.runtime.sessions) as session:
        session.execute(update(model).where(model.id == record_id).values(**values))


def activity(contacts, owner, activity_type, at, **values):
    base = {"type": activity_type, "subject": f"{activity_type} {at:%d.%m}", "owner_user_id": contacts.uid(owner)}
    base["due_at" if activity_type == "task" else "occurred_at"] = at
    return contacts.save("activity", None, {**base, **values}, actor=owner)


def test_metrics_pass_the_contract_check(app, contacts):
    contacts.person("Олена", "Коваленко")
    activity(contacts, "sales", "task", IN)
    owners = [contacts.uid("sales"), contacts.uid("sales2")]
    with app.state.voronka.sessions() as session:
        for metric in METRICS:
            assert check_metric(metric, session, contacts.viewer("admin"), owners, "contacts") == []
    assert {m.key for m in app.state.voronka.host.hook.metrics() for m in m} >= {
        "contacts.new_customers",
        "contacts.activities_completed",
    }


def test_new_customers_per_owner_in_the_period(app, contacts):
    sales, sales2 = contacts.uid("sales"), contacts.uid("sales2")
    worked = contacts.person("Олена", "Коваленко")
    fresh = contacts.organisation("Acme")
    old = contacts.person("Старий", "Клієнт")
    theirs = contacts.person("Taras", "Bondar", owner="sales2")
    for party in (worked, fresh, theirs):
        backdate(contacts, Party, party, created_at=IN)
    backdate(contacts, Party, old, created_at=BEFORE)
    contacts.save("activity", None, {"type": "call", "subject": "hi", "ref_kind": "person", "ref_id": worked,
                                     "owner_user_id": sales})  # fmt: skip
    with app.state.voronka.sessions() as session:
        admin = contacts.viewer("admin")
        assert NEW_CUSTOMERS.values(session, admin, [sales, sales2], START, END) == {sales: (2, 1), sales2: (1, 1)}
        # an owner-scoped viewer counts only what they may see
        assert NEW_CUSTOMERS.values(session, contacts.viewer("sales"), [sales, sales2], START, END) == {sales: (2, 1)}
        drill = NEW_CUSTOMERS.records(session, admin, sales, START, END, "in_progress", 10)
        assert [r.title for r in drill] == ["Acme"] and drill[0].url == f"/contacts/{fresh}"
        assert len(NEW_CUSTOMERS.records(session, admin, sales, START, END, "actual", 10)) == 2


def test_activities_completed_counts_done_tasks_and_held_calls_and_meetings(app, contacts):
    sales, sales2 = contacts.uid("sales"), contacts.uid("sales2")
    done_task = activity(contacts, "sales", "task", IN, done=True)
    backdate(contacts, Activity, done_task, done_at=IN)
    late_done = activity(contacts, "sales", "task", IN, done=True)
    backdate(contacts, Activity, late_done, done_at=END + dt.timedelta(days=1))  # done after the period
    activity(contacts, "sales", "call", IN)
    activity(contacts, "sales", "meeting", IN)
    activity(contacts, "sales", "note", IN)  # a note is not an activity completed
    activity(contacts, "sales", "call", BEFORE)
    activity(contacts, "sales", "task", IN + dt.timedelta(days=5))  # open, due in the period: in progress
    activity(contacts, "sales2", "call", IN)
    with app.state.voronka.sessions() as session:
        admin = contacts.viewer("admin")
        values = ACTIVITIES_COMPLETED.values(session, admin, [sales, sales2], START, END)
        assert values == {sales: (3, 1), sales2: (1, 0)}  # late_done counts in neither
        actual = ACTIVITIES_COMPLETED.records(session, admin, sales, START, END, "actual", 10)
        assert sorted(r.title for r in actual) == ["call 10.03", "meeting 10.03", "task 10.03"]
        assert all(r.at is not None and r.at.tzinfo is not None for r in actual)
        later = ACTIVITIES_COMPLETED.records(session, admin, sales, START, END, "in_progress", 10)
        assert [r.title for r in later] == ["task 15.03"]
        assert ACTIVITIES_COMPLETED.values(session, contacts.viewer("sales2"), [sales], START, END) == {}
    future = dt.datetime.now(UTC) + dt.timedelta(days=2)
    activity(contacts, "sales2", "meeting", future)  # a meeting still ahead is in progress, not held
    with app.state.voronka.sessions() as session:
        span = (future - dt.timedelta(days=1), future + dt.timedelta(days=1))
        assert ACTIVITIES_COMPLETED.values(session, contacts.viewer("admin"), [sales2], *span) == {sales2: (0, 1)}

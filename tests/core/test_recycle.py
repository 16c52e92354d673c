"""Soft delete, the recycle bin, purging, merges and merged-into redirects (issue 3, point 5), on both engines.

Proven with the notes test plugin: notes have ``deleted_at`` (SoftDeleteMixin), may be attached to another
note (``ref_kind``/``ref_id``), and purge the notes attached to a record purged for good.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import types
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text
from voronka_test_notes import queries
from voronka_test_notes.models import Note

from voronka.core import recycle
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.errors import ValidationError
from voronka.core.jobs import JobRunner
from voronka.core.jobs_outbox import core_jobs
from voronka.core.markers import hookimpl
from voronka.core.migrate import Migrator
from voronka.core.models import PluginState, User
from voronka.core.models_jobs import Job, OutboxEvent
from voronka.core.models_records import AuditEntry, TagLink
from voronka.core.models_trash import RecordRedirect, RecycleBinEntry
from voronka.core.records import RecordKind, Ref
from voronka.core.security.users import load_user
from voronka.core.state import bump
from voronka.core.tags import add_tag, tagged, tags_for, tags_of
from voronka.core.types import utcnow
from voronka.core.writes import delete, save
from voronka.web.plugins_setup import build_host

NOTES = "notes=voronka_test_notes"
pytestmark = pytest.mark.voronka(plugins=[NOTES], entry_points=False)
DAY = dt.timedelta(days=1)


# -- helpers ---------------------------------------------------------------------------------------------


def uid(app: Any, username: str) -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def viewer(app: Any, username: str) -> Any:
    with app.state.voronka.sessions() as session:
        return load_user(session, uid(app, username))


def kind(app: Any) -> RecordKind:
    return app.state.voronka.record_kinds["note"]


def create(app: Any, title: str, owner: str = "sales", **values: Any) -> int:
    with write_transaction(app.state.voronka.sessions) as session:
        note = save(session, kind(app), None, {"title": title, "body": "", "owner_user_id": uid(app, owner), **values},
                    actor=uid(app, owner))  # fmt: skip
        return note.id


def remove(app: Any, note_id: int, who: str = "sales", at: dt.datetime | None = None) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        delete(session, kind(app), note_id, actor=uid(app, who), at=at)


def tag(app: Any, note_id: int, name: str) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        add_tag(session, kind(app), note_id, name)


def row(app: Any, note_id: int) -> Any:
    with app.state.voronka.sessions() as session:
        return session.get(Note, note_id)


def actions(app: Any, note_id: int) -> list[str]:
    with app.state.voronka.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.kind == "note", AuditEntry.record_id == note_id, AuditEntry.field == "")
                .where(AuditEntry.action != "create")  # what happened to the record after it was created
                .order_by(AuditEntry.id)
            )
        )


def events(app: Any, name: str) -> list[dict[str, Any]]:
    with app.state.voronka.sessions() as session:
        return [e.payload for e in session.scalars(select(OutboxEvent).where(OutboxEvent.name == name))]


def bin_ids(app: Any) -> set[int]:
    with app.state.voronka.sessions() as session:
        return set(session.scalars(select(RecycleBinEntry.record_id).where(RecycleBinEntry.kind == "note")))


def entry_id(app: Any, note_id: int) -> int:
    with app.state.voronka.sessions() as session:
        return recycle.bin_entry(session, "note", note_id).id


def snapshot_of_tables(app: Any) -> tuple[Any, ...]:
    """Everything a refused restore must leave as it was."""
    with app.state.voronka.sessions() as session:
        notes = session.execute(select(Note.id, Note.deleted_at, Note.version).order_by(Note.id)).all()
        return (notes, session.scalar(select(func.count()).select_from(AuditEntry)),
                session.scalar(select(func.count()).select_from(RecycleBinEntry)),
                session.scalar(select(func.count()).select_from(OutboxEvent)))  # fmt: skip


def set_enabled(app: Any, name: str, enabled: bool) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        found = session.get(PluginState, name)
        if found is None:
            session.add(PluginState(name=name, enabled=enabled, changed_at=utcnow()))
        else:
            found.enabled = enabled
        bump(session, "plugins")
    app.state.voronka.sync(force=True)


class Probe:
    """A plugin registered at run time that notes what it sees when the consistency hooks reach it."""

    def __init__(self, app: Any):
        self.app = app
        self.seen: list[tuple[Any, ...]] = []

    @hookimpl
    def records_deleted(self, session: Any, kind: str, ids: list[int]) -> None:
        tags = session.scalar(
            select(func.count()).select_from(TagLink).where(TagLink.kind == kind, TagLink.record_id.in_(ids))
        )
        rows = session.scalar(select(func.count()).select_from(Note).where(Note.id.in_(ids)))
        self.seen.append(("records_deleted", kind, list(ids), tags, rows))

    @hookimpl
    def records_merged(self, session: Any, kind: str, kept: int, merged: int) -> None:
        self.seen.append(("records_merged", kind, kept, merged))


@pytest.fixture
def probe(app: Any) -> Any:
    found = Probe(app)
    pm = app.state.voronka.host.pm
    pm.register(found, name="probe")
    yield found
    pm.unregister(found)


@pytest.fixture
def modules(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Stand-ins for core's custom-field and attachment modules, recording the calls they get."""
    calls: list[tuple[Any, ...]] = []
    for short in ("custom_fields", "attachments"):
        fake = types.ModuleType(f"voronka.core.{short}")
        fake.on_records_deleted = lambda session, kind_name, ids, short=short: calls.append(  # type: ignore[attr-defined]
            (short, "deleted", kind_name, list(ids))
        )
        fake.on_records_merged = lambda session, kind, kept, merged, short=short: calls.append(  # type: ignore[attr-defined]
            (short, "merged", getattr(kind, "name", kind), kept, merged)
        )
        monkeypatch.setitem(sys.modules, f"voronka.core.{short}", fake)
    return calls


# -- delete and restore ------------------------------------------------------------------------------------


def test_a_deleted_note_vanishes_from_every_read_and_comes_back_whole(app, client):
    kinds = app.state.voronka.record_kinds
    note_id = create(app, "Квартальний звіт", body="text")
    other = create(app, "Quarterly plan")
    tag(app, note_id, "VIP")
    tag(app, other, "VIP")
    sales = viewer(app, "sales")
    before = utcnow()
    remove(app, note_id)

    with app.state.voronka.sessions() as session:
        assert [r.id for r in queries.list_notes(session, sales)[0]] == [other]
        assert queries.get_note(session, sales, note_id) is None
        assert kinds.resolve(session, Ref("note", note_id)) is None
        assert kinds.resolve(session, Ref("note", note_id), sales) is None
        assert kinds.ref_label(session, Ref("note", note_id)) is None
        assert kinds.resolve(session, Ref("note", note_id), include_deleted=True).deleted_at is not None
        assert set(tags_for(session, kind(app), [note_id, other], sales)) == {other}
        vip = tags_of(session, kind(app), other)[0].id
        assert list(session.scalars(tagged(kind(app), vip, sales))) == [other]
        assert session.scalar(select(func.count()).select_from(TagLink)) == 2  # kept for a restore
        entry = recycle.bin_entry(session, "note", note_id)
        assert (entry.label, entry.deleted_by) == ("Квартальний звіт", uid(app, "sales"))
        assert entry.deleted_at >= before and entry.purge_after == entry.deleted_at + 30 * DAY
    with pytest.raises(ValidationError, match="no such record"), write_transaction(app.state.voronka.sessions) as s:
        add_tag(s, kind(app), note_id, "Late")
    with pytest.raises(ValidationError, match="no longer exists"), write_transaction(app.state.voronka.sessions) as s:
        delete(s, kind(app), note_id, actor=None)  # not twice
    client.login("sales")
    assert client.get(f"/notes/{note_id}").status_code == 404
    assert "Квартальний" not in client.get("/notes/").text
    assert "Квартальний" not in client.hx_get("/search", params={"q": "квартальний"}).text
    assert events(app, "notes.note_deleted")[0]["id"] == note_id

    with write_transaction(app.state.voronka.sessions) as session:
        restored = recycle.restore(session, kind(app), note_id, actor=uid(app, "admin"))
        assert restored.deleted_at is None
    with app.state.voronka.sessions() as session:
        assert [t.name for t in tags_of(session, kind(app), note_id, sales)] == ["VIP"]
        assert {r.id for r in queries.list_notes(session, sales)[0]} == {note_id, other}
        assert recycle.bin_entry(session, "note", note_id) is None
    assert actions(app, note_id) == ["delete", "restore"]
    assert "Квартальний" in client.hx_get("/search", params={"q": "квартальний"}).text
    assert [e["id"] for e in events(app, "notes.note_restored")] == [note_id]
    with (
        pytest.raises(ValidationError, match="not in the recycle bin"),
        write_transaction(app.state.voronka.sessions) as session,
    ):
        recycle.restore(session, kind(app), note_id, actor=None)


def test_restoring_a_note_whose_parent_was_purged_is_refused_and_changes_nothing(app, client):
    parent = create(app, "Parent")
    child = create(app, "Child", ref_kind="note", ref_id=parent)
    remove(app, child)
    remove(app, parent)
    with write_transaction(app.state.voronka.sessions) as session:
        assert recycle.purge(session, kind(app), [parent], actor=uid(app, "admin")) == 1
    assert row(app, parent) is None and row(app, child).deleted_at is not None  # the binned child waits
    assert bin_ids(app) == {child}
    before = snapshot_of_tables(app)
    with pytest.raises(ValidationError) as refused, write_transaction(app.state.voronka.sessions) as session:
        recycle.restore(session, kind(app), child, actor=uid(app, "admin"))
    assert "“Child” cannot be restored" in str(refused.value) and f"Note #{parent}" in str(refused.value)
    assert "deleted for good" in str(refused.value)
    assert snapshot_of_tables(app) == before

    client.login("admin")
    answer = client.post("/admin/recycle-bin/restore", data={"ids": [str(entry_id(app, child))]})
    assert answer.status_code == 400
    assert "“Child” cannot be restored" in answer.text and "Nothing was changed." in answer.text
    assert snapshot_of_tables(app) == before


def test_a_parent_in_the_bin_is_named_and_restoring_both_at_once_works_in_any_order(app, client):
    parent = create(app, "Supplier call")
    child = create(app, "Follow-up", ref_kind="note", ref_id=parent)
    remove(app, child)
    remove(app, parent)
    before = snapshot_of_tables(app)
    with pytest.raises(ValidationError) as refused, write_transaction(app.state.voronka.sessions) as session:
        recycle.restore(session, kind(app), child, actor=None)
    assert "Restore “Supplier call” first" in str(refused.value)
    assert snapshot_of_tables(app) == before

    client.login("admin")
    alone = client.post("/admin/recycle-bin/restore", data={"ids": [str(entry_id(app, child))]})
    assert alone.status_code == 400 and "Restore “Supplier call” first" in alone.text
    both = [str(entry_id(app, child)), str(entry_id(app, parent))]  # the child first: parents go first anyway
    done = client.post("/admin/recycle-bin/restore", data={"ids": both})
    assert done.status_code == 200 and "2 records are restored." in done.text
    assert row(app, child).deleted_at is None and row(app, parent).deleted_at is None and bin_ids(app) == set()


# -- purge --------------------------------------------------------------------------------------------------


def test_purge_runs_the_consistency_chain_in_order_on_every_installed_plugin(app, probe, modules):
    kept = create(app, "Stays")
    gone = create(app, "Goes")
    attached = create(app, "Attached to Goes", ref_kind="note", ref_id=gone)
    binned = create(app, "Attached but binned", ref_kind="note", ref_id=gone)
    tag(app, gone, "Old")
    tag(app, attached, "Old")
    remove(app, binned)
    remove(app, gone)
    set_enabled(app, "notes", False)  # switched off, still installed: the consistency hooks reach it
    with write_transaction(app.state.voronka.sessions) as session:
        assert recycle.purge(session, kind(app), [gone, 999_999], actor=uid(app, "admin")) == 1

    assert modules[:2] == [("custom_fields", "deleted", "note", [gone]), ("attachments", "deleted", "note", [gone])]
    first = probe.seen[0]
    assert first == ("records_deleted", "note", [gone], 0, 1)  # tags already gone, the row not yet
    assert ("records_deleted", "note", [attached], 0, 1) in probe.seen  # notes' own hook purged it through core
    assert row(app, gone) is None and row(app, attached) is None and row(app, kept) is not None
    assert row(app, binned).deleted_at is not None and bin_ids(app) == {binned}  # waits for its own date
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TagLink)) == 0
    assert actions(app, gone) == ["delete", "purge"] and actions(app, attached) == ["purge"]
    purged = events(app, "notes.note_purged")
    assert [p["ids"] for p in purged] == [[attached], [gone]]


def test_purge_of_a_live_note_keeps_its_history_answerable(app):
    from voronka.core.audit import as_of

    note_id = create(app, "Live", body="v1")
    moment = utcnow()
    with write_transaction(app.state.voronka.sessions) as session:
        recycle.purge(session, kind(app), [note_id], actor=None)
    with app.state.voronka.sessions() as session:
        assert as_of(session, kind(app), note_id, moment)["body"] == "v1"
        assert as_of(session, kind(app), note_id, utcnow()) is None


# -- retention ------------------------------------------------------------------------------------------------


def test_the_retention_job_purges_only_expired_entries_in_batches_and_resumes(app):
    long_ago = utcnow() - 40 * DAY
    old = [create(app, f"Old {i}") for i in range(5)]
    recent = [create(app, f"Recent {i}") for i in range(2)]
    for note_id in old:
        remove(app, note_id, at=long_ago)
    for note_id in recent:
        remove(app, note_id)
    sessions, kinds = app.state.voronka.sessions, app.state.voronka.record_kinds

    batches: list[tuple[int, int]] = []
    stop_after_two = lambda: len(batches) >= 2  # noqa: E731  (a crash after two committed batches)
    purged = recycle.purge_expired(sessions, kinds, batch=2, should_stop=stop_after_two,
                                   progress=lambda done, total: batches.append((done, total)))  # fmt: skip
    assert purged == 3 and batches == [(1, 5), (3, 5)]  # a short first batch, then full ones, oldest first
    assert [row(app, n) is None for n in old] == [True, True, True, False, False]
    assert bin_ids(app) == {*recent, *old[3:]}
    assert recycle.purge_expired(sessions, kinds, batch=2) == 2  # the next run goes on with what is left
    assert bin_ids(app) == set(recent) and all(row(app, n) is None for n in old)
    assert recycle.purge_expired(sessions, kinds, batch=2) == 0

    # through the job runner, as the server runs it: core registers the job
    with write_transaction(sessions) as session:
        recycle.set_retention_days(session, "1")  # the recent ones' purge date moves to yesterday + 1 day
    remove(app, create(app, "Later"), at=utcnow() - 3 * DAY)
    definitions = {d.key: d for d in core_jobs() if d.key == recycle.JOB_KEY}
    assert definitions[recycle.JOB_KEY].interval == 3600
    runner = JobRunner(sessions, app.state.voronka.host, lambda: definitions)
    assert runner.run_due_once() == [recycle.JOB_KEY]
    assert len(bin_ids(app)) == 2  # deleted just now, one day to go
    with sessions() as session:
        job = session.scalars(select(Job).where(Job.key == recycle.JOB_KEY)).one()
        assert (job.status, job.state, job.progress_done) == ("pending", {"purged": 1}, 1)


def test_the_retention_setting_moves_purge_dates_and_refuses_nonsense(app, client):
    note_id = create(app, "Kept a while")
    remove(app, note_id)
    with app.state.voronka.sessions() as session:
        assert recycle.retention_days(session) == 30
        deleted_at = recycle.bin_entry(session, "note", note_id).deleted_at
    client.login("admin")
    for bad in ("0", "abc", "3651", ""):
        answer = client.post("/admin/recycle-bin/retention", data={"days": bad})
        assert answer.status_code == 400 and "Enter a whole number of days from 1 to 3650." in answer.text
    answer = client.post("/admin/recycle-bin/retention", data={"days": "7"})
    assert answer.status_code == 200 and "Saved." in answer.text
    with app.state.voronka.sessions() as session:
        assert recycle.retention_days(session) == 7
        moved = recycle.bin_entry(session, "note", note_id).purge_after
    assert abs(moved - (deleted_at + 7 * DAY)) < dt.timedelta(milliseconds=2)


# -- merge ------------------------------------------------------------------------------------------------------


def test_merge_moves_everything_redirects_chains_and_audits(app, probe, modules):
    a, b, c = create(app, "Acme (old)"), create(app, "Acme"), create(app, "Acme Ltd")
    attached = create(app, "Call notes", ref_kind="note", ref_id=a)
    tag(app, a, "VIP")
    tag(app, a, "Hot")
    tag(app, b, "VIP")
    admin = uid(app, "admin")
    with write_transaction(app.state.voronka.sessions) as session:
        assert recycle.merge(session, kind(app), b, a, actor=admin).id == b

    assert modules == [("custom_fields", "merged", "note", b, a), ("attachments", "merged", "note", b, a)]
    assert ("records_merged", "note", b, a) in probe.seen
    with app.state.voronka.sessions() as session:
        assert sorted(t.name for t in tags_of(session, kind(app), b)) == ["Hot", "VIP"]
        assert tags_of(session, kind(app), a) == []
        assert session.get(Note, attached).ref_id == b  # notes' records_merged followed the merge
        assert recycle.redirect_target(session, "note", a) == b
        assert recycle.bin_entry(session, "note", a).label == "Acme (old)"
    assert row(app, a).deleted_at is not None
    assert actions(app, a) == ["merge", "delete"] and actions(app, b) == ["merge"]
    assert events(app, "notes.note_merged")[0]["merged"] == a

    with write_transaction(app.state.voronka.sessions) as session:
        recycle.merge(session, kind(app), c, b, actor=admin)
    with app.state.voronka.sessions() as session:
        assert recycle.redirect_target(session, "note", a) == c  # A→B then B→C: A leads to C
        assert recycle.redirect_target(session, "note", b) == c
        assert recycle.merged_into(session, kind(app), a, viewer(app, "sales")) == c
        assert recycle.redirect_url(session, kind(app), a) == f"/notes/{c}"
        assert recycle.merged_into(session, kind(app), a, viewer(app, "sales2")) is None  # not theirs to see

    for kept, merged, message in (
        (c, c, "cannot be merged into itself"),
        (a, c, "is in the recycle bin; restore it before merging into it"),
        (c, a, "The record to merge no longer exists"),
        (999_999, c, "The record to merge into no longer exists"),
    ):
        with pytest.raises(ValidationError, match=message), write_transaction(app.state.voronka.sessions) as s:
            recycle.merge(s, kind(app), kept, merged, actor=admin)

    # restoring a merged record brings it back as itself and ends its redirect
    with write_transaction(app.state.voronka.sessions) as session:
        recycle.restore(session, kind(app), b, actor=admin)
    with app.state.voronka.sessions() as session:
        assert recycle.redirect_target(session, "note", b) is None
        assert recycle.redirect_target(session, "note", a) == c
        # purging the kept record ends the redirects that led to it
        recycle.purge(session, kind(app), [c], actor=admin)
        assert session.scalar(select(func.count()).select_from(RecordRedirect)) == 0
        session.rollback()


# -- the pages ---------------------------------------------------------------------------------------------------


def test_only_admins_reach_the_recycle_bin(app, client):
    note_id = create(app, "Secret plan")
    remove(app, note_id)
    entry = entry_id(app, note_id)
    for who in ("manager", "sales"):
        client.login(who)
        assert client.get("/admin/recycle-bin").status_code == 403
        assert client.get(f"/admin/recycle-bin/confirm?action=restore&ids={entry}").status_code == 403
        assert client.post("/admin/recycle-bin/restore", data={"ids": [str(entry)]}).status_code == 403
        assert client.post("/admin/recycle-bin/purge", data={"ids": [str(entry)]}).status_code == 403
        assert client.post("/admin/recycle-bin/retention", data={"days": "1"}).status_code == 403
    assert bin_ids(app) == {note_id}
    client.login("admin")
    page = client.get("/admin/recycle-bin")
    assert page.status_code == 200 and "Secret plan" in page.text and "Sofiia Sales" in page.text
    assert 'href="/admin/recycle-bin" class="active"' in page.text
    assert client.get("/admin/recycle-bin/confirm?action=explode&ids=1").status_code == 400
    assert client.get("/admin/recycle-bin/confirm?action=purge&ids=x").status_code == 400
    assert client.post("/admin/recycle-bin/purge", data={"ids": ["987654"]}).status_code == 400
    assert client.post("/admin/recycle-bin/purge", data={}).status_code == 400


def test_the_admin_filters_confirms_and_purges(app, client):
    first, second = create(app, "Draft one"), create(app, "Draft two")
    remove(app, first)
    remove(app, second, who="sales2")
    client.login("admin")
    filtered = client.hx_get("/admin/recycle-bin?kind=note", headers={"HX-Target": "bin-list"})
    assert filtered.status_code == 200 and "<html" not in filtered.text and "Draft two" in filtered.text
    assert "Taras Sales" in filtered.text
    assert "Draft one" in client.get("/admin/recycle-bin?kind=unknown").text  # an unknown kind means all
    ask = client.get(f"/admin/recycle-bin/confirm?action=purge&ids={entry_id(app, first)}&ids={entry_id(app, second)}")
    assert ask.status_code == 200 and "Delete 2 records for good?" in ask.text and "cannot be undone" in ask.text
    assert bin_ids(app) == {first, second}  # asking changes nothing
    done = client.post("/admin/recycle-bin/purge", data={"ids": [str(entry_id(app, first))]})
    assert done.status_code == 200 and "1 record is deleted for good." in done.text
    assert row(app, first) is None and bin_ids(app) == {second}
    assert "The recycle bin is empty" not in done.text


def test_deleting_merging_and_redirects_through_the_notes_pages(app, client):
    client.login("sales")
    keep = create(app, "Customer meeting")
    dupe = create(app, "Customer meeting (copy)")
    gone = create(app, "Typo note")

    ask = client.get(f"/notes/{gone}/delete")
    assert ask.status_code == 200 and "Delete the note “Typo note”?" in ask.text and row(app, gone).deleted_at is None
    deleted = client.post(f"/notes/{gone}/delete")
    assert deleted.status_code == 200 and str(deleted.url).endswith("/notes/?deleted=1")
    assert "The note is in the recycle bin." in deleted.text and "Typo note" not in deleted.text
    assert client.get(f"/notes/{gone}").status_code == 404
    assert client.post(f"/notes/{gone}/delete").status_code == 404

    detail = client.get(f"/notes/{dupe}")
    assert f'<option value="{keep}">Customer meeting</option>' in detail.text
    assert f'<option value="{dupe}">' not in detail.text  # not into itself
    assert client.get(f"/notes/{dupe}/merge?into={dupe}").status_code == 400
    assert client.get(f"/notes/{dupe}/merge?into=abc").status_code == 400
    ask = client.get(f"/notes/{dupe}/merge?into={keep}")
    assert ask.status_code == 200 and "Merge “Customer meeting (copy)” into “Customer meeting”?" in ask.text
    merged = client.post(f"/notes/{dupe}/merge", data={"into": str(keep)})
    assert merged.status_code == 200 and str(merged.url).endswith(f"/notes/{keep}")
    assert f"note #{dupe} merged into this one" in merged.text

    hop = client.get(f"/notes/{dupe}", follow_redirects=False)
    assert hop.status_code == 303 and hop.headers["location"] == f"/notes/{keep}"
    generic = client.get(f"/records/note/{dupe}", follow_redirects=False)
    assert generic.status_code == 303 and generic.headers["location"] == f"/notes/{keep}"
    assert client.get(f"/records/note/{keep}", follow_redirects=False).headers["location"] == f"/notes/{keep}"
    assert client.get(f"/records/note/{gone}").status_code == 404
    assert client.get("/records/note/999999").status_code == 404
    assert client.get("/records/invoice/1").status_code == 404
    assert client.post(f"/notes/{keep}/merge", data={"into": str(dupe)}).status_code == 400  # into a binned one

    client.login("operator")  # no notes.view: neither the pages nor the generic address
    assert client.get(f"/records/note/{keep}").status_code == 403
    client.login("sales2")  # not theirs to see: the redirect must not reveal it
    assert client.get(f"/notes/{dupe}").status_code == 404

    client.login("admin")
    restored = client.post("/admin/recycle-bin/restore", data={"ids": [str(entry_id(app, gone))]})
    assert restored.status_code == 200 and "1 record is restored." in restored.text
    client.login("sales")
    page = client.get(f"/notes/{gone}")
    assert page.status_code == 200 and "restored from the recycle bin" in page.text


# -- the migration ----------------------------------------------------------------------------------------------


def test_the_soft_delete_migration_keeps_notes(empty_db_url, plugin_set):
    settings = plugin_set.settings(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        migrator = Migrator(engine, build_host(settings))
        assert migrator.upgrade() == {}
        assert {"core_recycle_bin", "core_record_redirect"} <= set(inspect(engine).get_table_names())
        migrator.downgrade("notes_0002")
        assert "deleted_at" not in {c["name"] for c in inspect(engine).get_columns("notes_note")}
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO notes_note (title, title_key, body, created_at, version, custom) "
                     "VALUES ('Kept', 'kept', 'body', :at, 1, '{}')"),
                {"at": utcnow().replace(tzinfo=None)},
            )  # fmt: skip
        assert migrator.upgrade() == {}
        with make_sessionmaker(engine)() as session:
            note = session.scalars(select(Note)).one()
            assert (note.title, note.body, note.deleted_at) == ("Kept", "body", None)
        indexes = {i["name"] for i in inspect(engine).get_indexes("notes_note")}
        assert "ix_notes_note_deleted_at" in indexes
        migrator.downgrade("notes_0002")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT title FROM notes_note")).scalars().all() == ["Kept"]
    finally:
        engine.dispose()


def test_merging_into_a_note_attached_to_the_merged_one_leaves_no_self_reference(app):
    parent = create(app, "Parent")
    child = create(app, "Child", ref_kind="note", ref_id=parent)
    with write_transaction(app.state.voronka.sessions) as session:
        recycle.merge(session, kind(app), child, parent, actor=None)
    assert (row(app, child).ref_kind, row(app, child).ref_id) == (None, None)


def test_a_kind_without_deleted_at_is_deleted_for_good_at_once(app, probe):
    """Core's tags table stands in for a plugin table without SoftDeleteMixin."""
    from sqlalchemy import true

    from voronka.core.models_records import Tag

    plain = dataclasses.replace(kind(app), name="label", model=Tag, fields=("name",), audited=("name",),
                                references=(), display=lambda t: t.name, visibility=lambda user: true())  # fmt: skip
    with write_transaction(app.state.voronka.sessions) as session:
        record = Tag(name="Doomed", name_key="doomed", colour="#6b7280")
        session.add(record)
        session.flush()
        tag_id = record.id
        session.add(TagLink(kind="label", record_id=tag_id, tag_id=tag_id))
    assert not recycle.soft_deletes(plain)
    with write_transaction(app.state.voronka.sessions) as session:
        recycle.delete(session, plain, tag_id, actor=None)
    with app.state.voronka.sessions() as session:
        assert session.get(Tag, tag_id) is None and recycle.bin_entry(session, "label", tag_id) is None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.kind == "label")).one()
        assert (entry.action, entry.old) == ("delete", {"name": "Doomed"})
    assert ("records_deleted", "label", [tag_id], 0, 0) in probe.seen
    assert events(app, "notes.label_deleted")[0]["id"] == tag_id
    with pytest.raises(ValidationError, match="deleted for good"), write_transaction(app.state.voronka.sessions) as s:
        recycle.restore(s, plain, tag_id, actor=None)

"""Imports (issue 3, point 6): CSV with a column mapping into any record kind and into users, teams and the
manager hierarchy; preview, dry run, per-row errors, duplicate modes, batched resumable job, audit with
source "import", the upload/mapping/progress pages and the CLI. Both engines.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text
from voronka_test_notes.models import Note

from voronka.core import imports
from voronka.core.audit import history
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.imports import ImportInterrupted, create_import, open_file, preview, run_import, start_import
from voronka.core.imports_csv import open_csv
from voronka.core.imports_targets import Target
from voronka.core.markers import hookimpl
from voronka.core.models import ManagerLink, Team, TeamMember, User
from voronka.core.models_imports import Import, ImportRow
from voronka.core.models_jobs import Job
from voronka.core.models_records import AuditEntry
from voronka.core.search_keys import search_key
from voronka.core.security.users import load_user
from voronka.core.writes import batch_memo, save, save_batch, save_many
from voronka.web.testkit.client import VoronkaClient
from voronka.web.worker import make_runner

NOTES = "notes=voronka_test_notes"
pytestmark = pytest.mark.voronka(plugins=[NOTES], entry_points=False)


@pytest.fixture
def runtime(make_app: Any) -> Any:
    return make_app(run_jobs_in_server=False).state.voronka


def uid(runtime: Any, username: str) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def who(runtime: Any, username: str) -> Any:
    with runtime.sessions() as session:
        return load_user(session, uid(runtime, username))


def kind(runtime: Any) -> Any:
    return runtime.record_kinds["note"]


def draft(runtime: Any, text: str | bytes, target: str = "note", user: str = "admin", **kwargs: Any) -> int:
    data = text.encode("utf-8") if isinstance(text, str) else text
    with write_transaction(runtime.sessions) as session:
        return create_import(session, runtime.record_kinds, who(runtime, user), target, "f.csv", data, **kwargs).id


def start(runtime: Any, import_id: int, mapping: list[str] | None = None, duplicates: str = "skip",
          dry_run: bool = False, user: str = "admin") -> None:  # fmt: skip
    with write_transaction(runtime.sessions) as session:
        imp = session.get(Import, import_id)
        start_import(session, runtime.record_kinds, imp, who(runtime, user), mapping=mapping or list(imp.mapping),
                     duplicates=duplicates, dry_run=dry_run)  # fmt: skip


def run(runtime: Any, text: str | bytes, target: str = "note", user: str = "admin", **kwargs: Any) -> Import:
    import_id = draft(runtime, text, target, user)
    start(runtime, import_id, user=user, **kwargs)
    return run_import(runtime.sessions, runtime.record_kinds, import_id)


def notes(runtime: Any) -> list[Note]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Note).order_by(Note.id)))


def outcomes(runtime: Any, import_id: int) -> list[tuple[int, str, str]]:
    with runtime.sessions() as session:
        return [(r.row, r.outcome, r.message) for r in session.scalars(
            select(ImportRow).where(ImportRow.import_id == import_id).order_by(ImportRow.row))]  # fmt: skip


def counts(imp: Import) -> tuple[int, int, int, int]:
    return imp.created, imp.updated, imp.skipped, imp.failed


def add_note(runtime: Any, title: str, body: str = "", owner: str = "admin") -> int:
    with write_transaction(runtime.sessions) as session:
        return save(session, kind(runtime), None, {"title": title, "body": body,
                                                   "owner_user_id": uid(runtime, owner)}, actor=None).id  # fmt: skip


# -- mapping, preview, dry run ----------------------------------------------------------------------------


def test_the_mapping_is_suggested_from_the_header_and_the_preview_parses_each_cell(runtime):
    import_id = draft(runtime, "Title,Text to ignore,Owner,ref_id\nCall back,x,sales,12\nNo owner,y,nobody,abc\n")
    with runtime.sessions() as session:
        imp = session.get(Import, import_id)
        assert (imp.status, imp.total_rows, imp.delimiter, imp.encoding) == ("draft", 2, ",", "utf-8")
        assert imp.mapping == ["title", "", "owner_user_id", "ref_id"]
        shown = preview(session, runtime.record_kinds, imp, who(runtime, "admin"))
    assert shown.header == ["Title", "Text to ignore", "Owner", "ref_id"] and shown.errors == {}
    first, second = shown.rows
    assert (first.number, first.outcome, [e for _t, e in first.cells]) == (2, "new", ["", "", "", ""])
    assert second.outcome == "error"
    assert "no user “nobody”" in second.cells[2][1] and "not a whole number" in second.cells[3][1]
    assert notes(runtime) == []  # a preview writes nothing


def test_a_mapping_without_a_required_field_or_with_a_field_twice_is_refused(runtime):
    import_id = draft(runtime, "A,B\nx,y\n")
    with pytest.raises(ValidationError) as missing:
        start(runtime, import_id, mapping=["body", ""])
    assert "Title" in missing.value.errors[""]
    with pytest.raises(ValidationError) as twice:
        start(runtime, import_id, mapping=["title", "title"])
    assert "already taken" in twice.value.errors["1"]
    with pytest.raises(ValidationError):
        start(runtime, import_id, mapping=["title", "no_such_field"])
    with runtime.sessions() as session:
        assert session.get(Import, import_id).status == "draft"


def test_a_dry_run_counts_and_reports_but_writes_nothing(runtime):
    before = add_note(runtime, "Existing")
    text = "title,body\nExisting,dup\nNew one,ok\n,no title\nAnother,fine\n"
    imp = run(runtime, text, dry_run=True, duplicates="skip")
    assert imp.status == "done" and counts(imp) == (2, 0, 1, 1)
    assert [n.id for n in notes(runtime)] == [before]
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.source == "import")) == 0
    rows = outcomes(runtime, imp.id)
    assert [(r, o) for r, o, _m in rows] == [(2, "skipped"), (4, "failed")]
    assert "Required" in rows[1][2]


# -- writing ------------------------------------------------------------------------------------------------


def test_an_import_creates_records_through_the_write_path_with_audit_and_owner(runtime):
    text = "Title;Body;Owner\nДзвінок;Перший;sales\nЗустріч;Другий;\n"
    imp = run(runtime, text.encode("utf-8-sig"), user="manager")
    assert imp.status == "done" and counts(imp) == (2, 0, 0, 0) and imp.next_row == 2
    first, second = notes(runtime)
    assert (first.title, first.body, first.title_key) == ("Дзвінок", "Перший", search_key("Дзвінок"))
    assert first.owner_user_id == uid(runtime, "sales")
    assert second.owner_user_id == uid(runtime, "manager")  # no owner in the file: the importer
    with runtime.sessions() as session:
        entries = history(session, kind(runtime), first.id)
    assert {(e.source, e.action, e.actor_id) for e in entries} == {("import", "create", uid(runtime, "manager"))}
    assert {e.field for e in entries} >= {"title", "body", "owner_user_id"}


def test_each_duplicate_mode(runtime):
    filled = add_note(runtime, "Filled", body="")
    kept = add_note(runtime, "Kept", body="original")
    text = "title,body\nFilled,from file\nKept,from file\n"

    skip = run(runtime, text, duplicates="skip")
    assert counts(skip) == (0, 0, 2, 0) and len(notes(runtime)) == 2
    assert [m for _r, _o, m in outcomes(runtime, skip.id)] == [f"Duplicate of #{filled}.", f"Duplicate of #{kept}."]

    fill = run(runtime, text, duplicates="fill")
    assert counts(fill) == (0, 1, 1, 0)  # "Kept" has a body: nothing to fill
    by_id = {n.id: n for n in notes(runtime)}
    assert by_id[filled].body == "from file" and by_id[kept].body == "original"

    update = run(runtime, text, duplicates="update")
    assert counts(update) == (0, 1, 1, 0)  # "Filled" already says it
    assert {n.id: n.body for n in notes(runtime)} == {filled: "from file", kept: "from file"}

    create = run(runtime, text, duplicates="create")
    assert counts(create) == (2, 0, 0, 0) and len(notes(runtime)) == 4


def test_duplicates_inside_one_file_are_matched_too(runtime):
    imp = run(runtime, "title,body\nSame,1\nOther,2\nsame,3\n", duplicates="skip")
    assert counts(imp) == (2, 0, 1, 0)
    assert [(n.title, n.body) for n in notes(runtime)] == [("Same", "1"), ("Other", "2")]


def test_update_needs_one_visible_match_and_an_id_column_updates_that_record(runtime):
    mine = add_note(runtime, "Twin", owner="sales")
    add_note(runtime, "Twin", owner="sales")
    hidden = add_note(runtime, "Admin only", owner="admin")
    imp = run(runtime, "title,body\nTwin,x\nAdmin only,y\n", duplicates="update", user="sales")
    assert counts(imp) == (0, 0, 0, 2)
    messages = [m for _r, _o, m in outcomes(runtime, imp.id)]
    assert "Matches 2 records" in messages[0] and "cannot see" in messages[1]
    by_id = run(runtime, f"id,body\n{mine},by id\n{hidden},nope\n", duplicates="update", user="sales")
    assert counts(by_id) == (0, 1, 0, 1)
    bodies = {n.id: n.body for n in notes(runtime)}
    assert bodies[mine] == "by id" and bodies[hidden] == ""


def test_an_import_links_only_to_records_its_user_may_see(runtime):
    mine = add_note(runtime, "Mine", owner="sales")
    hidden = add_note(runtime, "Admin only", owner="admin")
    text = f"title,ref_kind,ref_id\nAbout mine,note,{mine}\nAbout the hidden one,note,{hidden}\n"
    imp = run(runtime, text, user="sales", mapping=["title", "ref_kind", "ref_id"])
    assert counts(imp) == (1, 0, 0, 1)
    assert [(n.title, n.ref_id) for n in notes(runtime) if n.ref_id] == [("About mine", mine)]
    assert outcomes(runtime, imp.id) == [(3, "failed", f"There is no note #{hidden} you may see.")]
    as_admin = run(runtime, text.replace("About", "Again"), user="admin", mapping=["title", "ref_kind", "ref_id"])
    assert counts(as_admin) == (2, 0, 0, 0)


def test_rows_refused_by_before_save_or_a_bad_cell_fail_alone(runtime):
    imp = run(runtime, "title,ref_id,body\nGood,,a\n   ,,b\nBad ref,12x,c\nAlso good,,d\n")
    assert counts(imp) == (2, 0, 0, 2)
    assert [n.title for n in notes(runtime)] == ["Good", "Also good"]
    rows = outcomes(runtime, imp.id)
    assert [r for r, _o, _m in rows] == [3, 4]
    assert "Required" in rows[0][2] and "ref_id" in rows[1][2]


def test_save_batch_keeps_going_past_refused_rows_and_constraint_errors(runtime):
    sales = uid(runtime, "sales")
    existing = add_note(runtime, "Old")
    rows = [
        (None, {"title": "One", "owner_user_id": sales}),
        (None, {"title": "   "}),  # before_save refuses
        (None, {"title": "Ghost owner", "owner_user_id": 999_999}),  # foreign key: only the flush sees it
        (existing, {"body": "changed"}),
        (existing, {"body": "changed"}),
        (123_456, {"body": "gone"}),
        (None, {"nope": 1}),
    ]
    with write_transaction(runtime.sessions) as session:
        result = save_batch(session, kind(runtime), rows, actor=sales)
    assert [r.outcome for r in result] == ["created", "failed", "failed", "updated", "unchanged", "failed", "failed"]
    assert "title" in result[1].errors and "nope" in result[6].errors
    assert sorted(n.title for n in notes(runtime)) == ["Old", "One"]
    with runtime.sessions() as session:
        sources = session.execute(select(AuditEntry.record_id, AuditEntry.action).where(
            AuditEntry.source == "import")).all()  # fmt: skip
    assert {a for _r, a in sources} == {"create", "update"}
    assert {r for r, _a in sources} == {result[0].record_id, existing}


class BatchProbe:
    """A plugin that loads the taken titles once per batch and refuses a repeat in ``before_save``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int | None], int]] = []
        self.queries = 0

    @hookimpl
    def before_save_batch(self, session: Any, kind: str, values: list[dict[str, Any]], ids: list[int | None]):
        self.calls.append((kind, ids, len(values)))
        self.queries += 1
        batch_memo(session)["probe"] = set(session.scalars(select(Note.title)))

    @hookimpl
    def before_save(self, session: Any, record: Any, changes: dict[str, Any]) -> None:
        memo = batch_memo(session)
        if "probe" not in memo:
            self.queries += 1
            memo = {"probe": set(session.scalars(select(Note.title)))}
        if isinstance(record, Note) and "title" in changes:
            if record.title in memo["probe"]:
                raise ValidationError({"title": "taken"})
            memo["probe"].add(record.title)  # a later row of the same batch sees this one


def test_before_save_batch_primes_the_checks_of_a_batch_once(runtime):
    probe = BatchProbe()
    runtime.host.pm.register(probe, name="core:batch-probe")
    try:
        existing = add_note(runtime, "Old")
        rows = [(None, {"title": "A"}), (None, {"title": "Old"}), (None, {"title": "A"}), (None, {"title": ""}),
                (existing, {"title": "B"})]  # fmt: skip
        with write_transaction(runtime.sessions) as session:
            result = save_batch(session, kind(runtime), rows, actor=uid(runtime, "admin"))
            assert batch_memo(session) == {}  # gone with the call
        assert [r.outcome for r in result] == ["created", "failed", "failed", "failed", "updated"]
        assert probe.calls[-1] == ("note", [None, None, None, None, existing], 5)
        assert probe.queries == 2  # add_note's single save queried for itself; the batch of five once
        with write_transaction(runtime.sessions) as session, pytest.raises(ValidationError):
            save_many(session, kind(runtime), [existing], {"title": "A"}, actor=uid(runtime, "admin"))
        assert probe.calls[-1] == ("note", [existing], 1)
    finally:
        runtime.host.pm.unregister(name="core:batch-probe")


def pipe_lines(data: bytes, options: dict[str, Any]) -> Any:
    """A row source for the test: "title|body" lines, no header."""
    text = "Title,Body\n" + "\n".join(line.replace("|", ",") for line in data.decode().splitlines())
    return open_csv(text.encode(), "utf-8", ",")[0]


def test_a_kinds_row_source_and_extra_targets_are_offered_only_while_its_plugin_is_on(runtime, monkeypatch):
    shout = Target("shout", "Shout", lambda text: text.upper())
    kind_with = dataclasses.replace(
        runtime.record_kinds["note"], import_sources={"pipes": pipe_lines}, import_targets=lambda s, lk: [shout]
    )
    monkeypatch.setitem(runtime.record_kinds.kinds, "note", kind_with)
    import_id = draft(runtime, "First|one\nSecond|two\n", source="pipes")
    with runtime.sessions() as session:
        imp = session.get(Import, import_id)
        assert imp.total_rows == 2 and open_file(imp, runtime.record_kinds).header == ["Title", "Body"]
        assert "shout" in {t.key for t in imports.targets_for(session, runtime.record_kinds, "note")}
    monkeypatch.setattr(runtime.host, "is_enabled", lambda name: name != "notes")
    with runtime.sessions() as session, pytest.raises(ValidationError) as off:
        open_file(session.get(Import, import_id), runtime.record_kinds)
    assert "its plugin is off" in off.value.errors["file"]


def test_the_uploaded_file_moves_to_its_own_table_and_back_with_its_import(runtime):
    """core_0010 takes uploads out of the import's row (rewritten by every batch); down and up keeps them."""
    data = b"title,body\nKept,through the migration\n"
    import_id = draft(runtime, data)
    migrator, engine = runtime.migrator, runtime.engine
    migrator.downgrade("core_0009")
    assert "core_import_file" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert (
            bytes(conn.execute(text("SELECT content FROM core_import WHERE id = :i"), {"i": import_id}).scalar())
            == data
        )
    assert migrator.upgrade(["core"]) == {}
    assert "content" not in {c["name"] for c in inspect(engine).get_columns("core_import")}
    with runtime.sessions() as session:
        imp = session.get(Import, import_id)
        assert imp.content == data and open_file(imp, runtime.record_kinds).header == ["title", "body"]
    start(runtime, import_id)
    assert counts(run_import(runtime.sessions, runtime.record_kinds, import_id)) == (1, 0, 0, 0)


def test_a_large_import_on_postgresql_refreshes_the_planners_statistics(runtime, engine, monkeypatch):
    monkeypatch.setattr(imports, "ANALYZE_AT", (3,))
    monkeypatch.setattr(imports, "FIRST_BATCH", 2)
    monkeypatch.setattr(imports, "MAX_BATCH", 2)
    analyzed = []
    refresh = imports._refresh_statistics
    monkeypatch.setattr(imports, "_refresh_statistics", lambda sessions: analyzed.append(refresh(sessions)))
    imp = run(runtime, "title\n" + "".join(f"Note {n}\n" for n in range(6)))
    assert counts(imp) == (6, 0, 0, 0)
    assert len(analyzed) == (1 if engine == "postgresql" else 0)  # once, when the rows passed 3
    if engine == "postgresql":
        with runtime.sessions() as session:
            seen = session.scalar(text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'notes_note'"))
        assert seen is not None


# -- bad files ----------------------------------------------------------------------------------------------


def test_broken_encoding_is_refused_with_where_and_what_to_do(runtime):
    with pytest.raises(ValidationError) as bad:
        draft(runtime, "title,body\nок,добре\n".encode() + b"\x81\x8d broken,x\n")
    assert "line 3, column 1" in bad.value.errors["encoding"] and "CSV UTF-8" in bad.value.errors["encoding"]
    with pytest.raises(ValidationError) as empty:
        draft(runtime, b"title,body\n")
    assert "no rows" in empty.value.errors["file"]
    with pytest.raises(ValidationError) as binary:
        draft(runtime, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert binary.value.errors
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Import)) == 0


@pytest.mark.parametrize(
    "data, encoding",
    [
        ("title;body\nПривіт;світ\n".encode("cp1251"), "cp1251"),
        ("title\tbody\nПривіт\tсвіт\n".encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF8 + "title,body\nПривіт,світ\n".encode(), "utf-8"),
    ],
)
def test_windows_1251_utf16_and_bom_files_are_read(runtime, data, encoding):
    imp = run(runtime, data)
    assert imp.encoding == encoding and counts(imp) == (1, 0, 0, 0)
    assert [(n.title, n.body) for n in notes(runtime)] == [("Привіт", "світ")]


def test_ragged_rows_and_broken_quotes_are_per_row_errors(runtime):
    text = 'title,body\nFine,1\nToo,many,values\nShort\n"Bad"quote,x\nAlso fine,2,\n'
    imp = run(runtime, text)
    assert counts(imp) == (2, 0, 0, 3)
    rows = outcomes(runtime, imp.id)
    assert [r for r, _o, _m in rows] == [3, 4, 5]
    assert "3 values but the header has 2" in rows[0][2] and "1 values" in rows[1][2]
    assert "quote" in rows[2][2]


# -- the job: batches, resume, cancel --------------------------------------------------------------------


def test_a_job_killed_after_some_batches_resumes_without_duplicates_or_lost_rows(runtime, monkeypatch):
    text = "title,body\n" + "".join(f"Note {i},body {i}\n" for i in range(300))
    import_id = draft(runtime, text)
    start(runtime, import_id, duplicates="create")
    monkeypatch.setattr(imports, "FIRST_BATCH", 40)
    monkeypatch.setattr(imports, "MAX_BATCH", 40)  # time-sized batches on a fast machine would be too few
    batches = []
    real = imports._commit_batch

    def dying(sessions, plan, batch, start_row):
        if len(batches) == 3:
            raise KeyboardInterrupt("worker killed")  # after three committed batches, mid-run
        state = real(sessions, plan, batch, start_row)
        batches.append(len(batch))
        return state

    monkeypatch.setattr(imports, "_commit_batch", dying)
    with pytest.raises(KeyboardInterrupt):
        run_import(runtime.sessions, runtime.record_kinds, import_id)
    with runtime.sessions() as session:
        half = session.get(Import, import_id)
        assert half.status == "running" and half.next_row == sum(batches) == len(notes(runtime))
    monkeypatch.setattr(imports, "_commit_batch", real)
    done = run_import(runtime.sessions, runtime.record_kinds, import_id)
    assert done.status == "done" and counts(done) == (300, 0, 0, 0)
    titles = [n.title for n in notes(runtime)]
    assert sorted(titles) == sorted(f"Note {i}" for i in range(300)) and len(set(titles)) == 300


def test_the_queued_job_runs_in_time_sized_batches_with_progress(runtime, monkeypatch):
    text = "title\n" + "".join(f"N{i}\n" for i in range(500))
    import_id = draft(runtime, text)
    start(runtime, import_id, duplicates="create")
    sizes: list[int] = []
    real = imports._commit_batch
    monkeypatch.setattr(imports, "_commit_batch", lambda s, p, b, n: sizes.append(len(b)) or real(s, p, b, n))
    assert "core.import" in make_runner(runtime).run_due_once()
    with runtime.sessions() as session:
        imp = session.get(Import, import_id)
        job = session.get(Job, imp.job_id)
    assert imp.status == "done" and imp.created == 500
    assert (job.status, job.progress_done, job.progress_total) == ("done", 500, 500)
    assert len(sizes) >= 3 and sizes[0] == imports.FIRST_BATCH and sizes[-1] == 0 and sum(sizes) == 500


def test_a_stopping_worker_interrupts_between_batches_and_a_cancel_stops_the_import(runtime):
    text = "title\n" + "".join(f"N{i}\n" for i in range(120))
    import_id = draft(runtime, text)
    start(runtime, import_id, duplicates="create")
    calls = []
    with pytest.raises(ImportInterrupted):
        run_import(
            runtime.sessions, runtime.record_kinds, import_id, should_stop=lambda: calls.append(1) or len(calls) > 1
        )
    with write_transaction(runtime.sessions) as session:
        imp = session.get(Import, import_id)
        assert imp.next_row == imports.FIRST_BATCH
        imports.cancel_import(session, imp)
    final = run_import(runtime.sessions, runtime.record_kinds, import_id)
    assert final.status == "cancelled" and final.next_row == imports.FIRST_BATCH
    assert len(notes(runtime)) == imports.FIRST_BATCH


# -- users, teams, managers ----------------------------------------------------------------------------------


def test_users_teams_and_the_hierarchy_import_through_the_core_rules(runtime):
    teams = run(runtime, "name,queue,members\nKyiv office,no,sales\nSales,,sales2\nSupport,yes,\n", target="teams",
                duplicates="fill")  # fmt: skip
    assert counts(teams) == (2, 0, 1, 0)  # "Sales" exists and sales2 is already in it
    users = run(runtime, "username,name,email,roles,teams,language\n"
                "Ivan,Іван Франко,ivan@example.com,sales,Kyiv office,uk\n"
                "petro,Петро,petro@example.com,Sales,,\n"
                "sales,Someone Else,,,,\n"
                "bad user,X,,nosuchrole,,\n", target="users")  # fmt: skip
    assert counts(users) == (2, 0, 1, 1), outcomes(runtime, users.id)
    assert "nosuchrole" in outcomes(runtime, users.id)[-1][2]
    with runtime.sessions() as session:
        ivan = session.scalars(select(User).where(User.username == "ivan")).one()
        assert (ivan.display_name, ivan.language, ivan.password_hash) == ("Іван Франко", "uk", "")
        kyiv = session.scalar(select(Team.id).where(Team.name == "Kyiv office"))
        assert session.get(TeamMember, (kyiv, ivan.id)) is not None
        assert session.scalar(select(Team.is_queue).where(Team.name == "Support")) is True
    links = run(runtime, "user,manager,from\nivan,petro,2025-01-01\npetro,ivan,2025-02-01\nivan,petro,2025-01-01\n"
                "sales,petro,2025-03-01\n", target="managers")  # fmt: skip
    assert counts(links) == (1, 0, 1, 2)
    messages = [m for _r, _o, m in outcomes(runtime, links.id)]
    assert "loop" in messages[0] and "This link exists." in messages[1] and "already reports to" in messages[2]
    moved = run(runtime, "user,manager,from\nsales,petro,2025-03-01\n", target="managers", duplicates="update")
    assert counts(moved) == (1, 0, 0, 0)
    with runtime.sessions() as session:
        sales_links = session.execute(select(ManagerLink.manager_id, ManagerLink.valid_from, ManagerLink.valid_to)
                                      .where(ManagerLink.user_id == uid(runtime, "sales"))
                                      .order_by(ManagerLink.valid_from)).all()  # fmt: skip
    assert sales_links == [(uid(runtime, "manager"), dt.date(2020, 1, 1), dt.date(2025, 3, 1)),
                           (uid(runtime, "petro"), dt.date(2025, 3, 1), None)]  # fmt: skip


def test_only_admins_import_the_organisation_and_only_editors_a_kind(runtime):
    with pytest.raises(ValidationError):
        draft(runtime, "username\nx\n", target="users", user="manager")
    with pytest.raises(ValidationError):
        draft(runtime, "title\nx\n", target="note", user="operator")  # no notes.edit
    choices = dict(imports.target_choices(runtime.record_kinds, who(runtime, "sales")))
    assert "note" in choices and "users" not in choices


# -- the audit test -------------------------------------------------------------------------------


def test_form_bulk_and_import_changes_all_show_in_the_history(runtime, make_app):
    app = make_app(run_jobs_in_server=False)
    rt = app.state.voronka
    with VoronkaClient(app) as client:
        client.login("sales")
        created = client.post("/notes/", data={"title": "Дзвінок", "body": "Перший"})
        note_id = int(re.search(r"/notes/(\d+)$", str(created.url)).group(1))
        assert client.post(f"/notes/{note_id}", data={"title": "Дзвінок", "body": "Другий", "version": "1"}
                           ).status_code == 200  # fmt: skip
        client.login("manager")
        bulk = client.post("/notes/bulk/owner", data={"ids": [str(note_id)], "owner_user_id": str(uid(rt, "manager"))})
        assert bulk.status_code == 200
    imp = run(rt, f"id,body\n{note_id},Третій\n", duplicates="update", user="manager")
    assert counts(imp) == (0, 1, 0, 0)
    with rt.sessions() as session:
        entries = history(session, kind(rt), note_id)
    changes = [(e.source, e.field, e.old, e.new) for e in entries if e.action == "update"]
    assert changes == [
        ("import", "body", "Другий", "Третій"),
        ("bulk", "owner_user_id", uid(rt, "sales"), uid(rt, "manager")),
        ("form", "body", "Перший", "Другий"),
    ]
    assert json.dumps([e.source for e in entries]).count("import") == 1


# -- the pages ------------------------------------------------------------------------------------------------


@pytest.fixture
def web(make_app: Any) -> Any:
    app = make_app(run_jobs_in_server=False)
    with VoronkaClient(app) as client:
        client.runtime = app.state.voronka
        yield client


def upload(client: Any, text: str | bytes, target: str = "note", **data: str) -> Any:
    body = text.encode() if isinstance(text, str) else text
    return client.post("/import", data={"target": target, **data}, files={"file": ("notes.csv", body, "text/csv")},
                       follow_redirects=False)  # fmt: skip


def test_upload_map_preview_start_and_watch_the_progress(web):
    web.login("sales")
    page = web.get("/import?target=note")
    assert page.status_code == 200 and 'value="note" selected' in page.text and 'value="users"' not in page.text
    sent = upload(web, "Title,Body,Owner\nCall Olena,about the renewal,sales\n,no title,\nThird,x,nobody\n")
    assert sent.status_code == 303
    url = sent.headers["location"]
    mapping = web.get(url)
    assert mapping.status_code == 200
    assert 'name="col0"' in mapping.text and '<option value="title" selected' in mapping.text
    assert "no user “nobody”" in mapping.text and "Required." in mapping.text  # per-cell errors in the preview
    fragment = web.hx_post(f"{url}/preview", data={"col0": "title", "col1": "", "col2": "", "duplicates": "skip"})
    assert fragment.status_code == 200 and 'id="import-preview"' in fragment.text and "<html" not in fragment.text
    refused = web.post(f"{url}/start", data={"col0": "", "col1": "body", "col2": "", "duplicates": "skip"})
    assert refused.status_code == 400 and "required field" in refused.text
    started = web.post(f"{url}/start", data={"col0": "title", "col1": "body", "col2": "owner_user_id",
                                             "duplicates": "skip"}, follow_redirects=False)  # fmt: skip
    assert started.status_code == 303
    waiting = web.hx_get(f"{url}/progress")
    assert 'hx-trigger="every 1s"' in waiting.text and "Waiting to start" in waiting.text
    assert "core.import" in make_runner(web.runtime).run_due_once()
    done = web.get(url)
    assert done.status_code == 200 and "Finished" in done.text and 'hx-trigger="every 1s"' not in done.text
    assert re.search(r"<dt>Created</dt><dd>1</dd>", done.text) and re.search(
        r"<dt>Failed</dt><dd[^>]*>2</dd>", done.text
    )
    errors = web.get(f"{url}/rows.csv")
    assert errors.status_code == 200 and errors.headers["content-type"].startswith("text/csv")
    lines = errors.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Row,Outcome,Reason,Title,Body,Owner" and len(lines) == 3
    assert lines[1].startswith("3,Failed,") and lines[2].startswith("4,Failed,") and "nobody" in lines[2]
    history_page = web.get("/import/history")
    assert "notes.csv" in history_page.text and url in history_page.text


def test_bad_uploads_get_a_clear_400_and_other_peoples_imports_are_404(web):
    web.login("sales")
    broken = upload(web, b"title\n\x81\x8d\x8f\n")
    assert broken.status_code == 400 and "not UTF-8" in broken.text
    wrong_type = web.post("/import", data={"target": "note"}, files={"file": ("x.xlsx", b"PK\x03\x04", "x")})
    assert wrong_type.status_code == 400 and "CSV UTF-8" in wrong_type.text
    assert upload(web, "username\nx\n", target="users").status_code == 400  # not an admin
    mine = upload(web, "title\nA\n").headers["location"]
    web.login("sales2")
    assert web.get(mine).status_code == 404 and web.get(f"{mine}/rows.csv").status_code == 404
    web.login("admin")
    assert web.get(mine).status_code == 200  # administrators see every import
    assert web.get("/import/99999999999999999999999").status_code == 404


def test_a_dry_run_then_run_for_real_and_cancel(web):
    web.login("admin")
    url = upload(web, "title\nOne\nTwo\n").headers["location"]
    web.post(f"{url}/start", data={"col0": "title", "duplicates": "skip", "dry_run": "1"})
    make_runner(web.runtime).run_due_once()
    dry = web.get(url)
    assert "Dry run finished" in dry.text and "Run it for real" in dry.text and notes(web.runtime) == []
    real = web.post(f"{url}/again", follow_redirects=False)
    assert real.status_code == 303 and real.headers["location"] != url
    make_runner(web.runtime).run_due_once()
    assert [n.title for n in notes(web.runtime)] == ["One", "Two"]
    other = upload(web, "title\nThree\n").headers["location"]
    web.post(f"{other}/start", data={"col0": "title", "duplicates": "skip"})
    web.post(f"{other}/cancel")
    make_runner(web.runtime).run_due_once()
    assert "Cancelled" in web.get(other).text and len(notes(web.runtime)) == 2


def test_the_nav_and_the_notes_list_link_to_import_and_export(web):
    web.login("sales")
    home = web.get("/")
    assert 'data-key="core.import"' in home.text
    listing = web.get("/notes/?q=abc")
    assert 'href="/import?target=note"' in listing.text and 'href="/notes/export.csv?q=abc"' in listing.text
    web.login("operator")
    assert 'data-key="core.import"' not in web.get("/").text


# -- the command line ----------------------------------------------------------------------------------------


def cli_config(settings: Any, tmp_path: Any) -> Any:
    config = tmp_path / "cli.toml"
    config.write_text(
        f"database_url = {json.dumps(settings.database_url)}\nsecret_key = \"x\"\nentry_points = false\n"
        f"run_jobs_in_server = false\n[plugins]\nextra = {json.dumps([NOTES])}\n", encoding="utf-8")  # fmt: skip
    return config


def test_voronka_import_maps_columns_and_reports_failures(runtime, voronka_settings, tmp_path):
    from typer.testing import CliRunner

    from voronka.web.cli import create_cli

    source = tmp_path / "notes.csv"
    source.write_text("Заголовок;Текст;Зайве\nПерша;один;x\n;без назви;y\nДруга;два;z\n", encoding="utf-8")
    config = cli_config(voronka_settings, tmp_path)
    args = ["--config", str(config), "import", str(source), "--target", "note", "--map", "Заголовок=title",
            "--map", "Текст=body", "--user", "manager"]  # fmt: skip
    result = CliRunner().invoke(create_cli(), args)
    assert result.exit_code == 0, result.output
    assert "2 created, 0 updated, 0 skipped, 1 failed" in result.stdout
    assert "row 3:" in result.output and "Required" in result.output
    assert [(n.title, n.owner_user_id) for n in notes(runtime)] == [("Перша", uid(runtime, "manager")),
                                                                   ("Друга", uid(runtime, "manager"))]  # fmt: skip
    again = CliRunner().invoke(create_cli(), [*args, "--dry-run", "--duplicates", "skip"])
    assert again.exit_code == 0 and "0 would be created, 0 would be updated, 2 skipped, 1 failed" in again.stdout
    bad = CliRunner().invoke(create_cli(), ["--config", str(config), "import", str(source), "--target", "note",
                                            "--map", "Nope=title"])  # fmt: skip
    assert bad.exit_code == 2 and "no column 'Nope'" in bad.output


def test_a_killed_import_process_resumes_with_no_duplicates_and_no_lost_rows(runtime, voronka_settings, tmp_path):
    """A real process killed with SIGKILL in the middle of the import, then ``--resume``."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    total = 6000
    source = tmp_path / "big.csv"
    source.write_text("title,body\n" + "".join(f"Row {i},text {i}\n" for i in range(total)), encoding="utf-8")
    config = cli_config(voronka_settings, tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1] / "fixture_plugins"),
                                                        os.environ.get("PYTHONPATH", "")]))  # fmt: skip
    command = [sys.executable, "-c", "from voronka.web.cli import main; main()", "--config", str(config)]
    worker = subprocess.Popen([*command, "import", str(source), "--target", "note", "--duplicates", "create"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        progress = 0
        while time.monotonic() < deadline and progress < 500:
            time.sleep(0.05)
            with runtime.sessions() as session:
                progress = session.scalar(select(func.max(Import.next_row))) or 0
        assert progress >= 500, worker.stderr.read().decode() if worker.poll() is not None else "no progress"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=10)
    with runtime.sessions() as session:
        killed = session.scalars(select(Import)).one()
        written = session.scalar(select(func.count()).select_from(Note))
    assert killed.status == "running" and 0 < killed.next_row < total
    assert written == killed.next_row  # every committed batch moved the counter with it, nothing half-written
    resumed = subprocess.run([*command, "import", "--resume", str(killed.id)], env=env, capture_output=True,
                             timeout=120)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()
    titles = [n.title for n in notes(runtime)]
    assert len(titles) == total and len(set(titles)) == total
    with runtime.sessions() as session:
        final = session.get(Import, killed.id)
        audited = session.scalar(select(func.count(func.distinct(AuditEntry.record_id))).where(
            AuditEntry.source == "import"))  # fmt: skip
    assert (final.status, final.created, final.next_row) == ("done", total, total) and audited == total


@pytest.mark.engines("sqlite")
def test_a_csv_gets_the_upload_limit_and_a_bigger_one_a_clear_413(make_app):
    app = make_app(run_jobs_in_server=False, max_body_bytes=64 * 1024, max_upload_bytes=512 * 1024)
    big = "title\n" + "".join(f"Imported note number {i:06d}\n" for i in range(8000))  # ~240 KB
    with VoronkaClient(app) as client:
        client.login("admin")
        accepted = upload(client, big)
        assert accepted.status_code == 303, accepted.text  # over max_body_bytes, under max_upload_bytes
        refused = upload(client, big * 3)
        assert refused.status_code == 413
        assert "larger than 512 KB" in refused.text and 'name="file"' in refused.text  # the form, to try again
        as_a_form = client.post(  # a browser's plain form: the CSRF token in the body it will not read
            "/import", data={"target": "note", "csrf_token": client.csrf_token}, csrf=False,
            files={"file": ("notes.csv", (big * 3).encode(), "text/csv")}, follow_redirects=False,
        )  # fmt: skip
        assert as_a_form.status_code == 413 and "larger than 512 KB" in as_a_form.text
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Import)) == 1

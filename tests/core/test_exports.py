"""CSV export (issue 3, point 6): any record kind, streamed, with owner, team, tags and custom fields
formatted; only what the person may see; a list's export uses the list's own filters; the file imports back.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner
from voronka_test_notes.models import Note

from voronka.core import exports
from voronka.core.custom_fields_admin import create_field
from voronka.core.db import write_transaction
from voronka.core.imports import create_import, run_import, start_import
from voronka.core.models import Team, User
from voronka.core.security.users import load_user
from voronka.core.tags import add_tag
from voronka.core.writes import save
from voronka.web.testkit.client import VoronkaClient

NOTES = "notes=voronka_test_notes"
pytestmark = pytest.mark.voronka(plugins=[NOTES], entry_points=False)


@pytest.fixture
def web(make_app: Any) -> Any:
    app = make_app(run_jobs_in_server=False)
    with VoronkaClient(app) as client:
        client.runtime = app.state.voronka
        yield client


def uid(runtime: Any, username: str) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def add_fields(runtime: Any) -> None:
    note = runtime.record_kinds["note"]
    with write_transaction(runtime.sessions) as session:
        create_field(session, note, {"label": "Region", "key": "region", "type": "choice", "choices": "North\nSouth"})
        create_field(session, note, {"label": "Score", "key": "score", "type": "number"})


def add_note(runtime: Any, title: str, owner: str, **values: Any) -> int:
    note = runtime.record_kinds["note"]
    with write_transaction(runtime.sessions) as session:
        return save(session, note, None, {"title": title, "owner_user_id": uid(runtime, owner), **values},
                    actor=None).id  # fmt: skip


def parse(response: Any) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_export_has_every_column_formatted_and_only_what_the_user_sees(web):
    rt = web.runtime
    add_fields(rt)
    first = add_note(rt, "Дзвінок, важливий", "sales", body='Line one\n"quoted"', **{"cf.region": "North",
                                                                                       "cf.score": 7})  # fmt: skip
    add_note(rt, "Admin's own", "admin")
    with write_transaction(rt.sessions) as session:
        team = session.scalar(select(Team.id).where(Team.name == "Sales"))
        save(session, rt.record_kinds["note"], first, {"owner_team_id": team}, actor=None)
        add_tag(session, rt.record_kinds["note"], first, "VIP")
    web.login("sales")
    response = web.get("/notes/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    header, *rows = parse(response)
    assert header == ["id", "title", "body", "owner", "team", "ref_kind", "ref_id", "Region", "Score", "tags",
                      "created_at"]  # fmt: skip
    assert len(rows) == 1  # the admin's note is not the sales user's to see
    row = dict(zip(header, rows[0], strict=True))
    assert row["title"] == "Дзвінок, важливий" and row["body"] == 'Line one\n"quoted"'
    assert (row["owner"], row["team"], row["Region"], row["Score"], row["tags"]) == ("sales", "Sales", "North",
                                                                                     "7", "VIP")  # fmt: skip
    web.login("admin")
    assert len(parse(web.get("/notes/export.csv"))) == 3
    assert web.get("/notes/export.csv?bom=0").content.startswith(b"id,")
    web.login("operator")
    assert web.get("/notes/export.csv").status_code == 403


def test_the_list_export_uses_the_lists_filters_not_its_paging(web):
    rt = web.runtime
    add_fields(rt)
    for n in range(3):
        add_note(rt, f"Alpha {n}", "admin", **{"cf.region": "North"})
    add_note(rt, "Alpha south", "admin", **{"cf.region": "South"})
    add_note(rt, "Beta", "admin")
    with write_transaction(rt.sessions) as session:
        from voronka.core.settings_store import SettingValue

        session.add(SettingValue(plugin="notes", key="list_limit", value=2))
    rt.sync(force=True)
    web.login("admin")
    assert len(parse(web.get("/notes/export.csv"))) == 6  # the page shows 2; the export has all 5
    titles = [r[1] for r in parse(web.get("/notes/export.csv?q=alp"))[1:]]
    assert sorted(titles) == ["Alpha 0", "Alpha 1", "Alpha 2", "Alpha south"]
    page = web.get("/notes/?q=alp")
    assert 'href="/notes/export.csv?q=alp"' in page.text


def test_an_exported_file_imports_back_as_updates(web):
    rt = web.runtime
    add_fields(rt)
    note_id = add_note(rt, "Round trip", "sales", **{"cf.region": "South", "cf.score": 3})
    web.login("admin")
    text = web.get("/notes/export.csv").content.decode("utf-8-sig").replace(",South,3,", ",North,4,")
    with rt.sessions() as session:
        admin = load_user(session, uid(rt, "admin"))
    with write_transaction(rt.sessions) as session:
        imp = create_import(session, rt.record_kinds, admin, "note", "back.csv", text.encode())
        assert imp.mapping[:2] == ["id", "title"] and "cf.region" in imp.mapping and "cf.score" in imp.mapping
        start_import(session, rt.record_kinds, imp, admin, mapping=imp.mapping, duplicates="update", dry_run=False)
        import_id = imp.id
    done = run_import(rt.sessions, rt.record_kinds, import_id)
    assert (done.created, done.updated, done.failed) == (0, 1, 0), done.message
    with rt.sessions() as session:
        note = session.get(Note, note_id)
        assert note.custom == {"region": "North", "score": 4} and note.version == 2


def test_voronka_export_cli_writes_what_the_user_sees(web, voronka_settings, tmp_path):
    from voronka.web.cli import create_cli

    rt = web.runtime
    add_note(rt, "Sales note", "sales")
    add_note(rt, "Admin note", "admin")
    config = tmp_path / "cli.toml"
    config.write_text(
        f'database_url = "{voronka_settings.database_url}"\nsecret_key = "x"\nentry_points = false\n'
        f'[plugins]\nextra = ["{NOTES}"]\n', encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(create_cli(), ["--config", str(config), "export", "--kind", "note", "--user", "sales"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert [r[1] for r in rows] == ["title", "Sales note"]
    missing = CliRunner().invoke(create_cli(), ["--config", str(config), "export", "--kind", "nope"])
    assert missing.exit_code == 2 and "no record kind" in missing.output.lower()


def test_export_helpers_stream_in_chunks(web, monkeypatch):
    rt = web.runtime
    for n in range(7):
        add_note(rt, f"N{n}", "admin")
    monkeypatch.setattr(exports, "CHUNK", 3)
    with rt.sessions() as session:
        admin = load_user(session, uid(rt, "admin"))
    pieces = list(exports.stream(rt.sessions, rt.record_kinds["note"], admin, bom=False))
    assert len(pieces) == 3  # 3 + 3 + 1 records, the header with the first
    rows = list(csv.reader(io.StringIO("".join(pieces))))
    assert len(rows) == 8 and rows[0][0] == "id"


def test_formulas_are_defused_in_the_export_and_restored_by_the_import(web):
    rt = web.runtime
    note_id = add_note(rt, '=HYPERLINK("http://evil.example","click")', "admin", body="-5")
    web.login("admin")
    text = web.get("/notes/export.csv").content.decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, row, strict=True))
    assert cells["title"].startswith("'=HYPERLINK") and cells["body"] == "-5"  # numbers stay numbers
    with rt.sessions() as session:
        admin = load_user(session, uid(rt, "admin"))
    edited = text.replace(",-5,", ",-6,")
    with write_transaction(rt.sessions) as session:
        imp = create_import(session, rt.record_kinds, admin, "note", "back.csv", edited.encode())
        start_import(session, rt.record_kinds, imp, admin, mapping=imp.mapping, duplicates="update", dry_run=False)
        import_id = imp.id
    assert run_import(rt.sessions, rt.record_kinds, import_id).updated == 1
    with rt.sessions() as session:
        note = session.get(Note, note_id)
        assert (note.title, note.body) == ('=HYPERLINK("http://evil.example","click")', "-6")

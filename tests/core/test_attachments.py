"""Attachments on records of any kind, proven on the notes plugin's records, on both engines.

Through HTTP: upload, list, download, delete, the size limit (by Content-Length and while streaming), the
type checks, names, permissions and CSRF. Through the service: nothing half-written when the storage or
the database fails, and the consistency hooks the recycle bin and merges call.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import tracemalloc
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import delete, func, select

from voronka.core import attachments
from voronka.core.attachments import (
    UploadLimits,
    UploadTooLarge,
    UploadTypeRefused,
    add,
    clean_filename,
    decide_type,
    list_for,
    on_records_deleted,
    on_records_merged,
    prepare,
)
from voronka.core.db import write_transaction
from voronka.core.files import LocalStorage, S3Storage, StorageError, storage_for
from voronka.core.models import Role, RolePermission, User
from voronka.core.models_files import Attachment
from voronka.core.models_records import AuditEntry
from voronka.core.security.users import load_user
from voronka.core.state import bump
from voronka.core.writes import save
from voronka.web.testkit.plugin import require_service

NOTES = "notes=voronka_test_notes"
pytestmark = pytest.mark.voronka(plugins=[NOTES], entry_points=False)

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(200)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)
DOCX = b"PK\x03\x04\x14\x00\x06\x00" + bytes(100)


# -- helpers ----------------------------------------------------------------------------------------------


def uid(app: Any, username: str) -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def viewer(app: Any, username: str) -> Any:
    with app.state.voronka.sessions() as session:
        return load_user(session, uid(app, username))


def kind(app: Any) -> Any:
    return app.state.voronka.record_kinds["note"]


def create_note(app: Any, title: str = "Contract talks", owner: str = "sales") -> int:
    with write_transaction(app.state.voronka.sessions) as session:
        note = save(session, kind(app), None, {"title": title, "body": "", "owner_user_id": uid(app, owner)},
                    actor=uid(app, owner))  # fmt: skip
        return note.id


def rows(app: Any) -> list[Attachment]:
    with app.state.voronka.sessions() as session:
        return list(session.scalars(select(Attachment).order_by(Attachment.id)))


def storage(app: Any) -> Any:
    with app.state.voronka.sessions() as session:
        return storage_for(session)


def blobs(app: Any) -> list[str]:
    """Every file the app's storage holds (temporary files and unfinished uploads included)."""
    found = storage(app)
    if isinstance(found, LocalStorage):
        return sorted(str(p.relative_to(found.folder)) for p in found.folder.rglob("*") if p.is_file()) if (
            found.folder.exists()) else []  # fmt: skip
    listed = found.client.list_objects_v2(Bucket=found.bucket).get("Contents", [])
    unfinished = found.client.list_multipart_uploads(Bucket=found.bucket).get("Uploads", [])
    return sorted([o["Key"] for o in listed] + [f"(unfinished) {u['Key']}" for u in unfinished])


def url(note_id: int, suffix: str = "") -> str:
    return f"/records/note/{note_id}/attachments{suffix}"


def upload(client: Any, note_id: int, name: str, data: bytes, content_type: str = "application/octet-stream",
           **kwargs: Any) -> Any:  # fmt: skip
    return client.hx_post(url(note_id), files={"file": (name, data, content_type)}, **kwargs)


def filename_star(disposition: str) -> str:
    match = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
    assert match, disposition
    return unquote(match.group(1))


# -- the round trip ----------------------------------------------------------------------------------------


def test_upload_list_download_delete(app, client):
    note_id = create_note(app)
    client.login("sales")
    empty = client.hx_get(url(note_id))
    assert empty.status_code == 200 and "No files attached yet." in empty.text
    assert "<html" not in empty.text  # HTMX gets the fragment only

    added = upload(client, note_id, "Звіт про зустріч.pdf", PDF, "application/pdf")
    assert added.status_code == 200, added.text
    assert "Звіт про зустріч.pdf" in added.text and "Sofiia Sales" in added.text
    [row] = rows(app)
    assert (row.kind, row.record_id, row.size) == ("note", note_id, len(PDF))
    assert row.content_type == "application/pdf" and row.sha256 == hashlib.sha256(PDF).hexdigest()
    assert row.uploaded_by == uid(app, "sales") and row.storage_key.startswith("note/")
    assert blobs(app) == [row.storage_key]

    got = client.get(url(note_id, f"/{row.id}"))
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert filename_star(got.headers["content-disposition"]) == "Звіт про зустріч.pdf"
    assert got.headers["content-length"] == str(len(PDF))

    page = client.get(url(note_id))  # as a plain link: a whole page with the record's name
    assert page.status_code == 200 and "<html" in page.text and "Contract talks" in page.text

    gone = client.hx_post(url(note_id, f"/{row.id}/delete"))
    assert gone.status_code == 200 and "No files attached yet." in gone.text
    assert rows(app) == [] and blobs(app) == []
    assert client.get(url(note_id, f"/{row.id}")).status_code == 404
    with app.state.voronka.sessions() as session:
        audit = [(e.field, e.old, e.new, e.actor_id) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.kind == "note", AuditEntry.record_id == note_id,
                                     AuditEntry.field == "attachment").order_by(AuditEntry.id))]  # fmt: skip
    sales = uid(app, "sales")
    assert audit == [
        ("attachment", None, "Звіт про зустріч.pdf", sales),
        ("attachment", "Звіт про зустріч.pdf", None, sales),
    ]


def test_the_form_works_without_javascript_and_needs_the_csrf_token(app, client):
    note_id = create_note(app)
    client.login("sales")
    token = client.csrf_token
    refused = client.post(url(note_id), files={"file": ("a.txt", b"hello", "text/plain")},
                          headers={"X-CSRF-Token": "forged"})  # fmt: skip
    assert refused.status_code == 403 and rows(app) == [] and blobs(app) == []
    posted = client.post(url(note_id), data={"csrf_token": token}, files={"file": ("a.txt", b"hello", "text/plain")},
                         csrf=False, follow_redirects=False)  # fmt: skip
    assert posted.status_code == 303 and posted.headers["location"] == url(note_id)
    [row] = rows(app)
    assert row.content_type == "text/plain" and row.filename == "a.txt"
    removed = client.post(url(note_id, f"/{row.id}/delete"), data={"csrf_token": token}, csrf=False)
    assert removed.status_code == 200 and "No files attached yet." in removed.text  # followed to the page
    assert rows(app) == []


def test_the_record_page_loads_the_panel(app, client):
    note_id = create_note(app)
    client.login("sales")
    page = client.get(f"/notes/{note_id}")
    assert f'hx-get="{url(note_id)}"' in page.text and f'href="{url(note_id)}"' in page.text


def test_empty_or_missing_file_is_a_clear_400(app, client):
    note_id = create_note(app)
    client.login("sales")
    nothing = client.hx_post(url(note_id), files={"file": ("", b"", "application/octet-stream")})
    assert nothing.status_code == 400 and "Choose a file to attach." in nothing.text
    no_field = client.hx_post(url(note_id), data={"other": "x"})
    assert no_field.status_code == 400 and "Choose a file to attach." in no_field.text
    empty = upload(client, note_id, "empty.txt", b"")
    assert empty.status_code == 400 and "is empty" in empty.text
    assert rows(app) == [] and blobs(app) == []


# -- limits ------------------------------------------------------------------------------------------------

LIMIT = 256 * 1024


def test_a_file_just_over_the_limit_gets_413_and_nothing_is_kept(make_app):
    from voronka.web.testkit import VoronkaClient

    app = make_app(max_upload_bytes=LIMIT)
    note_id = create_note(app)
    with VoronkaClient(app) as client:
        client.login("sales")
        over = upload(client, note_id, "big.bin", b"\x01" * (LIMIT + 1))
        assert over.status_code == 413
        assert "larger than 256 KB" in over.text
        assert rows(app) == [] and blobs(app) == []
        exact = upload(client, note_id, "fits.bin", b"\x01" * LIMIT)
        assert exact.status_code == 200 and len(rows(app)) == 1
        # other routes keep max_body_bytes; uploads have their own limit above it
        assert app.state.voronka.settings.max_body_bytes < 25 * 1024 * 1024


def asgi_post(app: Any, client: Any, path: str, total: int, *, content_length: bool) -> tuple[int, bytes, int, int]:
    """POST a multipart body of ``total`` bytes straight into the ASGI app, produced lazily in 64 KiB
    chunks; returns (status, body, bytes the app pulled, peak traced memory)."""
    boundary = "voronkaBoundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()  # fmt: skip
    chunk = bytes(64 * 1024)
    headers = [
        (b"host", b"testserver"),
        (b"cookie", f"voronka_session={client.cookies.get('voronka_session')}".encode()),
        (b"x-csrf-token", client.csrf_token.encode()),
        (b"hx-request", b"true"),
        (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
    ]
    if content_length:
        headers.append((b"content-length", str(total).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled == 0:
            pulled = len(head)
            return {"type": "http.request", "body": head, "more_body": True}
        if pulled >= total:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    tracemalloc.start()
    try:
        asyncio.run(app(scope, receive, send))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, pulled, peak


@pytest.mark.engines("sqlite")
def test_a_200_mb_upload_is_refused_before_its_body_is_read(make_app):
    from voronka.web.testkit import VoronkaClient

    app = make_app(max_upload_bytes=LIMIT)
    note_id = create_note(app)
    with VoronkaClient(app) as client:
        client.login("sales")
        total = 200 * 1024 * 1024
        # announced by Content-Length: answered at once, in the panel, without reading a byte
        status, body, pulled, _peak = asgi_post(app, client, url(note_id), total, content_length=True)
        assert status == 413 and pulled == 0
        assert "larger than 256 KB" in body.decode()
        # streamed without a length (chunked): cut as soon as the limit is passed
        status, body, pulled, peak = asgi_post(app, client, url(note_id), total, content_length=False)
        assert status == 413 and "larger than 256 KB" in body.decode()
        assert pulled <= LIMIT + 64 * 1024 + 2 * 64 * 1024, pulled
        assert peak < 8 * 1024 * 1024, peak
    assert rows(app) == [] and blobs(app) == []


# -- types and names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "claimed", "message"),
    [
        ("invoice.pdf", ELF, "application/pdf", "is a program or script"),
        ("invoice.pdf", EXE, "application/pdf", "is a program or script"),
        ("setup.exe", b"just text", "text/plain", "is a program or script"),
        ("tool.js", b"alert(1)", "text/plain", "is a program or script"),
        ("run.sh", b"#!/bin/sh\nrm -rf /\n", "text/plain", "is a program or script"),
        ("notes.txt", b"harmless", "application/x-msdownload", "is a program or script"),
        ("report.pdf", b"plain text pretending", "application/pdf", "is not a PDF file"),
        ("photo.png", PDF, "image/png", "is not a PNG file"),
    ],
)
def test_forbidden_types_get_415_with_a_reason(app, client, name, data, claimed, message):
    note_id = create_note(app)
    client.login("sales")
    refused = upload(client, note_id, name, data, claimed)
    assert refused.status_code == 415, refused.text
    assert message in refused.text.replace("&#34;", '"')
    assert rows(app) == [] and blobs(app) == []


def test_the_type_comes_from_the_content_not_the_browser(app, client):
    note_id = create_note(app)
    client.login("sales")
    assert upload(client, note_id, "scan.png", PNG, "application/x-whatever").status_code == 200
    assert upload(client, note_id, "Договір.docx", DOCX, "application/octet-stream").status_code == 200
    assert upload(client, note_id, "data.csv", "ім'я;телефон\n".encode("cp1251"), "application/pdf").status_code == 200
    assert upload(client, note_id, "page.html", b"<script>alert(1)</script>", "text/html").status_code == 200
    got = {r.filename: r.content_type for r in rows(app)}
    assert got == {
        "scan.png": "image/png",
        "Договір.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "data.csv": "text/csv",
        "page.html": "text/html",
    }
    ids = {r.filename: r.id for r in rows(app)}
    csv = client.get(url(note_id, f"/{ids['data.csv']}"))
    assert csv.headers["content-type"] == "text/csv"  # no charset claimed: this one is Windows-1251
    page = client.get(url(note_id, f"/{ids['page.html']}"))  # never served as a page of ours
    assert page.headers["content-type"] == "application/octet-stream"
    assert page.headers["content-disposition"].startswith("attachment;")


def test_the_allow_list_applies_on_top(make_app):
    from voronka.web.testkit import VoronkaClient

    app = make_app(upload_types_allowed=["application/pdf", "image/*", ".csv"])
    note_id = create_note(app)
    with VoronkaClient(app) as client:
        client.login("sales")
        assert upload(client, note_id, "a.pdf", PDF).status_code == 200
        assert upload(client, note_id, "b.png", PNG).status_code == 200
        assert upload(client, note_id, "c.csv", b"a,b\n1,2\n").status_code == 200
        refused = upload(client, note_id, "d.txt", b"text")
        assert refused.status_code == 415 and "Allowed: application/pdf, image/*, .csv" in refused.text
        assert 'accept="application/pdf,image/*,.csv"' in client.hx_get(url(note_id)).text
    assert len(rows(app)) == 3


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\win.ini", "win.ini"),
        ("/abs/path/report.txt", "report.txt"),
        ("..", "attachment"),
        ("  .hidden  ", "hidden"),
        ("invoice\u202etxt.exe", "invoicetxt.exe"),
        ("Дружина \u0456\u0308 діти — план.txt", "Дружина ї діти — план.txt"),
        ("😀 emoji name.txt", "😀 emoji name.txt"),
    ],
)
def test_filenames_are_cleaned_and_keys_are_ours(app, client, raw, kept):
    note_id = create_note(app)
    client.login("sales")
    response = upload(client, note_id, raw, b"some text", "text/plain")
    if kept.endswith(".exe"):
        assert response.status_code == 415  # what the bidi override was hiding
        return
    assert response.status_code == 200, response.text
    [row] = rows(app)
    assert row.filename == kept
    assert re.fullmatch(r"note/[0-9a-f]{32}", row.storage_key)
    found = storage(app)
    assert (found.folder / row.storage_key).is_file() and found.folder in (found.folder / row.storage_key).parents
    got = client.get(url(note_id, f"/{row.id}"))
    disposition = got.headers["content-disposition"]
    assert filename_star(disposition) == kept
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert fallback and all(32 <= ord(c) < 127 and c not in '"\\/' for c in fallback)


def test_clean_filename_keeps_the_extension_of_a_long_name():
    name = clean_filename("x" * 400 + ".pdf")
    assert len(name) == 255 and name.endswith(".pdf")


def test_sniffing_decides_text_and_binaries():
    limits = UploadLimits()
    assert decide_type("a.bin", bytes(range(256)), None, limits) == "application/octet-stream"
    assert decide_type("a.json", b'{"a": 1}', "application/pdf", limits) == "application/json"
    assert decide_type("a.html", b"<html>", None, limits) == "text/html"  # served as a download, never inline
    with pytest.raises(UploadTypeRefused):
        decide_type("lib.so.pdf", ELF, None, limits)


# -- permissions -------------------------------------------------------------------------------------------


def test_no_view_permission_or_an_invisible_record_is_404(app, client):
    note_id = create_note(app, owner="sales")
    client.login("sales")
    row_id = (upload(client, note_id, "a.txt", b"hello"), rows(app)[0].id)[1]
    for username in ("operator", "sales2"):  # no notes.view; a colleague who does not see sales' notes
        client.login(username)
        assert client.hx_get(url(note_id)).status_code == 404
        assert client.get(url(note_id, f"/{row_id}")).status_code == 404
        assert upload(client, note_id, "b.txt", b"x").status_code == 404
        assert client.hx_post(url(note_id, f"/{row_id}/delete")).status_code == 404
    client.login("sales")
    assert client.hx_get("/records/nosuchkind/1/attachments").status_code == 404
    assert client.hx_get(url(999_999)).status_code == 404
    assert client.get(url(note_id, "/999999")).status_code == 404
    assert len(rows(app)) == 1


def test_view_without_edit_lists_and_downloads_but_gets_403_on_changes(app, client):
    note_id = create_note(app, owner="sales")
    client.login("sales")
    upload(client, note_id, "a.txt", b"hello")
    row_id = rows(app)[0].id
    with write_transaction(app.state.voronka.sessions) as session:
        manager = session.scalar(select(Role.id).where(Role.key == "manager"))
        session.execute(delete(RolePermission).where(RolePermission.role_id == manager,
                                                     RolePermission.permission == "notes.edit"))  # fmt: skip
        bump(session, "security")
    client.login("manager")  # sales' manager sees the note
    panel = client.hx_get(url(note_id))
    assert panel.status_code == 200 and "a.txt" in panel.text and "Upload" not in panel.text
    assert client.get(url(note_id, f"/{row_id}")).content == b"hello"
    assert upload(client, note_id, "b.txt", b"x").status_code == 403
    assert client.hx_post(url(note_id, f"/{row_id}/delete")).status_code == 403
    assert len(rows(app)) == 1 and len(blobs(app)) == 1


# -- nothing half-written ----------------------------------------------------------------------------------


def test_a_storage_failure_during_put_leaves_no_row_and_no_blob(app, client, monkeypatch):
    note_id = create_note(app)
    client.login("sales")
    real_put = LocalStorage.put

    def failing_put(self, key, stream, size, content_type):
        class Failing:
            def read(self, n):
                data = stream.read(n)
                if not data:
                    raise OSError(28, "No space left on device")
                return data

        return real_put(self, key, Failing(), None, content_type)

    monkeypatch.setattr(LocalStorage, "put", failing_put)
    response = upload(client, note_id, "a.txt", b"hello " * 1000)
    assert response.status_code in (500, 503)
    assert rows(app) == [] and blobs(app) == []


def test_a_storage_error_is_a_503_with_a_message(app, client, monkeypatch):
    note_id = create_note(app)
    client.login("sales")

    def unreachable(self, key, stream, size, content_type):
        raise StorageError("cannot store: connection refused")

    monkeypatch.setattr(LocalStorage, "put", unreachable)
    response = upload(client, note_id, "a.txt", b"hello")
    assert response.status_code == 503 and "could not be stored just now" in response.text
    assert rows(app) == [] and blobs(app) == []


def test_a_database_failure_after_put_leaves_no_orphan_blob(app, client, monkeypatch):
    note_id = create_note(app)
    client.login("sales")

    def broken_emit(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(attachments, "emit", broken_emit)  # fails after the blob and the row were written
    response = upload(client, note_id, "a.txt", b"hello")
    assert response.status_code == 500
    assert rows(app) == [] and blobs(app) == []


def test_a_rolled_back_transaction_takes_its_blobs_and_keeps_deleted_ones(app):
    note_id = create_note(app)
    sales = viewer(app, "sales")
    with pytest.raises(RuntimeError), write_transaction(app.state.voronka.sessions) as session:
        add(session, kind(app), note_id, "a.txt", _stream(b"hello"), "text/plain", sales)
        assert len(blobs(app)) == 1
        raise RuntimeError("something later in the same transaction failed")
    assert rows(app) == [] and blobs(app) == []

    with write_transaction(app.state.voronka.sessions) as session:
        kept = add(session, kind(app), note_id, "b.txt", _stream(b"world"), "text/plain", sales)
        kept_id = kept.id
    with pytest.raises(RuntimeError), write_transaction(app.state.voronka.sessions) as session:
        attachments.remove(session, kind(app), note_id, kept_id, sales)
        raise RuntimeError("rolled back")
    assert [r.id for r in rows(app)] == [kept_id] and len(blobs(app)) == 1  # the row and its blob both stay


def test_service_refuses_oversized_streams_without_keeping_anything(app):
    note_id = create_note(app)
    limits = UploadLimits(max_bytes=1000)

    class Unseekable:
        def __init__(self, data: bytes):
            self.data = data

        def seekable(self) -> bool:
            return False

        def read(self, n: int = -1) -> bytes:
            piece, self.data = (self.data, b"") if n < 0 else (self.data[:n], self.data[n:])
            return piece

    with pytest.raises(UploadTooLarge):
        prepare(storage(app), "note", "x.txt", Unseekable(b"a" * 5000), "text/plain", limits)
    with pytest.raises(UploadTooLarge), write_transaction(app.state.voronka.sessions) as session:
        add(session, kind(app), note_id, "y.txt", _stream(b"b" * 1001), "text/plain", None, limits=limits)
    assert rows(app) == [] and blobs(app) == []


def _stream(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


# -- consistency hooks -------------------------------------------------------------------------------------


def test_merged_records_keep_their_attachments(app):
    kept, merged = create_note(app, "Kept"), create_note(app, "Merged")
    with write_transaction(app.state.voronka.sessions) as session:
        add(session, kind(app), kept, "k.txt", _stream(b"k"), None, None)
        add(session, kind(app), merged, "m1.txt", _stream(b"m1"), None, None)
        add(session, kind(app), merged, "m2.txt", _stream(b"m2"), None, None)
    with write_transaction(app.state.voronka.sessions) as session:
        assert on_records_merged(session, "note", kept, merged) == 2
    with app.state.voronka.sessions() as session:
        assert sorted(a.filename for a in list_for(session, kind(app), kept)) == ["k.txt", "m1.txt", "m2.txt"]
        assert list_for(session, kind(app), merged) == []
    assert len(blobs(app)) == 3


def test_deleted_records_lose_rows_now_and_blobs_after_commit(app):
    first, second = create_note(app, "First"), create_note(app, "Second")
    with write_transaction(app.state.voronka.sessions) as session:
        for name in ("a.txt", "b.txt"):
            add(session, kind(app), first, name, _stream(name.encode()), None, None)
        add(session, kind(app), second, "c.txt", _stream(b"c"), None, None)
    with pytest.raises(RuntimeError), write_transaction(app.state.voronka.sessions) as session:
        assert on_records_deleted(session, "note", [first]) == 2
        raise RuntimeError("the purge failed later")
    assert len(rows(app)) == 3 and len(blobs(app)) == 3  # rolled back: rows and blobs all stay
    with write_transaction(app.state.voronka.sessions) as session:
        assert on_records_deleted(session, "note", [first, 424242]) == 2
        assert len(blobs(app)) == 3  # not before the commit
    assert [r.filename for r in rows(app)] == ["c.txt"]
    assert blobs(app) == [rows(app)[0].storage_key]
    with write_transaction(app.state.voronka.sessions) as session:
        assert on_records_deleted(session, "other_kind", [second]) == 0
    assert len(rows(app)) == 1


# -- the same through an S3-compatible server --------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Any:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        require_service(f"moto[server] is not installed ({exc}); pip install 'voronka[test]'")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_attachments_on_s3_through_http(make_app, s3_endpoint, tmp_path: Path):
    from voronka.web.testkit import VoronkaClient

    bucket = f"crm-{uuid.uuid4().hex[:10]}"
    app = make_app(file_storage="s3", s3_endpoint_url=s3_endpoint, s3_bucket=bucket, s3_region="us-east-1",
                   s3_access_key="testing", s3_secret_key="testing")  # fmt: skip
    found = storage(app)
    assert isinstance(found, S3Storage)
    found.client.create_bucket(Bucket=bucket)
    note_id = create_note(app)
    with VoronkaClient(app) as client:
        client.login("sales")
        assert upload(client, note_id, "Рахунок.pdf", PDF, "application/pdf").status_code == 200
        [row] = rows(app)
        assert blobs(app) == [row.storage_key]
        got = client.get(url(note_id, f"/{row.id}"))
        assert got.content == PDF and filename_star(got.headers["content-disposition"]) == "Рахунок.pdf"
        assert upload(client, note_id, "x.pdf", ELF).status_code == 415
        assert client.hx_post(url(note_id, f"/{row.id}/delete")).status_code == 200
    assert rows(app) == [] and blobs(app) == []
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0

"""Attachments on any record: the panel (HTMX fragment or a page of its own), upload, download, delete.

Under ``/records/{kind}/{record_id}/attachments``. Listing and downloading need the kind's view permission
and a record the user sees; uploading and deleting need the kind's edit permission. A record that is
missing, invisible, or of a kind the user may not view answers 404 (what exists does not leak).

Uploads have their own body limit (``max_upload_bytes``, applied by :class:`~voronka.web.middleware.BodyLimit`
before the body is read) and are spooled to a temporary file by Starlette (1 MB in memory at most), checked
and copied to the file storage in a worker thread, then recorded in one short write transaction, so a slow
upload never holds SQLite's write lock.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from voronka.core.attachments import (
    Prepared,
    UploadLimits,
    UploadTooLarge,
    UploadTypeRefused,
    attach,
    human_size,
    list_for,
    open_for,
    prepare,
    remove,
    too_large_message,
)
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.files import BlobMissing, StorageError, storage_for
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.records import RecordKind, Ref
from voronka.core.templating import is_htmx, render

from ..middleware import UPLOAD_REFUSED

log = logging.getLogger("voronka.web.attachments")

TEMPLATE = "_attachments.html"
ACTIVE_TYPES = frozenset({"text/html", "image/svg+xml", "application/xhtml+xml", "application/xml", "text/xml"})
NOT_FOUND = N_("There is no such record, or it is not yours to see.")


def _record(request: Request) -> tuple[RecordKind, Any]:
    """The kind and the record of the URL, or 404 when either is unknown, switched off or not visible."""
    kinds = runtime(request).record_kinds
    kind = kinds.get(request.path_params["kind"]) if kinds is not None else None
    viewer = user(request)
    if kind is None or not kinds.host.is_enabled(kind.plugin) or not kind.may_view(viewer):
        raise HTTPException(404, NOT_FOUND)
    record = kinds.resolve(db(request), Ref(kind.name, request.path_params["record_id"]), viewer)
    if record is None:
        raise HTTPException(404, NOT_FOUND)
    return kind, record


def base_url(kind: RecordKind, record_id: int) -> str:
    return f"/records/{kind.name}/{record_id}/attachments"


def panel_context(request: Request, kind: RecordKind, record: Any, error: str | None = None) -> dict[str, Any]:
    settings = runtime(request).settings
    return {
        "kind": kind,
        "record_id": record.id,
        "record_label": kind.display(record),
        "record_url": kind.url_for(record.id),
        "base_url": base_url(kind, record.id),
        "attachments": list_for(db(request), kind, record.id),
        "can_edit": kind.may_edit(user(request)),
        "max_upload": human_size(settings.max_upload_bytes),
        "accept": ",".join(settings.upload_types_allowed),
        "error": error,
        "standalone": not is_htmx(request),
    }


def _panel(request: Request, kind: RecordKind, record: Any, error: str | None = None, status: int = 200) -> Response:
    db(request).rollback()  # end the read snapshot taken before the write, so the list shows its result
    ctx = panel_context(request, kind, record, error)
    return render(request, TEMPLATE, ctx, block="attachments", status_code=status)


def attachments_panel(request: Request) -> Response:
    """The list with the upload form: a fragment for HTMX (the record page loads it), else a page."""
    kind, record = _record(request)
    return _panel(request, kind, record)


def _done(request: Request, kind: RecordKind, record: Any) -> Response:
    if is_htmx(request):
        return _panel(request, kind, record)
    return RedirectResponse(base_url(kind, record.id), status_code=303)


def _attach_committed(request: Request, kind: RecordKind, record_id: int, prepared: Prepared) -> None:
    with write_transaction(runtime(request).sessions) as session:
        attach(session, kind, record_id, prepared, user(request))


async def attachment_upload(request: Request) -> Response:
    """Store one file (the ``file`` field of a multipart form) on the record."""
    kind, record = _record(request)
    if not kind.may_edit(user(request)):
        raise HTTPException(403)
    settings = runtime(request).settings
    if UPLOAD_REFUSED in request.scope:  # Content-Length over the limit: answer before reading the body
        return _panel(request, kind, record, too_large_message(settings.max_upload_bytes), 413)
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _panel(request, kind, record, _("Choose a file to attach."), 400)
        storage = storage_for(db(request))
        prepared = await run_in_threadpool(
            prepare, storage, kind.name, upload.filename, upload.file, upload.content_type,
            UploadLimits.from_settings(settings),
        )  # fmt: skip
        try:
            await run_in_threadpool(_attach_committed, request, kind, record.id, prepared)
        except BaseException:
            prepared.discard()
            raise
    except UploadTooLarge as exc:
        return _panel(request, kind, record, _message(exc), 413)
    except UploadTypeRefused as exc:
        return _panel(request, kind, record, _message(exc), 415)
    except ValidationError as exc:
        return _panel(request, kind, record, _message(exc), 400)
    except StorageError:
        log.exception("storing an attachment on %s:%s failed", kind.name, record.id)
        message = _("The file could not be stored just now; nothing was saved. Try again in a moment.")
        return _panel(request, kind, record, message, 503)
    finally:
        await form.close()
    return _done(request, kind, record)


def _message(exc: ValidationError) -> str:
    return "; ".join(exc.errors.values())


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback for old clients and the exact name, UTF-8 percent-encoded."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()-]+", "_", ascii_name).strip(" ._")
    stem, dot, ext = filename.rpartition(".")
    if not re.search(r"[A-Za-z0-9]", ascii_name.rpartition(".")[0] or ascii_name):
        safe_ext = re.sub(r"[^A-Za-z0-9]", "", ext)[:16] if dot and stem else ""
        ascii_name = "attachment" + (f".{safe_ext}" if safe_ext else "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def attachment_download(request: Request) -> Response:
    """The file, streamed as a download (never shown inline: an HTML or SVG file cannot run as our page)."""
    kind, record = _record(request)
    try:
        found = open_for(db(request), kind, record.id, request.path_params["attachment_id"])
    except BlobMissing:
        raise HTTPException(
            404, N_("The file of this attachment is missing from the file storage. Tell an administrator.")
        ) from None
    except StorageError:
        log.exception("reading an attachment of %s:%s failed", kind.name, record.id)
        raise HTTPException(503, N_("The file storage cannot be reached just now. Try again in a moment.")) from None
    if found is None:
        raise HTTPException(404, N_("There is no such attachment; someone may have deleted it."))
    row, chunks = found
    headers = {
        # as stored (no charset added: a Windows-1251 CSV must not be announced as UTF-8); types a browser
        # would run as a page go out as plain bytes, should anything ever show a download inline
        "Content-Type": "application/octet-stream" if row.content_type in ACTIVE_TYPES else row.content_type,
        "Content-Disposition": content_disposition(row.filename),
        "Content-Length": str(row.size),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
        "ETag": f'"{row.sha256}"',
    }
    return StreamingResponse(chunks, headers=headers)


def attachment_delete(request: Request) -> Response:
    kind, record = _record(request)
    viewer = user(request)
    if not kind.may_edit(viewer):
        raise HTTPException(403)
    try:
        with write_transaction(runtime(request).sessions) as session:
            remove(session, kind, record.id, request.path_params["attachment_id"], viewer)
    except ValidationError as exc:
        return _panel(request, kind, record, _message(exc), 404)
    return _done(request, kind, record)


routes: list[BaseRoute] = [
    Route("/records/{kind}/{record_id:int}/attachments", attachments_panel, methods=["GET"], name="attachments"),
    Route("/records/{kind}/{record_id:int}/attachments", attachment_upload, methods=["POST"], name="attachment_upload"),
    Route(
        "/records/{kind}/{record_id:int}/attachments/{attachment_id:int}",
        attachment_download,
        methods=["GET"],
        name="attachment_download",
    ),
    Route(
        "/records/{kind}/{record_id:int}/attachments/{attachment_id:int}/delete",
        attachment_delete,
        methods=["POST"],
        name="attachment_delete",
    ),
]

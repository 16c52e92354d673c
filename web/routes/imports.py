"""Import pages: upload a CSV, map its columns with a live preview, start (or dry-run) the import, watch its
progress, read and download the rows that failed; the history of one's imports.

The import itself runs as a queued job (``core.import``) in the server's or a worker's job runner; these
pages only create, start, cancel and read ``core_import`` rows. Everything works without JavaScript (the
progress page then refreshes by a plain link); with HTMX the preview updates in place and the progress
block polls every second.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import func, select
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from voronka.core.attachments import human_size
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.imports import (
    MODES,
    PREVIEW_ROWS,
    cancel_import,
    copy_for_real,
    create_import,
    preview,
    start_import,
    target_choices,
    target_label,
)
from voronka.core.imports_csv import DELIMITERS, ENCODINGS
from voronka.core.models import User
from voronka.core.models_imports import Import, ImportRow
from voronka.core.templating import is_htmx, render
from voronka.core.types import utcnow

from ..middleware import UPLOAD_REFUSED
from .admin_base import valid_id

HISTORY_LIMIT = 100
SHOWN_ROWS = 100
RUNNING = ("queued", "running")


def _go(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, 303)


def _text(form: FormData, key: str, limit: int = 200) -> str:
    value = form.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


# -- upload ----------------------------------------------------------------------------------------------


def _upload_page(request: Request, values: dict[str, str], errors: dict[str, str], status_code: int = 200) -> Response:
    rt = runtime(request)
    choices = target_choices(rt.record_kinds, user(request))
    return render(request, "imports/upload.html", {
        "choices": choices, "values": values, "errors": errors, "encodings": ENCODINGS, "delimiters": DELIMITERS,
        "max_size": rt.settings.max_upload_bytes,
    }, status_code=status_code)  # fmt: skip


async def upload_form(request: Request) -> Response:
    values = {"target": request.query_params.get("target", "")[:60], "encoding": "", "delimiter": ""}
    return _upload_page(request, values, {})


async def upload(request: Request) -> Response:
    if request.scope.get(UPLOAD_REFUSED) is not None:  # too big by its Content-Length: refused unread
        values = {"target": "", "encoding": "", "delimiter": ""}
        message = _("The file is larger than %(size)s; split it into smaller files.") % {
            "size": human_size(runtime(request).settings.max_upload_bytes)
        }
        return _upload_page(request, values, {"file": message}, 413)
    form = await request.form(max_files=1, max_fields=10)
    try:
        return await _upload(request, form)
    finally:
        await form.close()


async def _upload(request: Request, form: FormData) -> Response:
    values = {k: _text(form, k, 60) for k in ("target", "encoding", "delimiter")}
    if values["delimiter"] == "tab":
        values["delimiter"] = "\t"
    file = form.get("file")
    errors: dict[str, str] = {}
    if not isinstance(file, UploadFile) or not file.filename:
        errors["file"] = _("Choose a CSV file to upload.")
        return _upload_page(request, values, errors, 400)
    name = file.filename or ""
    if not name.lower().endswith((".csv", ".txt", ".tsv")):
        errors["file"] = _("Upload a CSV file (.csv, .tsv or .txt); save spreadsheets as “CSV UTF-8” first.")
        return _upload_page(request, values, errors, 400)
    data = await file.read()
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            imp = create_import(session, rt.record_kinds, user(request), values["target"], name, data,
                                encoding=values["encoding"], delimiter=values["delimiter"])  # fmt: skip
            new_id = imp.id
    except ValidationError as exc:
        return _upload_page(request, values, exc.errors, 400)
    return _go(request, f"/import/{new_id}")


# -- one import --------------------------------------------------------------------------------------------


def _import(request: Request) -> Import:
    """The import in the path, if it is the viewer's own (or they are an administrator); else 404."""
    import_id = request.path_params["import_id"]
    imp = db(request).get(Import, import_id) if valid_id(import_id) else None
    viewer = user(request)
    if imp is None or (imp.user_id != viewer.id and not viewer.is_admin):
        raise HTTPException(404, _("There is no such import, or it is not yours."))
    return imp


def _mapping_page(request: Request, imp: Import, *, mapping: list[str] | None = None, duplicates: str | None = None,
                  dry_run: bool | None = None, errors: dict[str, str] | None = None, status_code: int = 200,
                  block: str | None = None) -> Response:  # fmt: skip
    rt = runtime(request)
    try:
        shown = preview(db(request), rt.record_kinds, imp, user(request), mapping=mapping, duplicates=duplicates)
    except ValidationError as exc:  # the target's plugin was switched off since the upload, say
        raise HTTPException(409, "; ".join(exc.errors.values())) from None
    kind = rt.record_kinds.get(imp.target)
    return render(request, "imports/mapping.html", {
        "imp": imp, "preview": shown, "errors": {**shown.errors, **(errors or {})},
        "duplicates": duplicates or imp.duplicates,
        "dry_run": imp.dry_run if dry_run is None else dry_run, "modes": MODES,
        "target_label": target_label(rt.record_kinds, imp.target), "encodings": ENCODINGS,
        "matcher": kind is None or kind.duplicates is not None, "preview_rows": PREVIEW_ROWS,
        "samples": _samples(shown),
    }, block=block, status_code=status_code)  # fmt: skip


def _samples(shown: Any) -> list[str]:
    first = next((r for r in shown.rows if r.cells), None)
    return [text for text, _error in first.cells] if first is not None else []


def _progress_context(request: Request, imp: Import) -> dict[str, Any]:
    rt = runtime(request)
    session = db(request)
    rows = session.scalars(
        select(ImportRow).where(ImportRow.import_id == imp.id).order_by(ImportRow.row).limit(SHOWN_ROWS)
    ).all()
    noted = session.scalar(select(func.count()).select_from(ImportRow).where(ImportRow.import_id == imp.id)) or 0
    rate = eta = None
    if imp.started_at is not None and imp.next_row:
        elapsed = ((imp.finished_at or utcnow()) - imp.started_at).total_seconds()
        rate = imp.next_row / elapsed if elapsed > 0 else None
        if rate and imp.status in RUNNING:
            eta = max(0, imp.total_rows - imp.next_row) / rate
    owner = session.scalar(select(User.display_name).where(User.id == imp.user_id)) if imp.user_id else None
    percent = int(100 * imp.next_row / imp.total_rows) if imp.total_rows else 0
    return {
        "imp": imp, "rows": rows, "noted": noted, "rate": rate, "eta": eta, "percent": percent,
        "running": imp.status in RUNNING, "target_label": target_label(rt.record_kinds, imp.target),
        "owner": owner, "kind": rt.record_kinds.get(imp.target),
    }  # fmt: skip


async def import_page(request: Request) -> Response:
    imp = _import(request)
    if imp.status == "draft":
        return _mapping_page(request, imp)
    return render(request, "imports/progress.html", _progress_context(request, imp))


async def progress(request: Request) -> Response:
    """The progress block alone (HTMX polls it); as a plain link, the whole page."""
    imp = _import(request)
    if imp.status == "draft":
        return _go(request, f"/import/{imp.id}")
    return render(request, "imports/progress.html", _progress_context(request, imp), block="progress")


def _mapping_from(form: FormData, width: int) -> list[str]:
    return [_text(form, f"col{i}", 80) for i in range(width)]


async def update_preview(request: Request) -> Response:
    """Keep the chosen mapping on the draft and show the preview it gives (HTMX: the preview block)."""
    imp = _import(request)
    if imp.status != "draft":
        return _go(request, f"/import/{imp.id}")
    form = await request.form()
    mapping = _mapping_from(form, len(imp.mapping))
    duplicates = _text(form, "duplicates", 10)
    duplicates = duplicates if duplicates in MODES else imp.duplicates
    dry_run = form.get("dry_run") is not None
    with write_transaction(runtime(request).sessions) as session:
        row = session.get(Import, imp.id)
        assert row is not None
        row.mapping, row.duplicates, row.dry_run = mapping, duplicates, dry_run
    db(request).expire_all()
    imp = _import(request)
    return _mapping_page(request, imp, block="preview")


async def start(request: Request) -> Response:
    imp = _import(request)
    form = await request.form()
    mapping = _mapping_from(form, len(imp.mapping))
    duplicates = _text(form, "duplicates", 10)
    dry_run = form.get("dry_run") is not None
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            row = session.get(Import, imp.id, with_for_update=True)
            assert row is not None
            start_import(session, rt.record_kinds, row, user(request), mapping=mapping, duplicates=duplicates,
                         dry_run=dry_run)  # fmt: skip
    except ValidationError as exc:
        db(request).expire_all()
        return _mapping_page(request, _import(request), mapping=mapping, duplicates=duplicates, dry_run=dry_run,
                             errors=exc.errors, status_code=400)  # fmt: skip
    return _go(request, f"/import/{imp.id}")


async def cancel(request: Request) -> Response:
    imp = _import(request)
    with write_transaction(runtime(request).sessions) as session:
        row = session.get(Import, imp.id, with_for_update=True)
        assert row is not None
        cancel_import(session, row)
    return _go(request, f"/import/{imp.id}")


async def again(request: Request) -> Response:
    """A finished dry run, now for real: the same file and settings, started at once."""
    imp = _import(request)
    if not imp.dry_run or imp.status != "done":
        raise HTTPException(409, _("Only a finished dry run can be run for real."))
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            copy = copy_for_real(session, imp, user(request))
            start_import(session, rt.record_kinds, copy, user(request), mapping=list(copy.mapping),
                         duplicates=copy.duplicates, dry_run=False)  # fmt: skip
            new_id = copy.id
    except ValidationError as exc:
        raise HTTPException(409, "; ".join(exc.errors.values())) from None
    return _go(request, f"/import/{new_id}")


async def rows_csv(request: Request) -> Response:
    """Every failed or skipped row with its reason and the original cells, as a CSV to fix and re-import."""
    imp = _import(request)
    from voronka.core.imports import open_file

    noted = {r.row: r for r in db(request).scalars(
        select(ImportRow).where(ImportRow.import_id == imp.id).order_by(ImportRow.row))}  # fmt: skip
    csv_file = open_file(imp, runtime(request).record_kinds)

    def lines() -> Any:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write("\ufeff")
        writer.writerow([_("Row"), _("Outcome"), _("Reason"), *csv_file.header])
        for row in csv_file.rows():
            found = noted.get(row.number)
            if found is not None:
                outcome = _("Failed") if found.outcome == "failed" else _("Skipped")
                writer.writerow([row.number, outcome, found.message, *row.cells])
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    stem = (imp.filename or "import").rsplit(".", 1)[0][:80] or "import"
    headers = {"Content-Disposition": f'attachment; filename="{_ascii(stem)}-rows.csv"'}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


def _ascii(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in text)


async def history(request: Request) -> Response:
    viewer = user(request)
    rt = runtime(request)
    query = select(Import, User.display_name).outerjoin(User, User.id == Import.user_id)
    if not viewer.is_admin:
        query = query.where(Import.user_id == viewer.id)
    found = db(request).execute(query.order_by(Import.id.desc()).limit(HISTORY_LIMIT)).all()
    labels = {imp.target: target_label(rt.record_kinds, imp.target) for imp, _name in found}
    return render(request, "imports/history.html", {
        "imports": found, "labels": labels, "can_import": bool(target_choices(rt.record_kinds, viewer)),
    })  # fmt: skip


routes = [
    Route("/import", upload_form, methods=["GET"], name="import"),
    Route("/import", upload, methods=["POST"], name="import_upload"),
    Route("/import/history", history, methods=["GET"], name="import_history"),
    Route("/import/{import_id:int}", import_page, methods=["GET"], name="import_page"),
    Route("/import/{import_id:int}/progress", progress, methods=["GET"], name="import_progress"),
    Route("/import/{import_id:int}/preview", update_preview, methods=["POST"], name="import_preview"),
    Route("/import/{import_id:int}/start", start, methods=["POST"], name="import_start"),
    Route("/import/{import_id:int}/cancel", cancel, methods=["POST"], name="import_cancel"),
    Route("/import/{import_id:int}/again", again, methods=["POST"], name="import_again"),
    Route("/import/{import_id:int}/rows.csv", rows_csv, methods=["GET"], name="import_rows"),
]

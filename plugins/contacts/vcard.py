"""vCard 2.1/3.0/4.0 import and export, on core's import service.

Import: upload a .vcf (GET/POST /contacts/import/vcard); it becomes one core import per record kind in it
(people, organisations; see ``vcard_source``), previewed together (cards, first rows as they will be read,
duplicates, problems), then run by core's import job in batches with the chosen duplicate mode or as a dry
run. Export: one party (/contacts/{id}.vcf) or many (/contacts/export.vcf?ids=… or the list's filters),
visible records only, streamed; see ``vcard_export`` for why 3.0.

Loading this module registers the "vcard" row source and contacts' extra import targets with core.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from voronka.core.attachments import human_size
from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id, parse_ids, parse_owner
from voronka.core.imports import MODES, copy_for_real, create_import, preview, start_import
from voronka.core.models_imports import Import, ImportRow
from voronka.core.search_keys import search_key
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import is_htmx, render

from . import vcard_export, vcard_source
from .card_base import load
from .kinds import EDIT, VIEW
from .models import PARTY_KINDS, Party

PREVIEW_ROWS = 20
SHOWN_ROWS = 100
EXPORT_CHUNK = 500
MAX_IDS = 5000
RUNNING = ("queued", "running")


def jobs() -> list[Any]:
    """None of its own: core's import job runs vCard imports (their row source is registered above)."""
    return []


def _go(request: Request, url: str) -> Response:
    """As core's import pages answer (``web/routes/imports``): a full page load for HTMX (``HX-Redirect``),
    not ``core.handlers.go_to``'s swap of the body, so both kinds of import behave alike."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, 303)


# -- upload ----------------------------------------------------------------------------------------------


def _upload_page(request: Request, errors: dict[str, str], status_code: int = 200) -> Response:
    limit = runtime(request).settings.max_upload_bytes
    return render(
        request,
        "contacts/vcard_import.html",
        {"errors": errors, "max_size": human_size(limit)},
        status_code=status_code,
    )


@requires(EDIT)
async def upload_form(request: Request) -> Response:
    return _upload_page(request, {})


def _too_big(request: Request) -> Response:
    message = _("The file is larger than %(size)s; split it into smaller files.") % {
        "size": human_size(runtime(request).settings.max_upload_bytes)
    }
    return _upload_page(request, {"file": message}, 413)


@requires(EDIT)
async def upload(request: Request) -> Response:
    from voronka.web.middleware import UPLOAD_REFUSED

    if request.scope.get(UPLOAD_REFUSED) is not None:
        return _too_big(request)
    form = await request.form(max_files=1, max_fields=10)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return _upload_page(request, {"file": _("Choose a vCard file (.vcf) to upload.")}, 400)
        data = await file.read()
        name = file.filename
    finally:
        await form.close()
    if len(data) > runtime(request).settings.max_upload_bytes:
        return _too_big(request)
    try:
        first = await run_in_threadpool(create_imports, runtime(request), user(request), name, data)
    except ValidationError as exc:
        return _upload_page(request, {"file": "; ".join(exc.errors.values())}, 400)
    return _go(request, f"/contacts/import/vcard/{first}")


def create_imports(rt: Any, viewer: Any, filename: str, data: bytes) -> int:
    """Draft imports for the kinds the file holds (organisations first: people's employers may be among
    them); returns the first one's id, which names the group."""
    cards = vcard_source.read_cards(data)
    kinds = [vcard_source.classify(card) for card in cards]
    parts = [p for p in ("organisation", "person") if p in kinds or (p == "person" and "error" in kinds)]
    with write_transaction(rt.sessions) as session:
        region = company_settings(session).phone_region
        created = [
            create_import(
                session,
                rt.record_kinds,
                viewer,
                part,
                filename,
                data,
                source=vcard_source.SOURCE,
                options={"part": part, "region": region},
            )
            for part in parts
        ]
        group = [imp.id for imp in created]
        for imp in created:
            imp.options = {**imp.options, "group": group}
        return group[0]


# -- preview, start, progress ----------------------------------------------------------------------------


def _group(request: Request) -> list[Import]:
    """The imports of the group named in the path, if they are the viewer's (or they are an admin)."""
    session = db(request)
    first = session.get(Import, request.path_params["import_id"])
    viewer = user(request)
    if (
        first is None
        or (first.options or {}).get("source") != vcard_source.SOURCE
        or (first.user_id != viewer.id and not viewer.is_admin)
    ):
        raise HTTPException(404, _("There is no such import, or it is not yours."))
    ids = (first.options or {}).get("group") or [first.id]
    found = {imp.id: imp for imp in session.scalars(select(Import).where(Import.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _summary(imports: list[Import]) -> dict[str, int]:
    """Counts over the whole file (read once): cards, people, organisations, unreadable, named from e-mail."""
    cards = vcard_source.read_cards(imports[0].content)
    counts = {"cards": len(cards), "person": 0, "organisation": 0, "error": 0, "named": 0, "notes": 0}
    region = (imports[0].options or {}).get("region") or "UA"
    for card in cards:
        kind = vcard_source.classify(card)
        counts[kind] += 1
        if kind != "error":
            values, notes = vcard_source.card_values(card, kind, region)
            counts["named"] += kind == "person" and bool(values.get("name")) and not card.formatted_name
            counts["notes"] += bool(notes)
    return counts


def _preview_rows(request: Request, imports: list[Import], mode: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for imp in imports:
        shown = preview(
            db(request), runtime(request).record_kinds, imp, user(request), duplicates=mode, limit=PREVIEW_ROWS
        )
        for row in shown.rows:
            cells = {key: text for key, (text, _e) in zip(shown.header, row.cells, strict=False)}
            errors = [e for _t, e in row.cells if e]
            note = row.note
            if row.outcome == "new":  # the badge says it; keep what the reader noted
                note = note.removeprefix(_("New")).removeprefix(" · ")
            name = cells.get("name") or " ".join(
                cells.get(k, "") for k in ("first_name", "middle_name", "last_name") if cells.get(k)
            )
            rows.append(
                {
                    "number": row.number,
                    "kind": imp.target,
                    "name": name,
                    "email": cells.get("primary_email", ""),
                    "phone": cells.get("primary_phone", ""),
                    "city": cells.get("city", ""),
                    "organisation": cells.get("employer", ""),
                    "outcome": row.outcome,
                    "note": "; ".join([*([row.error] if row.error else []), *errors, *([note] if note else [])]),
                }
            )
    rows.sort(key=lambda r: r["number"])
    return rows[:PREVIEW_ROWS]


def _status(request: Request, imports: list[Import]) -> dict[str, Any]:
    session = db(request)
    ids = [imp.id for imp in imports]
    noted = session.scalars(
        select(ImportRow).where(ImportRow.import_id.in_(ids)).order_by(ImportRow.row, ImportRow.id).limit(SHOWN_ROWS)
    ).all()
    total_noted = session.scalar(select(func.count()).select_from(ImportRow).where(ImportRow.import_id.in_(ids))) or 0
    return {
        "noted": noted,
        "total_noted": total_noted,
        "running": any(i.status in RUNNING for i in imports),
        "dry_run": any(i.dry_run for i in imports),
        "finished_dry_run": all(i.dry_run and i.status == "done" for i in imports),
    }


@requires(EDIT)
async def import_page(request: Request) -> Response:
    imports = _group(request)
    context: dict[str, Any] = {"imports": imports, "first": imports[0], "modes": MODES, "errors": {}}
    if imports[0].status == "draft":
        mode = request.query_params.get("duplicates", imports[0].duplicates)
        mode = mode if mode in MODES else "skip"
        context.update(summary=_summary(imports), rows=_preview_rows(request, imports, mode), duplicates=mode)
        return render(request, "contacts/vcard_preview.html", context)
    context.update(_status(request, imports))
    return render(request, "contacts/vcard_preview.html", context, block="status")


@requires(EDIT)
async def start(request: Request) -> Response:
    imports = _group(request)
    form = await request.form()
    mode = str(form.get("duplicates") or "skip")
    dry_run = form.get("dry_run") is not None
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            for imp in imports:
                row = session.get(Import, imp.id, with_for_update=True)
                assert row is not None
                start_import(
                    session,
                    rt.record_kinds,
                    row,
                    user(request),
                    mapping=list(row.mapping),
                    duplicates=mode,
                    dry_run=dry_run,
                )
    except ValidationError as exc:
        db(request).expire_all()
        imports = _group(request)
        return render(
            request,
            "contacts/vcard_preview.html",
            {
                "imports": imports,
                "first": imports[0],
                "modes": MODES,
                "errors": exc.errors,
                "duplicates": mode,
                "summary": _summary(imports),
                "rows": _preview_rows(request, imports, mode),
            },
            status_code=409 if imports[0].status != "draft" else 400,
        )
    return _go(request, f"/contacts/import/vcard/{imports[0].id}")


@requires(EDIT)
async def again(request: Request) -> Response:
    """A finished dry run for real: the same file and settings as a new group, started at once."""
    imports = _group(request)
    if not all(i.dry_run and i.status == "done" for i in imports):
        raise HTTPException(409, _("Only a finished dry run can be run for real."))
    rt = runtime(request)
    viewer = user(request)
    with write_transaction(rt.sessions) as session:
        copies = [copy_for_real(session, session.get(Import, imp.id), viewer) for imp in imports]
        group = [c.id for c in copies]
        for copy in copies:
            copy.options = {**copy.options, "group": group}
            start_import(
                session,
                rt.record_kinds,
                copy,
                viewer,
                mapping=list(copy.mapping),
                duplicates=copy.duplicates,
                dry_run=False,
            )
    return _go(request, f"/contacts/import/vcard/{group[0]}")


# -- export ---------------------------------------------------------------------------------------------


def _filename(text: str) -> str:
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in text).strip("_")[:80]
    return f"{stem or 'contacts'}.vcf"


@requires(VIEW)
async def export_one(request: Request) -> Response:
    party = load(request).party
    text = "".join(vcard_export.cards(db(request), [party], user(request)))
    headers = {"Content-Disposition": f'attachment; filename="{_filename(party.name)}"'}
    return Response(text, media_type="text/vcard; charset=utf-8", headers=headers)


def export_filters(params: Any) -> list[Any]:
    """WHERE clauses from the list's query parameters: ids=1,2,3; kind; q (name prefix); owner (user id)."""
    clauses: list[Any] = []
    raw_ids = params.get("ids", "")
    if raw_ids:
        parts = [p.strip() for p in raw_ids.split(",") if p.strip()]
        ids = parse_ids(parts) if len(parts) <= MAX_IDS else None
        if not ids:
            raise HTTPException(400, _("Give at most %(n)s record numbers, separated by commas.") % {"n": MAX_IDS})
        clauses.append(Party.id.in_(ids))
    kind = params.get("kind", "")
    if kind:
        if kind not in PARTY_KINDS:
            raise HTTPException(400, _("Choose people or organisations."))
        clauses.append(Party.kind == kind)
    query = params.get("q", "").strip()
    if query:
        key = search_key(query)
        clauses.append(Party.name_key.startswith(key, autoescape=True) | Party.alt_key.startswith(key, autoescape=True))
    owner = params.get("owner", "")
    if owner:
        owned = parse_owner(owner) or (("user", parse_id(owner)) if parse_id(owner) is not None else None)
        if owned is None:
            raise HTTPException(400, _("The owner must be a user number."))
        who, owner_id = owned
        clauses.append((Party.owner_user_id if who == "user" else Party.owner_team_id) == owner_id)
    return clauses


@requires(VIEW)
async def export_many(request: Request) -> Response:
    """Every visible party the filters select, streamed in keyset chunks (constant memory, no OFFSET)."""
    clauses = export_filters(request.query_params)
    viewer = user(request)
    sessions = runtime(request).sessions

    def chunks() -> Iterator[str]:
        after = 0
        while True:
            with sessions() as session:
                parties = session.scalars(
                    select(Party)
                    .where(Party.id > after, Party.deleted_at.is_(None), visible(Party, viewer), *clauses)
                    .order_by(Party.id)
                    .limit(EXPORT_CHUNK)
                ).all()
                if not parties:
                    return
                yield "".join(vcard_export.cards(session, list(parties), viewer))
                after = parties[-1].id

    headers = {"Content-Disposition": 'attachment; filename="contacts.vcf"'}
    return StreamingResponse(chunks(), media_type="text/vcard; charset=utf-8", headers=headers)


routes: list[Any] = [
    Route("/import/vcard", upload_form, methods=["GET"], name="vcard_import"),
    Route("/import/vcard", upload, methods=["POST"], name="vcard_upload"),
    Route("/import/vcard/{import_id:int}", import_page, methods=["GET"], name="vcard_import_page"),
    Route("/import/vcard/{import_id:int}/start", start, methods=["POST"], name="vcard_import_start"),
    Route("/import/vcard/{import_id:int}/again", again, methods=["POST"], name="vcard_import_again"),
    Route("/export.vcf", export_many, methods=["GET"], name="vcard_export"),
    Route("/{party_id:int}.vcf", export_one, methods=["GET"], name="vcard_export_one"),
]

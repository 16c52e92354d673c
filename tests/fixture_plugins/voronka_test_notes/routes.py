"""Pages under /notes: the list (full page or its HTMX fragment) with a bulk action, the create form, a note
with its edit form, tags and history, and a lazy panel.

Every write goes through core's write path (``voronka.core.writes``): before_save, audit and events apply
to the form, the bulk action and (later) imports alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core import custom_fields
from voronka.core.audit import history
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.exports import export_response
from voronka.core.handlers import db, form_dict, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models import User
from voronka.core.recycle import merge, redirect_url
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.tags import add_tag, remove_tag, tags_of
from voronka.core.templating import render
from voronka.core.writes import delete, save, save_many
from voronka.web.routes.record_fields import card_context

from . import queries
from .models import BODY_MAX, TITLE_MAX, Note

VIEW = "notes.view"
EDIT = "notes.edit"
HISTORY_LIMIT = 100
BULK_MAX = 500
SOURCE_LABELS = {"form": N_("Form"), "bulk": N_("Bulk action"), "import": N_("Import"), "api": N_("API")}
FIELD_LABELS = {"title": N_("Title"), "body": N_("Text"), "owner_user_id": N_("Owner"), "owner_team_id": N_("Team"),
                "": N_("Note"), "attachment": N_("Attachment")}  # fmt: skip


def setting(request: Request, key: str) -> Any:
    return runtime(request).settings_store.get(db(request), "notes", key)


def kind(request: Request) -> Any:
    """The registered "note" kind (bound to this app's plugins), as core's record services want it."""
    return runtime(request).record_kinds["note"]


def go_to(request: Request, target: str) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def validate(form: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Cleaned values and errors per field; nothing is written while there are errors."""
    title = form.get("title", "").strip()
    body = form.get("body", "").replace("\r\n", "\n").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = _("Give the note a title.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("Keep the title under %(n)s characters (it has %(len)s).") % {
            "n": TITLE_MAX,
            "len": len(title),
        }
    if len(body) > BODY_MAX:
        errors["body"] = _("Keep the text under %(n)s characters.") % {"n": f"{BODY_MAX:,}"}
    return {"title": title, "body": body}, errors


def list_context(request: Request, form: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> dict:
    q = request.query_params.get("q", "").strip()[:200]
    session, note_kind = db(request), kind(request)
    controls, where = custom_fields.list_filters(session, note_kind, request.query_params)
    also = custom_fields.search_ids(session, note_kind, q) if q else None
    limit = int(setting(request, "list_limit"))
    notes, more = queries.list_notes(session, user(request), q, limit, also=also, where=where)
    can_edit = user(request).can(EDIT)
    owners: list[Any] = []
    if can_edit and notes:
        active = select(User.id, User.display_name).where(User.active.is_(True)).order_by(User.display_name)
        owners = list(db(request).execute(active))
    return {
        "q": q,
        "notes": notes,
        "more": more,
        "can_edit": can_edit,
        "owners": owners,
        "bulk_error": None,
        "form": form or {"title": setting(request, "default_title") or "", "body": ""},
        "errors": errors or {},
        "cf_fields": custom_fields.definitions(session, "note"),
        "cf_controls": controls,
        "filtered": bool(where),
    }


@requires(VIEW)
async def note_list(request: Request) -> Response:
    """The notes page; HTMX (the filter box) gets only the ``notes`` block of the same template."""
    return render(request, "notes/list.html", list_context(request), block="notes")


@requires(EDIT)
async def note_create(request: Request) -> Response:
    cleaned, errors = validate(await form_dict(request))
    fields = custom_fields.definitions(db(request), "note")
    custom, custom_errors = custom_fields.read_form(fields, await request.form())
    errors.update(custom_errors)
    if not errors:
        viewer = user(request)
        try:
            with write_transaction(runtime(request).sessions) as session:
                values = {**cleaned, **custom, "owner_user_id": viewer.id}
                note = save(session, kind(request), None, values, actor=viewer)
                note_id = note.id
        except ValidationError as exc:
            errors = exc.errors
        else:
            return go_to(request, str(request.url_for("notes:detail", note_id=note_id).path))
    shown = {**cleaned, **{k: v for k, v in (await request.form()).multi_items() if k.startswith("cf.")}}
    for field in custom_fields.definitions(db(request), "note"):
        if field.type == "multichoice":
            shown[field.name] = (await request.form()).getlist(field.name)
    ctx = list_context(request, form=shown, errors=errors)
    return render(request, "notes/list.html", ctx, block="form", status_code=400)


def visible_note(request: Request) -> Any:
    note = queries.get_note(db(request), user(request), request.path_params["note_id"])
    if note is None:  # missing and not visible look the same: no leak of what exists
        raise HTTPException(404, _("There is no such note, or it is not yours to see."))
    return note


def detail_context(request: Request, note: Any, **extra: Any) -> dict[str, Any]:
    session, viewer, note_kind = db(request), user(request), kind(request)
    entries = history(session, note_kind, note.id, limit=HISTORY_LIMIT)
    owner_ids = {v for e in entries if e.field == "owner_user_id" for v in (e.old, e.new) if isinstance(v, int)}
    names = (
        dict(session.execute(select(User.id, User.display_name).where(User.id.in_(owner_ids))).all())
        if owner_ids
        else {}
    )
    ctx: dict[str, Any] = {
        "note": note,
        "can_edit": viewer.can(EDIT),
        "form": {
            "title": note.title,
            "body": note.body,
            "version": note.version,
            **custom_fields.form_values(custom_fields.definitions(session, "note"), note.custom),
        },
        "errors": {},
        "stale": None,
        "tags": tags_of(session, note_kind, note.id, viewer),
        "tag_error": None,
        "tag_input": "",
        "history": entries,
        "owner_names": names,
        "sources": SOURCE_LABELS,
        "field_labels": {
            **FIELD_LABELS,
            **{f.name: f.label for f in custom_fields.definitions(session, "note", include_removed=True)},
        },
        "cf": card_context(session, note_kind, note, viewer),
        "cf_defs": {f.name: f for f in custom_fields.definitions(session, "note", include_removed=True)},
        "cf_format": custom_fields.format_value,
        "cf_fields": custom_fields.definitions(session, "note"),
        "merge_choices": merge_choices(request, note.id) if viewer.can(EDIT) else [],
        "confirm_delete": False,
        "confirm_merge": None,
        "action_error": None,
    }
    ctx.update(extra)
    return ctx


@requires(VIEW)
async def note_detail(request: Request) -> Response:
    """A note's page; the address of a note merged into another leads to the kept one."""
    try:
        note = visible_note(request)
    except HTTPException:
        target = redirect_url(db(request), kind(request), request.path_params["note_id"], user(request))
        if target is None:
            raise
        return RedirectResponse(target, status_code=303)
    return render(request, "notes/detail.html", detail_context(request, note))


MERGE_CHOICES = 200


def merge_choices(request: Request, note_id: int) -> list[Any]:
    """Other notes the user sees, newest first: what "Merge into…" offers."""
    rows, _more = queries.list_notes(db(request), user(request), "", MERGE_CHOICES + 1)
    return [r for r in rows if r.id != note_id][:MERGE_CHOICES]


@requires(EDIT)
async def note_delete_confirm(request: Request) -> Response:
    """Asks before deleting (a page of its own, so it works without JavaScript)."""
    note = visible_note(request)
    return render(request, "notes/detail.html", detail_context(request, note, confirm_delete=True))


@requires(EDIT)
async def note_delete(request: Request) -> Response:
    """Into the recycle bin, through the write path (audit entry, event); an admin may restore it."""
    note = visible_note(request)
    try:
        with write_transaction(runtime(request).sessions) as session:
            delete(session, kind(request), note.id, actor=user(request))
    except ValidationError as exc:
        ctx = detail_context(request, note, confirm_delete=True, action_error="; ".join(exc.errors.values()))
        return render(request, "notes/detail.html", ctx, status_code=400)
    return go_to(request, str(request.url_for("notes:list").path) + "?deleted=1")


def merge_target(request: Request, raw: str | None) -> Any:
    """The note picked to merge into, visible to the user; None when the pick is missing or not valid."""
    raw = (raw or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    return queries.get_note(db(request), user(request), int(raw))


@requires(EDIT)
async def note_merge_confirm(request: Request) -> Response:
    note = visible_note(request)
    target = merge_target(request, request.query_params.get("into"))
    if target is None or target.id == note.id:
        ctx = detail_context(request, note, action_error=_("Choose another note to merge this one into."))
        return render(request, "notes/detail.html", ctx, status_code=400)
    return render(request, "notes/detail.html", detail_context(request, note, confirm_merge=target))


@requires(EDIT)
async def note_merge(request: Request) -> Response:
    """Merge this note into the chosen one: its tags and attached notes move there, it goes to the bin, and
    its address leads to the kept note from now on."""
    note = visible_note(request)
    target = merge_target(request, (await form_dict(request)).get("into"))
    problem = _("Choose another note to merge this one into.") if target is None else None
    if target is not None:
        try:
            with write_transaction(runtime(request).sessions) as session:
                merge(session, kind(request), target.id, note.id, actor=user(request))
        except ValidationError as exc:
            problem = "; ".join(exc.errors.values())
    if problem is not None:
        ctx = detail_context(request, note, action_error=problem)
        return render(request, "notes/detail.html", ctx, status_code=400)
    return go_to(request, str(request.url_for("notes:detail", note_id=target.id).path))


@requires(EDIT)
async def note_update(request: Request) -> Response:
    """The edit form, through the write path with the version the form was opened at."""
    note = visible_note(request)
    form = await form_dict(request)
    cleaned, errors = validate(form)
    raw = await request.form()
    custom, custom_errors = custom_fields.read_form(custom_fields.definitions(db(request), "note"), raw)
    errors.update(custom_errors)
    shown = {k: v for k, v in form.items() if k.startswith("cf.")}
    shown.update({f.name: raw.getlist(f.name) for f in custom_fields.definitions(db(request), "note")
                  if f.type == "multichoice"})  # fmt: skip
    version = form.get("version", "")
    if not version.isdigit():
        errors[""] = _("The form is incomplete; reload the page and try again.")
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                values = {**cleaned, **custom}
                save(session, kind(request), note.id, values, actor=user(request), expected_version=int(version))
        except StaleRecord as exc:
            fresh = visible_note(request)
            ctx = detail_context(request, fresh, form={**cleaned, "version": fresh.version}, stale=str(exc))
            return render(request, "notes/detail.html", ctx, block="edit", status_code=409)
        except ValidationError as exc:
            errors = exc.errors
        else:
            return go_to(request, str(request.url_for("notes:detail", note_id=note.id).path))
    ctx = detail_context(request, note, form={**cleaned, **shown, "version": version}, errors=errors)
    return render(request, "notes/detail.html", ctx, block="edit", status_code=400)


@requires(EDIT)
async def bulk_assign_owner(request: Request) -> Response:
    """The list's bulk action: give the selected notes (only ones the user may see) another owner."""
    form = await request.form()
    viewer = user(request)
    raw_ids = [v for v in form.getlist("ids") if isinstance(v, str)]
    owner = str(form.get("owner_user_id") or "")
    problem = None
    ids: list[int] = []
    if not raw_ids:
        problem = _("Select the notes to assign first.")
    elif len(raw_ids) > BULK_MAX or not all(v.isdigit() for v in raw_ids):
        problem = _("The selection is not valid; reload the list and try again.")
    elif not owner.isdigit() or not db(request).scalar(
        select(User.id).where(User.id == int(owner), User.active.is_(True))
    ):
        problem = _("Choose an active user as the new owner.")
    else:
        wanted = {int(v) for v in raw_ids}
        ids = list(db(request).scalars(select(Note.id).where(Note.id.in_(wanted), visible(Note, viewer))))
        if len(ids) != len(wanted):
            problem = _("Some of the selected notes are gone or not yours to see; reload the list.")
    if problem is None:
        try:
            with write_transaction(runtime(request).sessions) as session:
                save_many(session, kind(request), ids, {"owner_user_id": int(owner)}, actor=viewer, source="bulk")
        except ValidationError as exc:
            problem = "; ".join(exc.errors.values())
    if problem is not None:
        ctx = list_context(request)
        ctx["bulk_error"] = problem
        return render(request, "notes/list.html", ctx, block="notes", status_code=400)
    return go_to(request, str(request.url_for("notes:list").path))


@requires(EDIT)
async def tag_add(request: Request) -> Response:
    note = visible_note(request)
    text = (await form_dict(request)).get("tag", "")
    try:
        with write_transaction(runtime(request).sessions) as session:
            add_tag(session, kind(request), note.id, text, user=user(request))
    except ValidationError as exc:
        ctx = detail_context(request, note, tag_error="; ".join(exc.errors.values()), tag_input=text)
        return render(request, "notes/detail.html", ctx, block="tags", status_code=400)
    return go_to(request, str(request.url_for("notes:detail", note_id=note.id).path))


@requires(EDIT)
async def tag_remove(request: Request) -> Response:
    note = visible_note(request)
    with write_transaction(runtime(request).sessions) as session:
        remove_tag(session, kind(request), note.id, request.path_params["tag_id"], user=user(request))
    return go_to(request, str(request.url_for("notes:detail", note_id=note.id).path))


@requires(VIEW)
async def note_export(request: Request) -> Response:
    """The list as CSV, with the list's own filters (title prefix, custom-field filters), not its paging."""
    session, note_kind = db(request), kind(request)
    q = request.query_params.get("q", "").strip()[:200]
    _controls, where = custom_fields.list_filters(session, note_kind, request.query_params)
    also = custom_fields.search_clause(session, note_kind, q) if q else None
    stmt = queries.list_query(user(request), q, also=also, where=where)
    return export_response(request, note_kind, stmt if stmt is not None else select(Note.id).where(false()))


@requires(VIEW)
async def recent_panel(request: Request) -> Response:
    """The home page's lazy panel; opened as a plain link it is a full page."""
    notes, _more = queries.list_notes(db(request), user(request), "", 5)
    return render(request, "notes/recent.html", {"notes": notes}, block="panel")


routes = [
    Route("/", note_list, methods=["GET"], name="list"),
    Route("/", note_create, methods=["POST"], name="create"),
    Route("/bulk/owner", bulk_assign_owner, methods=["POST"], name="bulk_owner"),
    Route("/export.csv", note_export, methods=["GET"], name="export"),
    Route("/{note_id:int}", note_detail, methods=["GET"], name="detail"),
    Route("/{note_id:int}", note_update, methods=["POST"], name="update"),
    Route("/{note_id:int}/tags", tag_add, methods=["POST"], name="tag_add"),
    Route("/{note_id:int}/delete", note_delete_confirm, methods=["GET"], name="delete_confirm"),
    Route("/{note_id:int}/delete", note_delete, methods=["POST"], name="delete"),
    Route("/{note_id:int}/merge", note_merge_confirm, methods=["GET"], name="merge_confirm"),
    Route("/{note_id:int}/merge", note_merge, methods=["POST"], name="merge"),
    Route("/{note_id:int}/tags/{tag_id:int}/remove", tag_remove, methods=["POST"], name="tag_remove"),
    Route("/panels/recent", recent_panel, name="recent_panel"),
]

"""Pages under /notes: the list (full page or its HTMX fragment), the create form, a note, a lazy panel."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.handlers import db, form_dict, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.search_keys import search_key
from voronka.core.security.markers import requires
from voronka.core.templating import render
from voronka.core.types import utcnow

from . import queries
from .models import BODY_MAX, TITLE_MAX, Note

VIEW = "notes.view"
EDIT = "notes.edit"


def setting(request: Request, key: str) -> Any:
    return runtime(request).settings_store.get(db(request), "notes", key)


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
    notes, more = queries.list_notes(db(request), user(request), q, int(setting(request, "list_limit")))
    return {
        "q": q,
        "notes": notes,
        "more": more,
        "can_edit": user(request).can(EDIT),
        "form": form or {"title": setting(request, "default_title") or "", "body": ""},
        "errors": errors or {},
    }


@requires(VIEW)
async def note_list(request: Request) -> Response:
    """The notes page; HTMX (the filter box) gets only the ``notes`` block of the same template."""
    return render(request, "notes/list.html", list_context(request), block="notes")


@requires(EDIT)
async def note_create(request: Request) -> Response:
    cleaned, errors = validate(await form_dict(request))
    if errors:
        ctx = list_context(request, form=cleaned, errors=errors)
        return render(request, "notes/list.html", ctx, block="form", status_code=400)
    viewer = user(request)
    with write_transaction(runtime(request).sessions) as session:
        note = Note(
            title=cleaned["title"],
            title_key=search_key(cleaned["title"]),
            body=cleaned["body"],
            owner_user_id=viewer.id,
            created_at=utcnow(),
        )
        session.add(note)
        session.flush()
        note_id = note.id
    target = str(request.url_for("notes:detail", note_id=note_id).path)
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Location": target})
    return RedirectResponse(target, status_code=303)


@requires(VIEW)
async def note_detail(request: Request) -> Response:
    note = queries.get_note(db(request), user(request), request.path_params["note_id"])
    if note is None:  # missing and not visible look the same: no leak of what exists
        raise HTTPException(404, _("There is no such note, or it is not yours to see."))
    return render(request, "notes/detail.html", {"note": note})


@requires(VIEW)
async def recent_panel(request: Request) -> Response:
    """The home page's lazy panel; opened as a plain link it is a full page."""
    notes, _more = queries.list_notes(db(request), user(request), "", 5)
    return render(request, "notes/recent.html", {"notes": notes}, block="panel")


routes = [
    Route("/", note_list, methods=["GET"], name="list"),
    Route("/", note_create, methods=["POST"], name="create"),
    Route("/{note_id:int}", note_detail, name="detail"),
    Route("/panels/recent", recent_panel, name="recent_panel"),
]

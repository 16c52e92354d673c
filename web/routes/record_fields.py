"""Custom fields: the admin editor per record kind and in-place editing on any record.

Admin (``core.admin``): /admin/fields lists the kinds that can have fields; /admin/fields/{kind} lists a
kind's fields (active and archived) with the form for a new one; each field has its edit page and
move/remove/restore/delete buttons. Every button is a plain form POST, so the editor works without JS.

Records: /records/{kind}/{id}/fields is the custom-fields card of a record (an HTMX fragment, or a page
of its own without JS); ``…/{key}/edit`` shows one value as a form inside the card, and POST ``…/{key}``
saves it through the one write path with the version the card was rendered at (409 when stale, 400 with
the field's message on bad input, nothing written).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from voronka.core import custom_fields as cf
from voronka.core import custom_fields_admin as cfa
from voronka.core.custom_fields_card import card_context
from voronka.core.custom_fields_index import value_count
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models_fields import CustomField, CustomValue
from voronka.core.security.markers import requires
from voronka.core.security.permissions import ADMIN
from voronka.core.templating import is_htmx, render
from voronka.core.writes import save

from .admin_base import done, page, read_form

TYPE_LABELS = {
    "text": N_("Text"),
    "number": N_("Number"),
    "money": N_("Money"),
    "date": N_("Date"),
    "choice": N_("Choice"),
    "multichoice": N_("Multiple choice"),
    "bool": N_("Yes / no"),
    "link": N_("Link to a record"),
}


# -- admin editor ---------------------------------------------------------------------------------------


def _kinds(request: Request) -> list[Any]:
    return [k for k in runtime(request).record_kinds.values() if cf.has_custom(k)]


def _kind(request: Request) -> Any:
    found = runtime(request).record_kinds.get(request.path_params["kind"])
    if found is None or not cf.has_custom(found):
        raise HTTPException(404, _("There is no record kind with custom fields by that name."))
    return found


def _form(form: Any) -> dict[str, Any]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _editor_context(request: Request, kind: Any, **extra: Any) -> dict[str, Any]:
    session = db(request)
    fields = cf.definitions(session, kind.name, include_removed=True)
    counts = dict(
        session.execute(
            select(CustomValue.field_id, func.count(func.distinct(CustomValue.record_id)))
            .where(CustomValue.kind == kind.name)
            .group_by(CustomValue.field_id)
        ).all()
    )
    ctx: dict[str, Any] = {
        "kind": kind,
        "active": [f for f in fields if not f.removed],
        "archived": [f for f in fields if f.removed],
        "counts": counts,
        "types": TYPE_LABELS,
        "link_kinds": list(runtime(request).record_kinds.values()),
        "form": {"type": "text"},
        "errors": {},
        "message": {
            "created": _("The field was added."),
            "saved": _("The field was saved."),
            "removed": _("The field was removed. Its values are kept: restore it below to bring them back."),
            "restored": _("The field was restored with the values records kept."),
            "deleted": _("The field was deleted for good."),
        }.get(request.query_params.get("done", "")),
    }
    ctx.update(extra)
    return ctx


@requires(ADMIN)
async def kinds_page(request: Request) -> Response:
    session = db(request)
    counts = dict(
        session.execute(
            select(CustomField.kind, func.count()).where(CustomField.removed.is_(False)).group_by(CustomField.kind)
        ).all()
    )
    return page(request, "admin/fields_index.html", {"kinds": _kinds(request), "counts": counts}, tab="fields")


@requires(ADMIN)
async def kind_page(request: Request) -> Response:
    kind = _kind(request)
    return page(request, "admin/fields.html", _editor_context(request, kind), tab="fields")


@requires(ADMIN)
async def field_create(request: Request) -> Response:
    kind = _kind(request)
    form = _form(await read_form(request))
    try:
        with write_transaction(runtime(request).sessions) as session:
            cfa.create_field(session, kind, form)
    except ValidationError as exc:
        ctx = _editor_context(request, kind, form=form, errors=exc.errors)
        return page(request, "admin/fields.html", ctx, tab="fields", block="new_field", status_code=400)
    return done(request, f"/admin/fields/{kind.name}", done="created")


def _field(request: Request, kind: Any) -> cf.FieldDef:
    wanted = request.path_params["field_id"]
    for field in cf.definitions(db(request), kind.name, include_removed=True):
        if field.id == wanted:
            return field
    row = db(request).get(CustomField, wanted)  # created by another process within the last second
    if row is None or row.kind != kind.name:
        raise HTTPException(404, _("There is no such field; someone may have deleted it."))
    return cf.as_def(row)


def _edit_form(field: cf.FieldDef) -> dict[str, Any]:
    return {
        "label": field.label,
        "type": field.type,
        "choices": "\n".join(field.choices),
        "link_kind": field.options.get("kind", ""),
        "currency": field.options.get("currency", ""),
        "decimals": str(field.options.get("decimals", 0)),
        "max_length": str(field.options.get("max_length", "")),
        "default": cfa.default_text(field),
        "required": field.required,
        "unique": field.unique,
        "filterable": field.filterable,
        "searchable": field.searchable,
    }


def _field_context(request: Request, kind: Any, field: cf.FieldDef, **extra: Any) -> dict[str, Any]:
    ctx = {
        "kind": kind,
        "field": field,
        "held": value_count(db(request), field),
        "types": TYPE_LABELS,
        "link_kinds": list(runtime(request).record_kinds.values()),
        "form": _edit_form(field),
        "errors": {},
    }
    ctx.update(extra)
    return ctx


@requires(ADMIN)
async def field_page(request: Request) -> Response:
    kind = _kind(request)
    field = _field(request, kind)
    return page(request, "admin/fields_edit.html", _field_context(request, kind, field), tab="fields")


@requires(ADMIN)
async def field_update(request: Request) -> Response:
    kind = _kind(request)
    field = _field(request, kind)
    form = _form(await read_form(request))
    try:
        with write_transaction(runtime(request).sessions) as session:
            cfa.update_field(session, kind, field.id, form)
    except ValidationError as exc:
        shown = {**_edit_form(field), **form}
        for flag in ("required", "unique", "filterable", "searchable"):
            shown[flag] = flag in form
        ctx = _field_context(request, kind, field, form=shown, errors=exc.errors)
        return page(request, "admin/fields_edit.html", ctx, tab="fields", block="field_form", status_code=400)
    return done(request, f"/admin/fields/{kind.name}", done="saved")


async def _simple(request: Request, action: str) -> Response:
    kind = _kind(request)
    field = _field(request, kind)
    form = _form(await read_form(request))
    try:
        with write_transaction(runtime(request).sessions) as session:
            if action == "move":
                direction = form.get("direction", "")
                if direction not in ("up", "down"):
                    raise ValidationError(_("Choose up or down."))
                cfa.move_field(session, kind, field.id, direction)
            elif action == "remove":
                cfa.remove_field(session, kind, field.id)
            elif action == "restore":
                cfa.restore_field(session, kind, field.id)
            else:
                cfa.delete_field(session, kind, field.id, confirm=form.get("confirm", ""), actor=user(request))
    except ValidationError as exc:
        ctx = _editor_context(request, kind, problem="; ".join(exc.errors.values()), problem_field=field.id)
        return page(request, "admin/fields.html", ctx, tab="fields", status_code=400)
    outcome = {"move": "", "remove": "removed", "restore": "restored", "delete": "deleted"}[action]
    return done(request, f"/admin/fields/{kind.name}", **({"done": outcome} if outcome else {}))


@requires(ADMIN)
async def field_move(request: Request) -> Response:
    return await _simple(request, "move")


@requires(ADMIN)
async def field_remove(request: Request) -> Response:
    return await _simple(request, "remove")


@requires(ADMIN)
async def field_restore(request: Request) -> Response:
    return await _simple(request, "restore")


@requires(ADMIN)
async def field_delete(request: Request) -> Response:
    return await _simple(request, "delete")


# -- in-place editing on records ------------------------------------------------------------------------


def _record(request: Request, *, edit: bool = False) -> tuple[Any, Any]:
    kinds = runtime(request).record_kinds
    kind = kinds.get(request.path_params["kind"])
    viewer = user(request)
    if kind is None or not cf.has_custom(kind):
        raise HTTPException(404, _("There is no such record, or it is not yours to see."))
    if not kind.may_view(viewer) or (edit and not kind.may_edit(viewer)):
        raise HTTPException(403, _("You do not have permission to change this record."))
    record_id = request.path_params["record_id"]
    model = kind.model
    found = db(request).scalars(select(model).where(model.id == record_id, kind.visible_to(viewer))).first()
    if found is None:
        raise HTTPException(404, _("There is no such record, or it is not yours to see."))
    return kind, found


def _card(request: Request, ctx: dict[str, Any], status_code: int = 200) -> Response:
    return render(request, "_custom_fields_card.html", {"cf": ctx}, block="card", status_code=status_code)


async def record_card(request: Request) -> Response:
    kind, record = _record(request)
    return _card(request, card_context(db(request), kind, record, user(request)))


def _active(request: Request, kind: Any) -> cf.FieldDef:
    key = request.path_params["key"]
    for field in cf.definitions(db(request), kind.name):
        if field.key == key:
            return field
    raise HTTPException(404, _("This record kind has no field “%(key)s”.") % {"key": key})


async def value_edit(request: Request) -> Response:
    kind, record = _record(request, edit=True)
    field = _active(request, kind)
    return _card(request, card_context(db(request), kind, record, user(request), editing=field.key))


async def value_save(request: Request) -> Response:
    kind, record = _record(request, edit=True)
    field = _active(request, kind)
    form = await request.form()
    version = str(form.get("version") or "")
    values, errors = cf.read_form([field], form)
    if field.name not in values and not errors:
        values[field.name] = None
    session = db(request)
    shown = {**cf.form_values([field], record.custom), **{k: v for k, v in form.items() if isinstance(v, str)}}
    if field.type == "multichoice":
        shown[field.name] = [v for v in form.getlist(field.name) if isinstance(v, str)]
    if not version.isdigit():
        errors[field.name] = _("The form is incomplete; reload the page and try again.")
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as tx:
                save(tx, kind, record.id, values, actor=user(request), expected_version=int(version))
        except StaleRecord as exc:
            session.rollback()  # end the read snapshot taken before the write: see the saved record
            kind, fresh = _record(request, edit=True)
            ctx = card_context(session, kind, fresh, user(request), editing=field.key, error=str(exc))
            return _card(request, ctx, 409)
        except ValidationError as exc:
            errors = {field.name: "; ".join(exc.errors.values())}
        else:
            if not is_htmx(request):
                return RedirectResponse(kind.url_for(record.id), 303)
            session.rollback()  # end the read snapshot taken before the write: see the saved record
            kind, fresh = _record(request)
            return _card(request, card_context(session, kind, fresh, user(request)))
    ctx = card_context(session, kind, record, user(request), editing=field.key, error=errors[field.name])
    ctx["values"] = {**ctx["values"], **shown}
    return _card(request, ctx, 400)


routes: list[BaseRoute] = [
    Route("/admin/fields", kinds_page, methods=["GET"], name="admin-fields"),
    Route("/admin/fields/{kind}", kind_page, methods=["GET"], name="admin-fields-kind"),
    Route("/admin/fields/{kind}", field_create, methods=["POST"], name="admin-fields-create"),
    Route("/admin/fields/{kind}/{field_id:int}", field_page, methods=["GET"], name="admin-fields-field"),
    Route("/admin/fields/{kind}/{field_id:int}", field_update, methods=["POST"], name="admin-fields-update"),
    Route("/admin/fields/{kind}/{field_id:int}/move", field_move, methods=["POST"], name="admin-fields-move"),
    Route("/admin/fields/{kind}/{field_id:int}/remove", field_remove, methods=["POST"], name="admin-fields-remove"),
    Route("/admin/fields/{kind}/{field_id:int}/restore", field_restore, methods=["POST"], name="admin-fields-restore"),
    Route("/admin/fields/{kind}/{field_id:int}/delete", field_delete, methods=["POST"], name="admin-fields-delete"),
    Route("/records/{kind}/{record_id:int}/fields", record_card, methods=["GET"], name="record-fields"),
    Route("/records/{kind}/{record_id:int}/fields/{key}/edit", value_edit, methods=["GET"], name="record-field-edit"),
    Route("/records/{kind}/{record_id:int}/fields/{key}", value_save, methods=["POST"], name="record-field-save"),
]

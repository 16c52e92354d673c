"""Relationships between parties on the customer card: the section (both sides, worded for this party),
quick add with search-as-you-type or create-in-place, edit/end/delete in place, and the holding tree.

Contract used by the card: ``card_section(session, viewer, party) -> dict`` rendered by
``contacts/_relationships.html`` (the card includes it with the dict as ``relationships``). Every change
goes through core's write path (``voronka.core.writes``), so ``before_save`` below, audit and events apply
to imports and the API as much as to these forms.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, form_dict, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id, parse_version
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import render
from voronka.core.writes import delete, save

from . import lookup, relationship_queries, relationship_rules, relationship_types
from .kinds import EDIT, MANAGE, VIEW, relationship_visibility
from .models import ORGANISATION, PARTY_KINDS, PERSON, Party, Relationship
from .relationship_queries import holding, read_section
from .relationship_types import KIND_LABELS, parse_role, role_options

SECTION = "contacts/relationship_section.html"
NOTE_MAX = 2000
FIELD_OF = {"a_id": "other", "b_id": "other", "type_id": "role", "name": "new_name", "first_name": "new_name"}


def before_save(session: Any, record: Any, changes: dict[str, Any]) -> None:
    relationship_rules.check(session, record, changes)


def card_section(session: Any, viewer: Any, party: Any, **extra: Any) -> dict[str, Any]:
    """Everything ``contacts/_relationships.html`` needs for ``party`` as ``viewer`` sees it."""
    section = read_section(session, viewer, party)
    ctx: dict[str, Any] = {
        "party": party,
        "groups": section.groups,
        "hidden": section.hidden,
        # "1000+": the hidden count stops there
        "hidden_cap": cap if section.hidden > (cap := relationship_queries.HIDDEN_CAP) else None,
        "more": section.more,
        "influencers": section.influencers,
        "people_by_role": section.people_by_role,
        "has_holding": section.has_holding,
        "is_organisation": party.kind == ORGANISATION,
        "can_edit": bool(viewer.can(EDIT)),
        "can_manage": bool(viewer.can(MANAGE)),
        "options": role_options(section.types, party.kind),
        "kind_labels": KIND_LABELS,
        "form": {},
        "errors": {},
        "matches": (),
        "chosen": None,
        "adding": False,
        "editing": None,
        "edit_form": {},
        "stale": None,
        "message": None,
    }
    ctx.update(extra)
    return ctx


# -- helpers -----------------------------------------------------------------------------------------------


def visible_party(session: Session, viewer: Any, party_id: int) -> Any:
    """A live party the viewer may see, or None (missing and hidden look the same)."""
    query = select(Party).where(Party.id == party_id, Party.deleted_at.is_(None), visible(Party, viewer))
    return session.scalar(query)


def party_or_404(request: Request) -> Any:
    party_id = parse_id(request.path_params["party_id"])
    found = visible_party(db(request), user(request), party_id) if party_id is not None else None
    if found is None:
        raise HTTPException(404, _("There is no such person or organisation, or it is not yours to see."))
    return found


def tie_or_404(request: Request, party: Any) -> Relationship:
    rel_id = parse_id(request.path_params["rel_id"])
    query = select(Relationship).where(Relationship.id == rel_id, relationship_visibility(user(request)),
                                       (Relationship.a_id == party.id) | (Relationship.b_id == party.id))  # fmt: skip
    found = db(request).scalar(query) if rel_id is not None else None
    if found is None:
        raise HTTPException(404, _("There is no such relationship, or it is not yours to see."))
    return found


def show(request: Request, party: Any, status_code: int = 200, **extra: Any) -> Response:
    """The section: the HTMX fragment in place, or a page of its own without JS."""
    ctx = {"relationships": card_section(db(request), user(request), party, **extra)}
    return render(request, SECTION, ctx, block="section", status_code=status_code)


def done(request: Request, party: Any, message: str) -> Response:
    if request.headers.get("hx-request") == "true":
        db(request).rollback()  # a fresh snapshot: SQLite keeps the read transaction's view
        return show(request, party, message=message)
    return RedirectResponse(f"/contacts/{party.id}#relationships", status_code=303)


def read_dates(form: dict[str, str], errors: dict[str, str]) -> dict[str, dt.date | None]:
    dates: dict[str, dt.date | None] = {}
    for name in ("valid_from", "valid_to"):
        raw = form.get(name, "").strip()
        try:
            dates[name] = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
    if not errors and dates["valid_from"] and dates["valid_to"] and dates["valid_to"] < dates["valid_from"]:
        errors["valid_to"] = _("The end date is before the start date.")
    return dates


def read_note(form: dict[str, str], errors: dict[str, str]) -> str:
    note = form.get("note", "").replace("\r\n", "\n").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = _("Keep the note under %(n)s characters.") % {"n": NOTE_MAX}
    return note


def edit_values(tie: Relationship) -> dict[str, Any]:
    """The in-place edit form filled from the stored tie."""
    iso = {name: (getattr(tie, name).isoformat() if getattr(tie, name) else "") for name in ("valid_from", "valid_to")}
    return {**iso, "note": tie.note, "version": tie.version}


def on_form(errors: dict[str, str]) -> dict[str, str]:
    """Errors of the write path, moved onto the quick-add form's fields."""
    moved: dict[str, str] = {}
    for name, message in errors.items():
        moved.setdefault(FIELD_OF.get(name, name), message)
    return moved


# -- routes ------------------------------------------------------------------------------------------------


@requires(VIEW)
async def section(request: Request) -> Response:
    party = party_or_404(request)
    return show(request, party, adding=request.query_params.get("add") == "1")


@requires(EDIT)
async def add(request: Request) -> Response:
    """Quick add: this party takes the chosen role towards a party found by name or created here."""
    party = party_or_404(request)
    session, viewer = db(request), user(request)
    form = await form_dict(request)
    errors: dict[str, str] = {}
    types = relationship_types.all_types(session)
    picked = parse_role(form.get("role", ""), types)
    if picked is None or picked[0].archived:
        errors["role"] = _("Choose how they are related.")
    other, matches = None, []
    raw_other, new_name = form.get("other", "").strip(), " ".join(form.get("new_name", "").split())
    query = form.get("other_q", "").strip()[:100]
    other_id = parse_id(raw_other)
    if raw_other and other_id is None:
        errors["other"] = _("That person or organisation is gone or not yours to see.")
    elif other_id is not None:
        other = visible_party(session, viewer, other_id)
        if other is None:
            errors["other"] = _("That person or organisation is gone or not yours to see.")
    elif not new_name:
        matches = lookup.find_parties(session, viewer, query) if query else []
        errors["other"] = (_("Choose one of the matches below, or type a name under “Or create”.") if matches
                           else _("Find who to link, or type a name to create them."))  # fmt: skip
    dates = read_dates(form, errors)
    note = read_note(form, errors)
    new_kind = form.get("new_kind", "")
    if picked is not None and other is None and new_name:
        rtype, side = picked
        allowed = rtype.b_kinds if side == "a" else rtype.a_kinds
        new_kind = allowed if allowed in PARTY_KINDS else new_kind
        if new_kind not in PARTY_KINDS:
            errors["new_kind"] = _("Choose person or organisation.")
    if not errors:
        rtype, side = picked  # type: ignore[misc]
        kinds = runtime(request).record_kinds
        try:
            with write_transaction(runtime(request).sessions) as tx:
                if other is None:
                    values = {"name": new_name, "owner_user_id": viewer.id}
                    other_id = save(tx, kinds[new_kind], None, values, actor=viewer).id
                else:
                    other_id = other.id
                a_id, b_id = (party.id, other_id) if side == "a" else (other_id, party.id)
                values = {"type_id": rtype.id, "a_id": a_id, "b_id": b_id, "note": note, **dates}
                save(tx, kinds["relationship"], None, values, actor=viewer)
        except ValidationError as exc:
            errors = on_form(exc.errors)
        else:
            return done(request, party, _("Relationship added."))
    chosen = other if other is not None else None
    return show(request, party, 400, form=form, errors=errors, matches=matches, chosen=chosen, adding=True)


@requires(EDIT)
async def edit_form(request: Request) -> Response:
    party = party_or_404(request)
    tie = tie_or_404(request, party)
    return show(request, party, editing=tie.id, edit_form=edit_values(tie))


async def _write(request: Request, party: Any, tie: Relationship, values: dict[str, Any], version: str) -> Any:
    """Save ``values`` on ``tie`` with the version the form was opened at; a response when refused."""
    expected = parse_version(version)
    if expected is None:  # without it the stale check would be skipped: refuse rather than overwrite blindly
        return {"version": _("This form is missing its version; reload the page and try again.")}
    try:
        with write_transaction(runtime(request).sessions) as tx:
            save(tx, runtime(request).record_kinds["relationship"], tie.id, values, actor=user(request),
                 expected_version=expected)  # fmt: skip
    except StaleRecord as exc:
        db(request).rollback()  # a fresh snapshot: SQLite keeps the read transaction's view
        fresh = tie_or_404(request, party)
        return show(request, party, 409, editing=tie.id, edit_form=edit_values(fresh), stale=str(exc))
    except ValidationError as exc:
        return exc.errors
    return None


@requires(EDIT)
async def update(request: Request) -> Response:
    party = party_or_404(request)
    tie = tie_or_404(request, party)
    form = await form_dict(request)
    errors: dict[str, str] = {}
    dates = read_dates(form, errors)
    note = read_note(form, errors)
    if not errors:
        outcome = await _write(request, party, tie, {**dates, "note": note}, form.get("version", ""))
        if isinstance(outcome, Response):
            return outcome
        if outcome is None:
            return done(request, party, _("Relationship saved."))
        errors = outcome
    return show(request, party, 400, editing=tie.id, edit_form=form, errors=errors)


@requires(EDIT)
async def end(request: Request) -> Response:
    """End the tie (it stays, greyed, with its dates: an ended job is still history). ``valid_to`` is the
    last day it held, so it ends yesterday, or today when it only started today."""
    party = party_or_404(request)
    tie = tie_or_404(request, party)
    form = await form_dict(request)
    today = company_settings(db(request)).today()  # the company's day, not the server's
    errors: dict[str, str] = {}
    if tie.valid_from and tie.valid_from > today:
        errors["valid_to"] = _("It has not started yet; delete it instead of ending it.")
    else:
        last_day = max(today - dt.timedelta(days=1), tie.valid_from or dt.date.min)
        outcome = await _write(request, party, tie, {"valid_to": last_day}, form.get("version", ""))
        if isinstance(outcome, Response):
            return outcome
        if outcome is None:
            return done(request, party, _("Relationship ended."))
        errors = outcome
    return show(request, party, 400, editing=tie.id, edit_form=edit_values(tie), errors=errors)


@requires(EDIT)
async def remove(request: Request) -> Response:
    party = party_or_404(request)
    tie = tie_or_404(request, party)
    with write_transaction(runtime(request).sessions) as tx:
        delete(tx, runtime(request).record_kinds["relationship"], tie.id, actor=user(request))
    return done(request, party, _("Relationship deleted."))


@requires(VIEW)
async def relationship_page(request: Request) -> Response:
    """The address of a relationship (audit log, events): the card of its first party."""
    rel_id = parse_id(request.path_params["rel_id"])
    query = select(Relationship.a_id).where(Relationship.id == rel_id, relationship_visibility(user(request)))
    a_id = db(request).scalar(query) if rel_id is not None else None
    if a_id is None:
        raise HTTPException(404, _("There is no such relationship, or it is not yours to see."))
    return RedirectResponse(f"/contacts/{a_id}#relationships", status_code=303)


@requires(VIEW)
async def holding_page(request: Request) -> Response:
    party = party_or_404(request)
    tree = holding(db(request), user(request), party)
    return render(request, "contacts/holding.html", {"party": party, "holding": tree, "person": party.kind == PERSON})


routes = [
    *lookup.routes,
    *relationship_types.routes,
    Route("/relationships/{rel_id:int}", relationship_page, methods=["GET"], name="relationship"),
    Route("/{party_id:int}/relationships", section, methods=["GET"], name="relationships"),
    Route("/{party_id:int}/relationships", add, methods=["POST"], name="relationship_add"),
    Route("/{party_id:int}/relationships/{rel_id:int}/edit", edit_form, methods=["GET"], name="relationship_edit"),
    Route("/{party_id:int}/relationships/{rel_id:int}", update, methods=["POST"], name="relationship_update"),
    Route("/{party_id:int}/relationships/{rel_id:int}/end", end, methods=["POST"], name="relationship_end"),
    Route("/{party_id:int}/relationships/{rel_id:int}/delete", remove, methods=["POST"], name="relationship_delete"),
    Route("/{party_id:int}/holding", holding_page, methods=["GET"], name="holding"),
]

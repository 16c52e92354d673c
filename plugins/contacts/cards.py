"""The customer card (one template for person and organisation). OWNED BY THE CARD HELPER.

GET /contacts/{id} shows everything about a party on one page: the header band (name, kind, owner, tags,
primary contact points, quick actions), details edited in place (``card_fields``), contact points and
addresses (``card_points``), relationships, the timeline, other plugins' panels, attachments, the merge
section and the audit history. A party the viewer may not see is a 404; a merged one leads to the kept one.
The page costs a handful of indexed queries by party id, whatever the other sections add.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core import custom_fields
from voronka.core.audit import history
from voronka.core.custom_fields_card import card_context
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, form_dict, go_to, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.models import Team, User
from voronka.core.recycle import redirect_url
from voronka.core.security.markers import requires
from voronka.core.tags import add_tag, remove_tag, tags_for
from voronka.core.templating import is_htmx, render, render_panels
from voronka.core.writes import delete

from . import activities, card_fields, card_points, card_view_history, merging, points, relationships
from .card_base import CardParty, kind_of, list_url, load
from .card_view import datetime_format
from .kinds import EDIT, VIEW
from .models import Party

HISTORY_LIMIT = 30


def header_context(request: Request, card: CardParty, **extra: Any) -> dict[str, Any]:
    """What ``contacts/_header.html`` needs (the tags block re-renders it alone)."""
    party, viewer = card.party, user(request)
    ctx: dict[str, Any] = {
        "party": party,
        "owner_name": card.owner_name,
        "team_name": card.team_name,
        "can_edit": viewer.can(EDIT),
        "tags": tags_for(db(request), kind_of(request, party), [party.id]).get(party.id, []),
        "tag_error": None,
        "tag_input": "",
        "confirm_delete": False,
        "action_error": None,
        "list_url": list_url(party),
    }
    ctx.update(extra)
    return ctx


def history_context(request: Request, party: Party) -> dict[str, Any]:
    """The audit history with readable field labels, owner and team names, custom field values (one heading
    per change: when, who, through what)."""
    session, kind = db(request), kind_of(request, party)
    entries = [e for e in history(session, kind, party.id, limit=HISTORY_LIMIT) if not _blank_creation(e)]
    user_ids = {v for e in entries if e.field == "owner_user_id" for v in (e.old, e.new) if isinstance(v, int)}
    team_ids = {v for e in entries if e.field == "owner_team_id" for v in (e.old, e.new) if isinstance(v, int)}
    names: dict[str, dict[Any, str]] = {"owner_user_id": {}, "owner_team_id": {}}
    if user_ids:
        names["owner_user_id"] = {
            k: v for k, v in session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
        }
    if team_ids:
        names["owner_team_id"] = {
            k: v for k, v in session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids)))
        }
    defs = {f.name: f for f in custom_fields.definitions(session, kind.name, include_removed=True)}
    when = datetime_format(user(request).timezone)
    return {"history": entries, "history_groups": card_view_history.groups(entries, names, defs, when)}


def _blank_creation(entry: Any) -> bool:
    """A field a record was created without (empty, no, none): noise in the history."""
    return entry.action == "create" and entry.new in (None, "", False, [], {})


def card_page_context(request: Request, card: CardParty, **extra: Any) -> dict[str, Any]:
    """Everything the full card shows; ``extra`` overrides a section's state (an open edit form, errors)."""
    session, viewer, party = db(request), user(request), card.party
    kind = kind_of(request, party)
    rows = (points.points_of(session, party.id), points.addresses_of(session, party.id))
    ctx: dict[str, Any] = {
        **header_context(request, card),
        **card_fields.details_context(request, card),
        **card_points.points_context(request, party, rows=rows),
        **history_context(request, party),
        "kind": kind,
        "cf": card_context(session, kind, party, viewer),
        "relationships": relationships.card_section(session, viewer, party),
        "timeline": activities.card_section(request, party),
        "merge": merging.card_section(session, viewer, party),
        "panels": render_panels(request, "party.panels", party),
    }
    ctx.update(extra)
    return ctx


def render_card(request: Request, card: CardParty, status_code: int = 200, **extra: Any) -> Response:
    return render(request, "contacts/card.html", card_page_context(request, card, **extra), status_code=status_code)


@requires(VIEW)
async def card_page(request: Request) -> Response:
    """The customer card; the address of a party merged into another leads to the kept one."""
    try:
        card = load(request)
    except HTTPException:
        session, party_id = db(request), parse_id(request.path_params["party_id"])
        if party_id is None:
            raise
        kind_name = session.scalar(select(Party.kind).where(Party.id == party_id))
        target = None
        if kind_name is not None:
            target = redirect_url(session, runtime(request).record_kinds[kind_name], party_id, user(request))
        if target is None:
            raise
        return RedirectResponse(target, status_code=303)
    return render_card(request, card)


@requires(EDIT)
async def delete_confirm(request: Request) -> Response:
    """Asks before deleting (a page of its own, so it works without JavaScript)."""
    return render_card(request, load(request), confirm_delete=True)


@requires(EDIT)
async def delete_party(request: Request) -> Response:
    """Into the recycle bin through core's write path (audit entry, event); an admin may restore it."""
    card = load(request)
    try:
        with write_transaction(runtime(request).sessions) as session:
            delete(session, kind_of(request, card.party), card.party.id, actor=user(request))
    except ValidationError as exc:
        return render_card(request, card, 400, confirm_delete=True, action_error="; ".join(exc.errors.values()))
    return go_to(request, list_url(card.party) + "?deleted=1")


@requires(EDIT)
async def tag_add(request: Request) -> Response:
    card = load(request)
    text = (await form_dict(request)).get("tag", "")
    try:
        with write_transaction(runtime(request).sessions) as session:
            add_tag(session, kind_of(request, card.party), card.party.id, text, user=user(request))
    except ValidationError as exc:
        problem = "; ".join(exc.errors.values())
        if is_htmx(request):
            ctx = header_context(request, card, tag_error=problem, tag_input=text)
            return render(request, "contacts/_header.html", ctx, block="tags", status_code=400)
        return render_card(request, card, 400, tag_error=problem, tag_input=text)
    return _tags_done(request, card)


@requires(EDIT)
async def tag_remove(request: Request) -> Response:
    card = load(request)
    tag_id = parse_id(request.path_params["tag_id"])
    if tag_id is None:
        raise HTTPException(404, _("There is no such tag on this contact."))
    with write_transaction(runtime(request).sessions) as session:
        remove_tag(session, kind_of(request, card.party), card.party.id, tag_id, user=user(request))
    return _tags_done(request, card)


def _tags_done(request: Request, card: CardParty) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/contacts/{card.party.id}", status_code=303)
    db(request).rollback()  # end the read snapshot taken before the write: see the saved tags
    return render(request, "contacts/_header.html", header_context(request, card), block="tags")


routes: list[Any] = [
    *card_fields.routes,
    *card_points.routes,
    Route("/{party_id:int}", card_page, methods=["GET"], name="card"),
    Route("/{party_id:int}/delete", delete_confirm, methods=["GET"], name="card_delete_confirm"),
    Route("/{party_id:int}/delete", delete_party, methods=["POST"], name="card_delete"),
    Route("/{party_id:int}/tags", tag_add, methods=["POST"], name="card_tag_add"),
    Route("/{party_id:int}/tags/{tag_id:int}/remove", tag_remove, methods=["POST"], name="card_tag_remove"),
]

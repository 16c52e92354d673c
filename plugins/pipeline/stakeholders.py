"""The people on a deal and their roles: the stakeholders section of the deal page, add and remove.

Roles speak contacts' relationship vocabulary: the relationship types flagged ``influence`` (decision
maker, influencer, champion…), plus "involved" (empty role) for anyone else on the deal. Anyone the user
may see can be added, found with contacts' search-as-you-type (``/contacts/lookup``). Stakeholder rows
are not a record kind of their own: each change is written beside the deal in one transaction, with an
audit entry on the deal (field ``stakeholders``) through :func:`voronka.core.writes.audit_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.handlers import db, form_dict, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import is_htmx, render
from voronka.core.writes import audit_changes
from voronka.plugins.contacts.api import Party, RelationshipType

from .deal_forms import read_text, visible_party
from .kinds import EDIT, VIEW
from .models import Opportunity, Stakeholder

TEMPLATE = "pipeline/stakeholders.html"
INVOLVED = ""
INVOLVED_LABEL = N_("Involved")
NOTE_MAX = 300
MAX_SHOWN = 100

# contacts' relationship types, read as a plain table (contacts' api does not export the model)
_types = RelationshipType.__table__


@dataclass(frozen=True)
class Row:
    id: int
    party_id: int
    name: str
    kind: str
    role: str
    role_label: str
    note: str


def roles(session: Session) -> list[tuple[str, str]]:
    """``(key, label)`` of the roles a stakeholder may have: influence types in contacts' order, then
    "involved"."""
    query = (
        select(_types.c.key, _types.c.a_role)
        .where(_types.c.influence.is_(True), _types.c.archived.is_(False))
        .order_by(_types.c.position, _types.c.id)
    )
    return [(key, _(label)) for key, label in session.execute(query)] + [(INVOLVED, _(INVOLVED_LABEL))]


def role_labels(session: Session) -> dict[str, str]:
    """Every role key with its label, archived types included (old stakeholders keep their words)."""
    labels = {key: _(label) for key, label in session.execute(select(_types.c.key, _types.c.a_role))}
    labels[INVOLVED] = _(INVOLVED_LABEL)
    return labels


def rows(session: Session, viewer: Any, deal_id: int) -> tuple[list[Row], int]:
    """The stakeholders the viewer may see (by role, then name) and how many more they may not."""
    labels = role_labels(session)
    seen = visible(Party, viewer)
    query = (
        select(Stakeholder.id, Stakeholder.party_id, Party.name, Party.kind, Stakeholder.role, Stakeholder.note)
        .join(Party, Party.id == Stakeholder.party_id)
        .where(Stakeholder.opportunity_id == deal_id, Party.deleted_at.is_(None), seen)
        .order_by(Stakeholder.role.desc(), Party.name, Stakeholder.id)
        .limit(MAX_SHOWN)
    )
    found = [
        Row(r.id, r.party_id, r.name, r.kind, r.role, labels.get(r.role, r.role), r.note)
        for r in session.execute(query)
    ]
    total = session.scalar(
        select(func.count())
        .select_from(Stakeholder)
        .join(Party, Party.id == Stakeholder.party_id)
        .where(Stakeholder.opportunity_id == deal_id, Party.deleted_at.is_(None))
    )
    return found, max(0, (total or 0) - len(found))


def section(session: Session, viewer: Any, deal: Opportunity, **extra: Any) -> dict[str, Any]:
    """What ``pipeline/_deal_stakeholders.html`` shows (the deal page includes it as ``stakeholders``)."""
    found, hidden = rows(session, viewer, deal.id)
    ctx: dict[str, Any] = {
        "deal_id": deal.id,
        "rows": found,
        "hidden": hidden,
        "roles": roles(session),
        "can_edit": viewer.can(EDIT),
        "form": {},
        "errors": {},
        "chosen": None,
        "adding": False,
        "message": None,
    }
    ctx.update(extra)
    return ctx


def _deal(request: Request) -> Opportunity:
    deal_id = parse_id(request.path_params.get("deal_id"))
    query = select(Opportunity).where(
        Opportunity.id == deal_id, Opportunity.deleted_at.is_(None), visible(Opportunity, user(request))
    )
    found = db(request).scalar(query) if deal_id is not None else None
    if found is None:
        raise HTTPException(404, _("There is no such deal, or it is not yours to see."))
    return found


def _show(request: Request, deal: Opportunity, status_code: int = 200, **extra: Any) -> Response:
    ctx = {"deal": deal, "stakeholders": section(db(request), user(request), deal, **extra)}
    return render(request, TEMPLATE, ctx, block="section", status_code=status_code)


def _done(request: Request, deal: Opportunity, message: str) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/pipeline/deals/{deal.id}#stakeholders", status_code=303)
    db(request).rollback()  # a fresh snapshot: see the rows just written
    return _show(request, deal, message=message)


def _names(session: Session, deal_id: int) -> list[str]:
    """The stakeholders as the audit log keeps them: "role:party id", sorted."""
    query = select(Stakeholder.role, Stakeholder.party_id).where(Stakeholder.opportunity_id == deal_id)
    return sorted(f"{role or 'involved'}:{party_id}" for role, party_id in session.execute(query))


@requires(VIEW)
async def section_page(request: Request) -> Response:
    deal = _deal(request)
    return _show(request, deal, adding=request.query_params.get("add") == "1")


@requires(EDIT)
async def add(request: Request) -> Response:
    deal = _deal(request)
    session, viewer = db(request), user(request)
    form = await form_dict(request)
    errors: dict[str, str] = {}
    role = form.get("role", "")
    if role not in {key for key, _label in roles(session)}:
        errors["role"] = _("Choose a role from the list.")
    party = visible_party(session, viewer, parse_id(form.get("party")))
    if party is None:
        errors["party"] = (
            _("That person is gone or not yours to see.")
            if form.get("party")
            else _("Find the person and pick them from the matches.")
        )
    note, problems = read_text("note", form.get("note"), NOTE_MAX)
    errors.update(problems)
    if not errors:
        taken = session.scalar(
            select(Stakeholder.id).where(
                Stakeholder.opportunity_id == deal.id, Stakeholder.party_id == party.id, Stakeholder.role == role
            )
        )
        if taken is not None:
            errors["party"] = _("%(name)s already has this role on the deal.") % {"name": party.name}
    if errors:
        return _show(request, deal, 400, form=form, errors=errors, chosen=party, adding=True)
    with write_transaction(runtime(request).sessions) as tx:
        before = _names(tx, deal.id)
        tx.add(Stakeholder(opportunity_id=deal.id, party_id=party.id, role=role, note=note["note"]))
        tx.flush()
        audit_changes(
            tx,
            runtime(request).record_kinds["opportunity"],
            deal.id,
            {"stakeholders": (before, _names(tx, deal.id))},
            actor=viewer,
        )
    return _done(request, deal, _("%(name)s added.") % {"name": party.name})


@requires(EDIT)
async def remove(request: Request) -> Response:
    deal = _deal(request)
    stakeholder_id = parse_id(request.path_params.get("stakeholder_id"))
    session, viewer = db(request), user(request)
    query = (
        select(Stakeholder.id, Party.name)
        .join(Party, Party.id == Stakeholder.party_id)
        .where(Stakeholder.id == stakeholder_id, Stakeholder.opportunity_id == deal.id, visible(Party, viewer))
    )
    found = session.execute(query).first() if stakeholder_id is not None else None
    if found is None:
        raise HTTPException(404, _("There is no such stakeholder on this deal."))
    with write_transaction(runtime(request).sessions) as tx:
        before = _names(tx, deal.id)
        tx.execute(delete(Stakeholder).where(Stakeholder.id == found.id))
        audit_changes(
            tx,
            runtime(request).record_kinds["opportunity"],
            deal.id,
            {"stakeholders": (before, _names(tx, deal.id))},
            actor=viewer,
        )
    return _done(request, deal, _("%(name)s removed.") % {"name": found.name})


routes: list[Any] = [
    Route("/deals/{deal_id:int}/stakeholders", section_page, methods=["GET"], name="deal_stakeholders"),
    Route("/deals/{deal_id:int}/stakeholders", add, methods=["POST"], name="deal_stakeholder_add"),
    Route(
        "/deals/{deal_id:int}/stakeholders/{stakeholder_id:int}/remove",
        remove,
        methods=["POST"],
        name="deal_stakeholder_remove",
    ),
]

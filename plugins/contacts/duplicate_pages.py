"""Duplicate pages: hints while a form is typed, the card's "possible duplicates", picking the other record,
the field-by-field confirm page and the merge itself.

The merge is one transaction: the values chosen from the merged record are saved on the kept one through
core's write path (audit, before_save, optimistic concurrency), then core's ``merge`` moves everything and
leaves a redirect. Both records must be visible to the user and of the same kind; contacts.edit is needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, form_dict, go_to, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id, parse_version
from voronka.core.models import Team, User
from voronka.core.recycle import merge
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import is_htmx, render
from voronka.core.writes import save

from .card_base import load
from .duplicate_hints import hints_for
from .duplicates import hints as make_hints
from .duplicates import matches, organisations_of
from .kinds import EDIT, VIEW
from .lookup import find_parties
from .models import PARTY_KINDS, PERSON, Party

PICK_LIMIT = 20
CHECK_FIELDS = ("first_name", "middle_name", "last_name", "name", "primary_email", "primary_phone",
                "registration_no", "organisation", "organisation_id")  # fmt: skip
OWNER = "owner"
"""The owner is one choice (a user or a team), though it is two columns."""
PERSON_COMPARED = ("first_name", "middle_name", "last_name", "job_title", "birthday", "primary_email",
                   "primary_phone", "city", "country", "description", "do_not_contact", "marketing_consent",
                   "consent_source", OWNER)  # fmt: skip
ORGANISATION_COMPARED = ("name", "legal_name", "registration_no", "industry", "primary_email", "primary_phone",
                         "city", "country", "description", "do_not_contact", "marketing_consent", "consent_source",
                         OWNER)  # fmt: skip
LABELS = {
    "first_name": N_("First name"), "middle_name": N_("Middle name"), "last_name": N_("Last name"),
    "name": N_("Name"), "job_title": N_("Job title"), "birthday": N_("Birthday"), "legal_name": N_("Legal name"),
    "registration_no": N_("Registration number"), "industry": N_("Industry"), "primary_email": N_("E-mail"),
    "primary_phone": N_("Phone"), "city": N_("City"), "country": N_("Country"), "description": N_("Description"),
    "do_not_contact": N_("Do not contact"), "marketing_consent": N_("Marketing consent"),
    "consent_source": N_("Consent source"), OWNER: N_("Owner"),
}  # fmt: skip


# -- the card section and the hints -------------------------------------------------------------------------


def card_section(session: Any, viewer: Any, party: Any) -> dict[str, Any]:
    """What the card's merge section needs; the candidates load lazily (the matcher stays off the card's
    own time), and the section links to the pick page without JavaScript."""
    return {
        "party_id": party.id,
        "kind": party.kind,
        "can_merge": viewer is not None and viewer.can(EDIT),
        "candidates_url": f"/contacts/{party.id}/duplicates",
        "pick_url": f"/contacts/{party.id}/merge",
    }


def party_values(session: Any, party: Party) -> dict[str, Any]:
    """The matcher's input for an existing party: its fields and, for a person, the organisations they are at."""
    values = {f: getattr(party, f) or "" for f in ("first_name", "middle_name", "last_name", "name", "primary_email",
                                                  "primary_phone", "registration_no")}  # fmt: skip
    if party.kind == PERSON:
        values["organisation_ids"] = sorted(organisations_of(session, [party.id])[party.id])
    return values


def visible_candidates(session: Any, viewer: Any, party: Party) -> list[Any]:
    """Likely duplicates of ``party`` that the viewer may see (the card offers to merge only those)."""
    found = hints_for(session, viewer, matches(session, party.kind, party_values(session, party), exclude=party.id))
    return [h for h in found if h.party_id is not None]


@requires(VIEW)
async def check(request: Request) -> Response:
    """GET /contacts/duplicates/check?kind=person&first_name=…: hints as an HTML fragment for a create or
    edit form (HTMX while typing); names only of records the user may see."""
    params = request.query_params
    kind_name = params.get("kind", PERSON)
    if kind_name not in PARTY_KINDS:
        return Response(_("Unknown kind."), status_code=400)
    values = {f: params.get(f, "")[:300] for f in CHECK_FIELDS if params.get(f)}
    if "organisation_id" in values:
        organisation_id = parse_id(values["organisation_id"])
        if organisation_id is None:
            return Response(_("The organisation must be a record number."), status_code=400)
        values["organisation_id"] = str(organisation_id)
    exclude_id = parse_id(params.get("exclude", ""))
    found = make_hints(db(request), user(request), kind_name, values, exclude=exclude_id) if values else []
    return render(request, "contacts/merge_hints.html", {"hints": found})


# -- loading the two records -------------------------------------------------------------------------------


def _owner_names(session: Any, parties: list[Party]) -> dict[tuple[Any, Any], str]:
    users = {p.owner_user_id for p in parties if p.owner_user_id}
    teams = {p.owner_team_id for p in parties if p.owner_team_id}
    user_names = (
        dict(session.execute(select(User.id, User.display_name).where(User.id.in_(users))).all()) if users else {}
    )
    team_names = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(teams))).all()) if teams else {}
    return {
        (p.owner_user_id, p.owner_team_id): user_names.get(p.owner_user_id) or team_names.get(p.owner_team_id) or ""
        for p in parties
    }


# -- picking the other record ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A record the pick page offers, with what tells namesakes apart."""

    id: int
    name: str
    primary_email: str
    city: str


def search_same_kind(session: Any, viewer: Any, party: Party, q: str) -> list[Found]:
    """Visible parties of ``party``'s kind whose name (last or first name first) starts like ``q``: the
    contacts lookup's search, plus each one's e-mail."""
    found = [r for r in find_parties(session, viewer, q, party.kind, PICK_LIMIT + 1) if r.id != party.id]
    found = found[:PICK_LIMIT]
    ids = [r.id for r in found]
    emails = dict(session.execute(select(Party.id, Party.primary_email).where(Party.id.in_(ids))).all()) if ids else {}
    return [Found(r.id, r.name, emails.get(r.id) or "", r.city or "") for r in found]


def pick_context(request: Request, party: Party) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    q = request.query_params.get("q", "").strip()[:200]
    return {
        "party": party,
        "q": q,
        "results": search_same_kind(session, viewer, party, q) if q else [],
        "candidates": visible_candidates(session, viewer, party),
        "can_merge": viewer.can(EDIT),
    }


@requires(VIEW)
async def candidates(request: Request) -> Response:
    """The card's "possible duplicates" (HTMX, loaded after the card); without JavaScript, the pick page."""
    party = load(request).party
    ctx = pick_context(request, party)
    if is_htmx(request):
        return render(request, "contacts/_merge.html", {"merge": {**card_section(db(request), user(request), party),
                                                                   "candidates": ctx["candidates"]}},
                      block="candidates")  # fmt: skip
    return render(request, "contacts/merge_pick.html", ctx)


@requires(EDIT)
async def pick(request: Request) -> Response:
    """Choose the record to merge with this one: the matcher's candidates and a search by name."""
    party = load(request).party
    return render(request, "contacts/merge_pick.html", pick_context(request, party), block="results")


# -- comparing and merging ---------------------------------------------------------------------------------


@dataclass
class FieldChoice:
    """One compared field: both values as shown, whether they differ, and which one is chosen."""

    name: str
    label: str
    kept: str
    merged: str
    differs: bool
    choice: str  # "kept" or "merged"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def _raw(party: Party, field: str) -> Any:
    if field == OWNER:
        return (party.owner_user_id, party.owner_team_id)
    return getattr(party, field)


def _empty(value: Any) -> bool:
    return value in (None, "", (None, None))


def compare(session: Any, kept: Party, merged: Party, chosen: dict[str, str] | None = None) -> list[FieldChoice]:
    """The fields of both records side by side; by default the kept record's value, or the merged one's
    when the kept one is empty (and "do not contact" when either says so)."""
    owners = _owner_names(session, [kept, merged])
    rows = []
    for field in PERSON_COMPARED if kept.kind == PERSON else ORGANISATION_COMPARED:
        a, b = _raw(kept, field), _raw(merged, field)
        differs = a != b and not _empty(b)
        choice = "merged" if differs and (_empty(a) or (field == "do_not_contact" and b)) else "kept"
        if chosen and chosen.get(field) in ("kept", "merged") and differs:
            choice = chosen[field]
        shown_a, shown_b = (owners.get(a, ""), owners.get(b, "")) if field == OWNER else (_shown(a), _shown(b))
        rows.append(FieldChoice(field, _(LABELS[field]), shown_a, shown_b, differs, choice))
    return rows


def _chosen_values(kept: Party, merged: Party, rows: list[FieldChoice]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for row in rows:
        if not row.differs or row.choice != "merged":
            continue
        if row.name == OWNER:
            values["owner_user_id"], values["owner_team_id"] = merged.owner_user_id, merged.owner_team_id
        else:
            values[row.name] = getattr(merged, row.name)
    return values


def confirm_context(request: Request, kept: Party, merged: Party, **extra: Any) -> dict[str, Any]:
    from .merging import counts  # merging imports this module

    session = db(request)
    ctx = {
        "kept": kept,
        "merged": merged,
        "rows": compare(session, kept, merged, extra.pop("chosen", None)),
        "counts": counts(session, [kept.id, merged.id], user(request)),
        "error": None,
        "kind_error": None,
    }
    ctx.update(extra)
    return ctx


def _pair(request: Request) -> tuple[Party, Party]:
    """The two records of the path, both live and visible to the user (a 404 otherwise)."""
    return load(request).party, load(request, request.path_params["other_id"]).party


def _refused(request: Request, kept: Party, merged: Party) -> Response | None:
    """The confirm page (400) saying why these two cannot be merged at all, or None when they can."""
    if kept.id == merged.id:
        problem = _("A record cannot be merged with itself; choose another one.")
    elif kept.kind != merged.kind:
        problem = _("Only two people or two organisations can be merged, not a person with an organisation.")
    else:
        return None
    ctx = {"kept": kept, "merged": merged, "rows": [], "counts": {}, "error": None, "kind_error": problem}
    return render(request, "contacts/merge_confirm.html", ctx, status_code=400)


@requires(EDIT)
async def confirm(request: Request) -> Response:
    """Both records field by field; where they differ, the user picks the value to keep."""
    kept, merged = _pair(request)
    refused = _refused(request, kept, merged)
    if refused is not None:
        return refused
    return render(request, "contacts/merge_confirm.html", confirm_context(request, kept, merged))


@requires(EDIT)
async def do_merge(request: Request) -> Response:
    """Merge the other record into this one, in one transaction; afterwards the other's address leads here."""
    kept, merged = _pair(request)
    refused = _refused(request, kept, merged)
    if refused is not None:
        return refused
    form = await form_dict(request)
    chosen = {k.removeprefix("keep."): v for k, v in form.items() if k.startswith("keep.")}
    kept_version, merged_version = parse_version(form.get("kept_version")), parse_version(form.get("merged_version"))
    if kept_version is None or merged_version is None:
        ctx = confirm_context(request, kept, merged, chosen=chosen,
                              error=_("The form is incomplete; reload the page and try again."))  # fmt: skip
        return render(request, "contacts/merge_confirm.html", ctx, status_code=400)
    viewer, kinds = user(request), runtime(request).record_kinds
    kept_id, merged_id = kept.id, merged.id
    try:
        with write_transaction(runtime(request).sessions) as session:
            fresh = _fresh(session, viewer, kept_id, merged_id)
            if fresh is None or (fresh[0].version, fresh[1].version) != (kept_version, merged_version):
                raise StaleRecord(_("Someone changed one of these records after you opened this page. Check the "
                                    "values again, then merge."))  # fmt: skip
            fresh_kept, fresh_merged = fresh
            kind = kinds[fresh_kept.kind]
            values = _chosen_values(fresh_kept, fresh_merged, compare(session, fresh_kept, fresh_merged, chosen))
            if values:
                save(session, kind, kept_id, values, actor=viewer, expected_version=kept_version)
            merge(session, kind, kept_id, merged_id, actor=viewer)
    except StaleRecord as exc:
        db(request).rollback()
        kept, merged = _pair(request)
        ctx = confirm_context(request, kept, merged, error=str(exc))
        return render(request, "contacts/merge_confirm.html", ctx, status_code=409)
    except ValidationError as exc:
        ctx = confirm_context(request, kept, merged, chosen=chosen, error="; ".join(exc.errors.values()))
        return render(request, "contacts/merge_confirm.html", ctx, status_code=400)
    return go_to(request, f"/contacts/{kept_id}")


def _fresh(session: Any, viewer: Any, kept_id: int, merged_id: int) -> tuple[Party, Party] | None:
    """Both records as the write transaction sees them, or None when either has gone (binned, merged away)
    or out of the user's sight since the page was loaded: then the merge stops as stale."""
    query = select(Party).where(Party.id.in_((kept_id, merged_id)), Party.deleted_at.is_(None), visible(Party, viewer))
    found = {party.id: party for party in session.scalars(query)}
    return (found[kept_id], found[merged_id]) if len(found) == 2 else None


routes: list[Any] = [
    Route("/duplicates/check", check, methods=["GET"], name="duplicates_check"),
    Route("/{party_id:int}/duplicates", candidates, methods=["GET"], name="duplicates"),
    Route("/{party_id:int}/merge", pick, methods=["GET"], name="merge_pick"),
    Route("/{party_id:int}/merge/{other_id:int}", confirm, methods=["GET"], name="merge_confirm"),
    Route("/{party_id:int}/merge/{other_id:int}", do_merge, methods=["POST"], name="merge"),
]

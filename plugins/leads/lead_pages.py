"""The lead page (``/leads/{id}``), creating a lead (``/leads/new``) and the customer card's "came from lead"
panel.

The page shows the header band (name, company, status, channel, campaign, owner, created, quick actions:
Qualify, Start script, Disqualify, Reopen, Take, Assign), the fields edited in place one at a time, custom
fields, UTM and consent, the payload as received (collapsed), duplicate hints (system scope: a record the
viewer may not open is only "a record you cannot see matches"), what the lead became and its timeline
(contacts' merged timeline of ``Ref("lead", id)``).

Every write goes through core's write path with the version the page was rendered at: a form opened before
someone else saved is a 409 with the current value, bad input a 400 next to the field, and nothing is
written in either case. A lead the viewer may not see, or in the recycle bin, is a 404 like a missing one.
"""

from __future__ import annotations

import json
import logging
from typing import Any, NamedTuple

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core import custom_fields
from voronka.core.custom_fields_card import card_context
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, form_dict, go_to, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import owner_choices, parse_id, parse_version
from voronka.core.models import Team, User
from voronka.core.records import Ref
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import is_htmx, render
from voronka.core.ui import Panel
from voronka.core.writes import save
from voronka.plugins.contacts.api import (
    chosen_timeline_kinds,
    decode_cursor,
    encode_cursor,
    timeline_kinds,
    timeline_lines,
)
from voronka.plugins.contacts.api import timeline_page as merged_timeline_page

from . import lead_duplicates, lead_forms
from .kinds import EDIT, VIEW
from .lead_forms import BY_KEY, Field, fields_for
from .lead_list import campaign_options, channel_label, channel_labels
from .lead_queries import REASON_LABELS, STATUS_LABELS
from .models import (
    CONTACTED,
    DISQUALIFIED,
    DISQUALIFY_REASONS,
    FINISHED,
    NEW,
    OPEN_STATUSES,
    UTM_KEYS,
    Campaign,
    Lead,
    LeadOutcome,
    Qualification,
)

log = logging.getLogger("voronka.leads.lead_pages")

PAGE = "leads/lead_page.html"
NEW_PAGE = "leads/lead_new.html"
TIMELINE = "leads/lead_timeline.html"
TIMELINE_LIMIT = 25
NOT_FOUND = N_("There is no such lead, or it is not yours to see.")
ACTIVITY_TYPES = (("note", N_("Note")), ("call", N_("Call")), ("meeting", N_("Meeting")), ("task", N_("Task")))
PAYLOAD_SHOWN = 20_000


class LoadedLead(NamedTuple):
    lead: Lead
    owner_name: str | None
    team_name: str | None
    campaign_name: str | None


def _lead_query(viewer: Any) -> Any:
    return (
        select(Lead, User.display_name, Team.name, Campaign.name)
        .outerjoin(User, User.id == Lead.owner_user_id)
        .outerjoin(Team, Team.id == Lead.owner_team_id)
        .outerjoin(Campaign, Campaign.id == Lead.campaign_id)
        .where(Lead.deleted_at.is_(None), visible(Lead, viewer))
    )


def load(request: Request) -> LoadedLead:
    """The live lead of the path that the viewer may see, with its names; 404 otherwise."""
    lead_id = parse_id(request.path_params.get("lead_id"))
    if lead_id is None:
        raise HTTPException(404, _(NOT_FOUND))
    row = db(request).execute(_lead_query(user(request)).where(Lead.id == lead_id)).first()
    if row is None:
        raise HTTPException(404, _(NOT_FOUND))
    return LoadedLead(*row)


def reload(request: Request) -> LoadedLead:
    """The lead as saved just now: end the read snapshot taken before the write, then load again."""
    db(request).rollback()
    return load(request)


def lead_path(lead_id: int) -> str:
    return f"/leads/{lead_id}"


# -- contexts --------------------------------------------------------------------------------------------


def header_context(request: Request, loaded: LoadedLead, **extra: Any) -> dict[str, Any]:
    """What ``leads/lead_header.html`` needs."""
    lead, viewer = loaded.lead, user(request)
    labels = channel_labels(request)
    ctx: dict[str, Any] = {
        "lead": lead,
        "loaded": loaded,
        "status_label": _(STATUS_LABELS.get(lead.status, lead.status)),
        "reason_label": _(REASON_LABELS[lead.disqualify_reason]) if lead.disqualify_reason in REASON_LABELS else "",
        "channel_label": channel_label(labels, lead.channel),
        "is_open": lead.status in OPEN_STATUSES,
        "in_queue": lead.owner_user_id is None and lead.owner_team_id is not None,
        "can_edit": viewer.can(EDIT),
        "disqualifying": False,
        "dq_values": {"reason": "", "note": ""},
        "dq_errors": {},
        "action_error": None,
        "reasons": [(key, _(REASON_LABELS[key])) for key in DISQUALIFY_REASONS],
    }
    ctx.update(extra)
    return ctx


class FieldRow(NamedTuple):
    field: Field
    label: str
    text: str
    link: str | None


def shown(request: Request, loaded: LoadedLead, field: Field, labels: dict[str, str]) -> tuple[str, str | None]:
    lead = loaded.lead
    if field.input == "owner":
        if loaded.team_name and not loaded.owner_name:
            return _("Queue: %(team)s") % {"team": loaded.team_name}, None
        return loaded.owner_name or "", None
    if field.input == "campaign":
        return loaded.campaign_name or "", None
    if field.input == "channel":
        return channel_label(labels, lead.channel), None
    if field.input == "consent":
        if not lead.marketing_consent:
            return _("No"), None
        return " · ".join(p for p in (_("Yes"), lead.consent_text or "") if p), None
    if field.input == "email" and lead.email:
        return lead.email, f"mailto:{lead.email}"
    if field.input == "phone" and lead.phone:
        return lead.phone, f"tel:{lead.phone_key or lead.phone}"
    value = getattr(lead, field.key)
    return ("" if value is None else str(value)), None


def fields_context(
    request: Request,
    loaded: LoadedLead,
    *,
    editing: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    stale: str | None = None,
) -> dict[str, Any]:
    """What ``leads/lead_fields.html`` shows; ``editing`` is the key of the row open as a form."""
    session, lead = db(request), loaded.lead
    field = BY_KEY.get(editing or "")
    labels = channel_labels(request)
    rows = []
    for f in fields_for(lead):
        text, link = shown(request, loaded, f, labels)
        rows.append(FieldRow(f, _(f.label), text, link))
    return {
        "fields": rows,
        "editing": editing,
        "edit_values": values if values is not None else (lead_forms.form_values(lead, field) if field else {}),
        "edit_error": error,
        "edit_stale": stale,
        "can_edit": user(request).can(EDIT),
        "owners": owner_choices(session) if editing == "owner" else {"users": [], "teams": []},
        "campaign_choices": campaign_options(session) if editing == "campaign" else [],
        "channel_choices": sorted(labels.items(), key=lambda kv: kv[1].casefold()) if editing == "channel" else [],
    }


def timeline_context(request: Request, lead: Lead, kinds_raw: list[str], before_raw: str | None) -> dict[str, Any]:
    """One page of the lead's merged timeline (activities attached to it, its own capture/qualify entries)."""
    session, viewer, host = db(request), user(request), runtime(request).host
    known = timeline_kinds(host)
    kinds = chosen_timeline_kinds(host, kinds_raw)
    before = decode_cursor(before_raw)
    found = merged_timeline_page(session, host, viewer, Ref("lead", lead.id), kinds, before, TIMELINE_LIMIT)
    base = f"/leads/{lead.id}/timeline"
    query = "".join(f"&kinds={k}" for k in kinds or [])
    ref = f"lead:{lead.id}"
    return {
        "entries": found.entries,
        "lines": timeline_lines(found.entries, viewer),
        "more_url": f"{base}?before={encode_cursor(found.next_cursor)}{query}" if found.next_cursor else "",
        "base_url": base,
        "filter": [(key, label, kinds is None or key in kinds) for key, label in known],
        "filtered": kinds is not None,
        "older": before is not None,
        "can_edit": viewer.can(EDIT),
        "quick": [(t, _(label), f"/contacts/activities/new?type={t}&ref={ref}") for t, label in ACTIVITY_TYPES],
    }


def outcome_rows(request: Request, lead_id: int) -> list[dict[str, Any]]:
    """What the lead became: each LeadOutcome row with the record's name and link when the viewer may see
    it (the kind's own visibility), else only its kind."""
    session, viewer = db(request), user(request)
    kinds = runtime(request).record_kinds
    found = []
    for row in session.scalars(select(LeadOutcome).where(LeadOutcome.lead_id == lead_id).order_by(LeadOutcome.id)):
        kind = kinds.get(row.kind)
        name = url = None
        if kind is not None:
            record = session.scalars(
                select(kind.model).where(kind.model.id == row.record_id, kind.visible_to(viewer))
            ).first()
            if record is not None:
                name, url = kind.display(record), kind.url_for(row.record_id)
        found.append({"kind": _(kind.label) if kind else row.kind, "name": name, "url": url, "created": row.created,
                      "at": row.at, "deal_status": row.deal_status})  # fmt: skip
    return found


def became_parties(session: Any, lead_id: int) -> set[int]:
    """The customers this lead became (not duplicates of it)."""
    return set(session.scalars(select(LeadOutcome.record_id).where(
        LeadOutcome.lead_id == lead_id, LeadOutcome.kind.in_(("person", "organisation")))))  # fmt: skip


def hint_values(lead: Lead) -> dict[str, Any]:
    return {k: getattr(lead, k) for k in ("first_name", "last_name", "company", "email", "phone")}


def page_context(request: Request, loaded: LoadedLead, **extra: Any) -> dict[str, Any]:
    """Everything the lead page shows; ``extra`` overrides a section's state (an open form, errors)."""
    session, viewer, lead = db(request), user(request), loaded.lead
    kinds = runtime(request).record_kinds
    kind = kinds["lead"]
    payload = json.dumps(lead.payload or {}, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    ctx: dict[str, Any] = {
        **header_context(request, loaded),
        **fields_context(request, loaded),
        "kind": kind,
        "cf": card_context(session, kind, lead, viewer) if custom_fields.definitions(session, kind.name) else None,
        "utm": [(key, getattr(lead, key)) for key in UTM_KEYS if getattr(lead, key)],
        "payload": payload[:PAYLOAD_SHOWN],
        "payload_cut": len(payload) > PAYLOAD_SHOWN,
        "hints": lead_duplicates.hints(
            session,
            viewer,
            kinds,
            hint_values(lead),
            exclude_lead=lead.id,
            exclude_parties=became_parties(session, lead.id),
        ),
        "outcomes": outcome_rows(request, lead.id),
        "timeline": timeline_context(request, lead, [], None),
    }
    ctx.update(extra)
    return ctx


def render_page(request: Request, loaded: LoadedLead, status_code: int = 200, **extra: Any) -> Response:
    return render(request, PAGE, page_context(request, loaded, **extra), status_code=status_code)


def _header(request: Request, loaded: LoadedLead, status_code: int = 200, **extra: Any) -> Response:
    """The header band alone (HTMX), or the whole page with it in that state."""
    if not is_htmx(request):
        return render_page(request, loaded, status_code, **extra)
    return render(request, "leads/lead_header.html", header_context(request, loaded, **extra), status_code=status_code)


def _fields(request: Request, loaded: LoadedLead, status_code: int = 200, oob: bool = False, **state: Any) -> Response:
    """The fields section (HTMX, with the header out of band after a save), or the whole page."""
    if not is_htmx(request):
        return render_page(request, loaded, status_code, **fields_context(request, loaded, **state))
    ctx = {**header_context(request, loaded), **fields_context(request, loaded, **state), "oob_header": oob}
    return render(request, "leads/lead_fields.html", ctx, status_code=status_code)


# -- the page and its fields -----------------------------------------------------------------------------


@requires(VIEW)
async def lead_page(request: Request) -> Response:
    return render_page(request, load(request))


def _field(loaded: LoadedLead, request: Request) -> Field:
    field = BY_KEY.get(request.path_params.get("field", ""))
    if field is None or field not in fields_for(loaded.lead):
        raise HTTPException(404, _("This lead has no such field."))
    return field


@requires(VIEW)
async def fields_show(request: Request) -> Response:
    loaded = load(request)
    if not is_htmx(request):
        return RedirectResponse(lead_path(loaded.lead.id), status_code=303)
    return _fields(request, loaded)


@requires(EDIT)
async def field_edit(request: Request) -> Response:
    loaded = load(request)
    return _fields(request, loaded, editing=_field(loaded, request).key)


def _write(request: Request, lead_id: int, values: dict[str, Any], version: int | None) -> None:
    with write_transaction(runtime(request).sessions) as session:
        save(session, runtime(request).record_kinds["lead"], lead_id, values, actor=user(request),
             expected_version=version)  # fmt: skip


@requires(EDIT)
async def field_save(request: Request) -> Response:
    loaded = load(request)
    field = _field(loaded, request)
    form = await form_dict(request)
    values, errors = lead_forms.read_field(db(request), field, form, set(channel_labels(request)))
    version = parse_version(form.get("version"))
    if not errors and version is None:
        errors = {field.key: _("The form is incomplete; reload the page and try again.")}
    if not errors:
        try:
            _write(request, loaded.lead.id, values, version)
        except StaleRecord as exc:
            return _fields(request, reload(request), 409, editing=field.key, stale=str(exc))
        except ValidationError as exc:
            errors = lead_forms.on_form(exc.errors)
        else:
            if not is_htmx(request):
                return RedirectResponse(lead_path(loaded.lead.id), status_code=303)
            return _fields(request, reload(request), oob=True)
    fresh = reload(request)
    shown_values = {**lead_forms.form_values(fresh.lead, field), **{k: v for k, v in form.items() if k != "version"}}
    return _fields(request, fresh, 400, editing=field.key, values=shown_values, error="; ".join(errors.values()))


# -- quick actions ---------------------------------------------------------------------------------------


async def _act(request: Request, loaded: LoadedLead, form: dict[str, str], values: dict[str, Any],
               **state: Any) -> Response | None:  # fmt: skip
    """Write ``values`` with the form's version: None when done, else the response that says why not."""
    version = parse_version(form.get("version"))
    if version is None:
        return _header(request, loaded, 400, action_error=_("The form is incomplete; reload the page and try again."),
                       **state)  # fmt: skip
    try:
        _write(request, loaded.lead.id, values, version)
    except StaleRecord as exc:
        return _header(request, reload(request), 409, action_error=str(exc), **state)
    except ValidationError as exc:
        return _header(request, reload(request), 400, action_error="; ".join(exc.errors.values()), **state)
    return None


@requires(EDIT)
async def disqualify_form(request: Request) -> Response:
    return _header(request, load(request), disqualifying=True)


@requires(EDIT)
async def disqualify(request: Request) -> Response:
    loaded = load(request)
    form = await form_dict(request)
    shown_values = {"reason": form.get("reason", ""), "note": form.get("note", "")}
    if loaded.lead.status not in OPEN_STATUSES:
        return _header(request, loaded, 409, action_error=_("This lead is already closed; reopen it first."))
    values, errors = lead_forms.read_disqualify(form)
    if errors:
        return _header(request, loaded, 400, disqualifying=True, dq_errors=errors, dq_values=shown_values)
    refused = await _act(request, loaded, form, values, disqualifying=True, dq_values=shown_values)
    return refused or go_to(request, lead_path(loaded.lead.id))


@requires(EDIT)
async def reopen(request: Request) -> Response:
    """A disqualified lead back to work (contacted: someone dealt with it already); a qualified one stays
    closed, since what it became exists."""
    loaded = load(request)
    form = await form_dict(request)
    if loaded.lead.status != DISQUALIFIED:
        if loaded.lead.status in OPEN_STATUSES:
            return go_to(request, lead_path(loaded.lead.id))
        return _header(request, loaded, 409, action_error=_("A qualified lead stays qualified: what it became exists."))
    refused = await _act(request, loaded, form, {"status": CONTACTED, "disqualify_note": ""})
    return refused or go_to(request, lead_path(loaded.lead.id))


@requires(EDIT)
async def mark_contacted(request: Request) -> Response:
    loaded = load(request)
    form = await form_dict(request)
    if loaded.lead.status != NEW:
        return go_to(request, lead_path(loaded.lead.id))
    refused = await _act(request, loaded, form, {"status": CONTACTED})
    return refused or go_to(request, lead_path(loaded.lead.id))


@requires(EDIT)
async def take(request: Request) -> Response:
    """Take a lead waiting in a queue: it becomes mine. Two people taking it at once: the second sees who
    was quicker (the version moved)."""
    loaded = load(request)
    form = await form_dict(request)
    viewer = user(request)
    if loaded.lead.owner_user_id == viewer.id:
        return go_to(request, lead_path(loaded.lead.id))
    if loaded.lead.owner_user_id is not None:
        return _header(request, loaded, 409, action_error=_("%(name)s has taken this lead already.")
                       % {"name": loaded.owner_name or _("Someone")})  # fmt: skip
    refused = await _act(request, loaded, form, {"owner_user_id": viewer.id, "owner_team_id": None})
    return refused or go_to(request, lead_path(loaded.lead.id))


# -- timeline --------------------------------------------------------------------------------------------


@requires(VIEW)
async def timeline(request: Request) -> Response:
    loaded = load(request)
    params = request.query_params
    found = timeline_context(request, loaded.lead, params.getlist("kinds"), params.get("before"))
    block = ("more" if params.get("before") else "list") if is_htmx(request) else None
    return render(request, TIMELINE, {"lead": loaded.lead, "timeline": found}, block=block)


# -- creating a lead -------------------------------------------------------------------------------------


def new_context(request: Request, form: dict[str, str], errors: dict[str, str] | None = None) -> dict[str, Any]:
    session = db(request)
    labels = channel_labels(request)
    return {
        "form": form,
        "errors": errors or {},
        "owners": owner_choices(session),
        "campaigns": campaign_options(session),
        "channels": sorted(labels.items(), key=lambda kv: kv[1].casefold()),
        "hints": [],
    }


@requires(EDIT)
async def new_page(request: Request) -> Response:
    params = request.query_params
    form = {key: params.get(key, "")[:300] for key in (*lead_forms.NEW_TEXT, "country", "campaign")}
    form.update({"channel": params.get("channel", "leads.manual")[:60], "owner": f"u:{user(request).id}"})
    return render(request, NEW_PAGE, new_context(request, form), block="form")


@requires(EDIT)
async def new_hints(request: Request) -> Response:
    """Duplicate hints for what is typed so far (HTMX, as the form changes)."""
    params = request.query_params
    values = {k: params.get(k, "")[:300] for k in ("first_name", "last_name", "company", "email", "phone")}
    session, viewer = db(request), user(request)
    found = lead_duplicates.hints(session, viewer, runtime(request).record_kinds, values)
    return render(request, "leads/lead_hints.html", {"hints": found, "asked": any(values.values())})


@requires(EDIT)
async def create(request: Request) -> Response:
    form = await form_dict(request)
    session, viewer = db(request), user(request)
    values, errors = lead_forms.read_new(session, viewer, form, set(channel_labels(request)))
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as tx:
                lead_id = save(tx, runtime(request).record_kinds["lead"], None, values, actor=viewer).id
        except ValidationError as exc:
            errors = lead_forms.on_form(exc.errors)
        else:
            return go_to(request, lead_path(lead_id))
    ctx = new_context(request, form, errors)
    ctx["hints"] = lead_duplicates.hints(session, viewer, runtime(request).record_kinds, form)
    return render(request, NEW_PAGE, ctx, block="form", status_code=400)


# -- the customer card's panel ---------------------------------------------------------------------------


def card_panels(request: Request, party: Any) -> list[Panel]:
    """On the customer card: the leads this customer came from (channel and campaign), when any."""
    party_id = getattr(party, "id", None)
    if party_id is None:
        return []
    session, viewer = db(request), user(request)
    rows = session.execute(
        select(Lead.id, Lead.name, Lead.company, Lead.email, Lead.phone, Lead.channel, Lead.created_at,
               Campaign.name.label("campaign"))
        .join(LeadOutcome, LeadOutcome.lead_id == Lead.id)
        .outerjoin(Campaign, Campaign.id == Lead.campaign_id)
        .where(LeadOutcome.kind.in_(("person", "organisation")), LeadOutcome.record_id == party_id,
               Lead.deleted_at.is_(None), visible(Lead, viewer))
        .order_by(Lead.created_at.desc())
        .limit(10)
    ).all()  # fmt: skip
    if not rows:
        return []
    labels = channel_labels(request)
    items = [{"id": r.id, "name": r.name or r.company or r.email or r.phone or f"#{r.id}", "channel":
              channel_label(labels, r.channel), "campaign": r.campaign or "", "created_at": r.created_at,
              "answers": _qualification_answers(session, r.id)}
             for r in rows]  # fmt: skip
    return [Panel("leads.came_from", _("Came from lead"), "leads/lead_card_panel.html", {"items": items}, order=30)]


def _qualification_answers(session: Any, lead_id: int) -> list[tuple[str, Any]]:
    """(question, answer) of the lead's latest finished script run, along the path it took: what the
    customer told us while qualifying, kept in view on their card."""
    from . import runner  # the runner imports lead pages' neighbours; import at use

    run = session.scalar(
        select(Qualification)
        .where(Qualification.lead_id == lead_id, Qualification.status == FINISHED)
        .order_by(Qualification.finished_at.desc(), Qualification.id.desc())
        .limit(1)
    )
    if run is None:
        return []
    shown = []
    for step, answer in runner.path_answers(session, run):
        if step.get("type") in ("lookup", "action", "outcome") or answer in (None, ""):
            continue
        shown.append((str(step.get("title") or step.get("key")), _answer_text(step, answer)))
    return shown


def _answer_text(step: dict[str, Any], answer: Any) -> str:
    for option in step.get("options") or ():
        if str(option.get("value")) == str(answer):
            return str(option.get("label") or answer)
    if isinstance(answer, bool):
        return _("Yes") if answer else _("No")
    return str(answer)


routes: list[Any] = [
    Route("/new", new_page, methods=["GET"], name="lead_new"),
    Route("/new", create, methods=["POST"], name="lead_create"),
    Route("/new/hints", new_hints, methods=["GET"], name="lead_new_hints"),
    Route("/{lead_id:int}", lead_page, methods=["GET"], name="lead"),
    Route("/{lead_id:int}/fields", fields_show, methods=["GET"], name="lead_fields"),
    Route("/{lead_id:int}/fields/{field}/edit", field_edit, methods=["GET"], name="lead_field_edit"),
    Route("/{lead_id:int}/fields/{field}", field_save, methods=["POST"], name="lead_field_save"),
    Route("/{lead_id:int}/disqualify", disqualify_form, methods=["GET"], name="lead_disqualify_form"),
    Route("/{lead_id:int}/disqualify", disqualify, methods=["POST"], name="lead_disqualify"),
    Route("/{lead_id:int}/reopen", reopen, methods=["POST"], name="lead_reopen"),
    Route("/{lead_id:int}/contacted", mark_contacted, methods=["POST"], name="lead_contacted"),
    Route("/{lead_id:int}/take", take, methods=["POST"], name="lead_take"),
    Route("/{lead_id:int}/timeline", timeline, methods=["GET"], name="lead_timeline"),
]

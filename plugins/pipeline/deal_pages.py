"""The deal page (``/pipeline/deals/{id}``) and creating a deal (``/pipeline/deals/new``).

The page shows the header band (name, customer, stage, status, amount and weighted amount, owner, expected
close, quick actions), the fields edited in place one at a time, custom fields, stakeholders, the stage
history, the deal's timeline (contacts' merged timeline of ``Ref("opportunity", id)``: activities attached to
the deal and its stage changes), attachments and a link to the audit history.

Every write goes through core's write path with the version the page was rendered at: a form opened before
someone else saved is a 409 with the current value, bad input a 400 next to the field, and nothing is
written in either case. A deal the viewer may not see, or in the recycle bin, is a 404 like a missing one.
With HTMX a section swaps in place; without JavaScript the same URLs are plain forms and 303s.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, NamedTuple

from babel.dates import format_date
from sqlalchemy import Integer, bindparam, select
from sqlalchemy.orm import aliased
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core import custom_fields, i18n
from voronka.core.audit import history as audit_history
from voronka.core.company import active_currency_codes, company_settings
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
from voronka.core.security.visibility import visibility_key, visible
from voronka.core.statements import StatementCache
from voronka.core.templating import format_money, is_htmx, render
from voronka.core.types import utcnow
from voronka.core.writes import delete, save
from voronka.plugins.contacts.api import (
    Party,
    chosen_timeline_kinds,
    decode_cursor,
    encode_cursor,
    timeline_kinds,
    timeline_lines,
)
from voronka.plugins.contacts.api import (
    timeline_page as merged_timeline_page,
)

from . import card_panels, deal_forms, stakeholders
from .deal_forms import BY_KEY, Field, fields_for, weighted_minor
from .kinds import EDIT, VIEW
from .models import OPEN, WON, Opportunity, StageChange
from .stages import FORECAST_LABELS, STATUS_LABELS, StageInfo, catalogue

log = logging.getLogger("voronka.pipeline.deal_pages")

PAGE = "pipeline/deal.html"
NEW = "pipeline/deal_new.html"
TIMELINE = "pipeline/deal_timeline.html"
HISTORY = "pipeline/deal_history.html"
TIMELINE_LIMIT = 25
HISTORY_LIMIT = 100
STAGE_HISTORY_LIMIT = 100
ACTIVITY_TYPES = (("note", N_("Note")), ("call", N_("Call")), ("meeting", N_("Meeting")), ("task", N_("Task")))
NOT_FOUND = N_("There is no such deal, or it is not yours to see.")
AUDIT_LABELS = {
    "name": N_("Name"),
    "customer_id": N_("Customer"),
    "pipeline_id": N_("Pipeline"),
    "stage_id": N_("Stage"),
    "amount_minor": N_("Amount"),
    "amount_currency": N_("Currency"),
    "expected_close": N_("Expected close"),
    "probability": N_("Probability"),
    "probability_manual": N_("Probability set by hand"),
    "forecast_category": N_("Forecast category"),
    "status": N_("Status"),
    "closed_on": N_("Closed on"),
    "lost_reason": N_("Lost reason"),
    "competitor": N_("Competitor"),
    "description": N_("Description"),
    "owner_user_id": N_("Owner"),
    "owner_team_id": N_("Owner (team)"),
    "stakeholders": N_("Stakeholders"),
    "": N_("Record"),
}


class LoadedDeal(NamedTuple):
    deal: Opportunity
    owner_name: str | None
    team_name: str | None
    customer_name: str | None
    customer_kind: str | None


_statements = StatementCache()


def _deal_query(viewer: Any) -> Any:
    customer = aliased(Party)
    return (
        select(Opportunity, User.display_name, Team.name, customer.name, customer.kind)
        .outerjoin(User, User.id == Opportunity.owner_user_id)
        .outerjoin(Team, Team.id == Opportunity.owner_team_id)
        .outerjoin(customer, customer.id == Opportunity.customer_id)
        .where(
            Opportunity.id == bindparam("deal_id", type_=Integer),
            Opportunity.deleted_at.is_(None),
            visible(Opportunity, viewer),
        )
    )


def load(request: Request) -> LoadedDeal:
    """The live deal of the path that the viewer may see, with its names; 404 otherwise."""
    deal_id = parse_id(request.path_params.get("deal_id"))
    if deal_id is None:
        raise HTTPException(404, _(NOT_FOUND))
    viewer = user(request)
    query = _statements.get(visibility_key(viewer), lambda: _deal_query(viewer))
    row = db(request).execute(query, {"deal_id": deal_id}).first()
    if row is None:
        raise HTTPException(404, _(NOT_FOUND))
    return LoadedDeal(*row)


def reload(request: Request) -> LoadedDeal:
    """The deal as saved just now: end the read snapshot taken before the write, then load again."""
    db(request).rollback()
    return load(request)


def deal_path(deal_id: int) -> str:
    return f"/pipeline/deals/{deal_id}"


# -- contexts --------------------------------------------------------------------------------------------


def next_stage(request: Request, deal: Opportunity) -> StageInfo | None:
    """The open stage after the deal's in its pipeline (the "move on" quick action), if any."""
    pipeline = catalogue(db(request)).pipeline(deal.pipeline_id)
    if pipeline is None or deal.status != OPEN:
        return None
    stages = pipeline.open_stages
    ids = [s.id for s in stages]
    if deal.stage_id not in ids:
        return None
    index = ids.index(deal.stage_id)
    return stages[index + 1] if index + 1 < len(stages) else None


def header_context(request: Request, loaded: LoadedDeal, **extra: Any) -> dict[str, Any]:
    """What ``pipeline/_deal_header.html`` needs."""
    session, deal = db(request), loaded.deal
    book = catalogue(session)
    stage = book.stage(deal.stage_id)
    pipeline = book.pipeline(deal.pipeline_id)
    ctx: dict[str, Any] = {
        "deal": deal,
        "loaded": loaded,
        "stage": stage,
        "pipeline": pipeline,
        "show_pipeline": len(book.live) > 1,
        "status_label": _(STATUS_LABELS.get(deal.status, deal.status)),
        "forecast_label": _(FORECAST_LABELS.get(deal.forecast_category, deal.forecast_category)),
        "weighted": weighted_minor(deal.amount_minor, deal.probability),
        "next_stage": next_stage(request, deal),
        "can_edit": user(request).can(EDIT),
        "confirm_delete": False,
        "losing": False,
        "lost_values": {"lost_reason": deal.lost_reason or "", "competitor": deal.competitor or ""},
        "lost_errors": {},
        "action_error": None,
        "today": company_settings(session).today(),
    }
    ctx.update(extra)
    return ctx


class FieldRow(NamedTuple):
    field: Field
    label: str
    text: str
    link: str | None


def shown(request: Request, loaded: LoadedDeal, field: Field) -> tuple[str, str | None]:
    """A field's value as the page shows it, and a link when it has one."""
    deal = loaded.deal
    if field.input == "money":
        return format_money(deal.amount_minor, deal.amount_currency), None
    if field.input == "date":
        return format_date(
            deal.expected_close, "medium", locale=i18n.current_language.get()
        ) if deal.expected_close else "", None
    if field.input == "stage":
        stage = catalogue(db(request)).stage(deal.stage_id)
        return (stage.label if stage else ""), None
    if field.input == "percent":
        return f"{deal.probability} %" + (f" ({_('set by hand')})" if deal.probability_manual else ""), None
    if field.input == "forecast":
        return _(FORECAST_LABELS.get(deal.forecast_category, deal.forecast_category)), None
    if field.input == "owner":
        if loaded.team_name and not loaded.owner_name:
            return f"{loaded.team_name} ({_('team')})", None
        return loaded.owner_name or "", None
    if field.input == "customer":
        return loaded.customer_name or "", f"/contacts/{deal.customer_id}" if deal.customer_id else None
    value = getattr(deal, field.key)
    return ("" if value is None else str(value)), None


def fields_context(
    request: Request,
    loaded: LoadedDeal,
    *,
    editing: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    stale: str | None = None,
) -> dict[str, Any]:
    """What ``pipeline/_deal_fields.html`` shows; ``editing`` is the key of the row open as a form."""
    session, deal = db(request), loaded.deal
    field = BY_KEY.get(editing or "")
    rows = []
    for f in fields_for(deal):
        text, link = shown(request, loaded, f)
        rows.append(FieldRow(f, _(f.label), text, link))
    chosen = None
    if field is not None and field.input == "customer" and deal.customer_id:
        chosen = {"id": deal.customer_id, "name": loaded.customer_name}
    return {
        "fields": rows,
        "editing": editing,
        "edit_values": values if values is not None else (deal_forms.form_values(deal, field) if field else {}),
        "edit_error": error,
        "edit_stale": stale,
        "can_edit": user(request).can(EDIT),
        "owners": owner_choices(session) if editing == "owner" else {"users": [], "teams": []},
        "stage_options": deal_forms.stage_options(session) if editing == "stage" else [],
        "forecast_options": deal_forms.forecast_options() if editing == "forecast_category" else [],
        "currencies": sorted(active_currency_codes()) if editing == "amount" else [],
        "chosen_customer": chosen,
    }


class StageRow(NamedTuple):
    stage: str
    outcome: str
    entered_at: dt.datetime
    left_at: dt.datetime | None
    days: int
    by: str


def stage_rows(request: Request, deal: Opportunity) -> list[StageRow]:
    """The deal's stays in stages, newest first: entered, left, days there, who moved it."""
    book = catalogue(db(request))
    query = (
        select(StageChange.stage_id, StageChange.entered_at, StageChange.left_at, User.display_name)
        .outerjoin(User, User.id == StageChange.by_user_id)
        .where(StageChange.opportunity_id == deal.id)
        .order_by(StageChange.entered_at.desc(), StageChange.id.desc())
        .limit(STAGE_HISTORY_LIMIT)
    )
    now = utcnow()
    found = []
    for stage_id, entered, left, by in db(request).execute(query):
        stage = book.stage(stage_id)
        days = max(0, ((left or now) - entered).days)
        found.append(
            StageRow(stage.label if stage else "?", stage.outcome if stage else OPEN, entered, left, days, by or "")
        )
    return found


def timeline_context(
    request: Request, deal: Opportunity, kinds_raw: list[str], before_raw: str | None
) -> dict[str, Any]:
    """One page of the deal's merged timeline (every enabled plugin's ``timeline`` answer for the deal),
    newest first by ``(at, key)``; the merge is contacts' (``contacts.api.timeline_page``)."""
    session, viewer, host = db(request), user(request), runtime(request).host
    known = timeline_kinds(host)
    kinds = chosen_timeline_kinds(host, kinds_raw)
    before = decode_cursor(before_raw)
    found = merged_timeline_page(session, host, viewer, Ref("opportunity", deal.id), kinds, before, TIMELINE_LIMIT)
    page = found.entries
    base = f"/pipeline/deals/{deal.id}/timeline"
    query = "".join(f"&kinds={k}" for k in kinds or [])
    more = f"{base}?before={encode_cursor(found.next_cursor)}{query}" if found.next_cursor else ""
    lines = timeline_lines(page, viewer)
    ref = f"opportunity:{deal.id}"
    return {
        "entries": page,
        "lines": lines,
        "more_url": more,
        "base_url": base,
        "filter": [(key, label, kinds is None or key in kinds) for key, label in known],
        "filtered": kinds is not None,
        "older": before is not None,
        "can_edit": viewer.can(EDIT),
        "quick": [(t, _(label), f"/contacts/activities/new?type={t}&ref={ref}") for t, label in ACTIVITY_TYPES],
    }


def page_context(request: Request, loaded: LoadedDeal, **extra: Any) -> dict[str, Any]:
    """Everything the deal page shows; ``extra`` overrides a section's state (an open form, errors)."""
    session, viewer, deal = db(request), user(request), loaded.deal
    kind = runtime(request).record_kinds["opportunity"]
    ctx: dict[str, Any] = {
        **header_context(request, loaded),
        **fields_context(request, loaded),
        "kind": kind,
        # the custom-fields card only once an admin has defined fields (no empty "Details" box twice)
        "cf": card_context(session, kind, deal, viewer) if custom_fields.definitions(session, kind.name) else None,
        "stakeholders": stakeholders.section(session, viewer, deal),
        "stage_history": stage_rows(request, deal),
        "timeline": timeline_context(request, deal, [], None),
        "extra_css": ["deal.css"],
    }
    ctx.update(extra)
    return ctx


def render_page(request: Request, loaded: LoadedDeal, status_code: int = 200, **extra: Any) -> Response:
    return render(request, PAGE, page_context(request, loaded, **extra), status_code=status_code)


def _header(request: Request, loaded: LoadedDeal, status_code: int = 200, **extra: Any) -> Response:
    """The header band alone (HTMX), or the whole page with it in that state."""
    if not is_htmx(request):
        return render_page(request, loaded, status_code, **extra)
    return render(
        request, "pipeline/_deal_header.html", header_context(request, loaded, **extra), status_code=status_code
    )


def _fields(request: Request, loaded: LoadedDeal, status_code: int = 200, oob: bool = False, **state: Any) -> Response:
    """The fields section (HTMX, with the header out of band after a save), or the whole page."""
    if not is_htmx(request):
        return render_page(request, loaded, status_code, **fields_context(request, loaded, **state))
    ctx = {**header_context(request, loaded), **fields_context(request, loaded, **state), "oob_header": oob}
    return render(request, "pipeline/_deal_fields.html", ctx, status_code=status_code)


# -- the page and its fields -----------------------------------------------------------------------------


@requires(VIEW)
async def deal_page(request: Request) -> Response:
    return render_page(request, load(request))


def _field(request: Request, loaded: LoadedDeal) -> Field:
    field = BY_KEY.get(request.path_params.get("field", ""))
    if field is None or field not in fields_for(loaded.deal):
        raise HTTPException(404, _("This deal has no such field."))
    return field


@requires(VIEW)
async def fields_show(request: Request) -> Response:
    """The fields as they are (what Cancel and Esc bring back)."""
    loaded = load(request)
    if not is_htmx(request):
        return RedirectResponse(deal_path(loaded.deal.id), status_code=303)
    return _fields(request, loaded)


@requires(EDIT)
async def field_edit(request: Request) -> Response:
    loaded = load(request)
    return _fields(request, loaded, editing=_field(request, loaded).key)


@requires(EDIT)
async def field_save(request: Request) -> Response:
    loaded = load(request)
    field = _field(request, loaded)
    form = await form_dict(request)
    values, errors = deal_forms.read_field(db(request), user(request), field, form)
    version = parse_version(form.get("version"))
    if not errors and version is None:
        errors = {field.key: _("The form is incomplete; reload the page and try again.")}
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                save(
                    session,
                    runtime(request).record_kinds["opportunity"],
                    loaded.deal.id,
                    values,
                    actor=user(request),
                    expected_version=version,
                )
        except StaleRecord as exc:
            return _fields(request, reload(request), 409, editing=field.key, stale=str(exc))
        except ValidationError as exc:
            errors = deal_forms.on_form(exc.errors)
        else:
            if not is_htmx(request):
                return RedirectResponse(deal_path(loaded.deal.id), status_code=303)
            return _fields(request, reload(request), oob=True)
    fresh = reload(request)
    shown_values = {**deal_forms.form_values(fresh.deal, field), **{k: v for k, v in form.items() if k != "version"}}
    return _fields(request, fresh, 400, editing=field.key, values=shown_values, error="; ".join(errors.values()))


# -- quick actions ---------------------------------------------------------------------------------------


async def _act(request: Request, loaded: LoadedDeal, form: dict[str, str], values: dict[str, Any], **state: Any):
    """Write ``values`` with the form's version: None when done, else the response that says why not."""
    version = parse_version(form.get("version"))
    if version is None:
        return _header(
            request, loaded, 400, action_error=_("The form is incomplete; reload the page and try again."), **state
        )
    try:
        with write_transaction(runtime(request).sessions) as session:
            save(
                session,
                runtime(request).record_kinds["opportunity"],
                loaded.deal.id,
                values,
                actor=user(request),
                expected_version=version,
            )
    except StaleRecord as exc:
        return _header(request, reload(request), 409, action_error=str(exc), **state)
    except ValidationError as exc:
        return _header(request, reload(request), 400, action_error="; ".join(exc.errors.values()), **state)
    return None


def _refreshed(request: Request, loaded: LoadedDeal) -> Response:
    """After an action the whole page changes (stage, history, timeline): HTMX reloads it, a form gets 303."""
    return go_to(request, deal_path(loaded.deal.id))


@requires(EDIT)
async def mark_won(request: Request) -> Response:
    loaded = load(request)
    form = await form_dict(request)
    if loaded.deal.status == WON:
        return _refreshed(request, loaded)
    refused = await _act(request, loaded, form, {"status": WON})
    return refused or _refreshed(request, loaded)


@requires(EDIT)
async def lost_form(request: Request) -> Response:
    """Asks for the reason (required) and the competitor (optional) before marking the deal lost."""
    loaded = load(request)
    return _header(request, loaded, losing=True)


@requires(EDIT)
async def mark_lost(request: Request) -> Response:
    loaded = load(request)
    form = await form_dict(request)
    values, errors = deal_forms.read_lost(form)
    shown_values = {"lost_reason": form.get("lost_reason", ""), "competitor": form.get("competitor", "")}
    if errors:
        return _header(request, loaded, 400, losing=True, lost_errors=errors, lost_values=shown_values)
    refused = await _act(request, loaded, form, values, losing=True, lost_values=shown_values)
    return refused or _refreshed(request, loaded)


@requires(EDIT)
async def reopen(request: Request) -> Response:
    """Back to the open stage the deal was closed from (or the pipeline's first), the loss forgotten."""
    loaded = load(request)
    form = await form_dict(request)
    deal = loaded.deal
    if deal.status == OPEN:
        return _refreshed(request, loaded)
    values: dict[str, Any] = {"status": OPEN, "lost_reason": "", "competitor": ""}
    previous = db(request).scalar(
        select(StageChange.from_stage_id).where(StageChange.opportunity_id == deal.id, StageChange.left_at.is_(None))
    )
    stage = catalogue(db(request)).stage(previous)
    if stage is not None and not stage.closed and not stage.archived and stage.pipeline_id == deal.pipeline_id:
        values["stage_id"] = stage.id
    refused = await _act(request, loaded, form, values)
    return refused or _refreshed(request, loaded)


@requires(EDIT)
async def advance(request: Request) -> Response:
    """Move to the next open stage of the pipeline."""
    loaded = load(request)
    form = await form_dict(request)
    target = next_stage(request, loaded.deal)
    wanted = parse_id(form.get("stage"))
    if target is None or (wanted is not None and wanted != target.id):
        return _header(
            request, loaded, 409, action_error=_("The deal has moved since you opened it; see where it is now.")
        )
    refused = await _act(request, loaded, form, {"stage_id": target.id})
    return refused or _refreshed(request, loaded)


@requires(EDIT)
async def delete_confirm(request: Request) -> Response:
    return _header(request, load(request), confirm_delete=True)


@requires(EDIT)
async def delete_deal(request: Request) -> Response:
    """Into the recycle bin through core's write path (audit entry, event); an admin may restore it."""
    loaded = load(request)
    try:
        with write_transaction(runtime(request).sessions) as session:
            delete(session, runtime(request).record_kinds["opportunity"], loaded.deal.id, actor=user(request))
    except ValidationError as exc:
        return _header(request, loaded, 400, confirm_delete=True, action_error="; ".join(exc.errors.values()))
    target = f"/contacts/{loaded.deal.customer_id}" if loaded.deal.customer_id else "/pipeline/deals"
    return go_to(request, target)


# -- timeline and history ---------------------------------------------------------------------------------


@requires(VIEW)
async def timeline_page(request: Request) -> Response:
    """``?before=<cursor>&kinds=…``: the next entries ("Show older") or the filtered first page for HTMX;
    a plain link gets a page with the timeline alone."""
    loaded = load(request)
    params = request.query_params
    timeline = timeline_context(request, loaded.deal, params.getlist("kinds"), params.get("before"))
    block = ("more" if params.get("before") else "list") if is_htmx(request) else None
    ctx = {"deal": loaded.deal, "timeline": timeline, "extra_css": ["deal.css"]}
    return render(request, TIMELINE, ctx, block=block)


@requires(VIEW)
async def history_page(request: Request) -> Response:
    """The deal's audit history: every change, when, by whom, old → new."""
    loaded = load(request)
    session = db(request)
    kind = runtime(request).record_kinds["opportunity"]
    entries = [
        e
        for e in audit_history(session, kind, loaded.deal.id, limit=HISTORY_LIMIT)
        if not (e.action == "create" and e.new in (None, "", False, [], {}))
    ]
    defs = {
        f"{custom_fields.PREFIX}{f.key}": f.label
        for f in custom_fields.definitions(session, kind.name, include_removed=True)
    }
    readable = _readable(request, entries)
    rows = [
        (e, _(AUDIT_LABELS[e.field]) if e.field in AUDIT_LABELS else defs.get(e.field, e.field), *readable(e))
        for e in entries
    ]
    return render(request, HISTORY, {"deal": loaded.deal, "rows": rows, "extra_css": ["deal.css"]})


def _readable(request: Request, entries: list[Any]) -> Any:
    """Turns an entry's ids and keys into words (stage, pipeline, owner, status, forecast category): one
    query for the users named, the stages from the catalogue; anything else shown as stored."""
    book = catalogue(db(request))
    user_ids = {v for e in entries if e.field == "owner_user_id" for v in (e.old, e.new) if isinstance(v, int)}
    team_ids = {v for e in entries if e.field == "owner_team_id" for v in (e.old, e.new) if isinstance(v, int)}
    users = (
        dict(db(request).execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    teams = dict(db(request).execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all()) if team_ids else {}

    def word(field: str, value: Any) -> str:
        if value is None or value == "":
            return ""
        if field in ("stage_id", "from_stage_id") and (stage := book.stage(value)) is not None:
            return stage.label
        if field == "pipeline_id" and (pipeline := book.pipeline(value)) is not None:
            return pipeline.label
        if field == "owner_user_id":
            return users.get(value, str(value))
        if field == "owner_team_id":
            return teams.get(value, str(value))
        if field == "status":
            return _(STATUS_LABELS.get(value, value))
        if field == "forecast_category":
            return _(FORECAST_LABELS.get(value, value))
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return lambda e: (word(e.field, e.old) if e.action != "create" else "", word(e.field, e.new))


# -- creating a deal -------------------------------------------------------------------------------------


def new_context(request: Request, form: dict[str, str], errors: dict[str, str] | None = None) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    chosen = None
    customer_id = parse_id(form.get("customer"))
    if customer_id is not None:
        found = deal_forms.visible_party(session, viewer, customer_id)
        chosen = {"id": found.id, "name": found.name} if found else None
    return {
        "form": form,
        "errors": errors or {},
        "chosen_customer": chosen,
        "stage_options": deal_forms.stage_options(session),
        "currencies": sorted(active_currency_codes() | {form.get("currency", "")} - {""}),
        "owners": owner_choices(session),
        "dialog": is_htmx(request),
        "extra_css": ["deal.css"],
    }


@requires(EDIT)
async def new_page(request: Request) -> Response:
    """The form (a page, or for HTMX the form alone, to open in a dialog); ``?customer=<party id>`` presets
    the customer (the card's "New deal"), a party the viewer may not see is simply not preset."""
    session, viewer = db(request), user(request)
    default = catalogue(session).default()
    first = default.first_open() if default else None
    form = {
        "customer": request.query_params.get("customer", "") if parse_id(request.query_params.get("customer")) else "",
        "currency": company_settings(session).base_currency,
        "owner": f"u:{viewer.id}",
        "stage": str(first.id) if first else "",
        "name": "",
        "amount": "",
        "expected_close": "",
        "description": "",
    }
    return render(request, NEW, new_context(request, form), block="form")


@requires(EDIT)
async def create(request: Request) -> Response:
    form = await form_dict(request)
    session, viewer = db(request), user(request)
    values, errors = deal_forms.read_new(session, viewer, form)
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as tx:
                deal = save(tx, runtime(request).record_kinds["opportunity"], None, values, actor=viewer)
                deal_id = deal.id
        except ValidationError as exc:
            errors = deal_forms.on_form(exc.errors)
        else:
            return go_to(request, deal_path(deal_id))
    return render(request, NEW, new_context(request, form, errors), block="form", status_code=400)


routes: list[Any] = [
    Route("/deals/new", new_page, methods=["GET"], name="deal_new"),
    Route("/deals/new", create, methods=["POST"], name="deal_create"),
    Route("/deals/{deal_id:int}", deal_page, methods=["GET"], name="deal"),
    Route("/deals/{deal_id:int}/fields", fields_show, methods=["GET"], name="deal_fields"),
    Route("/deals/{deal_id:int}/fields/{field}/edit", field_edit, methods=["GET"], name="deal_field_edit"),
    Route("/deals/{deal_id:int}/fields/{field}", field_save, methods=["POST"], name="deal_field_save"),
    Route("/deals/{deal_id:int}/won", mark_won, methods=["POST"], name="deal_won"),
    Route("/deals/{deal_id:int}/lost", lost_form, methods=["GET"], name="deal_lost_form"),
    Route("/deals/{deal_id:int}/lost", mark_lost, methods=["POST"], name="deal_lost"),
    Route("/deals/{deal_id:int}/reopen", reopen, methods=["POST"], name="deal_reopen"),
    Route("/deals/{deal_id:int}/advance", advance, methods=["POST"], name="deal_advance"),
    Route("/deals/{deal_id:int}/delete", delete_confirm, methods=["GET"], name="deal_delete_confirm"),
    Route("/deals/{deal_id:int}/delete", delete_deal, methods=["POST"], name="deal_delete"),
    Route("/deals/{deal_id:int}/timeline", timeline_page, methods=["GET"], name="deal_timeline"),
    Route("/deals/{deal_id:int}/history", history_page, methods=["GET"], name="deal_history"),
    *stakeholders.routes,
    Route("/customers/{party_id:int}/sales", card_panels.sales_panel, methods=["GET"], name="customer_sales"),
]

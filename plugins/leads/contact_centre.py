"""The contact-centre screen (``/leads/call``): what an operator uses during a live phone call.

The phone number and the caller's name sit at the top; as they are typed (HTMX, debounced) the screen
finds existing customers (contacts' people and organisations, by phone key prefix or name key prefix) and
leads (the same, on the lead's keys), each an indexed range read a few rows deep, under the operator's
visibility. A customer with this number whom the operator may not see is still reported, as the minimal
fact (system scope: "a customer you cannot see has this number, owned by N"). The operator picks a found
record, or creates the lead in one click (channel ``leads.phone``, owned by the operator or put in the
default queue) and can go straight on to the qualification script.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, form_dict, go_to, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.search_keys import prefix_bounds, prefix_filter
from voronka.core.security.markers import requires
from voronka.core.security.system_scope import match_fact
from voronka.core.security.visibility import visible
from voronka.core.templating import is_htmx, render
from voronka.core.writes import save
from voronka.plugins.contacts.api import ContactPoint, Party, normalise_phone, phone_region

from . import assignment, lead_forms, lead_queries
from .channels import PHONE
from .kinds import EDIT, lead_display
from .lead_list import channel_label, channel_labels
from .lead_queries import STATUS_LABELS
from .models import OPEN_STATUSES, Lead

log = logging.getLogger("voronka.leads.contact_centre")

PAGE = "leads/call_page.html"
RESULTS = "leads/call_results.html"
FOUND_MAX = 8
INPUT_MAX = 120


def _phone_ranges(session: Session, text: str) -> list[tuple[str, str]]:
    """Index ranges of E.164 keys a typed (maybe partial) number may start with."""
    digits = sum(ch.isdigit() for ch in text)
    if digits < 3:
        return []
    found = [b for b in (prefix_bounds(p) for p in lead_queries.phone_prefixes(text, phone_region(session))) if b]
    if digits >= 9:
        whole = normalise_phone(text, phone_region(session))
        bounds = prefix_bounds(whole) if whole else None
        if bounds is not None and bounds not in found:
            found.append(bounds)
    return found


def find_customers(session: Session, viewer: Any, phone: str, name: str) -> list[dict[str, Any]]:
    """People and organisations the viewer may see with this phone (prefix) or name (prefix)."""
    clauses = []
    for lo, hi in _phone_ranges(session, phone):
        points = select(ContactPoint.party_id).where(ContactPoint.channel == "phone", ContactPoint.value_key >= lo,
                                                     ContactPoint.value_key < hi).limit(50)  # fmt: skip
        clauses.append(Party.id.in_(points))
    if len(name.strip()) >= 2:  # either key: people are keyed surname first and by first name (alt_key)
        for column in (Party.name_key, Party.alt_key):
            by_name = prefix_filter(column, name)
            if by_name is not None:
                clauses.append(and_(Party.kind.in_(("person", "organisation")), by_name))
    if not clauses:
        return []
    rows = session.execute(
        select(Party.id, Party.kind, Party.name, Party.primary_phone, Party.primary_email, Party.city)
        .where(or_(*clauses), Party.deleted_at.is_(None), visible(Party, viewer))
        .order_by(Party.name_key, Party.id)
        .limit(FOUND_MAX)
    )
    return [{"id": r.id, "kind": r.kind, "name": r.name, "sub": " · ".join(p for p in (r.primary_phone, r.primary_email,
             r.city) if p)} for r in rows]  # fmt: skip


def hidden_customer(session: Session, viewer: Any, phone: str, shown: list[dict[str, Any]]) -> Any:
    """The minimal fact about customers with exactly this number that the viewer may not see."""
    whole = normalise_phone(phone, phone_region(session)) if sum(c.isdigit() for c in phone) >= 9 else ""
    if not whole:
        return None
    with_number = select(ContactPoint.party_id).where(ContactPoint.channel == "phone", ContactPoint.value_key == whole)
    live = [Party.id.in_(with_number.limit(50)), Party.deleted_at.is_(None)]
    ids = set(session.scalars(select(Party.id).where(*live)))
    seen = set(session.scalars(select(Party.id).where(Party.id.in_(ids), visible(Party, viewer)))) if ids else set()
    hidden = sorted(ids - seen - {c["id"] for c in shown})
    if not hidden:
        return None
    criteria = [Party.id.in_(hidden)]
    return match_fact(session, Party, *criteria)


def find_leads(session: Session, viewer: Any, phone: str, name: str) -> list[Any]:
    """Leads the viewer may see with this phone (prefix) or name / company (prefix), in match order."""
    columns = (Lead.id, Lead.name, Lead.company, Lead.email, Lead.phone, Lead.status, Lead.channel, Lead.created_at)
    where = [Lead.deleted_at.is_(None), visible(Lead, viewer)]
    found: list[Any] = []
    if sum(ch.isdigit() for ch in phone) >= 3:
        found += lead_queries.search_rows(session, phone, columns, where, FOUND_MAX)
    if len(name.strip()) >= 2:
        known = {r.id for r in found}
        found += [r for r in lead_queries.search_rows(session, name, columns, where, FOUND_MAX) if r.id not in known]
    return found[:FOUND_MAX]


def results_context(request: Request, phone: str, name: str) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    customers = find_customers(session, viewer, phone, name)
    labels = channel_labels(request)
    leads = [{"id": r.id, "name": lead_display(r), "sub": " · ".join(p for p in (r.company if r.name else "", r.phone,
              channel_label(labels, r.channel)) if p), "status": r.status,
              "status_label": _(STATUS_LABELS.get(r.status, r.status)), "open": r.status in OPEN_STATUSES}
             for r in find_leads(session, viewer, phone, name)]  # fmt: skip
    return {
        "customers": customers,
        "hidden": hidden_customer(session, viewer, phone, customers),
        "leads": leads,
        "asked": bool(phone.strip() or name.strip()),
        "can_script": script_route_exists(),
    }


def script_route_exists() -> bool:
    """Whether the scripts task's ``POST /leads/{id}/script`` is mounted (it arrives with runner_pages)."""
    from . import runner_pages

    return any(getattr(r, "path", "").endswith("/script") for r in runner_pages.routes)


def _inputs(params: Any) -> tuple[str, str]:
    return str(params.get("phone", ""))[:INPUT_MAX].strip(), " ".join(str(params.get("name", "")).split())[:INPUT_MAX]


def page_context(request: Request, form: dict[str, str], errors: dict[str, str] | None = None) -> dict[str, Any]:
    phone, name = _inputs(form)
    queue = assignment.default_queue_id(db(request))
    return {
        "form": form,
        "errors": errors or {},
        "has_queue": queue is not None,
        **results_context(request, phone, name),
    }


@requires(EDIT)
async def call_page(request: Request) -> Response:
    form = {k: request.query_params.get(k, "")[:INPUT_MAX] for k in ("phone", "name", "company", "message")}
    form["owner"] = "me"
    return render(request, PAGE, page_context(request, form))


@requires(EDIT)
async def call_search(request: Request) -> Response:
    """The results alone (HTMX, as the operator types)."""
    phone, name = _inputs(request.query_params)
    if not is_htmx(request):
        return RedirectResponse(f"/leads/call?{request.url.query}", status_code=303)
    return render(request, RESULTS, results_context(request, phone, name))


def _split_name(name: str) -> tuple[str, str]:
    first, _sep, last = name.partition(" ")
    return first, last


def _create(session: Session, rt: Any, viewer: Any, values: dict[str, Any], *, to_queue: bool) -> int:
    """The lead from the call, through capture (the one way channels create leads) when it is there, else
    straight through core's write path. Owned by the operator, or put in the default queue (round-robin
    when on) when asked and one is configured."""
    owner: dict[str, Any] = {}
    if not to_queue or assignment.default_queue_id(session) is None:
        owner = {"owner_user_id": viewer.id}
    try:
        from . import capture as capturing

        capture = capturing.capture
        getattr(capturing, "remember", lambda _rt: None)(rt)  # capture writes with the app's registered kind
    except (ImportError, AttributeError):
        capture = None
    if capture is not None:
        data = {k: v for k, v in values.items() if k != "channel" and v}
        return capture(session, PHONE, data, actor=viewer, values=owner, keep_channel=True).id
    fields = {**values, **owner}
    if not owner:
        assignment.place_new_lead(session, fields)
    return save(session, rt.record_kinds["lead"], None, fields, actor=viewer).id


@requires(EDIT)
async def call_create(request: Request) -> Response:
    """Create the lead from the call in one transaction; "and start the script" goes straight on to the
    scripts' route with the same form (307 keeps the method and the CSRF token)."""
    form = await form_dict(request)
    session, viewer = db(request), user(request)
    phone, name = _inputs(form)
    first, last = _split_name(name)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"channel": PHONE}
    for key, raw, limit in (
        ("first_name", first, 120),
        ("last_name", last, 120),
        ("phone", phone, 40),
        ("company", form.get("company", ""), 300),
        ("message", form.get("message", ""), 10_000),
    ):
        found, problems = lead_forms.read_text(key, raw, limit, multiline=key == "message")
        values.update(found)
        errors.update(problems)
    if not (values.get("phone") or values.get("first_name") or values.get("company")):
        errors["phone"] = _("Type the caller's number or name first.")
    if not errors:
        session.rollback()  # end the read snapshot before writing
        try:
            with write_transaction(runtime(request).sessions) as tx:
                lead_id = _create(tx, runtime(request), viewer, values, to_queue=form.get("owner") == "queue")
        except ValidationError as exc:
            errors = {("name" if k in ("first_name", "last_name", "") else k): v for k, v in exc.errors.items()}
        else:
            if form.get("then") == "script" and script_route_exists():
                return RedirectResponse(f"/leads/{lead_id}/script", status_code=307)
            return go_to(request, f"/leads/{lead_id}")
    return render(request, PAGE, page_context(request, form, errors), status_code=400)


routes: list[Any] = [
    Route("/call", call_page, methods=["GET"], name="leads_call"),
    Route("/call", call_create, methods=["POST"], name="leads_call_create"),
    Route("/call/search", call_search, methods=["GET"], name="leads_call_search"),
]

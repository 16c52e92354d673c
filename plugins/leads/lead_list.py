"""The lead list (``/leads/``) with its team queues, bulk actions and CSV export; the home panel of new
leads; the global search hook.

Tabs pick whose leads: mine, each team queue the viewer is in (owned by the team, no user yet), everyone
under me, all I may see; the filters (:mod:`.lead_queries`) narrow them. Bulk actions (assign an owner,
disqualify with a reason, qualify with the defaults) act only on leads the viewer may see; assign and
disqualify are one transaction (all or nothing), qualify is one transaction per lead so one lead that
cannot be qualified does not hold the others back (each reported).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.exports import export_response
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.i18n import ngettext
from voronka.core.ids import existing_owner, owner_choices, parse_ids
from voronka.core.models import Team, User
from voronka.core.search_keys import search_key
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import render
from voronka.core.ui import Panel, SearchHit
from voronka.core.writes import save

from . import contract, lead_queries
from .kinds import EDIT, VIEW, lead_display, lead_url
from .lead_queries import PERIODS, REASON_LABELS, SORTS, STATUS_LABELS, STATUSES, LeadFilter
from .models import DISQUALIFIED, DISQUALIFY_REASONS, NEW, OPEN_STATUSES, Campaign, Lead

log = logging.getLogger("voronka.leads.lead_list")

DEFAULT_LIMIT = 50
COUNT_CAP = 1_000
BULK_MAX = 200
HOME_LATEST = 5
PAGE = "leads/lead_list.html"
COLUMNS = (Lead.id, Lead.name, Lead.name_key, Lead.company, Lead.company_key, Lead.email, Lead.phone, Lead.channel,
           Lead.campaign_id, Lead.status, Lead.disqualify_reason, Lead.owner_user_id, Lead.owner_team_id,
           Lead.created_at, Lead.version)  # fmt: skip


# -- shared helpers (the lead page and the call screen use them too) ---------------------------------------


def channel_labels(request: Request) -> dict[str, str]:
    """Every enabled plugin's channels by key → label (translated)."""
    return {key: _(ch.label) for key, ch in contract.channels(runtime(request).host).items()}


def channel_label(labels: dict[str, str], key: str) -> str:
    """A channel's label; a key no enabled plugin answers for (its plugin is off) shows as the key."""
    return labels.get(key, key)


def qualify_service() -> Any:
    """The qualify task's ``qualify(session, host, actor, lead)``, or None while it does not exist yet."""
    try:
        from . import qualify  # type: ignore[attr-defined]

        return qualify.qualify
    except (ImportError, AttributeError):
        return None


def list_limit(request: Request) -> int:
    try:
        return int(runtime(request).settings_store.get(db(request), "leads", "list_limit") or DEFAULT_LIMIT)
    except (KeyError, TypeError, ValueError):
        return DEFAULT_LIMIT


def owner_names(session: Session, rows: list[Any]) -> dict[tuple[str, int], str]:
    users = {r.owner_user_id for r in rows if r.owner_user_id}
    teams = {r.owner_team_id for r in rows if r.owner_team_id}
    found: dict[tuple[str, int], str] = {}
    if users:
        found |= {("u", i): n for i, n in session.execute(select(User.id, User.display_name).where(User.id.in_(users)))}
    if teams:
        found |= {("t", i): n for i, n in session.execute(select(Team.id, Team.name).where(Team.id.in_(teams)))}
    return found


def campaign_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))).all())  # type: ignore[arg-type]


def campaign_options(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Campaign.id, Campaign.name).where(Campaign.deleted_at.is_(None)).order_by(Campaign.name_key).limit(300)
    )
    return [(r[0], r[1]) for r in rows]


# -- the list -------------------------------------------------------------------------------------------


@dataclass
class Row:
    id: int
    name: str
    company: str
    email: str
    phone: str
    channel: str
    channel_label: str
    campaign: str
    campaign_id: int | None
    status: str
    status_label: str
    reason_label: str
    owner: str
    in_queue: bool
    created_at: dt.datetime
    version: int


def make_rows(session: Session, raw: list[Any], labels: dict[str, str]) -> list[Row]:
    owners = owner_names(session, raw)
    campaigns = campaign_names(session, {r.campaign_id for r in raw if r.campaign_id})
    found = []
    for r in raw:
        owner = (
            owners.get(("u", r.owner_user_id), "") if r.owner_user_id else owners.get(("t", r.owner_team_id or 0), "")
        )
        found.append(Row(
            r.id, r.name or "", r.company or "", r.email or "", r.phone or "", r.channel,
            channel_label(labels, r.channel), campaigns.get(r.campaign_id or 0, ""), r.campaign_id, r.status,
            _(STATUS_LABELS.get(r.status, r.status)),
            _(REASON_LABELS[r.disqualify_reason]) if r.disqualify_reason in REASON_LABELS else "",
            owner, r.owner_user_id is None and r.owner_team_id is not None, r.created_at, r.version,
        ))  # fmt: skip
    return found


def capped_count(session: Session, viewer: Any, flt: LeadFilter) -> int:
    ids = select(Lead.id).where(*flt.clauses(session, viewer)).limit(COUNT_CAP + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0)


def queue_counts(session: Session, viewer: Any, queues: list[tuple[int, str]]) -> dict[int, int]:
    """Open leads waiting in each of the viewer's queues (capped at 1000 each)."""
    found = {}
    for team_id, _name in queues:
        waiting = (select(Lead.id).where(Lead.owner_team_id == team_id, Lead.owner_user_id.is_(None),
                                         Lead.status.in_(OPEN_STATUSES), Lead.deleted_at.is_(None),
                                         visible(Lead, viewer)).limit(1000).subquery())  # fmt: skip
        found[team_id] = int(session.scalar(select(func.count()).select_from(waiting)) or 0)
    return found


def list_context(request: Request, **extra: Any) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    params = request.query_params
    labels = channel_labels(request)
    flt = lead_queries.parse(session, viewer, params, set(labels))
    problems = list(flt.problems)
    cursor = lead_queries.decode_cursor(params.get("after", ""), flt.sort_key)
    if params.get("after") and cursor is None:
        problems.append(_("That page link is out of date; showing the first page."))
    limit = list_limit(request)
    raw, more = lead_queries.page(session, viewer, flt, COLUMNS, cursor, limit)
    rows = make_rows(session, raw, labels)
    total = capped_count(session, viewer, flt)
    base = flt.params()

    def url(**changes: Any) -> str:
        items = {**base, **{k: v for k, v in changes.items() if v not in (None, "")}}
        for key, value in changes.items():
            if value in (None, "") and key in items:
                del items[key]
        return "/leads/" + ("?" + urlencode(items) if items else "")

    def sort_link(key: str) -> str:
        if flt.sort_key == key and flt.sort != lead_queries.MATCH:
            return url(sort=key if flt.descending else "-" + key, after=None)
        return url(sort="-created" if key == "created" else key, after=None)

    queues = lead_queries.user_queues(session, viewer)
    counts = queue_counts(session, viewer, queues)
    tabs = [("mine", _("My leads"), None)]
    tabs += [(f"t:{tid}", name, counts.get(tid)) for tid, name in queues]
    tabs += [("under", _("Everyone under me"), None), ("all", _("All"), None)]
    can_edit = viewer.can(EDIT)
    ctx: dict[str, Any] = {
        "title": _("Leads"),
        "flt": flt,
        "problems": problems,
        "rows": rows,
        "more": more,
        "total": total,
        "count_capped": total > COUNT_CAP,
        "count_cap": COUNT_CAP,
        "next_url": url(after=lead_queries.cursor_of(raw[-1])) if more and raw else "",
        "first_url": url(after=None) if cursor is not None else "",
        "tabs": [(key, label, count, url(view=key, after=None)) for key, label, count in tabs],
        "sort_links": {key: sort_link(key) for key in SORTS},
        "sorts": SORTS,
        "statuses": STATUSES,
        "periods": PERIODS,
        "channels": sorted(labels.items(), key=lambda kv: kv[1].casefold()),
        "campaigns": campaign_options(session),
        "export_url": "/leads/export.csv" + ("?" + urlencode(base) if base else ""),
        "back": urlencode(base),
        "can_edit": can_edit,
        "can_qualify": can_edit and qualify_service() is not None,
        "owners": owner_choices(session) if can_edit else {"users": [], "teams": []},
        "reasons": [(key, _(REASON_LABELS[key])) for key in DISQUALIFY_REASONS],
        "bulk_message": None,
        "bulk_error": None,
        "extra_css": [],
    }
    ctx.update(extra)
    return ctx


@requires(VIEW)
async def list_page(request: Request) -> Response:
    return render(request, PAGE, list_context(request), block="list")


@requires(VIEW)
async def export_csv(request: Request) -> Response:
    """The whole filtered list as CSV (its filters, not its pages), under visibility."""
    session, viewer = db(request), user(request)
    flt = lead_queries.parse(session, viewer, request.query_params)
    return export_response(
        request, runtime(request).record_kinds["lead"], select(Lead.id).where(*flt.clauses(session, viewer))
    )


# -- bulk actions ---------------------------------------------------------------------------------------


def _visible_leads(session: Session, viewer: Any, ids: list[int]) -> list[Lead]:
    return list(session.scalars(select(Lead).where(Lead.id.in_(ids), Lead.deleted_at.is_(None), visible(Lead, viewer))
                                .order_by(Lead.id)))  # fmt: skip


def _bulk_values(session: Session, form: Any) -> tuple[str, dict[str, Any] | None, str | None]:
    """(action, values to write, error) of a bulk form; qualify has no values."""
    action = str(form.get("action", ""))
    if action == "assign":
        owner = existing_owner(session, form.get("owner"))
        if owner is None:
            return action, None, _("Choose an active user or a team to assign the leads to.")
        return action, owner, None
    if action == "disqualify":
        reason = str(form.get("reason", ""))
        if reason not in DISQUALIFY_REASONS:
            return action, None, _("Choose why the leads are disqualified.")
        note = str(form.get("note", "")).strip()[:2000]
        return action, {"status": DISQUALIFIED, "disqualify_reason": reason, "disqualify_note": note}, None
    if action == "qualify":
        return action, {}, None
    return action, None, _("Choose what to do with the selected leads.")


def _back_request(request: Request, back: str) -> Request:
    """The list request as the bulk form's list was filtered (to render it again with the message)."""
    scope = dict(request.scope)
    scope["query_string"] = back.encode()[:2000]
    scope["method"] = "GET"
    return Request(scope, request.receive)


@requires(EDIT)
async def bulk(request: Request) -> Response:
    form = await request.form()
    session, viewer = db(request), user(request)
    back = str(form.get("back", ""))[:2000]
    listed = _back_request(request, back)
    ids = parse_ids(form.getlist("ids"))
    action, values, error = _bulk_values(session, form)
    if ids is None:
        error = _("The selection is not valid; reload the list and try again.")
    elif not ids:
        error = _("Select at least one lead.")
    elif len(ids) > BULK_MAX:
        error = _("Select at most %(n)s leads at a time.") % {"n": BULK_MAX}
    if action == "qualify" and qualify_service() is None:
        error = _("Qualifying from the list is not available.")
    if error is not None:
        return render(request, PAGE, list_context(listed, bulk_error=error), block="list", status_code=400)
    assert ids is not None and values is not None
    kinds = runtime(request).record_kinds
    done, skipped, failed = 0, 0, []
    if action == "qualify":
        done, skipped, failed = _bulk_qualify(request, viewer, ids)
    else:
        try:
            with write_transaction(runtime(request).sessions) as tx:
                for lead in _visible_leads(tx, viewer, ids):
                    if action == "disqualify" and lead.status not in OPEN_STATUSES:
                        skipped += 1
                        continue
                    save(tx, kinds["lead"], lead.id, values, actor=viewer, source="bulk")
                    done += 1
        except (ValidationError, StaleRecord) as exc:
            session.rollback()
            return render(request, PAGE, list_context(listed, bulk_error=str(exc)), block="list", status_code=400)
    session.rollback()
    message = ngettext("%(num)s lead updated.", "%(num)s leads updated.", done) % {"num": done}
    if skipped:
        message += " " + ngettext(
            "%(num)s was already closed and was left as it is.",
            "%(num)s were already closed and were left as they are.",
            skipped,
        ) % {"num": skipped}
    if failed:
        message += " " + _("Not qualified: %(list)s.") % {"list": "; ".join(failed)}
    return render(request, PAGE, list_context(listed, bulk_message=message), block="list")


def _bulk_qualify(request: Request, viewer: Any, ids: list[int]) -> tuple[int, int, list[str]]:
    """Each lead qualified with the defaults in a transaction of its own; (done, skipped, failures)."""
    qualify = qualify_service()
    host = runtime(request).host
    done, skipped, failed = 0, 0, []
    for lead_id in ids:
        try:
            with write_transaction(runtime(request).sessions) as tx:
                found = _visible_leads(tx, viewer, [lead_id])
                if not found or found[0].status not in OPEN_STATUSES:
                    skipped += 1
                    continue
                qualify(tx, host, viewer, found[0])  # type: ignore[misc]
                done += 1
        except (ValidationError, StaleRecord) as exc:
            failed.append(f"#{lead_id}: {exc}")
        except Exception:  # another plugin's outcome failing must not lose the other leads
            log.exception("bulk qualify of lead %s failed", lead_id)
            failed.append(f"#{lead_id}: {_('something went wrong; try it on the lead page')}")
    return done, skipped, failed


# -- the home panel and global search -------------------------------------------------------------------


def home_panels(request: Request) -> list[Panel]:
    """ "New leads for me and my queues": how many are waiting and the latest few."""
    session, viewer = db(request), user(request)
    teams = sorted(getattr(viewer, "team_ids", ()) or ())
    mine = Lead.owner_user_id == viewer.id
    queue = (Lead.owner_team_id.in_(teams) & Lead.owner_user_id.is_(None)) if teams else None
    where = [
        Lead.status == NEW,
        Lead.deleted_at.is_(None),
        visible(Lead, viewer),
        mine if queue is None else (mine | queue),
    ]
    count = int(
        session.scalar(select(func.count()).select_from(select(Lead.id).where(*where).limit(1000).subquery())) or 0
    )
    raw = list(session.execute(select(*COLUMNS).where(*where).order_by(Lead.created_at.desc(), Lead.id.desc())
                               .limit(HOME_LATEST)))  # fmt: skip
    rows = make_rows(session, raw, channel_labels(request))
    context = {"count": count, "capped": count >= 1000, "rows": rows}
    return [Panel("leads.new", _("New leads for me and my queues"), "leads/home_new_leads.html", context, order=20)]


def search_hits(session: Any, user: Any, query: str, limit: int) -> list[SearchHit]:
    """Live leads ``user`` may see whose name, company, e-mail or phone starts with ``query``."""
    query = (query or "").strip()[: lead_queries.QUERY_MAX]
    if not query or limit < 1:
        return []
    columns = (Lead.id, Lead.name, Lead.name_key, Lead.company, Lead.email, Lead.phone, Lead.status)
    rows = lead_queries.search_rows(session, query, columns, [Lead.deleted_at.is_(None), visible(Lead, user)], limit)
    key = search_key(query)
    hits = []
    for row in rows:
        status = _(STATUS_LABELS.get(row.status, row.status))
        subtitle = " · ".join(p for p in (row.company if row.name else "", row.email or row.phone, status) if p)
        score = 0.9 if key and (row.name_key or "").startswith(key) else 0.5
        hits.append(SearchHit(lead_display(row), lead_url(row.id), _("Lead"), subtitle, score))
    return hits


routes: list[Any] = [
    Route("/", list_page, methods=["GET"], name="leads"),
    Route("/export.csv", export_csv, methods=["GET"], name="leads_export"),
    Route("/bulk", bulk, methods=["POST"], name="leads_bulk"),
]

"""Campaigns: ``/leads/campaigns`` (list), ``/leads/campaigns/new``, ``/leads/campaigns/{id}`` (the page:
facts, leads by status, the public form's link and the embeddable snippet), ``…/edit`` and ``…/archive``.

Everyone with ``leads.view`` sees campaigns and their figures; ``leads.manage`` creates, edits and
archives them (archive = core's soft delete: the campaign goes to the recycle bin, its leads keep it).
Writes go through core's write path (kind ``campaign``); bad input comes back next to its field (400),
a form opened before someone else saved is a 409, nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.company import company_settings, currency_codes
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, form_dict, go_to, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id, parse_version
from voronka.core.imports_targets import parse_date, parse_decimal
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import render
from voronka.core.types import currency_exponent
from voronka.core.writes import delete, save

from . import contract, public_form
from .kinds import MANAGE, VIEW
from .models import STATUSES, Campaign, Lead

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")
TEXT_FIELDS = {"name": 200, "form_title": 200, "thank_you_url": 500, "description": 10_000, "allowed_origins": 5_000}
LIST_MAX = 500


def _kind(request: Request) -> Any:
    return runtime(request).record_kinds["campaign"]


def _load(request: Request) -> Campaign:
    campaign_id = parse_id(request.path_params.get("campaign_id"))
    found = db(request).get(Campaign, campaign_id) if campaign_id is not None else None
    if found is None or found.deleted_at is not None:
        raise HTTPException(404, _("There is no such campaign; it may have been archived."))
    return found


def _channels(request: Request) -> dict[str, Any]:
    return contract.channels(runtime(request).host)


def status_labels() -> dict[str, str]:
    return {"new": _("New"), "contacted": _("Contacted"), "qualified": _("Qualified"),
            "disqualified": _("Disqualified")}  # fmt: skip


def lead_counts(session: Any, campaign_ids: list[int], viewer: Any) -> dict[int, dict[str, int]]:
    """Live leads per campaign and status that ``viewer`` may see (every status present, zero when none):
    the counts agree with the lead list they link to."""
    counts = {cid: dict.fromkeys(STATUSES, 0) for cid in campaign_ids}
    if not campaign_ids:
        return counts
    rows = session.execute(
        select(Lead.campaign_id, Lead.status, func.count())
        .where(Lead.campaign_id.in_(campaign_ids), Lead.deleted_at.is_(None), visible(Lead, viewer))
        .group_by(Lead.campaign_id, Lead.status)
    )
    for campaign_id, status, n in rows:
        counts[campaign_id][status] = n
    return counts


# -- the form -----------------------------------------------------------------------------------------


def cost_text(minor: int, currency: str) -> str:
    if not minor:
        return ""
    return str(Decimal(minor).scaleb(-currency_exponent(currency or "")))


def form_of(campaign: Campaign | None, base_currency: str) -> dict[str, str]:
    if campaign is None:
        return {"active": "1", "cost_currency": base_currency, "channel": "leads.campaign"}
    return {
        "name": campaign.name, "channel": campaign.channel, "tracking_code": campaign.tracking_code,
        "starts_on": campaign.starts_on.isoformat() if campaign.starts_on else "",
        "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else "",
        "cost": cost_text(campaign.cost_minor, campaign.cost_currency),
        "cost_currency": campaign.cost_currency or base_currency, "active": "1" if campaign.active else "",
        "form_title": campaign.form_title, "allowed_origins": campaign.allowed_origins,
        "thank_you_url": campaign.thank_you_url, "description": campaign.description,
    }  # fmt: skip


def read_form(session: Any, raw: dict[str, str], known_channels: dict[str, Any],
              campaign_id: int | None) -> tuple[dict[str, Any], dict[str, str]]:  # fmt: skip
    """(values for ``writes.save``, messages by input) from the submitted form."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, limit in TEXT_FIELDS.items():
        text = (raw.get(key) or "").replace("\r\n", "\n").strip()
        if len(text) > limit:
            errors[key] = _("Keep it under %(n)s characters.") % {"n": limit}
        values[key] = text
    if not values["name"]:
        errors["name"] = _("Give the campaign a name.")
    channel = (raw.get("channel") or "").strip()
    if channel not in known_channels:
        errors["channel"] = _("Choose a channel from the list.")
    values["channel"] = channel
    code = (raw.get("tracking_code") or "").strip()
    if not CODE_RE.match(code):
        errors["tracking_code"] = _("Use up to 60 letters, digits, dots, dashes or underscores, such as spring-2026.")
    else:
        clash = session.scalar(
            select(Campaign.id).where(Campaign.tracking_code == code, Campaign.id != (campaign_id or 0))
        )
        if clash is not None:
            errors["tracking_code"] = _("Another campaign (perhaps an archived one) uses this code.")
    values["tracking_code"] = code
    for key in ("starts_on", "ends_on"):
        text = (raw.get(key) or "").strip()
        values[key] = None
        if text:
            try:
                values[key] = parse_date(text)
            except ValidationError as exc:
                errors[key] = str(exc)
    if values["starts_on"] and values["ends_on"] and values["ends_on"] < values["starts_on"]:
        errors["ends_on"] = _("The campaign cannot end before it starts.")
    currency = (raw.get("cost_currency") or "").strip().upper()
    cost = (raw.get("cost") or "").strip()
    values["cost_minor"], values["cost_currency"] = 0, currency
    if currency and currency not in currency_codes():
        errors["cost_currency"] = _("Use a three-letter currency code such as UAH or EUR.")
    elif cost:
        try:
            amount = parse_decimal(cost)
            minor = amount.scaleb(currency_exponent(currency))
            if amount < 0 or minor != minor.to_integral_value() or minor > 10**15:
                raise ValidationError(_("Enter the cost as a positive amount, such as 12500.00."))
            values["cost_minor"] = int(minor)
        except ValidationError as exc:
            errors["cost"] = str(exc.errors.get("", exc))
        if not currency:
            errors["cost_currency"] = _("Say which currency the cost is in.")
    values["active"] = raw.get("active") in ("1", "on", "true")
    bad = [line for line in values["allowed_origins"].splitlines() if line.strip()
           and not public_form.normal_origin(line)]  # fmt: skip
    if bad:
        errors["allowed_origins"] = _("“%(line)s” is not a web site address such as https://www.example.com.") % {
            "line": bad[0][:100]
        }
    else:
        origins = [public_form.normal_origin(line) for line in values["allowed_origins"].splitlines() if line.strip()]
        values["allowed_origins"] = "\n".join(dict.fromkeys(origins))
    thanks = values["thank_you_url"]
    if thanks and not public_form.normal_origin(thanks):
        errors["thank_you_url"] = _("Enter an address starting with https://, or leave it empty.")
    return values, errors


def _form_context(request: Request, campaign: Campaign | None, form: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, stale: str = "") -> dict[str, Any]:  # fmt: skip
    base = company_settings(db(request)).base_currency
    return {
        "form": form if form is not None else form_of(campaign, base),
        "errors": errors or {},
        "stale": stale,
        "channels": list(_channels(request).values()),
        "campaign": campaign,
        "extra_css": True,
    }


# -- pages --------------------------------------------------------------------------------------------


@requires(VIEW)
async def campaign_list(request: Request) -> Response:
    session = db(request)
    show = request.query_params.get("show", "")
    query = select(Campaign).where(Campaign.deleted_at.is_(None))
    if show != "all":
        query = query.where(Campaign.active.is_(True))
    rows = list(session.scalars(query.order_by(Campaign.active.desc(), Campaign.starts_on.desc(), Campaign.name_key)
                                .limit(LIST_MAX)))  # fmt: skip
    ctx = {
        "title": _("Campaigns"),
        "rows": rows,
        "show": show,
        "counts": lead_counts(session, [c.id for c in rows], user(request)),
        "channels": _channels(request),
        "can_manage": user(request).can(MANAGE),
        "today": dt.date.today(),
        "is_open": public_form.is_open,
    }
    return render(request, "leads/campaign_list.html", ctx)


@requires(MANAGE)
async def campaign_new(request: Request) -> Response:
    ctx: dict[str, Any] = {"title": _("New campaign")}
    if request.method == "GET":
        return render(request, "leads/campaign_new.html", {**ctx, **_form_context(request, None)}, block="form")
    raw = await form_dict(request)
    values, errors = read_form(db(request), raw, _channels(request), None)
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                campaign_id = save(session, _kind(request), None, values, actor=user(request)).id
            public_form.forget_campaigns()
        except ValidationError as exc:
            errors = {str(k): str(v) for k, v in exc.errors.items()}
        else:
            return go_to(request, f"/leads/campaigns/{campaign_id}")
    ctx.update(_form_context(request, None, raw, errors))
    return render(request, "leads/campaign_new.html", ctx, block="form", status_code=400)


def _page_context(request: Request, campaign: Campaign, **extra: Any) -> dict[str, Any]:
    counts = lead_counts(db(request), [campaign.id], user(request))[campaign.id]
    channel = _channels(request).get(campaign.channel)
    return {
        "title": campaign.name,
        "campaign": campaign,
        "counts": counts,
        "total": sum(counts.values()),
        "labels": status_labels(),
        "channel_label": channel.label if channel is not None else campaign.channel,
        "cost": campaign.cost_minor,
        "open": public_form.is_open(campaign, company_settings(db(request)).today()),
        "form_url": public_form.form_url(request, campaign),
        "snippet": public_form.embed_snippet(public_form.form_url(request, campaign), campaign),
        "can_manage": user(request).can(MANAGE),
        "editing": False,
        "notice": _("Saved.") if request.query_params.get("saved") == "1" else "",
        **extra,
    }


@requires(VIEW)
async def campaign_page(request: Request) -> Response:
    campaign = _load(request)
    return render(request, "leads/campaign_page.html", _page_context(request, campaign), block="main")


@requires(MANAGE)
async def campaign_edit(request: Request) -> Response:
    campaign = _load(request)
    ctx = {**_page_context(request, campaign, editing=True), **_form_context(request, campaign)}
    if request.method == "GET":
        return render(request, "leads/campaign_page.html", ctx, block="main")
    raw = await form_dict(request)
    values, errors = read_form(db(request), raw, _channels(request), campaign.id)
    version = parse_version(raw.get("version"))
    if version is None:
        errors.setdefault("", _("The form is incomplete; reload the page and try again."))
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                save(session, _kind(request), campaign.id, values, actor=user(request), expected_version=version)
            public_form.forget_campaigns()
        except StaleRecord as exc:
            db(request).rollback()
            campaign = _load(request)
            ctx = {**_page_context(request, campaign, editing=True), **_form_context(request, campaign, raw,
                                                                                      stale=str(exc))}  # fmt: skip
            return render(request, "leads/campaign_page.html", ctx, block="main", status_code=409)
        except ValidationError as exc:
            errors = {str(k): str(v) for k, v in exc.errors.items()}
        else:
            return go_to(request, f"/leads/campaigns/{campaign.id}?saved=1")
    db(request).rollback()
    campaign = _load(request)
    ctx = {**_page_context(request, campaign, editing=True), **_form_context(request, campaign, raw, errors)}
    return render(request, "leads/campaign_page.html", ctx, block="main", status_code=400)


@requires(MANAGE)
async def campaign_archive(request: Request) -> Response:
    campaign = _load(request)
    try:
        with write_transaction(runtime(request).sessions) as session:
            delete(session, _kind(request), campaign.id, actor=user(request))
        public_form.forget_campaigns()
    except ValidationError as exc:
        db(request).rollback()
        ctx = _page_context(request, _load(request), notice="", problem=str(exc))
        return render(request, "leads/campaign_page.html", ctx, block="main", status_code=400)
    return go_to(request, "/leads/campaigns?archived=1")


routes = [
    Route("/campaigns", campaign_list, methods=["GET"], name="leads.campaigns"),
    Route("/campaigns/new", campaign_new, methods=["GET", "POST"], name="leads.campaigns.new"),
    Route("/campaigns/{campaign_id}", campaign_page, methods=["GET"], name="leads.campaign"),
    Route("/campaigns/{campaign_id}/edit", campaign_edit, methods=["GET", "POST"], name="leads.campaign.edit"),
    Route("/campaigns/{campaign_id}/archive", campaign_archive, methods=["POST"], name="leads.campaign.archive"),
]

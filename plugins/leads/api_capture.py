"""The JSON capture endpoint for integrations, opened by an API key with the ``leads.capture`` scope.

``POST /leads/api/leads`` with a JSON object: the same field names the web form takes (``first_name``,
``last_name`` or ``name``, ``email``, ``phone``, ``company``, ``job_title``, ``website``, ``city``,
``country``, ``message``, ``utm_*``, ``landing_url``, ``referrer``, ``consent``, ``consent_text``,
``consent_at``), plus:

- ``channel``: a known channel key (``leads.referral``, another plugin's…); default ``leads.api``;
- ``campaign``: a campaign's tracking code (unknown: 400);
- ``external_ref``: the sender's id of the inquiry. Sending the same ``external_ref`` again on the same
  channel returns the lead already captured (200) instead of making a second one, so a retry is safe.

Answers: 201 ``{"id", "url", "status", "channel", "created": true}`` (``Location`` is the status URL);
200 with ``"created": false`` for a repeated ``external_ref``; 400 ``{"error", "errors": {field: message}}``;
413 for a body over :data:`BODY_MAX`; 415 for anything but JSON. The guard answers 401 for a missing,
unknown or revoked key and 403 for a key without the scope.

``GET /leads/api/leads/{id}`` (same scope) returns the lead's status, so the integration can follow up:
``{"id", "url", "status", "disqualify_reason", "channel", "campaign", "created_at", "updated_at",
"closed_at"}`` (no personal data).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.security.markers import api_key

from . import capture, channels, contract
from .kinds import CAPTURE
from .models import Campaign, Lead

BODY_MAX = 96 * 1024


def _error(status: int, message: str, errors: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message, "status": status}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status)


async def _read_json(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        return _error(415, _("Send the lead as JSON (Content-Type: application/json)."))
    declared = request.headers.get("content-length", "")
    too_big = _error(413, _("The request is larger than %(n)s KB.") % {"n": BODY_MAX // 1024})
    if declared.isdigit() and int(declared) > BODY_MAX:
        return too_big
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > BODY_MAX:
                return too_big
    except ClientDisconnect:
        return _error(400, _("The request did not arrive whole."))
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _error(400, _("The body is not valid JSON in UTF-8."))
    if not isinstance(data, dict):
        return _error(400, _("Send one JSON object with the lead's fields."))
    return data


def _answer(request: Request, lead: Lead, status: int, created: bool) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    body = {"id": lead.id, "url": f"{base}/leads/{lead.id}", "status": lead.status, "channel": lead.channel,
            "created": created}  # fmt: skip
    return JSONResponse(body, status, headers={"location": f"{base}/leads/api/leads/{lead.id}"})


def _channel(request: Request, data: dict[str, Any]) -> tuple[str, dict[str, str]]:
    raw = data.get("channel")
    if raw in (None, ""):
        return channels.API, {}
    known = contract.channels(runtime(request).host)
    if not isinstance(raw, str) or raw not in known:
        return channels.API, {"channel": _("Unknown channel. Known channels: %(keys)s.") % {"keys": ", ".join(known)}}
    return raw, {}


def _campaign(session: Session, data: dict[str, Any]) -> tuple[Campaign | None, dict[str, str]]:
    code = data.get("campaign")
    if code in (None, ""):
        return None, {}
    found = capture.campaign_by_code(session, code) if isinstance(code, str) and len(code) <= 60 else None
    if found is None:
        return None, {"campaign": _("There is no campaign with this tracking code.")}
    return found, {}


def _external_ref(data: dict[str, Any]) -> str:
    """The reference as capture stores it (same text for any JSON type), so a resend finds the first lead."""
    return capture.text_of(capture.map_fields(data).get("external_ref"))


API_KEY_FIELD = "_api_key_id"
"""Kept in a lead's payload: the API key that sent it (only that key may read its status back)."""


@api_key(CAPTURE)
async def create_lead(request: Request) -> Response:
    data = await _read_json(request)
    if isinstance(data, Response):
        return data
    channel, errors = _channel(request, data)
    session = db(request)
    campaign, problems = _campaign(session, data)
    errors.update(problems)
    if errors:
        return _error(400, _("The lead was not captured."), errors)
    if campaign is not None and not data.get("channel"):
        channel = campaign.channel  # where capture files it: a resend must look there
    reference = _external_ref(data)
    existing = capture.find_existing(session, channel, reference)
    if existing is not None:
        return _answer(request, existing, 200, False)
    caller = user(request)
    fields = {k: v for k, v in data.items() if k not in ("channel", "campaign")}
    try:
        with write_transaction(runtime(request).sessions) as write:
            capture.remember(runtime(request))
            again = capture.find_existing(write, channel, reference, lock=True)  # a retry that raced us
            if again is not None:
                return _answer(request, again, 200, False)
            live = write.get(Campaign, campaign.id) if campaign is not None else None
            payload = {**data, API_KEY_FIELD: getattr(caller, "key_id", None)}  # whose lead: see lead_status
            lead = capture.capture(write, channel, fields, campaign=live, actor=getattr(caller, "id", None),
                                   payload=payload, keep_channel=bool(data.get("channel")), source="api")  # fmt: skip
            return _answer(request, lead, 201, True)
    except ValidationError as exc:
        errors = {k or "": str(v) for k, v in exc.errors.items()}
        return _error(400, errors.pop("", "") or _("The lead was not captured."), errors)


@api_key(CAPTURE)
async def lead_status(request: Request) -> Response:
    lead_id = parse_id(request.path_params.get("lead_id"))
    lead = db(request).get(Lead, lead_id) if lead_id is not None else None
    key_id = getattr(user(request), "key_id", None)
    if lead is None or lead.deleted_at is not None or (lead.payload or {}).get(API_KEY_FIELD) != key_id:
        return _error(404, _("There is no such lead."))  # a key follows up only the leads it sent
    base = str(request.base_url).rstrip("/")
    campaign = db(request).get(Campaign, lead.campaign_id) if lead.campaign_id else None
    return JSONResponse({
        "id": lead.id,
        "url": f"{base}/leads/{lead.id}",
        "status": lead.status,
        "disqualify_reason": lead.disqualify_reason,
        "channel": lead.channel,
        "campaign": campaign.tracking_code if campaign is not None else None,
        "created_at": lead.created_at.isoformat() if lead.created_at else None,
        "updated_at": lead.updated_at.isoformat() if lead.updated_at else None,
        "closed_at": lead.closed_at.isoformat() if lead.closed_at else None,
    })  # fmt: skip


routes = [
    Route("/api/leads", create_lead, methods=["POST"], name="leads.api.create"),
    Route("/api/leads/{lead_id}", lead_status, methods=["GET"], name="leads.api.status"),
]

"""The public web-to-lead form of a campaign: ``/leads/form/<tracking code>``.

GET renders a standalone page (no shell, no login, no cookie) with the campaign's ``form_title``; POST
submits it, from that page or from the campaign's embeddable snippet on another web site
(:func:`embed_snippet`). There is no CSRF token (a page on another origin cannot have one), so the POST is
protected by:

- an ``Origin`` (or, without one, ``Referer``) check against the campaign's ``allowed_origins`` and the
  application's own origin: anything else is a 403;
- a honeypot field (:data:`HONEYPOT`, hidden from people): a filled one is thanked and dropped, no lead;
- rate limits per client address: the route's ``@rate_limit`` marker is a fixed ceiling (a marker holds
  numbers fixed when the module is imported; the guard counts it before the endpoint runs), and leads'
  ``form_rate`` setting narrows it: the endpoint reads the guard's count for this address and minute;
- size limits: the body (:data:`BODY_MAX`), the number of fields, each value (:mod:`.capture`).

Junk never gives a 500: a wrong content type is a 415, a malformed or oversized body a 400/413, an
unknown code a 404, a closed campaign a 410, missing or wrong data a 400 page with the message and the
visitor's input kept. A good submission is a 303 to the campaign's ``thank_you_url`` or to
``/leads/form/<code>/thanks``.
"""

from __future__ import annotations

import datetime as dt
import html
import time
import weakref
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from voronka.core import i18n
from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import client_ip, db, runtime
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.security.markers import csrf_exempt, public, rate_limit
from voronka.core.security.throttle import RateLimited, count_request
from voronka.core.types import utcnow

from . import capture, channels
from .models import UTM_KEYS

HONEYPOT = "homepage"
"""A field people never see (hidden by CSS, skipped by keyboard) and form-filling robots fill in."""
BODY_MAX = 96 * 1024
"""Bytes of a form post; the capture service also limits the fields themselves (64 KB as JSON)."""
RATE_CEILING = 10_000
"""The marker's fixed per-minute ceiling per address: the highest value ``form_rate`` accepts."""
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CONSENT_TEXT = N_("I agree to receive news and offers by e-mail. I can withdraw this consent at any time.")
FIELDS = ("first_name", "last_name", "email", "phone", "company", "job_title", "message")
HIDDEN = ("landing_url", "referrer", *UTM_KEYS)


# -- the campaign and its state -----------------------------------------------------------------------


@dataclass(frozen=True)
class FormCampaign:
    """What the public form needs of a campaign: read once, kept :data:`CACHE_SECONDS` per process."""

    id: int
    name: str
    channel: str
    tracking_code: str
    active: bool
    starts_on: dt.date | None
    ends_on: dt.date | None
    form_title: str
    allowed_origins: str
    thank_you_url: str


CACHE_SECONDS = 2.0
"""A public form under a burst reads its campaign once per this many seconds, not once per post: an
edit (deactivating the campaign, a new allowed site) takes effect within it in every process (at once
in the process that saved it: :func:`forget_campaigns`)."""
_cache: weakref.WeakKeyDictionary[Any, dict[str, tuple[float, FormCampaign | None]]] = weakref.WeakKeyDictionary()


def forget_campaigns() -> None:
    _cache.clear()


def _campaign(request: Request) -> FormCampaign:
    code = str(request.path_params.get("code", ""))[:60]
    known = _cache.setdefault(runtime(request).engine, {})
    now = time.monotonic()
    hit = known.get(code)
    if hit is not None and hit[0] > now:
        found = hit[1]
    else:
        row = capture.campaign_by_code(db(request), code) if code else None
        found = None if row is None else FormCampaign(*(getattr(row, f.name) for f in fields(FormCampaign)))
        if len(known) > 10_000:  # a flood of made-up codes cannot grow it without bound
            known.clear()
        known[code] = (now + CACHE_SECONDS, found)
    if found is None:
        raise HTTPException(404, _("There is no form at this address. Check the link you followed."))
    return found


def is_open(campaign: Any, today: dt.date) -> bool:
    """A campaign takes submissions while it is active and inside its period (``today`` in the company's
    time zone: a campaign ends at the company's midnight, not the server's)."""
    if not campaign.active:
        return False
    if campaign.starts_on is not None and today < campaign.starts_on:
        return False
    return not (campaign.ends_on is not None and today > campaign.ends_on)


def form_url(request: Request, campaign: Any) -> str:
    return f"{own_origin(request)}/leads/form/{campaign.tracking_code}"


# -- origins ------------------------------------------------------------------------------------------


def normal_origin(text: str) -> str:
    """``https://Example.com:443/contact`` → ``https://example.com``; "" for anything that is not one."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def own_origin(request: Request) -> str:
    return normal_origin(str(request.base_url)) or str(request.base_url).rstrip("/")


def allowed_origins(campaign: Any) -> set[str]:
    found = {normal_origin(line) for line in (campaign.allowed_origins or "").splitlines()}
    return {origin for origin in found if origin}


def origin_allowed(request: Request, campaign: Any) -> bool:
    sent = request.headers.get("origin") or request.headers.get("referer") or ""
    origin = normal_origin(sent)
    return bool(origin) and (origin == own_origin(request) or origin in allowed_origins(campaign))


# -- pages --------------------------------------------------------------------------------------------


def _page(request: Request, template: str, context: dict[str, Any], status_code: int = 200,
          campaign: FormCampaign | None = None) -> HTMLResponse:  # fmt: skip
    """A standalone page: no shell, no session cookie; the form may be sent on to the thank-you page."""
    ctx = {"request": request, "lang": i18n.current_language.get(), "app_name": "Voronka", **context}
    body = runtime(request).templates.get_template(template).render(ctx)
    targets = "'self'"
    thanks = normal_origin(campaign.thank_you_url) if campaign is not None and campaign.thank_you_url else ""
    if thanks:
        targets += f" {thanks}"
    csp = (f"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
           f"frame-ancestors 'none'; form-action {targets}; base-uri 'self'")  # fmt: skip
    return HTMLResponse(body, status_code, headers={"content-security-policy": csp, "cache-control": "no-store"})


UNTRUSTED = frozenset(alias for key in ("consent_text", "consent_at", "external_ref") for alias in capture.ALIASES[key])
"""What a visitor must not set: the consent's wording and time are the server's record of what was shown
and when; an external reference is for integrations, not for anyone on the web."""


def _trusted(values: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in values.items() if capture.normal_name(key) not in UNTRUSTED}


def _form_page(request: Request, campaign: Any, values: dict[str, str], *, errors: dict[str, str] | None = None,
               message: str = "", status_code: int = 200) -> HTMLResponse:  # fmt: skip
    context = {
        "campaign": campaign,
        "title": campaign.form_title or campaign.name,
        "action": f"/leads/form/{campaign.tracking_code}",
        "form": values,
        "errors": errors or {},
        "message": message,
        "honeypot": HONEYPOT,
        "hidden": HIDDEN,
        "consent_text": _(CONSENT_TEXT),
    }
    return _page(request, "leads/capture_form.html", context, status_code, campaign)


def _closed(request: Request, campaign: Any) -> HTMLResponse:
    context = {"title": campaign.form_title or campaign.name,
               "message": _("This form no longer takes submissions. Thank you for your interest.")}  # fmt: skip
    return _page(request, "leads/capture_closed.html", context, 410)


@public
async def form_page(request: Request) -> Response:
    campaign = _campaign(request)
    if not is_open(campaign, company_settings(db(request)).today()):
        return _closed(request, campaign)
    query = request.query_params
    values = {key: query.get(key, "")[:500] for key in UTM_KEYS if query.get(key)}
    values["landing_url"] = str(request.url)[:1000]
    values["referrer"] = (request.headers.get("referer") or "")[:500]
    return _form_page(request, campaign, values)


@public
async def thanks_page(request: Request) -> Response:
    campaign = _campaign(request)
    context = {"title": campaign.form_title or campaign.name,
               "message": _("Thank you! We have received your request and will get back to you soon.")}  # fmt: skip
    return _page(request, "leads/capture_thanks.html", context)


# -- the submission -----------------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields as text (a repeated field keeps its first value), within :data:`BODY_MAX`."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in FORM_TYPES:
        raise Refused(415, _("Send the form as a web form (form-encoded or multipart)."))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_MAX:
        raise Refused(413, _("The form is larger than %(n)s KB.") % {"n": BODY_MAX // 1024})
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > BODY_MAX:
                raise Refused(413, _("The form is larger than %(n)s KB.") % {"n": BODY_MAX // 1024})
    except ClientDisconnect:
        raise Refused(400, _("The form did not arrive whole. Send it again.")) from None
    request._body = bytes(body)  # request.form() parses what was read here
    try:
        form = await request.form(max_files=0, max_fields=capture.MAX_FIELDS)
    except MultiPartException as exc:
        raise Refused(400, _("The form could not be read: %(problem)s") % {"problem": str(exc)}) from None
    except (ValueError, UnicodeDecodeError, AssertionError):
        raise Refused(400, _("The form could not be read. Send it again.")) from None
    values: dict[str, str] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                continue
            if key not in values:
                values[key] = value.replace("\x00", "")
    finally:
        await form.close()
    return values


def _form_rate(request: Request) -> int:
    try:
        value = int(runtime(request).settings_store.get(db(request), "leads", "form_rate"))
    except (KeyError, TypeError, ValueError):
        value = 20
    return max(1, min(value, RATE_CEILING))


def _over_form_rate(session: Any, request: Request) -> bool:
    """Count this post (in the caller's write transaction; :class:`RateLimited` over the route's ceiling) and
    say whether this address has posted more than ``form_rate`` times this minute."""
    return count_request(session, request) > _form_rate(request)


def _over_rate_alone(request: Request) -> bool:
    """Count a post that writes nothing else, in a transaction of its own; whether it is over a limit."""
    try:
        with write_transaction(runtime(request).sessions) as session:
            return _over_form_rate(session, request)
    except RateLimited:
        return True


def _check(values: dict[str, str]) -> dict[str, str]:
    """What the form itself asks for: someone to answer and a way to answer them."""
    errors: dict[str, str] = {}
    mapped = capture.map_fields(values)
    named = any(str(mapped.get(k) or "").strip() for k in ("first_name", "last_name", "name", "company"))
    if not named:
        errors["first_name"] = _("Tell us your name or your company's name.")
    if not any(str(mapped.get(k) or "").strip() for k in ("email", "phone")):
        errors["email"] = _("Leave an e-mail address or a phone number so we can get back to you.")
    return errors


def _shown(values: dict[str, str]) -> dict[str, str]:
    """The visitor's input to show again (form names → values), cut to what the inputs take."""
    return {k: v[: capture.MESSAGE_MAX] for k, v in values.items() if k != HONEYPOT}


@rate_limit(RATE_CEILING, per=60, counted_by_endpoint=True)  # counted in the lead's own transaction
@csrf_exempt("origin check and honeypot")
@public
async def submit(request: Request) -> Response:
    campaign = _campaign(request)
    if not is_open(campaign, company_settings(db(request)).today()):
        return _closed(request, campaign)
    if not origin_allowed(request, campaign):
        context = {"title": campaign.form_title or campaign.name,
                   "message": _("This form can only be sent from the web site it belongs to.")}  # fmt: skip
        return _page(request, "leads/capture_closed.html", context, 403)
    try:
        values = await read_form(request)
    except Refused as exc:
        return _form_page(request, campaign, {}, message=exc.message, status_code=exc.status)
    thanks = campaign.thank_you_url or f"/leads/form/{campaign.tracking_code}/thanks"
    too_many = _("Too many submissions from your address. Wait a minute and try again.")
    if (values.get(HONEYPOT, "").strip() or _check(values)) and _over_rate_alone(request):  # junk counts too
        return _form_page(request, campaign, _shown(values), message=too_many, status_code=429)
    if values.get(HONEYPOT, "").strip():
        return RedirectResponse(thanks, status_code=303)  # a robot: thanked, nothing kept
    errors = _check(values)
    problem = ""
    if not errors:
        headers = request.headers
        payload = {"fields": values, "ip": client_ip(request), "user_agent": headers.get("user-agent", "")[:300],
                   "origin": headers.get("origin", "")[:300], "received_at": utcnow().isoformat()}  # fmt: skip
        try:
            with write_transaction(runtime(request).sessions) as session:
                if _over_form_rate(session, request):
                    raise Refused(429, too_many)
                capture.remember(runtime(request))
                capture.capture(session, channels.WEB_FORM, _trusted(values), campaign=campaign.id, payload=payload,
                                consent_text=_(CONSENT_TEXT))  # fmt: skip
        except Refused as exc:
            return _form_page(request, campaign, _shown(values), message=exc.message, status_code=exc.status)
        except RateLimited:
            return _form_page(request, campaign, _shown(values), message=too_many, status_code=429)
        except ValidationError as exc:
            if _over_rate_alone(request):  # the refused lead's transaction took its count with it
                return _form_page(request, campaign, _shown(values), message=too_many, status_code=429)
            errors = {k: str(v) for k, v in exc.errors.items() if k in FIELDS}
            problem = " ".join(str(v) for k, v in exc.errors.items() if k not in FIELDS)
        else:
            return RedirectResponse(thanks, status_code=303)
    message = problem or _("Please correct what is marked below and send the form again.")
    return _form_page(request, campaign, _shown(values), errors=errors, message=message, status_code=400)


# -- the embeddable snippet ---------------------------------------------------------------------------


def embed_snippet(action: str, campaign: Any) -> str:
    """Plain HTML to paste into another web site: posts to ``action``; no script, no style sheet needed
    (the honeypot is hidden with the ``hidden`` attribute and kept out of the tab order)."""
    e = html.escape
    title = campaign.form_title or campaign.name
    rows = [
        (_("First name"), "first_name", "text", "given-name", True),
        (_("Last name"), "last_name", "text", "family-name", False),
        (_("E-mail"), "email", "email", "email", False),
        (_("Phone"), "phone", "tel", "tel", False),
        (_("Company"), "company", "text", "organization", False),
        (_("Job title"), "job_title", "text", "organization-title", False),
    ]
    lines = [f'<form action="{e(action)}" method="post" accept-charset="utf-8">', f"  <h3>{e(title)}</h3>"]
    for label, name, kind, auto, required in rows:
        req = " required" if required else ""
        lines.append(f'  <p><label>{e(label)}<br><input type="{kind}" name="{name}" autocomplete="{auto}"'
                     f' maxlength="300"{req}></label></p>')  # fmt: skip
    lines += [
        f'  <p><label>{e(_("Message"))}<br><textarea name="message" rows="4" maxlength="5000"></textarea></label></p>',
        f'  <p><label><input type="checkbox" name="consent" value="1"> {e(_(CONSENT_TEXT))}</label></p>',
        f'  <div hidden aria-hidden="true"><label>Homepage <input type="text" name="{HONEYPOT}" tabindex="-1"'
        ' autocomplete="off"></label></div>',
        f'  <p><button type="submit">{e(_("Send"))}</button></p>',
        "</form>",
    ]
    return "\n".join(lines)


routes = [
    Route("/form/{code}", form_page, methods=["GET"], name="leads.form"),
    Route("/form/{code}", submit, methods=["POST"], name="leads.form.submit"),
    Route("/form/{code}/thanks", thanks_page, methods=["GET"], name="leads.form.thanks"),
]

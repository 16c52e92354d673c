"""Admin: company settings, exchange rates by date, and the numbering sequences with their next numbers."""

from __future__ import annotations

from typing import Any

from babel.dates import get_month_names
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core import company
from voronka.core.currency import delete_rate, rate_table, set_rate
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime
from voronka.core.i18n import current_language
from voronka.core.i18n import gettext as _
from voronka.core.security.markers import requires
from voronka.core.security.permissions import ADMIN
from voronka.core.sequences import sequences, upcoming

from .admin_base import done, int_param, page, parse_date, read_form, text

BLOCKS = {"settings": "company_form", "rates": "rates"}


def _settings_values(settings: company.CompanySettings) -> dict[str, Any]:
    return {key: getattr(settings, key) for key in company.FIELDS}


def _page(
    request: Request,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    rate_values: dict[str, str] | None = None,
    rate_errors: dict[str, str] | None = None,
    block: str | None = None,
    status_code: int = 200,
) -> Response:
    session = db(request)
    current = company.company_settings(session)
    seqs = [(info, upcoming(session, info)) for info in sequences(session)]
    messages = {
        "saved": _("Saved. Every process uses the new company settings within a second."),
        "rate_added": _("The exchange rate is saved."),
        "rate_deleted": _("The exchange rate is deleted."),
    }
    message = next((text for key, text in messages.items() if request.query_params.get(key)), None)
    context = {
        "values": values or _settings_values(current),
        "errors": errors or {},
        "company": current,
        "rates": rate_table(session),
        "rate_values": rate_values or {"currency": "", "valid_on": current.today().isoformat(), "rate": ""},
        "rate_errors": rate_errors or {},
        "sequences": seqs,
        "message": message,
        "months": sorted(get_month_names("wide", "stand-alone", locale=current_language.get()).items()),
        "zones": company.time_zones(),
        "currencies": sorted(company.active_currency_codes()),
    }
    return page(request, "admin/company.html", context, tab="company", block=block, status_code=status_code)


@requires(ADMIN)
async def company_page(request: Request) -> Response:
    return _page(request)


@requires(ADMIN)
async def company_save(request: Request) -> Response:
    form = await read_form(request)
    values = {key: text(form, key, 300) for key in company.FIELDS}
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            company.save_company_settings(session, values)
    except ValidationError as exc:
        return _page(request, values=values, errors=exc.errors, block=_block(request, "settings"), status_code=400)
    company.invalidate(rt.engine)
    rt.sync(force=True)
    return done(request, "/admin/company", saved="1")


@requires(ADMIN)
async def rate_add(request: Request) -> Response:
    form = await read_form(request)
    values = {"currency": text(form, "currency", 10).upper(), "valid_on": text(form, "valid_on", 20),
              "rate": text(form, "rate", 60)}  # fmt: skip
    errors: dict[str, str] = {}
    valid_on = parse_date(values["valid_on"], "valid_on", errors, required=True)
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            try:
                set_rate(session, values["currency"], valid_on or company.company_settings(session).today(),
                         values["rate"])  # fmt: skip
            except ValidationError as exc:
                errors.update(exc.errors)
            if errors:
                raise ValidationError(errors)
    except ValidationError:
        return _rates_error(request, values, errors)
    except IntegrityError:  # the same currency and day saved by someone else at this moment
        return _rates_error(request, values, {"valid_on": _("A rate for this day was just saved; reload.")})
    return done(request, "/admin/company", rate_added="1")


def _rates_error(request: Request, values: dict[str, str], errors: dict[str, str]) -> Response:
    return _page(request, rate_values=values, rate_errors=errors, block=_block(request, "rates"), status_code=400)


@requires(ADMIN)
async def rate_delete(request: Request) -> Response:
    form = await read_form(request)
    raw = form.get("rate_id")
    rate_id = int_param(raw if isinstance(raw, str) else None)
    rt = runtime(request)
    deleted = False
    if rate_id is not None:
        with write_transaction(rt.sessions) as session:
            deleted = delete_rate(session, rate_id)
    if not deleted:
        return done(request, "/admin/company")  # already gone (another admin, a second click): nothing to do
    return done(request, "/admin/company", rate_deleted="1")


def _block(request: Request, which: str) -> str | None:
    return BLOCKS[which] if request.headers.get("HX-Request") else None


routes = [
    Route("/admin/company", company_page, methods=["GET"], name="admin_company"),
    Route("/admin/company", company_save, methods=["POST"], name="admin_company_save"),
    Route("/admin/company/rates", rate_add, methods=["POST"], name="admin_company_rate_add"),
    Route("/admin/company/rates/delete", rate_delete, methods=["POST"], name="admin_company_rate_delete"),
]

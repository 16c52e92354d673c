"""What every admin screen shares: rendering with the admin tabs, form parsing, 404s, the last-admin rule."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.models import RolePermission, User, UserRole
from voronka.core.security.permissions import ADMIN
from voronka.core.templating import is_htmx, render

T = TypeVar("T")

MIN_YEAR, MAX_YEAR = 1900, 2999


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    tab: str,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render an admin page (or only ``block`` for HTMX) with the admin tabs marked at ``tab``."""
    return render(request, template, {"tab": tab, **context}, block=block, status_code=status_code, headers=headers)


def done(request: Request, url: str, **params: str) -> Response:
    """After a successful POST: a 303 to ``url`` (a full page load for HTMX, so the nav is fresh too)."""
    target = f"{url}?{urlencode(params)}" if params else url
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, 303)


async def read_form(request: Request) -> FormData:
    """The submitted form with every value of repeated fields (checkbox groups)."""
    return await request.form()


def text(form: FormData, key: str, limit: int = 1000) -> str:
    value = form.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


MAX_ID = 2**63 - 1
"""Ids beyond a signed 64-bit integer exist on neither engine (SQLite would even raise on binding them)."""


def valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def ids(form: FormData, key: str) -> list[int] | None:
    """The integer values of a checkbox group, or None when one is not an id (a forged form)."""
    found: list[int] = []
    for value in form.getlist(key):
        number = int_param(value if isinstance(value, str) else None)
        if number is None:
            return None
        found.append(number)
    return sorted(set(found))


def int_param(raw: str | None) -> int | None:
    """An id from a query string or form, or None when absent or not an id (filters then mean "any")."""
    raw = (raw or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not valid_id(int(raw)):
        return None
    return int(raw)


def parse_date(raw: str, field: str, errors: dict[str, str], *, required: bool) -> dt.date | None:
    """A date as ``<input type=date>`` sends it (YYYY-MM-DD); problems land in ``errors[field]``."""
    raw = raw.strip()
    if not raw:
        if required:
            errors[field] = _("Enter a date.")
        return None
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        errors[field] = _("Enter a date as YYYY-MM-DD, for example 2025-01-31.")
        return None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        errors[field] = _("Enter a date between %(lo)d and %(hi)d.") % {"lo": MIN_YEAR, "hi": MAX_YEAR}
        return None
    return value


def get_or_404(session: Session, model: type[T], key: Any) -> T:
    parts = key if isinstance(key, tuple) else (key,)
    if any(isinstance(part, int) and not valid_id(part) for part in parts):
        raise HTTPException(404)
    found = session.get(model, key)
    if found is None:
        raise HTTPException(404)
    return found


def today_for(user: Any) -> dt.date:
    """Today in the admin's own time zone: the day a manager link "today" is read on."""
    try:
        zone = ZoneInfo(getattr(user, "timezone", "") or "UTC")
    except Exception:
        zone = ZoneInfo("UTC")
    return dt.datetime.now(zone).date()


def email_problem(email: str) -> str | None:
    if not email:
        return None
    local, _at, domain = email.rpartition("@")
    if not local or "." not in domain.strip(".") or any(c.isspace() for c in email) or len(email) > 254:
        return _("Enter an e-mail address such as name@example.com.")
    return None


def check_admins_remain(session: Session) -> None:
    """Refuse a change (inside its transaction, after flushing) that leaves nobody able to administer."""
    session.flush()
    count = session.scalar(
        select(func.count(distinct(User.id)))
        .join(UserRole, UserRole.user_id == User.id)
        .join(RolePermission, RolePermission.role_id == UserRole.role_id)
        .where(User.active.is_(True), RolePermission.permission == ADMIN)
    )
    if not count:
        raise ValidationError(
            _(
                "This change would leave no active user who can administer Voronka. "
                "Give another active user an administrator role first."
            )
        )

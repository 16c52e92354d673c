"""The guard every route passes through: login, permission, API key, CSRF, rate limit.

Routes are wrapped when the app is assembled (core's and every plugin's), so the rules hold for routes
nobody remembered to protect: a route needs a login unless its endpoint is marked ``public``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from voronka.core.db import write_transaction
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models import ApiKey, User
from voronka.core.security.api_keys import hash_api_key
from voronka.core.security.markers import marks_of
from voronka.core.security.throttle import COUNTED_STATE, RATE_STATE, RateLimit, RateLimited, rate_hit
from voronka.core.types import utcnow

from .middleware import UPLOAD_REFUSED

log = logging.getLogger(__name__)

LAST_USED_PRECISION = dt.timedelta(minutes=1)
PERMISSION_DENIED = N_("You do not have permission to open this page.")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
Endpoint = Callable[[Request], Awaitable[Response] | Response]


class ApiKeyUser:
    """The caller of an API-key route: the key's user (if any) with the key's scopes."""

    is_authenticated = True

    def __init__(self, key_id: int, name: str, scopes: Sequence[str], user_id: int | None):
        self.key_id, self.name, self.scopes, self.id = key_id, name, frozenset(scopes), user_id


def guard(endpoint: Endpoint) -> Endpoint:
    """Wrap ``endpoint`` so its route markers are enforced before it runs."""
    marks = marks_of(endpoint)
    is_async = inspect.iscoroutinefunction(endpoint)

    async def guarded(request: Request) -> Response:
        if marks.api_scopes is not None:
            _check_api_key(request, marks.api_scopes)
        elif not marks.public:
            user = request.scope.get("user")
            if not getattr(user, "is_authenticated", False):
                return _login_redirect(request)
            if marks.permission and not user.can(marks.permission):
                raise HTTPException(403, PERMISSION_DENIED)
        if request.method not in SAFE_METHODS and not marks.csrf_exempt:
            await check_csrf(request)
        if marks.rate is not None and not marks.rate_in_endpoint:
            _check_rate(request, *marks.rate)
        elif marks.rate is not None:
            setattr(request.state, RATE_STATE, RateLimit(_rate_key(request), *marks.rate))
        try:
            if is_async:
                return await endpoint(request)  # type: ignore[misc]
            return await run_in_threadpool(endpoint, request)  # type: ignore[arg-type]
        except RateLimited as exc:
            raise _too_many(exc.per) from None
        finally:
            if marks.rate is not None and marks.rate_in_endpoint and not getattr(request.state, COUNTED_STATE, False):
                try:
                    _count_after(request, *marks.rate)
                except Exception:  # the answer stands; the count is lost, not the request
                    log.exception("could not count a rate-limited request afterwards")

    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    guarded.__doc__ = endpoint.__doc__
    guarded.__wrapped__ = endpoint  # type: ignore[attr-defined]
    return guarded


def guard_routes(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """Wrap every function endpoint in ``routes`` (recursing into mounted routers)."""
    wrapped: list[BaseRoute] = []
    for route in routes:
        if isinstance(route, Route) and inspect.isfunction(route.endpoint):
            wrapped.append(
                Route(route.path, guard(route.endpoint), methods=sorted(route.methods or []), name=route.name)
            )
        elif isinstance(route, Mount) and route.routes and not hasattr(route.app, "directory"):
            wrapped.append(Mount(route.path, routes=guard_routes(route.routes), name=route.name))
        elif isinstance(route, Route):
            raise TypeError(f"route {route.path} has a class endpoint; Voronka routes use functions so markers apply")
        else:
            wrapped.append(route)
    return wrapped


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = f"/login?next={quote(target)}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": login})
    accept = request.headers.get("accept", "")
    if request.method in SAFE_METHODS and not ("application/json" in accept and "text/html" not in accept):
        return RedirectResponse(login, status_code=303)
    raise HTTPException(401, N_("Log in first."))


async def check_csrf(request: Request) -> None:
    if request.scope.get(UPLOAD_REFUSED) is not None:
        return  # too big by its Content-Length: the endpoint answers 413 unread and writes nothing
    expected = request.scope.get("session", {}).get("csrf")
    sent = request.headers.get("x-csrf-token")
    form = None
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        if form is not None:
            await form.close()  # its spooled upload files
        raise HTTPException(
            403, N_("The form has expired or did not come from this site. Reload the page and try again.")
        )


def _check_api_key(request: Request, scopes: Sequence[str]) -> None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise HTTPException(
            401, N_("Send an API key as 'Authorization: Bearer <key>'."), {"WWW-Authenticate": "Bearer"}
        )
    secret = header[7:].strip()
    runtime = request.app.state.voronka
    with runtime.sessions() as session:
        row = session.execute(
            select(
                ApiKey.id, ApiKey.name, ApiKey.scopes, ApiKey.user_id, ApiKey.active, ApiKey.last_used_at,
                User.active.label("user_active"),
            )
            .outerjoin(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == hash_api_key(secret))
        ).first()  # fmt: skip
    if row is None or not row.active:
        raise HTTPException(401, N_("The API key is not valid or has been revoked."), {"WWW-Authenticate": "Bearer"})
    if row.user_id is not None and not row.user_active:
        raise HTTPException(
            401, N_("The API key acts for a user who is no longer active."), {"WWW-Authenticate": "Bearer"}
        )
    missing = [s for s in scopes if s not in (row.scopes or [])]
    if missing:
        raise HTTPException(403, _("The API key lacks the scope(s): %(scopes)s.") % {"scopes": ", ".join(missing)})
    request.scope["user"] = ApiKeyUser(row.id, row.name, row.scopes or [], row.user_id)
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_PRECISION:
        # once a minute at most: a write per API call would serialise every integration on SQLite
        with write_transaction(runtime.sessions) as session:
            session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))


def _rate_key(request: Request) -> str:
    """Requests count per route and client address."""
    client = request.client.host if request.client else "unknown"
    route = request.scope.get("route")
    return f"{getattr(route, 'path', request.url.path)}|{client}"


def _too_many(per: int) -> HTTPException:
    return HTTPException(429, N_("Too many requests. Wait a minute and try again."), {"Retry-After": str(per)})


def _check_rate(request: Request, limit: int, per: int) -> None:
    with write_transaction(request.app.state.voronka.sessions) as session:
        allowed = rate_hit(session, _rate_key(request), limit, per)
    if not allowed:
        raise _too_many(per)


def _count_after(request: Request, limit: int, per: int) -> None:
    """Count a request its endpoint answered without counting (it returned early): later ones see it."""
    with write_transaction(request.app.state.voronka.sessions) as session:
        rate_hit(session, _rate_key(request), limit, per)


def route_marks(route: Any) -> Any:
    endpoint = getattr(route, "endpoint", None)
    return marks_of(getattr(endpoint, "__wrapped__", endpoint))

"""Admin: API keys — the keys integrations send to routes marked ``@api_key(...)``; create (the secret is
shown once) and revoke.

The scopes a key can hold are the ones the app's routes ask for: :func:`known_scopes` walks the routes
(core's, and every plugin's behind its gate), so a plugin that adds an ``@api_key("orders.read")`` route
makes ``orders.read`` grantable without any registration.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime
from voronka.core.i18n import gettext as _
from voronka.core.models import ApiKey, User
from voronka.core.security.api_keys import create_api_key, revoke_api_key
from voronka.core.security.markers import requires
from voronka.core.security.permissions import ADMIN

from ..guard import route_marks
from .admin_base import done, int_param, page, read_form, text

CORE = "core"


def known_scopes(routes: Iterable[BaseRoute], owner: str | None = None) -> dict[str, list[str]]:
    """Every scope an ``@api_key`` marker asks for under ``routes``, with who declares it: the plugin
    whose gate the route sits behind, or ``"core"``. Recurses into mounts and plugin gates (``.routes``)."""
    found: dict[str, list[str]] = {}

    def add(scope: str, who: str) -> None:
        owners = found.setdefault(scope, [])
        if who not in owners:
            owners.append(who)

    for route in routes:
        children = getattr(route, "routes", None)  # a Mount or a plugin's gate (static files have none)
        if children:
            # a top-level mount is a plugin's gate, named after the plugin; deeper mounts keep their owner
            for scope, owners in known_scopes(children, owner or getattr(route, "name", None) or CORE).items():
                for who in owners:
                    add(scope, who)
        else:
            for scope in getattr(route_marks(route), "api_scopes", None) or ():
                add(scope, owner or CORE)
    return dict(sorted(found.items()))


class ScopeChoice(NamedTuple):
    scope: str
    declared_by: str
    """The labels of the plugins (or "Core") whose routes ask for the scope."""


def _scopes(request: Request) -> dict[str, list[str]]:
    return known_scopes(request.app.routes)


def _choices(request: Request, scopes: dict[str, list[str]]) -> list[ScopeChoice]:
    host = runtime(request).host
    choices = []
    for scope, owners in scopes.items():
        labels = []
        for owner in owners:
            info = host.plugins.get(owner)
            if owner == CORE or info is None:
                labels.append(_("Core"))
            elif host.is_enabled(owner):
                labels.append(info.label)
            else:
                labels.append(_("%(plugin)s (switched off)") % {"plugin": info.label})
        choices.append(ScopeChoice(scope, ", ".join(labels)))
    return choices


def _message(request: Request) -> str | None:
    if request.query_params.get("revoked"):
        return _("The key is revoked: requests that send it are refused from now on.")
    return None


def _list_page(
    request: Request,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    *,
    created: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    session = db(request)
    session.rollback()  # a fresh snapshot: show the key committed a moment ago
    keys = session.execute(
        select(
            ApiKey.id, ApiKey.name, ApiKey.prefix, ApiKey.scopes, ApiKey.active, ApiKey.created_at,
            ApiKey.last_used_at, User.display_name.label("user_name"), User.username,
        )
        .outerjoin(User, User.id == ApiKey.user_id)
        .order_by(ApiKey.active.desc(), ApiKey.created_at.desc(), ApiKey.id.desc())
    ).all()  # fmt: skip
    users = session.execute(
        select(User.id, User.display_name, User.username).where(User.active.is_(True)).order_by(User.name_key)
    ).all()
    context = {
        "keys": keys, "users": users, "choices": _choices(request, _scopes(request)),
        "values": values or {"name": "", "scopes": [], "user_id": None}, "errors": errors or {},
        "created": created, "message": _message(request), "revoking": None,
    }  # fmt: skip
    return page(
        request, "admin/api_keys.html", context, tab="api_keys", block="api_keys",
        status_code=status_code, headers=headers,
    )  # fmt: skip


@requires(ADMIN)
async def api_keys(request: Request) -> Response:
    return _list_page(request)


@requires(ADMIN)
async def api_key_create(request: Request) -> Response:
    form = await read_form(request)
    raw_user = text(form, "user_id", 20)
    user_id = int_param(raw_user) if raw_user else None
    if raw_user and user_id is None:
        user_id = 0  # not an id (a forged form): reported as a user that does not exist
    values = {
        "name": text(form, "name", 200),
        "scopes": [s.strip() for s in form.getlist("scopes") if isinstance(s, str) and s.strip()][:100],
        "user_id": user_id,
    }
    scopes = _scopes(request)
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            key, secret = create_api_key(session, values["name"], values["scopes"], user_id, known_scopes=scopes)
            created = {"name": key.name, "prefix": key.prefix, "secret": secret}
    except ValidationError as exc:
        return _list_page(request, values, exc.errors, status_code=400)
    except IntegrityError:  # the acting user was deleted, or a prefix taken, a moment ago
        return _list_page(request, values, {"": _("The key could not be saved. Try again.")}, status_code=409)
    # The secret is in this response only: not in the URL, not in the session, not in any cache.
    return _list_page(request, created=created, status_code=201, headers={"Cache-Control": "no-store"})


async def _key(request: Request) -> ApiKey:
    """The key named by its prefix (``?key=vk_…`` on the question, a form field on the POST), or 404."""
    raw = request.query_params.get("key") if request.method == "GET" else text(await read_form(request), "key", 40)
    key = db(request).scalar(select(ApiKey).where(ApiKey.prefix == raw)) if raw else None
    if key is None:
        raise HTTPException(404)
    return key


@requires(ADMIN)
async def api_key_revoke_confirm(request: Request) -> Response:
    """The question before revoking, for browsers without JavaScript (HTMX asks in a dialog instead)."""
    key = await _key(request)
    if not key.active:
        return done(request, "/admin/api-keys")
    return page(request, "admin/api_keys.html", {"revoking": key}, tab="api_keys")


@requires(ADMIN)
async def api_key_revoke(request: Request) -> Response:
    key = await _key(request)
    with write_transaction(runtime(request).sessions) as session:
        revoke_api_key(session, key.id)
    return done(request, "/admin/api-keys", revoked="1")


routes = [
    Route("/admin/api-keys", api_keys, methods=["GET"], name="admin_api_keys"),
    Route("/admin/api-keys", api_key_create, methods=["POST"], name="admin_api_key_create"),
    Route("/admin/api-keys/revoke", api_key_revoke_confirm, methods=["GET"], name="admin_api_key_revoke_confirm"),
    Route("/admin/api-keys/revoke", api_key_revoke, methods=["POST"], name="admin_api_key_revoke"),
]

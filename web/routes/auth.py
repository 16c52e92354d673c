"""Login and logout: argon2 passwords, throttled across processes, CSRF-protected, no open redirects."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.handlers import client_ip, form_dict, runtime
from voronka.core.i18n import gettext as _
from voronka.core.models import User
from voronka.core.security.markers import public
from voronka.core.security.passwords import hash_password, needs_rehash, session_auth_hash, verify_password
from voronka.core.security.sessions import end_session, start_session
from voronka.core.security.throttle import (
    clear_login_failures,
    login_blocked,
    login_keys,
    record_login_failure,
)
from voronka.core.security.users import normalize_username
from voronka.core.state import bump
from voronka.core.templating import render
from voronka.core.types import utcnow


def safe_next(target: str | None) -> str:
    """Only same-site paths: "/admin" yes, "//evil.example" and "https://..." no."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@public
async def login_page(request: Request) -> Response:
    if request.scope["user"].is_authenticated:
        return RedirectResponse(safe_next(request.query_params.get("next")), 303)
    return render(request, "login.html", {"next": safe_next(request.query_params.get("next")), "username": ""})


@public
async def login(request: Request) -> Response:
    form = await form_dict(request)
    typed = form.get("username", "").strip()[:150]
    username = normalize_username(typed)
    password = form.get("password", "")[:1024]
    target = safe_next(form.get("next"))
    rt = runtime(request)
    keys = login_keys(username, client_ip(request))
    with rt.sessions() as session:
        if login_blocked(session, keys):
            return render(request, "login.html", {
                "error": _("Too many failed attempts. Wait 15 minutes or ask an administrator to reset your password."),
                "username": typed, "next": target}, status_code=429)  # fmt: skip
        row = session.execute(select(User.id, User.password_hash, User.active).where(User.username == username)).first()
    # argon2 takes ~0.2 s of CPU and releases the GIL: off the event loop, other requests keep flowing
    verified = await run_in_threadpool(verify_password, row.password_hash if row else "", password)
    if not verified or row is None:
        with write_transaction(rt.sessions) as session:
            record_login_failure(session, keys)
        return render(request, "login.html", {
            "error": _("The username or password is wrong."), "username": typed, "next": target,
        }, status_code=400)  # fmt: skip
    if not row.active:  # the password was right, so saying why reveals nothing to a guesser
        return render(request, "login.html", {
            "error": _("This account is deactivated. Ask an administrator to reactivate it."),
            "username": typed, "next": target,
        }, status_code=403)  # fmt: skip
    assert row is not None
    stored = row.password_hash
    values: dict[str, object] = {"last_login_at": utcnow()}
    rehashed = needs_rehash(stored)
    if rehashed:  # hash before the write transaction, which must stay short
        stored = await run_in_threadpool(hash_password, password)
        values["password_hash"] = stored
    with write_transaction(rt.sessions) as session:
        if rehashed:
            bump(session, "security")  # other processes cached the old hash, which sessions are checked against
        session.execute(update(User).where(User.id == row.id).values(**values))
        clear_login_failures(session, username)
        sid = start_session(
            session,
            row.id,
            rt.settings.session_max_age,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    rt.users.pop(row.id, None)
    request.session.clear()
    request.session.update(
        {"uid": row.id, "sid": sid, "auth": session_auth_hash(stored), "csrf": secrets.token_urlsafe(24)}
    )
    return RedirectResponse(target, 303)


async def logout(request: Request) -> Response:
    """End this session for good: its cookie, even if copied, no longer logs anyone in."""
    sid = request.session.get("sid")
    if isinstance(sid, str):
        rt = runtime(request)
        with write_transaction(rt.sessions) as session:
            end_session(session, sid)
        rt.live_sessions.pop(sid, None)
    request.session.clear()
    return RedirectResponse("/login", 303)


routes = [
    Route("/login", login_page, methods=["GET"], name="login"),
    Route("/login", login, methods=["POST"], name="login_submit"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]

"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request).

Order, outermost first: security headers → body size limit → session cookie → Voronka context
(state sync, current user, language, request database session).
"""

from __future__ import annotations

import json
import re
import secrets
from base64 import b64decode
from typing import Any

from itsdangerous import BadSignature
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voronka.core import i18n
from voronka.core.security.users import ANONYMOUS

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
    ),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts: bool = False):
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.headers if k not in existing
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


UPLOAD_PATH = re.compile(
    r"^(/records/[a-z][a-z0-9_]{0,59}/[0-9]+/attachments|/import|/[a-z][a-z0-9_]*/import/[a-z]+)/?$"
)
"""Where files are uploaded (attachments: web/routes/record_files.py, CSV imports: web/routes/imports.py, a
plugin's own imports under /<plugin>/import/<format>, such as contacts' vCards):
these POSTs get ``upload_limit``."""
UPLOAD_SLACK = 64 * 1024
"""Room for the multipart framing and the form's other fields on top of the largest file."""
UPLOAD_REFUSED = "voronka.upload_refused"
"""Scope key set on an upload whose Content-Length is over the limit: the endpoint answers 413 in the
page's language without reading the body; anything that reads it instead gets the plain 413 at once."""


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, by Content-Length and while streaming.

    Attachment uploads (``UPLOAD_PATH``) get ``upload_limit`` (plus :data:`UPLOAD_SLACK`) instead.
    """

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None):
        self.app = app
        self.limit = limit
        self.upload_limit = None if upload_limit is None else upload_limit + UPLOAD_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            # no text column takes a NUL (PostgreSQL refuses it): say so rather than fail in a query
            await _plain(send, 400, "The address contains a NUL character (%00); remove it.")
            return
        upload = (
            self.upload_limit is not None and scope.get("method") == "POST" and bool(UPLOAD_PATH.match(scope["path"]))
        )
        limit = self.upload_limit if upload and self.upload_limit is not None else self.limit
        what = "upload" if upload else "request"
        refused = False
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                    await _plain(send, 400, "The Content-Length header is not a number.")
                    return
                if too_big and upload:
                    scope[UPLOAD_REFUSED] = limit - UPLOAD_SLACK
                    refused = True
                elif too_big:
                    await _plain(send, 413, f"The request is larger than {_size(limit)}.")
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if refused:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            shown = limit - UPLOAD_SLACK if upload else limit
            await _plain(send, 413, f"The {what} is larger than {_size(shown)}.")


class BodyTooLarge(Exception):
    pass


def _size(limit: int) -> str:
    """The limit as a person reads it: "10 MB", "64 KB" (never "0 MB" for a small limit)."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= size:
            return f"{limit / size:.3g} {unit}"
    return f"{limit} bytes"


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class SessionCookies(SessionMiddleware):
    """Starlette's signed-cookie sessions, where a cookie that verifies but does not decode to a dict
    (signed by an older deployment sharing the key, say) counts as no session instead of a 500."""

    def __init__(self, app: ASGIApp, **kwargs: Any):
        super().__init__(app, **kwargs)
        self.signer = _DecodableOnly(self.signer)


class _DecodableOnly:
    def __init__(self, signer: Any):
        self._signer = signer

    def sign(self, value: bytes) -> bytes:
        return self._signer.sign(value)

    def unsign(self, value: bytes, max_age: int | None = None) -> bytes:
        data = self._signer.unsign(value, max_age=max_age)
        try:
            if isinstance(json.loads(b64decode(data, validate=True)), dict):
                return data
        except ValueError:  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
            pass
        raise BadSignature("the session cookie does not hold a session")


class VoronkaContext:
    """Per request: refresh shared state, resolve the user, pick the language, close the DB session."""

    def __init__(self, app: ASGIApp, runtime: Any):
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime = self.runtime
        runtime.sync()
        session = scope.setdefault("session", {})
        user: Any = ANONYMOUS
        uid = session.get("uid")
        sid = session.get("sid")
        if type(uid) is int and 0 < uid < 2**63 and isinstance(sid, str) and 0 < len(sid) <= 100:
            # a signed cookie is ours, but never trust its shape; the session must still be live
            found = runtime.user(uid) if runtime.session_user_id(sid) == uid else None
            if found is not None and secrets.compare_digest(found.auth_hash, str(session.get("auth", ""))):
                user = found
            else:
                session.clear()
        elif uid is not None:
            session.clear()
        scope["user"] = user
        scope.setdefault("state", {})
        accept = None
        for key, value in scope.get("headers", []):
            if key == b"accept-language":
                accept = value.decode("latin-1")
                break
        token = i18n.current_language.set(
            i18n.pick_language(accept, user.language if user.is_authenticated else session.get("lang"))
        )
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_language.reset(token)
            db = scope["state"].pop("db", None)
            if db is not None:
                db.close()

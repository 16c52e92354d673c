"""Helpers for route handlers, core's and plugins': the request's database session, the app runtime, the user."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response


def runtime(request: Request) -> Any:
    """The application's runtime (settings, engine, plugin host, caches); see ``voronka.web.runtime``."""
    return request.app.state.voronka


def db(request: Request) -> Session:
    """The request's session, opened on first use and closed when the response is sent."""
    state = request.scope.setdefault("state", {})
    session = state.get("db")
    if session is None:
        session = state["db"] = runtime(request).sessions()
    return session


def user(request: Request) -> Any:
    return request.scope.get("user")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def form_dict(request: Request) -> dict[str, str]:
    """The submitted form as plain strings (files are ignored here)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def go_to(request: Request, target: str) -> Response:
    """After a form posts: HTMX follows ``HX-Location`` (no full reload), a plain form a 303 redirect."""
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true":
        return Response(status_code=204, headers={"HX-Location": target})
    return RedirectResponse(target, status_code=303)

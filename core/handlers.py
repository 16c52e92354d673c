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
    """After a form posts: HTMX navigates to ``target`` (``HX-Redirect``), a plain form gets a 303 redirect.

    Not ``HX-Location``: htmx fetches that page as an HTMX request and swaps it into the body, so a page that
    renders only its block for HTMX lost the layout (sidebar, top bar) and the new page's style sheets."""
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)

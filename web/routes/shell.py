"""The start page, global search, the user's own page and the health check."""

from __future__ import annotations

import logging
import zoneinfo
from functools import lru_cache

from sqlalchemy import text, update
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.handlers import db, form_dict, runtime, user
from voronka.core.i18n import LANGUAGES
from voronka.core.i18n import gettext as _
from voronka.core.models import User
from voronka.core.security.markers import public, requires
from voronka.core.state import bump
from voronka.core.templating import render, render_panels
from voronka.core.ui import SearchHit

log = logging.getLogger("voronka.web")

SEARCH_LIMIT = 8


async def home(request: Request) -> Response:
    return render(request, "home.html", {"panels": render_panels(request, "home")})


@requires("core.search")
async def search(request: Request) -> Response:
    """Global search: every enabled plugin's ``search`` hook, filtered to what the user may see."""
    query = request.query_params.get("q", "").strip()[:200]
    hits: list[SearchHit] = []
    failed = False
    if query:
        host = runtime(request).host
        try:
            for batch in host.hook.search(session=db(request), user=user(request), query=query, limit=SEARCH_LIMIT):
                hits.extend(batch or [])
        except Exception:
            log.exception("search hook failed for %r", query)
            failed = True
    hits.sort(key=lambda h: -h.score)
    return render(request, "search.html", {"q": query, "hits": hits[: SEARCH_LIMIT * 3], "failed": failed},
                  block="results")  # fmt: skip


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


async def me(request: Request) -> Response:
    current = user(request)
    return render(request, "me.html", {
        "panels": render_panels(request, "user.page", current), "zones": time_zones(), "errors": {},
    })  # fmt: skip


async def me_save(request: Request) -> Response:
    form = await form_dict(request)
    current = user(request)
    errors: dict[str, str] = {}
    language = form.get("language", "")
    timezone = form.get("timezone", "")
    if language not in LANGUAGES:
        errors["language"] = _("Choose one of the listed languages.")
    if timezone not in time_zones() and timezone != "UTC":
        errors["timezone"] = _("Choose a time zone from the list, such as Europe/Kyiv.")
    if errors:
        return render(request, "me.html", {
            "panels": render_panels(request, "user.page", current), "zones": time_zones(), "errors": errors,
        }, status_code=400)  # fmt: skip
    with write_transaction(runtime(request).sessions) as session:
        session.execute(update(User).where(User.id == current.id).values(language=language, timezone=timezone))
        bump(session, "security")
    runtime(request).users.pop(current.id, None)
    return RedirectResponse("/me?saved=1", 303)


@public
async def health(request: Request) -> Response:
    """For load balancers: 200 when the database answers, 503 otherwise; no details leak."""
    try:
        with runtime(request).engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable"}, 503)
    return JSONResponse({"status": "ok"})


@public
async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page says; send them to the real icon."""
    return RedirectResponse("/static/favicon.svg", 301)


routes = [
    Route("/favicon.ico", favicon, name="favicon"),
    Route("/", home, name="home"),
    Route("/search", search, name="search"),
    Route("/me", me, methods=["GET"], name="me"),
    Route("/me", me_save, methods=["POST"], name="me_save"),
    Route("/health", health, name="health"),
]

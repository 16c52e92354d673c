"""Activities (notes, calls, meetings, tasks), the timeline, "my open tasks".

Contract used by the card: ``card_section(request, party) -> dict`` rendered by ``contacts/_timeline.html``
(the card includes it with the dict as ``timeline``). The pieces live in ``activity_*`` modules (forms,
queries, rules, routes, tasks) and ``timeline`` (merging every plugin's entries); this module is what the
rest of contacts calls.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.records import Ref
from voronka.core.security.markers import requires
from voronka.core.templating import is_htmx, render

from . import activity_queries, activity_routes, activity_rules, activity_tasks
from . import timeline as merged
from .card_base import load
from .card_view import datetime_format
from .kinds import EDIT, VIEW
from .models import ACTIVITY_TYPES, Party

KIND_LABELS = {"note": N_("Notes"), "call": N_("Calls"), "meeting": N_("Meetings"), "task": N_("Tasks")}
QUICK_LABELS = {"note": N_("Note"), "call": N_("Call"), "meeting": N_("Meeting"), "task": N_("Task")}
DEFAULT_LIMIT = 25


def before_save(session: Any, record: Any, changes: dict[str, Any]) -> None:
    activity_rules.before_save(session, record, changes)


def panels(name: str, request: Any, obj: Any) -> list[Any]:
    return activity_tasks.panels(name, request, obj)


def timeline_entries(session: Any, viewer: Any, ref: Any, kinds: Any, before: Any, limit: int) -> list[Any]:
    return activity_queries.timeline_entries(session, viewer, ref, kinds, before, limit)


def timeline_kinds() -> list[tuple[str, str]]:
    return [(f"contacts.{t}", _(KIND_LABELS[t])) for t in ACTIVITY_TYPES]


def page_limit(request: Request) -> int:
    try:
        return int(runtime(request).settings_store.get(db(request), "contacts", "timeline_limit") or DEFAULT_LIMIT)
    except (TypeError, ValueError):
        return DEFAULT_LIMIT


def section(request: Request, party: Party, kinds_raw: list[str], before_raw: str | None) -> dict[str, Any]:
    """The timeline of ``party`` for the card and for its own page: one page, the filter, quick actions."""
    host = runtime(request).host
    viewer = user(request)
    picked = merged.chosen_kinds(host, kinds_raw)
    before = merged.decode_cursor(before_raw)
    page = merged.page(db(request), host, viewer, Ref(party.kind, party.id), picked, before, page_limit(request))
    base = f"/contacts/{party.id}/timeline"
    query = "".join(f"&kinds={k}" for k in picked or [])
    return {
        "party_id": party.id,
        "party_name": party.name,
        "entries": page.entries,
        "lines": lines(page.entries, viewer),
        "more_url": f"{base}?before={page.next_token}{query}" if page.next_cursor else "",
        "base_url": base,
        "filter": [(key, label, picked is None or key in picked) for key, label in merged.all_kinds(host)],
        "filtered": picked is not None,
        "older": before is not None,
        "can_edit": viewer.can(EDIT),
        "quick": [(t, _(QUICK_LABELS[t]), f"/contacts/{party.id}/activities/new?type={t}") for t in ACTIVITY_TYPES],
    }


class Line(NamedTuple):
    """A timeline entry as ``activity_macros.lines`` shows it (a tuple: Jinja reads its fields fast)."""

    key: str
    kind: str  # the CSS class of the entry's kind
    icon: str
    link: str | None
    title: str
    badge: str
    badge_class: str
    body: str
    iso: str
    when: str
    actor: str


def lines(entries: list[Any], viewer: Any) -> list[Line]:
    """The entries as ``activity_macros.lines`` shows them, each class name and time worked out here once
    (the ``entry`` macro builds the same for one entry in the template)."""
    when = datetime_format(getattr(viewer, "timezone", None))
    return [
        Line(
            e.key,
            "kind-" + e.kind.replace(".", "-"),
            e.icon or "dot",
            e.link,
            e.title,
            e.badge,
            "badge-" + e.badge.lower().replace(" ", "-") if e.badge else "",
            e.body,
            e.at.isoformat(),
            when(e.at),
            e.actor,
        )
        for e in entries
    ]


def card_section(request: Any, party: Any) -> dict[str, Any]:
    """What ``contacts/_timeline.html`` needs on the card: the first page, the type filter, quick-log links."""
    return section(request, party, [], None)


@requires(VIEW)
async def timeline_page(request: Request) -> Response:
    """``?before=<cursor>&kinds=…``: HTMX gets the next entries ("load more") or, without a cursor, the
    filtered first page; a plain link gets a page with the timeline section alone."""
    party = load(request).party
    params = request.query_params
    timeline = section(request, party, params.getlist("kinds"), params.get("before"))
    block = "more" if params.get("before") else "list"
    if not is_htmx(request):
        block = None
    return render(request, "contacts/activity_timeline.html", {"timeline": timeline, "party": party}, block=block)


routes: list[Any] = [
    *activity_tasks.routes,
    *activity_routes.routes,
    Route("/{party_id:int}/timeline", timeline_page, methods=["GET"], name="timeline"),
]

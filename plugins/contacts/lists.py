"""Lists of people and organisations (search, filters, sort, keyset pages, CSV export), their bulk actions
(``list_bulk``), the create forms (``list_forms``) and the global search hook.

A list is a full page, or for HTMX only its ``list`` block (the search box and filters) or only its rows
(``frag=rows``: "load more" appends the next keyset page). Every read goes through ``list_query``, under
the viewer's visibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import false, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core import custom_fields
from voronka.core.company import company_settings
from voronka.core.exports import export_response
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models import Team, User
from voronka.core.models_records import Tag
from voronka.core.search_keys import search_key
from voronka.core.security.markers import requires
from voronka.core.tags import tags_for
from voronka.core.templating import render
from voronka.core.ui import SearchHit

from . import list_bulk, list_forms
from . import list_query as lq
from .kinds import EDIT, ORGANISATION_KIND, PERSON_KIND, VIEW, card_url
from .models import Party, RelationshipType

DEFAULT_LIMIT = 50
OPTIONS_MAX = 500


@dataclass(frozen=True)
class ListView:
    """One of the three lists: its kinds, address, title and create form."""

    key: str
    kinds: tuple[str, ...]
    path: str
    title: str
    new_path: str = ""
    new_label: str = ""


VIEWS = {
    "people": ListView("people", ("person",), "/contacts/people", N_("People"), "/contacts/people/new",
                       N_("New person")),
    "organisations": ListView("organisations", ("organisation",), "/contacts/organisations", N_("Organisations"),
                              "/contacts/organisations/new", N_("New organisation")),
    "all": ListView("all", ("person", "organisation"), "/contacts/all", N_("People and organisations")),
}  # fmt: skip


def kinds_of(request: Request, view: ListView) -> list[Any]:
    return [runtime(request).record_kinds[name] for name in view.kinds]


def list_limit(request: Request) -> int:
    try:
        return int(runtime(request).settings_store.get(db(request), "contacts", "list_limit") or DEFAULT_LIMIT)
    except (KeyError, TypeError, ValueError):
        return DEFAULT_LIMIT


def phone_region(session: Session) -> str:
    return company_settings(session).phone_region or "UA"


def list_url(view: ListView, params: lq.ListParams, **kw: Any) -> str:
    items = params.query_items(**kw)
    return view.path + ("?" + urlencode(items) if items else "")


def read_rows(request: Request, view: ListView, params: lq.ListParams, cf_where: list[Any]) -> tuple[list[Any], bool]:
    """One page of the list after the cursor in ``params`` (all kinds merged)."""
    session, viewer = db(request), user(request)
    region, limit = phone_region(session), list_limit(request)
    cursor = lq.decode_cursor(params.after, params.sort_key)
    if params.q and params.sort_key == "name":  # a search by name: in the order of the key that matched
        return lq.search_page(session, kinds_of(request, view), viewer, params, region, limit, cursor, where=cf_where)
    pages = []
    for kind in kinds_of(request, view):
        for stmt in lq.base_queries(session, kind, viewer, params, region, where=cf_where):
            pages.append(lq.page(session, stmt, params, limit, cursor))
    return lq.merged_page(pages, params, limit)


def row_extras(session: Session, kinds: list[Any], rows: list[Any], viewer: Any) -> dict[str, Any]:
    """Owner names and tags of a page's rows: three queries for the page, never one per row."""
    users = {r.owner_user_id for r in rows if r.owner_user_id}
    teams = {r.owner_team_id for r in rows if r.owner_team_id}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(users))).all()) if users else {}
    team_names = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(teams))).all()) if teams else {}
    tags: dict[int, list[Any]] = {}
    for kind in kinds:
        ids = [r.id for r in rows if r.kind == kind.name]
        tags.update(tags_for(session, kind, ids, viewer))
    return {"owner_names": names, "team_names": team_names, "tags": tags}


def filter_options(session: Session) -> dict[str, Any]:
    users = select(User.id, User.display_name).where(User.active.is_(True)).order_by(User.display_name)
    return {
        "users": list(session.execute(users.limit(OPTIONS_MAX))),
        "teams": list(session.execute(select(Team.id, Team.name).order_by(Team.name).limit(OPTIONS_MAX))),
        "tag_options": list(session.execute(select(Tag.id, Tag.name).order_by(Tag.name_key).limit(OPTIONS_MAX))),
        "rel_types": list(session.scalars(select(RelationshipType).where(RelationshipType.archived.is_(False))
                                          .order_by(RelationshipType.position, RelationshipType.id))),
    }  # fmt: skip


def list_context(request: Request, view: ListView, **extra: Any) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    kinds = kinds_of(request, view)
    params = lq.ListParams.parse(request.query_params)
    controls, cf_where = ([], [])
    if len(kinds) == 1:
        controls, cf_where = custom_fields.list_filters(session, kinds[0], request.query_params)
    rows, more = read_rows(request, view, params, cf_where)
    next_url = ""
    if more and rows:
        last = rows[-1]
        next_url = list_url(view, params, after=lq.encode_cursor(lq.sort_value(last, params), last.id))
    ctx: dict[str, Any] = {
        "view": view,
        "views": VIEWS,
        "title": _(view.title),
        "params": params,
        "rows": rows,
        "more": more,
        "next_url": next_url,
        "first_url": list_url(view, params) if params.after else "",
        "query": urlencode(params.query_items()),
        "sort_links": {key: list_url(view, params, sort=key if params.sort != key else "-" + key) for key in lq.SORTS},
        "export_url": f"{view.path}/export.csv" + ("?" + urlencode(params.query_items()) if params.filtered else ""),
        "bulk_url": f"{view.path}/bulk" + ("?" + urlencode(params.query_items()) if params.query_items() else ""),
        "can_edit": viewer.can(EDIT),
        "cf_controls": controls,
        "shape": lq.query_shape(params.q) if params.q else "",
        "bulk_error": None,
        "notice": list_bulk.notice(request),
        "confirm": None,
        "bulk_max": list_bulk.BULK_MAX,
        **row_extras(session, kinds, rows, viewer),
        **filter_options(session),
    }
    ctx.update(extra)
    return ctx


def render_list(request: Request, view: ListView, status_code: int = 200, **extra: Any) -> Response:
    ctx = list_context(request, view, **extra)
    if request.query_params.get("frag") == "rows" and request.headers.get("hx-request") == "true":
        return render(request, "contacts/_list_rows.html", ctx, status_code=status_code)
    return render(request, "contacts/list.html", ctx, block="list", status_code=status_code)


def list_route(view: ListView) -> Any:
    @requires(VIEW)
    async def show(request: Request) -> Response:
        return render_list(request, view)

    show.__name__ = f"{view.key}_list"
    return show


def export_route(view: ListView) -> Any:
    @requires(VIEW)
    async def export(request: Request) -> Response:
        """The whole filtered list as CSV (its filters and search, not its paging), under visibility."""
        session, kind = db(request), kinds_of(request, view)[0]
        params = lq.ListParams.parse(request.query_params)
        _controls, cf_where = custom_fields.list_filters(session, kind, request.query_params)
        stmt = lq.base_query(session, kind, user(request), params, phone_region(session), where=cf_where)
        return export_response(request, kind, stmt if stmt is not None else select(Party.id).where(false()))

    export.__name__ = f"{view.key}_export"
    return export


@requires(VIEW)
async def contacts_home(request: Request) -> Response:
    return RedirectResponse("/contacts/people", status_code=303)


# -- the global search -----------------------------------------------------------------------------------


def search_hits(session: Any, user: Any, query: str, limit: int) -> list[SearchHit]:
    """People and organisations whose name or city (either script), e-mail or phone starts with ``query``, under
    the user's visibility, in the order of the key that matched."""
    query = (query or "").strip()[: lq.QUERY_MAX]
    if not query or limit <= 0:
        return []
    params = lq.ListParams(q=query)
    region = phone_region(session)
    rows, _more = lq.search_page(session, [PERSON_KIND, ORGANISATION_KIND], user, params, region, limit, None)
    labels = {"person": _("Person"), "organisation": _("Organisation")}
    key = search_key(query)
    hits = []
    for row in rows:
        detail = row.job_title if row.kind == "person" else row.industry
        subtitle = " · ".join(part for part in (detail, row.primary_email, row.primary_phone, row.city) if part)
        score = 1.0 if key and row.name_key.startswith(key) else 0.5
        hits.append(SearchHit(row.name, card_url(row.id), labels[row.kind], subtitle, score))
    return hits


routes: list[Any] = [
    Route("/", contacts_home, methods=["GET"], name="home"),
    Route("/people", list_route(VIEWS["people"]), methods=["GET"], name="people"),
    Route("/organisations", list_route(VIEWS["organisations"]), methods=["GET"], name="organisations"),
    Route("/all", list_route(VIEWS["all"]), methods=["GET"], name="all_parties"),
    Route("/people/export.csv", export_route(VIEWS["people"]), methods=["GET"], name="people_export"),
    Route("/organisations/export.csv", export_route(VIEWS["organisations"]), methods=["GET"],
          name="organisations_export"),
    *[Route(f"{v.path[len('/contacts'):]}/bulk", list_bulk.bulk_route(v, render_list, kinds_of), methods=["POST"],
            name=f"{v.key}_bulk") for v in VIEWS.values()],
    Route("/people/new", list_forms.form_route("person"), methods=["GET", "POST"], name="people_new"),
    Route("/organisations/new", list_forms.form_route("organisation"), methods=["GET", "POST"],
          name="organisations_new"),
]  # fmt: skip

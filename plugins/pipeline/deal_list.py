"""The deal list (``/pipeline/deals``): the board's filters plus status, sortable columns, pages, CSV export;
and the global search hook (deals by name prefix, under the viewer's visibility).

Pages are offsets with a hard cap (:data:`OFFSET_MAX`): any column sorts, and past ten thousand rows a
person narrows the filters rather than pages on. The row count is capped the same way, so a list over a
million deals never counts them all. Sorting by amount or weighted amount compares amounts in the base
currency (each currency at its latest rate; amounts whose currency has no rate sort last), never raw
numbers of different currencies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Float, case, cast, func, literal, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.company import company_settings
from voronka.core.exports import export_response
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_count
from voronka.core.models import Team, User
from voronka.core.models_company import ExchangeRate
from voronka.core.search_keys import prefix_filter, search_key
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import format_money, render
from voronka.core.types import currency_exponent
from voronka.core.ui import SearchHit
from voronka.plugins.contacts.api import Party

from . import deal_filters
from .deal_filters import PERIODS, STATUSES, DealFilter
from .kinds import EDIT, VIEW, deal_url
from .models import LOST, OPEN, WON, Opportunity, Stage
from .stages import STATUS_LABELS, catalogue

DEFAULT_LIMIT = 50
OFFSET_MAX = 10_000
COUNT_CAP = 10_000
QUERY_MAX = 100

SORTS = {
    "name": N_("Name"),
    "customer": N_("Customer"),
    "stage": N_("Stage"),
    "amount": N_("Amount"),
    "probability": N_("Probability"),
    "weighted": N_("Weighted"),
    "close": N_("Close date"),
    "owner": N_("Owner"),
    "updated": N_("Updated"),
}
DEFAULT_SORT = "close"


@dataclass(frozen=True)
class Order:
    key: str
    descending: bool

    @classmethod
    def parse(cls, raw: str | None) -> Order:
        text = (raw or "").strip()
        descending = text.startswith("-")
        key = text.lstrip("-")
        if key not in SORTS:
            return cls(DEFAULT_SORT, False)
        return cls(key, descending)

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key


def list_limit(request: Request) -> int:
    try:
        return int(runtime(request).settings_store.get(db(request), "pipeline", "list_limit") or DEFAULT_LIMIT)
    except (KeyError, TypeError, ValueError):
        return DEFAULT_LIMIT


def base_factors(session: Session) -> Any:
    """A SQL expression: what one minor unit of the row's currency is worth in base minor units, at the
    latest rate (NULL for a currency without a rate), for sorting by amount across currencies."""
    settings = company_settings(session)
    base, today = settings.base_currency, settings.today()
    latest = (select(ExchangeRate.currency, func.max(ExchangeRate.valid_on).label("on"))
              .where(ExchangeRate.valid_on <= today).group_by(ExchangeRate.currency).subquery())  # fmt: skip
    rows = session.execute(
        select(ExchangeRate.currency, ExchangeRate.rate).join(
            latest, (latest.c.currency == ExchangeRate.currency) & (latest.c.on == ExchangeRate.valid_on)
        )
    ).all()
    factors = {base: 1.0}
    for code, rate in rows:
        try:
            shift = currency_exponent(base) - currency_exponent(code)
            factors[code] = float(Decimal(rate).scaleb(shift))
        except (ValueError, ArithmeticError, KeyError):
            continue
    whens = {code: literal(factor, Float()) for code, factor in factors.items()}
    return case(whens, value=Opportunity.amount_currency, else_=literal(None, Float()))


def _close_column(status: str) -> Any:
    """The close date a list shows: expected for open deals, actual for closed ones (each on its index)."""
    if status == OPEN:
        return Opportunity.expected_close
    if status in (WON, LOST):
        return Opportunity.closed_on
    return case((Opportunity.status == OPEN, Opportunity.expected_close), else_=Opportunity.closed_on)


def _sort_columns(session: Session, order: Order, status: str) -> tuple[list[Any], list[Any]]:
    """(ORDER BY expressions, joins) for ``order``; the id breaks ties so pages never repeat a row."""
    joins: list[Any] = []
    if order.key == "name":
        exprs = [Opportunity.name_key]
    elif order.key == "customer":
        exprs = [Party.name_key]
    elif order.key == "stage":
        joins.append((Stage, Stage.id == Opportunity.stage_id))
        exprs = [Stage.pipeline_id, Stage.position]
    elif order.key in ("amount", "weighted"):
        factor = base_factors(session)
        value = cast(Opportunity.amount_minor, Float()) * factor
        exprs = [value * Opportunity.probability if order.key == "weighted" else value]
    elif order.key == "probability":
        exprs = [Opportunity.probability]
    elif order.key == "close":
        exprs = [_close_column(status)]
    elif order.key == "owner":
        joins.append((User, User.id == Opportunity.owner_user_id))
        exprs = [User.display_name]
    else:
        exprs = [Opportunity.updated_at]
    direction = [(e.desc() if order.descending else e.asc()).nulls_last() for e in exprs]
    direction.append(Opportunity.id.desc() if order.descending else Opportunity.id.asc())
    return direction, joins


def list_query(session: Session, viewer: Any, flt: DealFilter, order: Order, today: dt.date) -> Any:
    stmt = (
        select(
            Opportunity.id, Opportunity.name, Opportunity.customer_id, Party.name.label("customer"),
            Opportunity.pipeline_id, Opportunity.stage_id, Opportunity.status, Opportunity.amount_minor,
            Opportunity.amount_currency, Opportunity.probability, Opportunity.expected_close,
            Opportunity.closed_on, Opportunity.owner_user_id, Opportunity.owner_team_id, Opportunity.updated_at,
        )
        .outerjoin(Party, Party.id == Opportunity.customer_id)
        .where(*flt.clauses(viewer, today))
    )  # fmt: skip
    direction, joins = _sort_columns(session, order, flt.status)
    for model, on in joins:
        stmt = stmt.outerjoin(model, on)
    return stmt.order_by(*direction)


def capped_count(session: Session, viewer: Any, flt: DealFilter, today: dt.date) -> int:
    """How many deals match, counting no further than :data:`COUNT_CAP` + 1."""
    ids = select(Opportunity.id).where(*flt.clauses(viewer, today)).limit(COUNT_CAP + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0)


@dataclass
class Row:
    id: int
    name: str
    customer_id: int | None
    customer: str
    stage: Any
    status: str
    amount_minor: int
    currency: str
    weighted_minor: int
    probability: int
    expected_close: dt.date | None
    closed_on: dt.date | None
    owner: str
    updated_at: dt.datetime
    overdue: bool


def _rows(session: Session, raw: list[Any], today: dt.date) -> list[Row]:
    book = catalogue(session)
    users = {r.owner_user_id for r in raw if r.owner_user_id}
    teams = {r.owner_team_id for r in raw if r.owner_team_id}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(users))).all()) if users else {}
    team_names = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(teams))).all()) if teams else {}
    found = []
    for r in raw:
        owner = names.get(r.owner_user_id) if r.owner_user_id else team_names.get(r.owner_team_id or 0)
        weighted = (Decimal(int(r.amount_minor or 0)) * r.probability / 100).to_integral_value()
        found.append(Row(
            r.id, r.name, r.customer_id, r.customer or "", book.stage(r.stage_id), r.status, int(r.amount_minor or 0),
            r.amount_currency, int(weighted), r.probability, r.expected_close, r.closed_on, owner or "",
            r.updated_at, r.status == OPEN and r.expected_close is not None and r.expected_close < today,
        ))  # fmt: skip
    return found


def list_context(request: Request) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    params = request.query_params
    flt = deal_filters.parse(session, viewer, params)
    order = Order.parse(params.get("sort"))
    limit = list_limit(request)
    page = parse_count(params.get("page")) or 1
    problems = list(flt.problems)
    if params.get("sort") and order.param != params.get("sort", "").strip():
        problems.append(_("Unknown sort; sorted by close date."))
    if params.get("page") and parse_count(params.get("page")) in (None, 0):
        problems.append(_("Unknown page; showing the first one."))
    offset = (page - 1) * limit
    capped = offset > OFFSET_MAX
    today = company_settings(session).today()
    raw = [] if capped else session.execute(list_query(session, viewer, flt, order, today).limit(limit + 1)
                                             .offset(offset)).all()  # fmt: skip
    more = len(raw) > limit
    rows = _rows(session, raw[:limit], today)
    total = capped_count(session, viewer, flt, today)
    base_items = {**flt.params(), **({"sort": order.param} if order.param != DEFAULT_SORT else {})}

    def url(**changes: Any) -> str:
        items = {**base_items, **{k: v for k, v in changes.items() if v not in (None, "")}}
        for key, value in changes.items():
            if value in (None, "") and key in items:
                del items[key]
        return "/pipeline/deals" + ("?" + urlencode(items) if items else "")

    sort_links = {key: url(sort=(key if order.key != key or order.descending else "-" + key), page=None)
                  for key in SORTS}  # fmt: skip
    return {
        "title": _("Deals"),
        "flt": flt,
        "order": order,
        "problems": problems,
        "rows": rows,
        "page": page,
        "limit": limit,
        "more": more,
        "capped": capped,
        "total": total,
        "count_capped": total > COUNT_CAP,
        "prev_url": url(page=page - 1 if page > 2 else None) if page > 1 else "",
        "next_url": url(page=page + 1) if more and offset + limit <= OFFSET_MAX else "",
        "first_url": url(page=None),
        "sort_links": sort_links,
        "sorts": SORTS,
        "export_url": "/pipeline/deals/export.csv" + ("?" + urlencode(flt.params()) if flt.params() else ""),
        "board_url": "/pipeline/board" + ("?" + flt.query_string(status=OPEN) if flt.query_string(status=OPEN) else ""),
        "owner_options": deal_filters.owner_options(session, viewer),
        "periods": PERIODS,
        "statuses": STATUSES,
        "status_labels": STATUS_LABELS,
        "pipelines": catalogue(session).live,
        "can_edit": viewer.can(EDIT),
        "base": company_settings(session).base_currency,
        "today": today,
        "filtered": bool(flt.query or flt.period or flt.owner != "mine" or flt.status != OPEN or flt.pipeline_id),
        "extra_css": ["list.css"],
    }


@requires(VIEW)
async def deals_page(request: Request) -> Response:
    return render(request, "pipeline/deals.html", list_context(request), block="list")


@requires(VIEW)
async def deals_export(request: Request) -> Response:
    """The whole filtered list as CSV (its filters, not its sort or pages), under visibility."""
    session, viewer = db(request), user(request)
    flt = deal_filters.parse(session, viewer, request.query_params)
    ids = select(Opportunity.id).where(*flt.clauses(viewer, company_settings(session).today()))
    return export_response(request, runtime(request).record_kinds["opportunity"], ids)


def search_hits(session: Any, user: Any, query: str, limit: int) -> list[SearchHit]:
    """Live deals ``user`` may see whose name starts with ``query``, by name: an ordered range scan of the
    (name_key, id) index that stops after ``limit`` rows."""
    query = (query or "").strip()[:QUERY_MAX]
    where = prefix_filter(Opportunity.name_key, query) if query and limit > 0 else None
    if where is None:
        return []
    # visibility as a CASE, so the planner walks the name index instead of the owner's (see contacts.lookup)
    seen = case((visible(Opportunity, user), 1), else_=0) == 1
    rows = session.execute(
        select(Opportunity.id, Opportunity.name, Opportunity.name_key, Opportunity.status, Opportunity.amount_minor,
               Opportunity.amount_currency, Party.name.label("customer"))
        .outerjoin(Party, Party.id == Opportunity.customer_id)
        .where(where, Opportunity.deleted_at.is_(None), seen)
        .order_by(Opportunity.name_key, Opportunity.id)
        .limit(limit)
    ).all()  # fmt: skip
    key = search_key(query)
    hits = []
    for row in rows:
        money = format_money(int(row.amount_minor or 0), row.amount_currency) if row.amount_currency else ""
        status = _(STATUS_LABELS.get(row.status, row.status))
        subtitle = " · ".join(part for part in (row.customer, money, status) if part)
        score = 1.0 if key and row.name_key.startswith(key) else 0.5
        hits.append(SearchHit(row.name, deal_url(row.id), _("Deal"), subtitle, score))
    return hits


routes: list[Any] = [
    Route("/deals", deals_page, methods=["GET"], name="deals"),
    Route("/deals/export.csv", deals_export, methods=["GET"], name="deals_export"),
]

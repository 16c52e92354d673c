"""The order pages: ``/pipeline/orders`` (filters: status, customer, owner; under the viewer's visibility)
and ``/pipeline/orders/{id}`` with its lines, its status (open → fulfilled / cancelled, and back) and, while
its deal is open, the offer to mark the deal won (the deal's own rules close it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, go_to, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import owner_choices, parse_id, parse_owner, parse_version
from voronka.core.models import Team, User
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import is_htmx, render
from voronka.plugins.contacts.api import Party

from . import orders, pricing
from .kinds import EDIT, VIEW
from .models import ORDER_STATUSES, Opportunity, Order, Quote

PAGE = 50
CSS = ["quotes.css"]


def _kinds(request: Request) -> Any:
    return runtime(request).record_kinds


def load(request: Request) -> Order:
    order_id = parse_id(request.path_params.get("order_id"))
    found = None
    if order_id is not None:
        kind = _kinds(request)["order"]
        found = db(request).scalar(select(Order).where(Order.id == order_id, kind.visible_to(user(request))))
    if found is None:
        raise HTTPException(404, _("There is no such order, or it is not yours to see."))
    return found


@requires(VIEW)
async def order_list(request: Request) -> Response:
    session, viewer, params = db(request), user(request), request.query_params
    status = params.get("status") if params.get("status") in ORDER_STATUSES else ""
    owner = params.get("owner", "")
    if owner not in ("", "mine") and parse_owner(owner) is None:
        owner = ""
    customer = parse_id(params.get("customer"))
    seen = _kinds(request)["order"].visible_to(viewer)
    query = (select(Order.id, Order.number, Order.status, Order.ordered_on, Order.currency, Order.total_minor,
                    Order.customer_id, Party.name.label("customer_name"))
             .outerjoin(Party, Party.id == Order.customer_id).where(seen))  # fmt: skip
    if status:
        query = query.where(Order.status == status)
    if customer is not None:
        query = query.where(Order.customer_id == customer)
    if owner == "mine":
        query = query.where((Order.owner_user_id == viewer.id) | Order.owner_team_id.in_(list(viewer.team_ids)))
    elif owner:
        who, number = parse_owner(owner) or ("", 0)
        query = query.where((Order.owner_user_id if who == "user" else Order.owner_team_id) == number)
    before = parse_id(params.get("before"))
    if before is not None:
        query = query.where(Order.id < before)
    rows = list(session.execute(query.order_by(Order.id.desc()).limit(PAGE + 1)))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    kept = {k: v for k, v in (("status", status), ("owner", owner), ("customer", str(customer or ""))) if v}
    ctx = {
        "title": _("Orders"),
        "extra_css": CSS,
        "status": status,
        "owner": owner,
        "customer": customer,
        "customer_name": session.scalar(select(Party.name).where(Party.id == customer)) if customer else "",
        "clear_customer": "/pipeline/orders?" + urlencode({k: v for k, v in kept.items() if k != "customer"}),
        "rows": rows,
        "next_url": "/pipeline/orders?" + urlencode({**kept, "before": rows[-1].id}) if more and rows else "",
        "first_url": ("/pipeline/orders" + ("?" + urlencode(kept) if kept else "")) if before else "",
        "statuses": [(s, _(orders.STATUS_LABELS[s])) for s in ORDER_STATUSES],
        "status_labels": {s: _(label) for s, label in orders.STATUS_LABELS.items()},
        "owners": owner_choices(session),
    }
    return render(request, "pipeline/orders.html", ctx, block="results")


def order_context(request: Request, order: Order, **extra: Any) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    lines = orders.lines_of(session, order.id)
    sums = pricing.totals((line.tax_rate_bp, pricing.LineAmounts(line.gross_minor, line.discount_minor,
                           line.net_minor, line.tax_minor, line.total_minor)) for line in lines)  # fmt: skip
    deal = None
    if order.opportunity_id:
        deal = session.execute(select(Opportunity.id, Opportunity.name, Opportunity.status).where(
            Opportunity.id == order.opportunity_id, Opportunity.deleted_at.is_(None),
            visible(Opportunity, viewer))).first()  # fmt: skip
    quote = None
    if order.quote_id:
        quote = session.execute(
            select(Quote.id, Quote.number, Quote.revision).where(Quote.id == order.quote_id)
        ).first()
    owner = None
    if order.owner_user_id:
        owner = session.scalar(select(User.display_name).where(User.id == order.owner_user_id))
    elif order.owner_team_id:
        owner = session.scalar(select(Team.name).where(Team.id == order.owner_team_id))
    ctx: dict[str, Any] = {
        "title": _("Order %(number)s") % {"number": order.number},
        "extra_css": CSS,
        "order": order,
        "lines": lines,
        "taxes": sums.taxes,
        "deal": deal,
        "quote": quote,
        "owner_name": owner,
        "customer_name": session.scalar(select(Party.name).where(Party.id == order.customer_id))
        if order.customer_id else None,
        "can_edit": viewer.can(EDIT),
        "moves": [(s, _(orders.STATUS_LABELS[s])) for s in orders.MOVES.get(order.status, ())],
        "status_label": _(orders.STATUS_LABELS.get(order.status, order.status)),
        "offer_win": deal is not None and deal.status == "open" and viewer.can(EDIT),
        "notice": "",
        "problem": "",
        "pct": pricing.percent_text,
        "qty": pricing.quantity_text,
    }  # fmt: skip
    ctx.update(extra)
    return ctx


def render_order(request: Request, order: Order, status_code: int = 200, **extra: Any) -> Response:
    return render(request, "pipeline/order.html", order_context(request, order, **extra), block="main",
                  status_code=status_code)  # fmt: skip


_NOTICES = {"accepted": "The quote was accepted and this order made from it.", "status": "The status was changed.",
            "won": "The deal was marked won."}  # fmt: skip


@requires(VIEW)
async def order_page(request: Request) -> Response:
    order = load(request)
    notice = _NOTICES.get(request.query_params.get("done", ""), "")
    return render_order(request, order, notice=_(notice) if notice else "")


def _done(request: Request, order_id: int, done: str) -> Response:
    url = f"/pipeline/orders/{order_id}?done={done}"
    if is_htmx(request):
        return go_to(request, url)
    return RedirectResponse(url, status_code=303)


@requires(EDIT)
async def order_status(request: Request) -> Response:
    order = load(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    status = form.get("status", "")
    if status not in ORDER_STATUSES:
        return render_order(request, order, 400, problem=_("Choose a status from the list."))
    try:
        with write_transaction(runtime(request).sessions) as session:
            orders.set_status(session, _kinds(request)["order"], order.id, status, actor=user(request),
                              expected_version=parse_version(form.get("version")))  # fmt: skip
    except StaleRecord as exc:
        db(request).rollback()
        return render_order(request, load(request), 409, problem=str(exc))
    except ValidationError as exc:
        db(request).rollback()
        return render_order(request, load(request), 409, problem="; ".join(exc.errors.values()))
    return _done(request, order.id, "status")


@requires(EDIT)
async def order_win_deal(request: Request) -> Response:
    """Mark the order's deal won (and, if asked, take the order's net total as the deal's amount)."""
    order = load(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    viewer = user(request)
    deal_id = order.opportunity_id
    if deal_id is None or db(request).scalar(select(Opportunity.id).where(
            Opportunity.id == deal_id, visible(Opportunity, viewer))) is None:  # fmt: skip
        return render_order(request, order, 409, problem=_("This order's deal is not open any more (or it has none)."))
    try:
        with write_transaction(runtime(request).sessions) as session:
            fresh = session.get(Order, order.id)
            orders.win_deal(session, _kinds(request)["opportunity"], fresh, actor=viewer,
                            take_amount=form.get("take_amount") == "1")  # fmt: skip
    except (StaleRecord, ValidationError) as exc:
        db(request).rollback()
        errors = getattr(exc, "errors", {"": str(exc)})
        return render_order(request, load(request), 409, problem="; ".join(errors.values()))
    return _done(request, order.id, "won")


routes: list[Any] = [
    Route("/orders", order_list, methods=["GET"], name="orders"),
    Route("/orders/{order_id:int}", order_page, methods=["GET"], name="order"),
    Route("/orders/{order_id:int}/status", order_status, methods=["POST"], name="order_status"),
    Route("/orders/{order_id:int}/win-deal", order_win_deal, methods=["POST"], name="order_win_deal"),
]

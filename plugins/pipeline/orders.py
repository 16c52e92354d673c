"""Orders: made from accepted quotes, they are the customer's sales history.

An order is a record kind ("order") numbered from the company's gap-free ``pipeline.order`` sequence; its
lines are copied from the quote (amounts as the quote priced them) in the transaction that accepts the
quote. Its status is open → fulfilled or cancelled (and back to open).

:func:`sales_history` is what the customer card shows: the customer's orders the viewer may see and their
totals per currency (cancelled orders are listed but not counted; currencies are never added together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from voronka.core.company import company_settings
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.sequences import next_number
from voronka.core.writes import save

from .models import WON, Opportunity, Order, OrderLine, Quote, QuoteLine
from .stages import catalogue
from .totals_guard import priced_write

ORDER_SEQUENCE = "pipeline.order"
OPEN, FULFILLED, CANCELLED = "open", "fulfilled", "cancelled"
STATUS_LABELS = {OPEN: N_("Open"), FULFILLED: N_("Fulfilled"), CANCELLED: N_("Cancelled")}
MOVES = {OPEN: (FULFILLED, CANCELLED), FULFILLED: (OPEN,), CANCELLED: (OPEN,)}
"""Where an order's status may go from each status."""
HISTORY_LIMIT = 20
_LINE_COLUMNS = ("position", "product_id", "description", "quantity_milli", "unit_price_minor", "discount_bp",
                 "tax_rate_bp", "gross_minor", "discount_minor", "net_minor", "tax_minor", "total_minor")  # fmt: skip


def create_from_quote(session: Session, kind: Any, quote: Quote, lines: list[QuoteLine], *, actor: Any) -> Order:
    """The order of an accepted quote, in the caller's transaction (the quote's lines copied as priced)."""
    taken = session.scalar(select(Order.id).where(Order.quote_id == quote.id))
    if taken is not None:
        from .quotes import Conflict

        raise Conflict(_("This quote was accepted already; its order exists."))
    values = {
        "number": next_number(session, ORDER_SEQUENCE),
        "quote_id": quote.id,
        "opportunity_id": quote.opportunity_id,
        "customer_id": quote.customer_id,
        "currency": quote.currency,
        "status": OPEN,
        "ordered_on": company_settings(session).today(),
        "note": quote.note,
        "owner_user_id": quote.owner_user_id,
        "owner_team_id": quote.owner_team_id,
        "subtotal_minor": quote.subtotal_minor,
        "discount_minor": quote.discount_minor,
        "tax_minor": quote.tax_minor,
        "total_minor": quote.total_minor,
    }
    with priced_write(session):  # the totals of the quote's lines copied below
        order = save(session, kind, None, values, actor=actor)
    if lines:
        session.execute(insert(OrderLine), [
            {**{c: getattr(line, c) for c in _LINE_COLUMNS}, "order_id": order.id} for line in lines
        ])  # fmt: skip
    return order


def lines_of(session: Session, order_id: int) -> list[OrderLine]:
    return list(session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)
                                .order_by(OrderLine.position, OrderLine.id)))  # fmt: skip


def set_status(session: Session, kind: Any, order_id: int, status: str, *, actor: Any,
               expected_version: int | None = None) -> Order:  # fmt: skip
    """Fulfil, cancel or reopen an order (the moves :data:`MOVES` allows)."""
    order = session.scalar(select(Order).where(Order.id == order_id, Order.deleted_at.is_(None))
                           .with_for_update().execution_options(populate_existing=True))  # fmt: skip
    if order is None:
        raise ValidationError(_("This order no longer exists; someone may have deleted it."))
    if expected_version is not None and order.version != expected_version:
        raise StaleRecord(_("Someone else changed this order after you opened it. Reload to see their changes."))
    if status not in MOVES.get(order.status, ()):
        raise ValidationError({"status": _("An order that is %(now)s cannot become %(then)s.") % {
            "now": _(STATUS_LABELS.get(order.status, order.status)).lower(),
            "then": _(STATUS_LABELS.get(status, status)).lower()}})  # fmt: skip
    return save(session, kind, order_id, {"status": status}, actor=actor)


def open_deal(session: Session, order: Order) -> Opportunity | None:
    """The order's deal when it is still open (what "mark the deal won" offers to close)."""
    if order.opportunity_id is None:
        return None
    deal = session.scalar(select(Opportunity).where(Opportunity.id == order.opportunity_id,
                                                    Opportunity.deleted_at.is_(None)))  # fmt: skip
    return deal if deal is not None and deal.status == "open" else None


def win_deal(session: Session, kind: Any, order: Order, *, actor: Any, take_amount: bool = False) -> Opportunity:
    """Move the order's deal to its pipeline's won stage (the deal's rules close it, date it and emit
    ``pipeline.deal_won``); with ``take_amount`` the deal's amount becomes the order's net total (before tax)."""
    deal = open_deal(session, order)
    if deal is None:
        raise ValidationError(_("This order's deal is not open any more (or it has none)."))
    pipeline = catalogue(session).pipeline(deal.pipeline_id)
    won = pipeline.closing(WON) if pipeline is not None else None
    if won is None:
        raise ValidationError(_("The deal's pipeline has no stage for won deals; an administrator can add one."))
    values: dict[str, Any] = {"stage_id": won.id}
    if take_amount:
        values.update({"amount_minor": order.subtotal_minor - order.discount_minor, "amount_currency": order.currency})
    return save(session, kind, deal.id, values, actor=actor)


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    orders: int
    net_minor: int
    total_minor: int


@dataclass(frozen=True)
class SalesHistory:
    """A customer's orders, newest first (at most :data:`HISTORY_LIMIT`), ``count`` of all of them, and
    totals per currency of those not cancelled (net before tax and total with tax, minor units)."""

    orders: list[Any]
    count: int
    totals: list[CurrencyTotal]


def sales_history(session: Session, viewer: Any, party_id: int, *, limit: int = HISTORY_LIMIT) -> SalesHistory:
    """The customer's sales history as ``viewer`` may see it: two indexed queries on (customer_id, ordered_on).

    Rows of ``orders`` have ``id, number, status, ordered_on, currency, total_minor, quote_id,
    opportunity_id``; totals exclude cancelled orders and are per currency, never converted or added up."""
    from .kinds import ORDER_KIND

    seen = (Order.customer_id == party_id, ORDER_KIND.visible_to(viewer))
    rows = list(session.execute(
        select(Order.id, Order.number, Order.status, Order.ordered_on, Order.currency, Order.total_minor,
               Order.quote_id, Order.opportunity_id)
        .where(*seen).order_by(Order.ordered_on.desc(), Order.id.desc()).limit(limit)
    ))  # fmt: skip
    sums = session.execute(
        select(Order.currency, Order.status, func.count(), func.sum(Order.subtotal_minor - Order.discount_minor),
               func.sum(Order.total_minor))
        .where(*seen).group_by(Order.currency, Order.status)
    ).all()  # fmt: skip
    count = sum(n for _c, _s, n, _net, _t in sums)
    by_currency: dict[str, list[int]] = {}
    for currency, status, n, net, total in sums:
        if status == CANCELLED:
            continue
        entry = by_currency.setdefault(currency, [0, 0, 0])
        entry[0] += n
        entry[1] += int(net or 0)
        entry[2] += int(total or 0)
    totals = [CurrencyTotal(c, n, net, total) for c, (n, net, total) in sorted(by_currency.items())]
    return SalesHistory(rows, count, totals)

"""Pipeline's panels on the customer card (contacts' ``party.panels`` slot).

"Deals" is rendered with the card: the customer's open deals and the open deals the party is a stakeholder
of (labelled so), with a "New deal" button preset with this customer; two indexed queries (the deal's
(customer, status) index and the stakeholder's party index), so the card stays fast. "Sales history" is
lazy (loaded by HTMX after the card): won deals, quotes and orders with totals in the base currency —
closed deals at the rate of their close date, orders at the rate of their order date, never adding
currencies; amounts without a stored rate are named rather than added.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from babel.dates import format_date
from sqlalchemy import Integer, bindparam, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from voronka.core import i18n
from voronka.core.currency import RateBook, RateMissing
from voronka.core.handlers import db, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visibility_key, visible
from voronka.core.statements import StatementCache
from voronka.core.templating import format_money, render
from voronka.core.types import Money
from voronka.core.ui import Panel
from voronka.plugins.contacts.api import CARD_SLOT, Party

from .kinds import EDIT, VIEW
from .models import LOST, OPEN, WON, Opportunity, Order, Quote, Stage, Stakeholder
from .stages import BUILTIN_STAGES

QUOTE_STATUS_LABELS = {"draft": N_("Draft"), "sent": N_("Sent"), "accepted": N_("Accepted"), "rejected": N_("Rejected")}
SHOWN = 10
"""Open deals listed on the card (the rest are one link away)."""
QUOTES_SHOWN = 5
_statements = StatementCache()


def panels(name: str, request: Any, obj: Any) -> list[Panel]:
    if name != CARD_SLOT or not isinstance(obj, Party) or obj.id is None:
        return []
    viewer = user(request)
    session = db(request)
    return [
        Panel("pipeline.deals", _("Deals"), "pipeline/panel_deals.html", deals_context(session, viewer, obj), order=20),
        Panel("pipeline.sales", _("Sales history"), lazy_url=f"/pipeline/customers/{obj.id}/sales", order=21),
    ]


def _stage_label(name: str) -> str:
    return _(name) if name in BUILTIN_STAGES else name


@functools.lru_cache(maxsize=4096)
def _shown(minor: int, currency: str, close: dt.date | None, language: str) -> tuple[str, str]:
    """A deal's amount and close date as the panel shows them: Babel's formatting costs more than the
    query, and the same deals are shown on every visit of the card."""
    return format_money(minor, currency), format_date(close, "short", locale=language) if close else ""


class PanelDeal(NamedTuple):
    id: int
    name: str
    stage: str
    outcome: str
    amount: str
    close: str


def _panel_rows(rows: list[Any]) -> list[PanelDeal]:
    language = i18n.current_language.get()
    return [PanelDeal(r.id, r.name, _stage_label(r.stage), r.outcome, *_shown(r.amount_minor, r.amount_currency,
                                                                               r.expected_close, language))
            for r in rows]  # fmt: skip


def _deal_columns() -> tuple[Any, ...]:
    """What a panel line shows of a deal, the same for the customer's own deals and its stakeholder roles."""
    return (
        Opportunity.id,
        Opportunity.name,
        Opportunity.amount_minor,
        Opportunity.amount_currency,
        Opportunity.expected_close,
        Opportunity.probability,
        Stage.name.label("stage"),
        Stage.outcome,
    )


def _open_deals(query: Any, viewer: Any) -> Any:
    """Open, live deals ``viewer`` may see, soonest close first, at most ``shown`` of them."""
    return (
        query.join(Stage, Stage.id == Opportunity.stage_id)
        .where(Opportunity.status == OPEN, Opportunity.deleted_at.is_(None), visible(Opportunity, viewer))
        .order_by(Opportunity.expected_close.is_(None), Opportunity.expected_close, Opportunity.id)
        .limit(bindparam("shown", type_=Integer))
    )


def _open_deals_query(viewer: Any) -> Any:
    query = select(*_deal_columns()).where(Opportunity.customer_id == bindparam("party_id", type_=Integer))
    return _open_deals(query, viewer)


def _stakeholder_deals_query(viewer: Any) -> Any:
    query = (
        select(*_deal_columns(), Stakeholder.role)
        .select_from(Stakeholder)
        .join(Opportunity, Opportunity.id == Stakeholder.opportunity_id)
        .where(Stakeholder.party_id == bindparam("party_id", type_=Integer))
    )
    return _open_deals(query, viewer)


def deals_context(session: Session, viewer: Any, party: Any) -> dict[str, Any]:
    """The "Deals" panel: open deals of the customer, then open deals the party is a stakeholder of."""
    key = visibility_key(viewer)
    params = {"party_id": party.id, "shown": SHOWN + 1}
    own = list(session.execute(_statements.get(("own", key), lambda: _open_deals_query(viewer)), params))
    staked = list(session.execute(_statements.get(("staked", key), lambda: _stakeholder_deals_query(viewer)), params))
    own_ids = {row.id for row in own}
    return {
        "party_id": party.id,
        "deals": _panel_rows(own[:SHOWN]),
        "more": len(own) > SHOWN,
        "staked": _panel_rows([row for row in staked[:SHOWN] if row.id not in own_ids]),
        "can_create": viewer.can(EDIT),
    }


@dataclass
class Totals:
    """Amounts converted to the base currency one by one and added; those without a rate kept apart."""

    base: str
    count: int = 0
    minor: int = 0
    unconverted: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def total(self) -> Money:
        return Money(self.minor, self.base)

    @property
    def missing(self) -> list[Money]:
        return [Money(minor, code) for code, minor in sorted(self.unconverted.items())]


def _add_up(book: RateBook, rows: list[tuple[int, str, dt.date | None]]) -> Totals:
    totals = Totals(book.base)
    for minor, currency, on in rows:
        totals.count += 1
        try:
            totals.minor += book.to_base(Money(minor, currency), on).minor
        except (RateMissing, ValueError):
            totals.unconverted[currency] += minor
    return totals


def sales_context(session: Session, viewer: Any, party_id: int) -> dict[str, Any]:
    """Won deals, orders and the latest quotes of a customer, as the viewer may see them."""
    won = [
        (r.amount_minor, r.amount_currency, r.closed_on)
        for r in session.execute(
            select(Opportunity.amount_minor, Opportunity.amount_currency, Opportunity.closed_on).where(
                Opportunity.customer_id == party_id,
                Opportunity.status == WON,
                Opportunity.deleted_at.is_(None),
                visible(Opportunity, viewer),
            )
        )
    ]
    lost = session.execute(
        select(Opportunity.id)
        .where(
            Opportunity.customer_id == party_id,
            Opportunity.status == LOST,
            Opportunity.deleted_at.is_(None),
            visible(Opportunity, viewer),
        )
        .limit(1000)
    ).all()
    orders = [
        (r.total_minor, r.currency, r.ordered_on)
        for r in session.execute(
            select(Order.total_minor, Order.currency, Order.ordered_on).where(
                Order.customer_id == party_id,
                Order.status != "cancelled",
                Order.deleted_at.is_(None),
                visible(Order, viewer),
            )
        )
    ]
    quotes = list(
        session.execute(
            select(
                Quote.id, Quote.number, Quote.revision, Quote.status, Quote.total_minor, Quote.currency, Quote.issued_on
            )
            .where(Quote.customer_id == party_id, Quote.deleted_at.is_(None), visible(Quote, viewer))
            .order_by(Quote.id.desc())
            .limit(QUOTES_SHOWN + 1)
        )
    )
    dates = [on for rows in (won, orders) for _m, _c, on in rows if on is not None]
    book = RateBook.load(
        session, {c for rows in (won, orders) for _m, c, _on in rows if c}, max(dates) if dates else None
    )
    won_totals, order_totals = _add_up(book, won), _add_up(book, orders)
    closed = won_totals.count + len(lost)
    return {
        "party_id": party_id,
        "won": won_totals,
        "lost_count": len(lost),
        "win_rate": round(100 * won_totals.count / closed) if closed else None,
        "orders": order_totals,
        "quotes": [(q, _(QUOTE_STATUS_LABELS.get(q.status, q.status))) for q in quotes[:QUOTES_SHOWN]],
        "more_quotes": len(quotes) > QUOTES_SHOWN,
        "base": book.base,
    }


@requires(VIEW)
async def sales_panel(request: Request) -> Response:
    """The lazy "Sales history" panel of a customer card (a page of its own without HTMX)."""
    party_id = parse_id(request.path_params.get("party_id"))
    viewer = user(request)
    session = db(request)
    party = None
    if party_id is not None:
        query = select(Party.id, Party.name).where(
            Party.id == party_id, Party.deleted_at.is_(None), visible(Party, viewer)
        )
        party = session.execute(query).first()
    if party is None:
        raise HTTPException(404, _("There is no such contact, or it is not yours to see."))
    ctx = {"party": party, "sales": sales_context(session, viewer, party.id)}
    return render(request, "pipeline/panel_sales.html", ctx, block="panel")

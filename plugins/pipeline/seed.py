"""Demo and benchmark data for the pipeline: a product catalogue, exchange rates, deals with their stage
histories and stakeholders, and quotes and orders for some of the won deals.

How many (:func:`.seed_deals.scaled`): 600 deals at scale 1, then 1,000 per step, so ``voronka demo --scale
1000`` makes a million deals with about 4.8 million stage-history rows. Deals are made and
inserted in chunks of :data:`CHUNK` (rows go through ``ctx.bulk_insert`` only), then the analytics sums are
rebuilt once (bulk inserts bypass the write path that keeps them current).

Customers are contacts' seeded organisations (bigger ones get more deals) and some people; a deal usually
belongs to its customer's owner, else to another seeded sales person; stakeholders are people employed at
the customer, with influence roles (decision maker, influencer, champion: contacts' relationship keys).
Won deals sometimes have an accepted quote and the order it became, numbered from the company sequences
(``core_sequence`` moves past the numbers used). ``ctx.ids`` gets ``pipeline.deals`` and
``pipeline.products``.
"""

from __future__ import annotations

import datetime as dt
import logging
from array import array
from typing import Any

from sqlalchemy import func, select, update

from voronka.core.company import company_settings
from voronka.core.models_company import NumberSequence
from voronka.core.seeding import SeedContext
from voronka.core.sequences import format_number
from voronka.core.types import utcnow
from voronka.plugins.contacts.api import Party, Relationship, RelationshipType

from . import pricing, seed_catalogue, seed_deals
from .models import WON, Opportunity, Order, OrderLine, Quote, QuoteLine, StageChange, Stakeholder
from .stages import catalogue

log = logging.getLogger(__name__)

CHUNK = 50_000
TOTALS = ("subtotal_minor", "discount_minor", "tax_minor", "total_minor")
QUOTED = 0.12
"""Share of won deals with a quote and an order."""


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    pipeline = catalogue(session).default()
    if (
        pipeline is None
        or not pipeline.open_stages
        or pipeline.closing(WON) is None
        or pipeline.closing("lost") is None
    ):
        log.warning("pipeline seed skipped: no default pipeline with open, won and lost stages")
        return {}
    owners = list(ctx.ids.get("core.sales") or ctx.ids.get("core.users") or [])
    if not owners:
        first = session.scalar(select(func.min(_users().c.id)))
        owners = [first] if first is not None else []
    if not owners:
        return {}
    settings = company_settings(session)
    now = utcnow().replace(microsecond=0)
    counts: dict[str, int] = {}
    products = seed_catalogue.seed_products(ctx)
    ctx.ids["pipeline.products"] = [pid for pid, _item in products]
    counts["products"] = len(products)
    first_day = (now - dt.timedelta(days=seed_deals.HISTORY_DAYS + 1)).date()
    counts["rates"] = seed_catalogue.seed_rates(ctx, settings.base_currency, first_day, now.date())
    maker = seed_deals.Maker(ctx, pipeline, _customers(ctx, owners), products, owners, settings.zone, now)
    total = seed_deals.scaled(ctx.scale)
    deal_ids: list[int] = []
    quoted: list[tuple[int, dict[str, Any], tuple[int, int, int, int]]] = []
    counts["history"] = counts["stakeholders"] = 0
    for start in range(0, total, CHUNK):
        made = maker.chunk(min(CHUNK, total - start))
        ids = ctx.bulk_insert(Opportunity.__table__, made.deals, returning_ids=True)
        deal_ids += ids
        counts["history"] += ctx.bulk_insert(StageChange.__table__, (
            row for deal_id, walk, deal in zip(ids, made.walks, made.deals, strict=True)
            for row in maker.history(deal_id, walk, deal["owner_user_id"])))  # fmt: skip
        people = [
            {"opportunity_id": deal_id, "party_id": party, "role": role, "note": ""}
            for deal_id, picked in zip(ids, made.stakeholders, strict=True)
            for party, role in picked
        ]
        if people:
            counts["stakeholders"] += ctx.bulk_insert(Stakeholder.__table__, people)
        for deal_id, deal, line in zip(ids, made.deals, made.lines, strict=True):
            if deal["status"] == WON and deal["customer_id"] is not None and ctx.rng.random() < QUOTED:
                quoted.append((deal_id, deal, line))
    counts["deals"] = len(deal_ids)
    ctx.ids["pipeline.deals"] = deal_ids
    counts.update(_quotes_and_orders(ctx, quoted, products, now))
    _rebuild_sums(session)
    log.info("pipeline seeded %s", counts)
    return counts


def _users() -> Any:
    from voronka.core.models import User

    return User.__table__


def _customers(ctx: SeedContext, owners: list[int]) -> seed_deals.Customers:
    """The organisations and people contacts seeded (by id range, then kept to those ids), with staff."""
    session = ctx.session
    org_ids = set(ctx.ids.get("contacts.organisations") or [])
    people = list(ctx.ids.get("contacts.people") or [])
    orgs: list[tuple[int, int | None, int | None, str]] = []
    staff: dict[int, array[int]] = {}
    if org_ids:
        low, high = min(org_ids), max(org_ids)
        for party_id, owner, team, name in session.execute(
            select(Party.id, Party.owner_user_id, Party.owner_team_id, Party.name)
            .where(Party.id.between(low, high), Party.kind == "organisation")
            .order_by(Party.id)
        ):
            if party_id in org_ids:
                orgs.append((party_id, owner, team, name))
        employment = session.scalar(select(RelationshipType.id).where(RelationshipType.key == "employment"))
        if employment is not None:
            for person, org in session.execute(
                select(Relationship.a_id, Relationship.b_id).where(
                    Relationship.type_id == employment, Relationship.b_id.between(low, high))
            ):  # fmt: skip
                if org in org_ids:
                    staff.setdefault(org, array("i")).append(person)
    return seed_deals.Customers(orgs, people, staff, owners)


def _numbers(ctx: SeedContext, key: str, days: list[dt.date]) -> list[str]:
    """Numbers for documents dated ``days`` (in order) as the sequence would give them, and the sequence
    moved past them: per year from 1 when it was never used, else on from its current value."""
    row = ctx.session.get(NumberSequence, key)
    if row is None:
        return [f"{key.rsplit('.', 1)[-1].upper()}-DEMO-{n + 1}" for n in range(len(days))]
    numbers: list[str] = []
    if row.per_year and row.year is None:
        counters: dict[int, int] = {}
        for day in days:
            counters[day.year] = counters.get(day.year, 0) + 1
            numbers.append(format_number(row.prefix, row.digits, True, day.year, counters[day.year]))
        if counters:
            year = max(counters)
            ctx.session.execute(update(NumberSequence).where(NumberSequence.key == key)
                                .values(year=year, next_value=counters[year] + 1))  # fmt: skip
        return numbers
    value = row.next_value
    for _day in days:
        numbers.append(format_number(row.prefix, row.digits, row.per_year, row.year, value))
        value += 1
    ctx.session.execute(update(NumberSequence).where(NumberSequence.key == key).values(next_value=value))
    return numbers


def _quotes_and_orders(ctx: SeedContext, quoted: list[tuple[int, dict[str, Any], tuple[int, int, int, int]]],
                       products: list[tuple[int, Any]], now: dt.datetime) -> dict[str, int]:  # fmt: skip
    """An accepted quote and its order for each of ``quoted`` (one line: the deal's product), by close date."""
    if not quoted:
        return {"quotes": 0, "orders": 0}
    rng = ctx.rng
    quoted.sort(key=lambda item: (item[1]["closed_on"], item[0]))
    issued = [deal["closed_on"] - dt.timedelta(days=3 + int(rng.random() * 20)) for _id, deal, _line in quoted]
    quote_numbers = _numbers(ctx, "pipeline.quote", sorted(issued))
    order_numbers = _numbers(ctx, "pipeline.order", [deal["closed_on"] for _id, deal, _line in quoted])
    by_issue = sorted(range(len(quoted)), key=lambda n: (issued[n], n))
    quote_number = {n: quote_numbers[rank] for rank, n in enumerate(by_issue)}
    quotes, amounts = [], []
    for n, (deal_id, deal, (_index, quantity, price, discount)) in enumerate(quoted):
        amounts.append(pricing.price_line(quantity * 1000, price, discount, seed_catalogue.VAT_BP))
        header = pricing.totals([(seed_catalogue.VAT_BP, amounts[-1])]).columns()
        moment = dt.datetime.combine(issued[n], dt.time(10), tzinfo=dt.UTC)
        quotes.append({"number": quote_number[n], "revision": 1, "opportunity_id": deal_id,
                       "customer_id": deal["customer_id"], "currency": deal["amount_currency"], "status": "accepted",
                       "issued_on": issued[n], "valid_until": issued[n] + dt.timedelta(days=30), "note": "",
                       "created_at": moment, "updated_at": moment, "owner_user_id": deal["owner_user_id"],
                       "owner_team_id": None, "version": 1, "custom": {}, "deleted_at": None, **header})  # fmt: skip
    quote_ids = ctx.bulk_insert(Quote.__table__, quotes, returning_ids=True)
    orders = []
    for n, (deal_id, deal, _line) in enumerate(quoted):
        moment = dt.datetime.combine(deal["closed_on"], dt.time(15), tzinfo=dt.UTC)
        recent = (now.date() - deal["closed_on"]).days < 30
        orders.append({"number": order_numbers[n], "quote_id": quote_ids[n], "opportunity_id": deal_id,
                       "customer_id": deal["customer_id"], "currency": deal["amount_currency"],
                       "status": "open" if recent else "fulfilled", "ordered_on": deal["closed_on"], "note": "",
                       "created_at": moment, "updated_at": moment, "owner_user_id": deal["owner_user_id"],
                       "owner_team_id": None, "version": 1, "custom": {}, "deleted_at": None,
                       **{k: quotes[n][k] for k in TOTALS}})  # fmt: skip
    order_ids = ctx.bulk_insert(Order.__table__, orders, returning_ids=True)

    lang = "uk" if ctx.language == "uk" else "en"

    def lines(owner_key: str, owners: list[int]) -> list[dict[str, Any]]:
        found = []
        for n, (_deal_id, _deal, (index, quantity, price, discount)) in enumerate(quoted):
            pid, item = products[index]
            a = amounts[n]
            found.append({owner_key: owners[n], "position": 1, "product_id": pid, "description": item.name[lang],
                          "quantity_milli": quantity * 1000, "unit_price_minor": price, "discount_bp": discount,
                          "tax_rate_bp": seed_catalogue.VAT_BP, "gross_minor": a.gross, "discount_minor": a.discount,
                          "net_minor": a.net, "tax_minor": a.tax, "total_minor": a.total})  # fmt: skip
        return found

    ctx.bulk_insert(QuoteLine.__table__, lines("quote_id", quote_ids))
    ctx.bulk_insert(OrderLine.__table__, lines("order_id", order_ids))
    return {"quotes": len(quote_ids), "orders": len(order_ids)}


def _rebuild_sums(session: Any) -> None:
    """The analytics sums from the inserted deals (bulk inserts skip the write path that keeps them)."""
    from . import deal_rollups

    rebuild = getattr(deal_rollups, "rebuild", None)
    if rebuild is not None:
        rebuild(session)

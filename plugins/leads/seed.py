"""Demo leads (``voronka demo``): campaigns with costs and tracking codes, about 600 leads per scale step
over the last twelve months (see :mod:`.seed_leads`), qualification histories on the example script (see
:mod:`.seed_scripts`), and what qualified leads became — so the channel report has a story to tell.

What qualified leads became:

- older qualified leads are the start of deals pipeline seeded (when it is on): each such lead arrived a
  few days before its deal and was qualified the day the deal was created; its outcome rows (the
  opportunity, the customer organisation) carry the deal's result and amount in the base currency, as
  ``deal_results`` would have written them from pipeline's events. Without pipeline they became
  organisations contacts seeded;
- a dozen recent leads are qualified through the qualify service itself (``qualify.qualify``, imported
  lazily) when the seed is given a plugin host (``ctx.host``): it creates their organisation, person and,
  with pipeline on, an open deal, all through core's write path, so they show in pipeline like any other.

Rows go through ``ctx.bulk_insert``; the channel report's sums are recounted once at the end (bulk inserts
bypass the write path that keeps them). ``ctx.ids`` gets ``leads.campaigns`` and ``leads.leads``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import BigInteger, Date, Integer, String, column, select, table
from sqlalchemy.orm import Session

from voronka.core.company import company_settings
from voronka.core.currency import RateBook, RateMissing
from voronka.core.seeding import SeedContext
from voronka.core.types import Money, UTCDateTime, utcnow
from voronka.plugins.contacts.api import Party

from . import channel_rollups, seed_leads, seed_scripts
from .models import Campaign, Lead, LeadOutcome, Qualification

log = logging.getLogger(__name__)

PER_SCALE = 600
LINKED_SHARE = 0.2
"""Share of the leads that were qualified into a seeded deal (or organisation)."""
LIVE_QUALIFY = 12
"""Recent leads qualified through the qualify service when a plugin host is at hand."""
DEALS = table("pipeline_opportunity", column("id", Integer), column("created_at", UTCDateTime()),
              column("status", String), column("closed_on", Date), column("amount_minor", BigInteger),
              column("amount_currency", String), column("customer_id", Integer), column("owner_user_id", Integer),
              column("deleted_at", UTCDateTime()))  # fmt: skip
"""Pipeline's deals, read by table name: leads never imports pipeline."""


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    owners = list(ctx.ids.get("core.sales") or ctx.ids.get("core.users") or [])
    if not owners:
        log.warning("leads seed skipped: no users to own the leads")
        return {}
    settings = company_settings(session)
    now = utcnow().replace(microsecond=0)
    today = settings.today()
    host = getattr(ctx, "host", None)
    campaign_rows = seed_leads.campaign_rows(ctx.language, today, now, (ctx.ids.get("core.managers") or owners)[0])
    campaign_ids = ctx.bulk_insert(Campaign.__table__, campaign_rows, returning_ids=True)
    ctx.ids["leads.campaigns"] = campaign_ids
    running = [(cid, row["channel"], row["tracking_code"], row["starts_on"], row["ends_on"] or today)
               for cid, row in zip(campaign_ids, campaign_rows, strict=True)]  # fmt: skip
    queue = (ctx.ids.get("core.queues") or [None])[0]
    maker = seed_leads.Maker(ctx.rng, ctx.language, now, running, owners, queue)
    total = PER_SCALE * max(1, ctx.scale)
    leads: list[dict[str, Any]] = []
    outcomes: list[list[dict[str, Any]]] = []
    for lead, made in _linked(ctx, maker, int(total * LINKED_SHARE), now, today):
        leads.append(lead)
        outcomes.append(made)
    live = LIVE_QUALIFY if host is not None and _qualify_service() is not None else 0
    while len(leads) < total:
        created = maker.moment()
        channel = maker.channel()
        if live and (now - created).days < seed_leads.RECENT and (now - created).days >= 1:
            live -= 1
            leads.append(maker.lead(created, channel, "qualified", "", now - dt.timedelta(hours=2), None,
                                    company=maker.company()))  # fmt: skip
            outcomes.append([{"live": True}])
            continue
        status, reason = maker.status(channel, created)
        closed = min(created + dt.timedelta(days=1 + ctx.rng.random() * 20), now) if status == "disqualified" else None
        leads.append(maker.lead(created, channel, status, reason, closed, None))
        outcomes.append([])
    plugin_host = getattr(host, "host", None) if hasattr(getattr(host, "host", None), "pm") else host
    version = seed_scripts.example_version(session, plugin_host, owners[0], now)
    planned = seed_scripts.plan_runs(leads, version, ctx.rng, ctx.language, now) if version else []
    to_qualify = [i for i, made in enumerate(outcomes) if made == [{"live": True}]]
    for index in to_qualify:  # open until the service qualifies them below
        leads[index].update(status="contacted", closed_at=None, closed_by_id=None)
    lead_ids = ctx.bulk_insert(Lead.__table__, leads, returning_ids=True)
    ctx.ids["leads.leads"] = lead_ids
    rows = [{**row, "lead_id": lead_ids[i]} for i, made in enumerate(outcomes) for row in made if "live" not in row]
    counts = {"campaigns": len(campaign_ids), "leads": len(lead_ids),
              "outcomes": ctx.bulk_insert(LeadOutcome.__table__, rows) if rows else 0,
              "qualifications": ctx.bulk_insert(Qualification.__table__,
                                                [{**run, "lead_id": lead_ids[i]} for i, run in planned])
              if planned else 0}  # fmt: skip
    counts["qualified_live"] = _qualify_live(session, host, [lead_ids[i] for i in to_qualify], leads, to_qualify)
    counts["channel_days"] = channel_rollups.recount(session)
    log.info("leads seeded %s", counts)
    return counts


def _qualify_service() -> Any:
    try:
        from . import qualify
    except ImportError:
        return None
    return getattr(qualify, "qualify", None)


def _qualify_live(session: Session, host: Any, ids: list[int], leads: list[dict[str, Any]],
                  indexes: list[int]) -> int:  # fmt: skip
    """Qualify ``ids`` through the service, as their owners (a refusal leaves that lead open)."""
    service = _qualify_service()
    if service is None or host is None:
        return 0
    done = 0
    for lead_id, index in zip(ids, indexes, strict=True):
        actor = leads[index]["owner_user_id"] or leads[index]["closed_by_id"]
        try:
            service(session, host, actor, lead_id)
            done += 1
        except Exception as exc:  # one refusal (a duplicate, a plugin off) must not sink the demo
            log.warning("leads seed: lead %s was not qualified: %s", lead_id, exc)
    return done


def _linked(ctx: SeedContext, maker: seed_leads.Maker, wanted: int, now: dt.datetime,
            today: dt.date) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:  # fmt: skip
    """Qualified leads and their outcome rows: the start of seeded deals, else of seeded organisations."""
    session, rng = ctx.session, ctx.rng
    deal_ids = ctx.ids.get("pipeline.deals") or []
    orgs = ctx.ids.get("contacts.organisations") or []
    found: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if deal_ids and wanted:
        first = now - dt.timedelta(days=seed_leads.DAYS - 22)
        query = (select(DEALS).where(DEALS.c.id.between(min(deal_ids), max(deal_ids)), DEALS.c.deleted_at.is_(None),
                                     DEALS.c.created_at >= first, DEALS.c.created_at <= now - dt.timedelta(days=2))
                 .order_by(DEALS.c.id))  # fmt: skip
        deals = [d for d in session.execute(query)]
        picked = sorted(rng.sample(deals, min(wanted, len(deals))), key=lambda d: d.id)
        kinds = _party_kinds(session, {d.customer_id for d in picked if d.customer_id})
        book = RateBook.load(session, {d.amount_currency for d in picked if d.amount_currency}, today)
        for deal in picked:
            qualified_at = _aware(deal.created_at)
            created = qualified_at - dt.timedelta(days=1 + rng.random() * 20)
            org_name = kinds.get(deal.customer_id, ("", ""))[1] if kinds.get(deal.customer_id, ("",))[0] else None
            lead = maker.lead(created, maker.channel(qualified=True), "qualified", "", qualified_at,
                              deal.owner_user_id, company=org_name)  # fmt: skip
            made = [_outcome("pipeline.opportunity", "opportunity", deal.id, qualified_at, lead, True)]
            if deal.status in ("won", "lost"):
                closed_on = _day(deal.closed_on)
                made[0].update(deal_status=deal.status, deal_closed_on=closed_on,
                               **_base(book, deal.amount_minor, deal.amount_currency, closed_on))  # fmt: skip
            if deal.customer_id and kinds.get(deal.customer_id, ("",))[0] == "organisation":
                made.insert(0, _outcome("leads.organisation", "organisation", deal.customer_id, qualified_at, lead,
                                        False))  # fmt: skip
            found.append((lead, made))
    # qualified into a customer only (no deal yet, or pipeline is off)
    extra = len(found) // 5 if found else wanted
    pool = orgs[:5000]
    if pool and extra:
        names = dict(session.execute(select(Party.id, Party.name).where(Party.id.in_(pool))).all())
        for org in sorted(rng.sample(pool, min(extra, len(pool)))):
            created = maker.moment()
            closed = min(created + dt.timedelta(days=1 + rng.random() * 15), now)
            lead = maker.lead(created, maker.channel(qualified=True), "qualified", "", closed, None,
                              company=names.get(org, ""))  # fmt: skip
            found.append((lead, [_outcome("leads.organisation", "organisation", org, closed, lead, False)]))
    return found


def _party_kinds(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), 1000):
        for party_id, kind, name in session.execute(
            select(Party.id, Party.kind, Party.name).where(Party.id.in_(wanted[start : start + 1000]))
        ):
            found[party_id] = (kind, name)
    return found


def _outcome(key: str, kind: str, record_id: int, at: dt.datetime, lead: dict[str, Any],
             created: bool) -> dict[str, Any]:  # fmt: skip
    return {"outcome": key, "kind": kind, "record_id": record_id, "created": created, "at": at,
            "by_id": lead["closed_by_id"], "deal_status": "", "deal_amount_base_minor": None,
            "deal_base_currency": "", "deal_closed_on": None}  # fmt: skip


def _base(book: RateBook, minor: int, currency: str, on: dt.date | None) -> dict[str, Any]:
    """The deal's amount in the base currency at its close date (None without a rate, as deal_results)."""
    try:
        money = book.to_base(Money(int(minor or 0), currency or book.base), on or book.today)
    except RateMissing:
        return {"deal_amount_base_minor": None, "deal_base_currency": ""}
    return {"deal_amount_base_minor": money.minor, "deal_base_currency": book.base}


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _day(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])

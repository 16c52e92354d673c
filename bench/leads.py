"""Leads at scale: the channel report over 1,000,000 leads and 300,000 opportunities, and the recount.

    python -m bench.leads                                 # SQLite, /work/bench-data/leads-1000000.sqlite
    python -m bench.leads --leads 50000 --opportunities 15000 --sqlite-file /tmp/l.sqlite
    python -m bench.leads --pg                            # the same on PostgreSQL (database kept)

Target (issue 6): the channel report over 1,000,000 leads and 300,000 opportunities under 500 ms.

**The data**: core's demo organisation at scale 13, daily EUR rates for four years, 40 campaigns (costs in
UAH, some in EUR, over the last three years), then ``--leads`` leads created over the last three years in
ten channels (40 % through a campaign running that day), a third qualified, 40 % disqualified, and
``--opportunities`` :class:`LeadOutcome` opportunity rows on qualified leads (older ones mostly closed, a
third of those won, amounts in base minor units). Rows go in with core's bulk insert (executemany on
SQLite, COPY on PostgreSQL); ``leads_channel_day`` is then built by ``channel_rollups.recount`` (timed).
A kept database is seeded once; a later run goes straight to timing.

**What is timed**, warm, in-process, median and p95 of ``--repeat`` after a warm-up, wall and CPU ms:
the report's figures (``channel_report.build``) for this month, this year, the last 12 months and all
three years; ``GET /leads/report`` (whole page: figures, chart, tables) for the same periods as an
administrator; a lead created through ``writes.save`` (rules, audit, events and the sums' upsert, commit);
and ``channel_rollups.recount`` over everything (wall and CPU, once per run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select, text

from bench.databases import (
    add_kept_database_arguments,
    has_rows,
    kept_database,
    settings_for,
    upgraded,
)
from bench.harness import call, lifespan, run_in_new_loop, time_calls
from bench.shell import FORM, TOKEN
from voronka.core.company import company_settings
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.models_company import ExchangeRate
from voronka.core.seeding import SeedContext, bulk_insert
from voronka.core.writes import save
from voronka.web import seed_core
from voronka.web.app import create_app
from voronka.web.provision import upgrade
from voronka.web.testkit.users import TEST_PASSWORD, create_test_users

from voronka.plugins.leads import channel_report, channel_rollups  # isort: skip
from voronka.plugins.leads.models import Campaign, ChannelDay, Lead, LeadOutcome  # isort: skip

CHUNK = 50_000
UTC = dt.UTC
CHANNELS = ("leads.web_form", "leads.phone", "leads.email", "leads.campaign", "leads.import", "leads.api",
            "leads.referral", "leads.manual", "outlook.mail", "partners.portal")  # fmt: skip
REASONS = ("lost", "cannot_contact", "not_interested", "canceled")
PERIODS = (("this month", "period=this_month"), ("this year", "period=this_year"),
           ("last 12 months", "period=last_12_months"),
           ("three years", "period=custom&from={start}&to={today}"))  # fmt: skip


# -- generating ---------------------------------------------------------------------------------------------


def generate(url: str, leads: int, opportunities: int, workdir: Path) -> None:
    settings = settings_for(url, workdir, [])
    _, failures = upgrade(settings)
    if failures:
        raise RuntimeError(f"migrations failed: {failures}")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    started, cpu = time.perf_counter(), time.process_time()
    rng = random.Random(20261128)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    with write_transaction(sessions) as session:
        create_test_users(session)
        ctx = SeedContext(engine=engine, session=session, scale=13)
        seed_core.seed_core(ctx)
        today = company_settings(session).today()
        rates, rate = [], 42.0
        for n in range(4 * 365):
            rate *= 1 + rng.uniform(-0.004, 0.0042)
            rates.append({"currency": "EUR", "valid_on": today - dt.timedelta(days=4 * 365 - n), "rate": f"{rate:.4f}",
                          "created_at": now})  # fmt: skip
        bulk_insert(session, ExchangeRate, rates)
        owners = list(ctx.ids["core.sales"])
        campaigns = []
        for n in range(40):
            starts = today - dt.timedelta(days=rng.randrange(30, 3 * 365))
            ends = starts + dt.timedelta(days=rng.randrange(7, 200))
            euro = n % 5 == 0
            campaigns.append({"name": f"Campaign {n}", "name_key": f"campaign {n}", "tracking_code": f"c{n}",
                              "channel": rng.choice(CHANNELS[:4]), "starts_on": starts, "ends_on": min(ends, today),
                              "cost_minor": rng.randrange(1_000, 200_000) * (100 if not euro else 3),
                              "cost_currency": "EUR" if euro else "", "created_at": now,
                              "updated_at": now})  # fmt: skip
        campaign_ids = bulk_insert(session, Campaign, campaigns, returning_ids=True)
    running = [
        (cid, c["channel"], c["starts_on"], c["ends_on"]) for cid, c in zip(campaign_ids, campaigns, strict=True)
    ]
    qualified: list[tuple[int, dt.datetime]] = []
    lead_id = 0
    for first in range(0, leads, CHUNK):
        rows = []
        for _n in range(min(CHUNK, leads - first)):
            lead_id += 1
            created = now - dt.timedelta(seconds=rng.uniform(3_600, 3 * 365 * 86_400))
            day = created.date()
            channel, campaign = rng.choice(CHANNELS), None
            if rng.random() < 0.4:
                live = [c for c in running if c[2] <= day <= c[3]]
                if live:
                    campaign = rng.choice(live)
                    channel = campaign[1]
            roll = rng.random()
            status = (
                "qualified" if roll < 0.33 else ("disqualified" if roll < 0.73 else rng.choice(("new", "contacted")))
            )
            closed = (
                created + dt.timedelta(days=rng.uniform(0.1, 20)) if status in ("qualified", "disqualified") else None
            )
            closed = min(closed, now) if closed else None
            owner = rng.choice(owners)
            rows.append({"id": lead_id, "name": f"Lead {lead_id}", "name_key": f"lead {lead_id}",
                         "first_name": "Lead", "last_name": str(lead_id), "email": f"lead{lead_id}@example.com",
                         "email_key": f"lead{lead_id}@example.com", "channel": channel,
                         "campaign_id": campaign[0] if campaign else None, "status": status,
                         "disqualify_reason": rng.choice(REASONS) if status == "disqualified" else "",
                         "closed_at": closed, "closed_by_id": owner if closed else None, "created_at": created,
                         "updated_at": closed or created, "owner_user_id": owner, "owner_team_id": None,
                         "payload": {}, "custom": {}, "version": 1})  # fmt: skip
            if status == "qualified":
                qualified.append((lead_id, closed or created))
        with write_transaction(sessions) as session:
            bulk_insert(session, Lead, rows)
        print(f"  {lead_id:,} leads, {time.perf_counter() - started:.0f} s", flush=True)
    with engine.connect() as conn:  # the outcomes' foreign-key checks need the leads' statistics on PostgreSQL
        conn.execute(text("ANALYZE leads_lead"))
        conn.commit()
    zone = company_settings(sessions()).zone
    picked = rng.sample(qualified, min(opportunities, len(qualified)))
    picked.sort()
    for first in range(0, len(picked), CHUNK):
        rows = []
        for index, (lead, at) in enumerate(picked[first : first + CHUNK], start=first):
            age = (now - at).days
            closing = rng.random() < (0.85 if age > 120 else 0.3)
            status = ("won" if rng.random() < 0.33 else "lost") if closing else ""
            closed_on = (
                min(now, at + dt.timedelta(days=rng.uniform(3, 200))).astimezone(zone).date() if closing else None
            )
            amount = int(rng.uniform(5_000, 2_000_000)) * 100 if closing else None
            rows.append({"lead_id": lead, "outcome": "pipeline.opportunity", "kind": "opportunity",
                         "record_id": index + 1, "created": True, "at": at, "by_id": None, "deal_status": status,
                         "deal_amount_base_minor": amount, "deal_base_currency": "UAH" if amount else "",
                         "deal_closed_on": closed_on})  # fmt: skip
        with write_transaction(sessions) as session:
            bulk_insert(session, LeadOutcome, rows)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), (SELECT max(id) FROM leads_lead))")
            )
        conn.commit()
    print(f"seeded {leads:,} leads, {len(picked):,} opportunities in {time.perf_counter() - started:.0f} s wall, "
          f"{time.process_time() - cpu:.0f} s CPU", flush=True)  # fmt: skip
    print(_recount(sessions), flush=True)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()


def _recount(sessions: Any) -> str:
    started, cpu = time.perf_counter(), time.process_time()
    with write_transaction(sessions) as session:
        rows = channel_rollups.recount(session)
    wall = (time.perf_counter() - started) * 1000
    return (f"  {'channel_rollups.recount (rebuild, commit)':<58} {wall:8.0f} ms wall "
            f"CPU {(time.process_time() - cpu) * 1000:8.0f} ms  ({rows:,} day rows)")  # fmt: skip


# -- timing -------------------------------------------------------------------------------------------------


def _figure(label: str, walls: list[float], cpu_ms: float) -> str:
    walls = sorted(walls)
    p95 = walls[min(len(walls) - 1, int(len(walls) * 0.95))]
    return f"  {label:<58} median {statistics.median(walls):8.1f} ms  p95 {p95:8.1f} ms  CPU {cpu_ms:8.1f} ms/call"


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 2) -> tuple[list[float], float]:
    for _ in range(warmup):
        fn()
    walls, cpu = [], time.process_time()
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        walls.append((time.perf_counter() - started) * 1000)
    return walls, (time.process_time() - cpu) * 1000 / repeat


async def login(app: Any, username: str, password: str) -> dict[str, str]:
    page = await call(app, "GET", "/login")
    match = TOKEN.search(page.body)
    assert match is not None, "no CSRF token on the login page"
    body = f"username={quote(username)}&password={quote(password)}&csrf_token={match.group(1).decode()}&next=/"
    done = await call(app, "POST", "/login", cookies=page.cookies(), body=body.encode(), headers=FORM)
    assert done.status == 303, f"login as {username} failed: {done.status}"
    return done.cookies()


def measure(url: str, workdir: Path, repeat: int, recount: bool) -> list[str]:
    settings = settings_for(url, workdir, [])
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    lines = []
    with sessions() as session:
        leads = session.scalar(select(func.count()).select_from(Lead))
        opportunities = session.scalar(select(func.count()).select_from(LeadOutcome))
        days = session.scalar(select(func.count()).select_from(ChannelDay))
        company = company_settings(session)
        today = company.today()
        start = today - dt.timedelta(days=3 * 365 + 1)
        lines.append(f"{engine.dialect.name}: {leads:,} leads, {opportunities:,} opportunity rows, {days:,} day rows")
        for label, query in PERIODS:
            params = dict(p.split("=") for p in query.format(start=start, today=today).split("&"))
            period, _problems = channel_report.parse_period(company, params)
            walls, cpu = timed(lambda p=period: channel_report.build(session, None, p), repeat)
            lines.append(_figure(f"report figures, {label}", walls, cpu))
    if recount:
        lines.append(_recount(sessions))

    async def pages() -> None:
        app = create_app(settings)
        async with lifespan(app):
            runtime = app.state.voronka
            cookies = await login(app, "admin", TEST_PASSWORD)
            for label, query in PERIODS:
                path = "/leads/report?" + query.format(start=start, today=today)
                first = await call(app, "GET", path, cookies=cookies)
                cpu = time.process_time()
                samples = await time_calls(lambda p=path: call(app, "GET", p, cookies=cookies), repeat, warmup=2)
                cpu_ms = (time.process_time() - cpu) * 1000 / (repeat + 2)
                note = "" if first.status == 200 else f" (status {first.status})"
                lines.append(_figure(f"GET /leads/report, {label}{note}", list(samples), cpu_ms))
            kind = runtime.record_kinds["lead"]
            with runtime.sessions() as session:
                owner = session.scalar(select(Lead.owner_user_id).limit(1))
            walls, cpu = [], time.process_time()
            for n in range(repeat + 3):
                began = time.perf_counter()
                with write_transaction(runtime.sessions) as session:
                    save(session, kind, None, {"first_name": "Bench", "last_name": str(n), "channel": "leads.phone",
                                               "owner_user_id": owner}, actor=owner)  # fmt: skip
                if n >= 3:
                    walls.append((time.perf_counter() - began) * 1000)
            lines.append(_figure("create a lead (writes.save, sums upserted, commit)", walls,
                                 (time.process_time() - cpu) * 1000 / (repeat + 3)))  # fmt: skip
        app.state.voronka.engine.dispose()

    run_in_new_loop(pages())
    engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--opportunities", type=int, default=300_000)
    add_kept_database_arguments(parser, repeat=15)
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--no-recount", action="store_true", help="skip timing the recount on a kept database")
    args = parser.parse_args()
    url, workdir = kept_database(args, "leads", args.leads)
    fresh = not has_rows(url, Lead)
    if fresh:
        generate(url, args.leads, args.opportunities, workdir)
    else:
        upgraded(url, workdir)
    if args.seed_only:
        return
    for line in measure(url, workdir, args.repeat, recount=not fresh and not args.no_recount):
        print(line, flush=True)


if __name__ == "__main__":
    main()

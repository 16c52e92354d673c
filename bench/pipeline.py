"""Pipeline at scale: one owner's board, the funnel and the forecast for a top manager, moving a card.

    python -m bench.pipeline                              # SQLite, 1,000,000 deals, /work/bench-data/…
    python -m bench.pipeline --deals 20000 --sqlite-file /tmp/p.sqlite
    python -m bench.pipeline --pg                         # the same on PostgreSQL (database kept)

Targets (issue 5), with 1,000,000 deals and 5,000,000 stage-history rows: one owner's board under 50 ms;
funnel and forecast for a top manager over everything visible under 300 ms; moving a card under 20 ms.

**The data**: core's demo organisation at scale 13 (195 users, five levels of managers, queues), daily
EUR and USD rates for four years, then ``--deals`` deals created over the last three years with about five
stage-history rows each (most older deals closed, a third of those won; open deals expected to close
from a month ago to a year ahead; 80 % in UAH, the rest in EUR and USD; 90 % owned by sales people, the
rest by managers and queues). Rows go in with core's bulk insert (executemany on SQLite, COPY on
PostgreSQL); the funnel and forecast sums are computed by the same functions the write path uses
(``deal_rollups.deal_part``/``history_part``) while generating. A kept database (``--sqlite-file``,
``--pg-database``) is seeded once; a later run goes straight to timing.

**What is timed**, warm, in-process (direct ASGI calls; median and p95 of ``--repeat`` after a warm-up),
wall and CPU milliseconds: ``GET /pipeline/board`` for the sales person with the most open deals (their
"mine" includes their team's queue: the board reads the owner's and the queue's board index); ``GET
/pipeline/funnel`` and ``GET /pipeline/forecast`` for the top manager (everyone is under them) over all
close dates and this fiscal year; the funnel and forecast figures alone (no HTML); and a card move,
``writes.save`` of ``stage_id`` in its own write transaction (audit, rules, events, sums), a different
open deal each time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, inspect, select, text

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
from voronka.core.db import Base, make_engine, make_sessionmaker, write_transaction
from voronka.core.models import ManagerLink, Team, User
from voronka.core.models_company import ExchangeRate
from voronka.core.search_keys import search_key
from voronka.core.security.users import load_user
from voronka.core.security.visibility import everyone_under
from voronka.core.seeding import SeedContext, bulk_insert
from voronka.core.writes import save
from voronka.web import seed_core
from voronka.web.app import create_app
from voronka.web.provision import upgrade
from voronka.web.testkit.users import create_test_users

from voronka.plugins.pipeline import deal_filters, deal_rollups, forecast, funnel  # isort: skip
from voronka.plugins.pipeline.models import Opportunity, StageChange  # isort: skip
from voronka.plugins.pipeline.stages import catalogue  # isort: skip

CHUNK = 50_000
UTC = dt.UTC


# -- generating ---------------------------------------------------------------------------------------------


def _rates(session: Any, today: dt.date) -> None:
    rows, rng = [], random.Random(7)
    for currency, level in (("EUR", 42.0), ("USD", 38.0)):
        day, rate = today - dt.timedelta(days=4 * 365), level
        while day <= today:
            rate *= 1 + rng.uniform(-0.004, 0.0042)
            rows.append({"currency": currency, "valid_on": day, "rate": f"{rate:.4f}",
                         "created_at": dt.datetime.now(UTC)})  # fmt: skip
            day += dt.timedelta(days=1)
    bulk_insert(session, ExchangeRate, rows)


def generate(url: str, deals: int, workdir: Path) -> None:
    settings = settings_for(url, workdir, [])
    _, failures = upgrade(settings)
    if failures:
        raise RuntimeError(f"migrations failed: {failures}")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    started, cpu = time.perf_counter(), time.process_time()
    with write_transaction(sessions) as session:
        create_test_users(session)
        ctx = SeedContext(engine=engine, session=session, scale=13)
        seed_core.seed_core(ctx)
        today = company_settings(session).today()
        _rates(session, today)
        owners = _owners(session, ctx)
    book_session = sessions()
    book = catalogue(book_session)
    pipeline = book.default()
    assert pipeline is not None
    base = company_settings(book_session).base_currency
    open_stages = list(pipeline.open_stages)
    won_stage, lost_stage = pipeline.closing("won"), pipeline.closing("lost")
    assert won_stage and lost_stage
    rng = random.Random(20261128)
    now = dt.datetime.now(UTC)
    deal_sums: dict[Any, list[int]] = {}
    stage_sums: dict[Any, list[int]] = {}
    delta = deal_rollups.Delta(deal_sums, stage_sums)
    history_id = 0
    total_history = 0
    for first in range(1, deals + 1, CHUNK):
        deal_rows: list[dict[str, Any]] = []
        history_rows: list[dict[str, Any]] = []
        for deal_id in range(first, min(first + CHUNK, deals + 1)):
            created = now - dt.timedelta(seconds=rng.uniform(86_400, 3 * 365 * 86_400))
            age = (now - created).days
            closing = rng.random() < (0.85 if age > 120 else 0.3)
            path = _path(rng, open_stages, closing)
            if closing:
                path.append(won_stage if rng.random() < 0.33 else lost_stage)
            end = min(now, created + dt.timedelta(days=rng.uniform(3, 220))) if closing else now
            cuts = sorted(rng.uniform(0, 1) for _ in range(len(path) - 1))
            span = (end - created).total_seconds()
            entered = [created] + [created + dt.timedelta(seconds=span * c) for c in cuts]
            stage = path[-1]
            status = stage.outcome
            currency = "UAH" if rng.random() < 0.8 else ("EUR" if rng.random() < 0.6 else "USD")
            amount = int(math.exp(rng.uniform(math.log(5_000), math.log(5_000_000))) * 100)
            if currency != "UAH":
                amount //= 40
            kind = rng.random()
            owner_user = rng.choice(owners["sales"]) if kind < 0.9 else (
                rng.choice(owners["managers"]) if kind < 0.95 else None)  # fmt: skip
            owner_team = None if owner_user else rng.choice(owners["queues"])
            closed_on = entered[-1].astimezone(company_settings(book_session).zone).date() if status != "open" else None
            expected = closed_on or (now.date() + dt.timedelta(days=rng.randint(-30, 330)))
            category = stage.forecast_category if status == "open" else status
            if status == "open" and rng.random() < 0.1:
                category = rng.choice(("commit", "omitted", "best_case"))
            values = {"status": status, "owner_user_id": owner_user, "owner_team_id": owner_team,
                      "pipeline_id": pipeline.id, "stage_id": stage.id, "amount_minor": amount,
                      "amount_currency": currency, "probability": stage.probability, "forecast_category": category,
                      "expected_close": expected, "closed_on": closed_on}  # fmt: skip
            name = f"Угода {deal_id}"
            deal_rows.append({**values, "id": deal_id, "name": name, "name_key": search_key(name),
                              "probability_manual": False, "lost_reason": "Price" if status == "lost" else "",
                              "competitor": "", "description": "", "stage_entered_at": entered[-1],
                              "created_at": created, "updated_at": entered[-1], "version": 1,
                              "custom": {}})  # fmt: skip
            stays = []
            for index, step in enumerate(path):
                left = entered[index + 1] if index + 1 < len(path) else None
                history_id += 1
                history_rows.append({"id": history_id, "opportunity_id": deal_id, "pipeline_id": pipeline.id,
                                     "stage_id": step.id, "from_stage_id": path[index - 1].id if index else None,
                                     "entered_at": entered[index], "left_at": left,
                                     "by_user_id": owner_user})  # fmt: skip
                stays.append((pipeline.id, step.id, entered[index], left))
            delta.add(deal_rollups.deal_part(values, created, base), deal_sums, 1)
            delta.add(deal_rollups.history_part((owner_user or 0, owner_team or 0), stays, book), stage_sums, 1)
        with write_transaction(sessions) as session:
            bulk_insert(session, Opportunity, deal_rows)
            bulk_insert(session, StageChange, history_rows)
        total_history += len(history_rows)
        print(f"  {deal_id:,} deals, {total_history:,} history rows, {time.perf_counter() - started:.0f} s", flush=True)
    with write_transaction(sessions) as session:
        deal_rollups.write_sums(session, {k: v for k, v in deal_sums.items() if any(v)},
                                {k: v for k, v in stage_sums.items() if any(v)})  # fmt: skip
    book_session.close()
    with engine.connect() as conn:
        _sequences(conn)
        conn.execute(text("ANALYZE"))
        conn.commit()
    print(f"seeded {deals:,} deals, {total_history:,} history rows, {len(deal_sums):,} + {len(stage_sums):,} "
          f"sum rows in {time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU",
          flush=True)  # fmt: skip
    engine.dispose()


def _catch_up(url: str) -> None:
    """A database seeded by an earlier version of this bench: sequences past the explicit ids, and the
    totals over owners (added to pipeline_0003 later) filled from the per-owner sums."""
    from voronka.plugins.pipeline.analytics_models import DealTotal, OwnerTotal, StageTotal

    engine = make_engine(url)
    with engine.connect() as conn:
        _sequences(conn)
        conn.commit()
    found = inspect(engine)
    columns = (
        {c["name"] for c in found.get_columns("pipeline_rollup_all")}
        if found.has_table("pipeline_rollup_all")
        else set()
    )
    if "owner_team_id" not in columns:
        tables = [DealTotal.__table__, StageTotal.__table__, OwnerTotal.__table__]
        Base.metadata.drop_all(engine, tables=tables)
        Base.metadata.create_all(engine, tables=tables)
        with write_transaction(make_sessionmaker(engine)) as session:
            deal_rollups.derive_totals(session)
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()


def _sequences(conn: Any) -> None:
    """Explicit ids went in: move PostgreSQL's sequences past them (SQLite needs nothing)."""
    if conn.dialect.name == "postgresql":
        for table in ("pipeline_opportunity", "pipeline_stage_history"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def _path(rng: random.Random, stages: list[Any], closing: bool) -> list[Any]:
    """Open stages a deal went through: from the first, mostly forward, sometimes skipping or going back."""
    reach = rng.choices(range(1, len(stages) + 1), weights=(2, 2, 3, 3, 4) if closing else (5, 4, 3, 2, 1))[0]
    path = [stages[0]]
    for stage in stages[1:reach]:
        if rng.random() < 0.9:
            path.append(stage)
    while rng.random() < 0.42 and len(path) > 1:  # back a stage and forward again
        path.extend([path[-2], path[-1]])
    return path


def _owners(session: Any, ctx: SeedContext) -> dict[str, list[int]]:
    return {"sales": list(ctx.ids["core.sales"]), "managers": list(ctx.ids["core.managers"]),
            "queues": list(ctx.ids["core.queues"])}  # fmt: skip


# -- timing -------------------------------------------------------------------------------------------------


async def login(app: Any, username: str, password: str) -> dict[str, str]:
    page = await call(app, "GET", "/login")
    match = TOKEN.search(page.body)
    assert match is not None, "no CSRF token on the login page"
    body = f"username={quote(username)}&password={quote(password)}&csrf_token={match.group(1).decode()}&next=/"
    done = await call(app, "POST", "/login", cookies=page.cookies(), body=body.encode(), headers=FORM)
    assert done.status == 303, f"login as {username} failed: {done.status}"
    return done.cookies()


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


def measure(url: str, workdir: Path, repeat: int) -> list[str]:
    settings = settings_for(url, workdir, [])
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    lines = []
    with sessions() as session:
        deals = session.scalar(select(func.count()).select_from(Opportunity))
        history = session.scalar(select(func.count()).select_from(StageChange))
        top, under = _top_manager(session)
        owner_id, owner_deals = session.execute(
            select(Opportunity.owner_user_id, func.count()).where(Opportunity.status == "open",
                                                                 Opportunity.owner_user_id.is_not(None))
            .group_by(Opportunity.owner_user_id).order_by(func.count().desc()).limit(1)).one()  # fmt: skip
        top_user = load_user(session, top)
        owner_name = session.scalar(select(User.username).where(User.id == owner_id))
        top_name = session.scalar(select(User.username).where(User.id == top))
        lines.append(f"{engine.dialect.name}: {deals:,} deals, {history:,} stage-history rows; top manager "
                     f"{top_name} ({under} people under them, visibility {top_user.visibility}); board owner "
                     f"{owner_name} ({owner_deals:,} open deals)")  # fmt: skip
        for label, params in (("all close dates", {"owner": "under"}),
                              ("this fiscal year", {"owner": "under", "period": "this_year"})):  # fmt: skip
            flt = deal_filters.parse(session, top_user, params)
            walls, cpu = timed(lambda f=flt: funnel.build(session, top_user, f), repeat)
            lines.append(_figure(f"funnel figures, top manager, {label}", walls, cpu))
            walls, cpu = timed(lambda f=flt: forecast.build(session, top_user, f), repeat)
            lines.append(_figure(f"forecast figures, top manager, {label}", walls, cpu))
        moves = list(session.scalars(select(Opportunity.id).where(
            Opportunity.owner_user_id == owner_id, Opportunity.status == "open").limit(repeat + 5)))  # fmt: skip
    kind_holder: dict[str, Any] = {}

    async def pages() -> None:
        app = create_app(settings)
        async with lifespan(app):
            kind_holder["kind"] = app.state.voronka.record_kinds["opportunity"]
            kind_holder["sessions"] = app.state.voronka.sessions
            for username, paths in ((owner_name, [("board, one owner", "/pipeline/board?owner=mine")]),
                                    (top_name, [("funnel page, top manager", "/pipeline/funnel?owner=under"),
                                                ("forecast page, top manager", "/pipeline/forecast?owner=under"),
                                                ("funnel page, top manager, this FY",
                                                 "/pipeline/funnel?owner=under&period=this_year")])):  # fmt: skip
                cookies = await login(app, username, seed_core.DEMO_PASSWORD)
                for label, path in paths:
                    first = await call(app, "GET", path, cookies=cookies)
                    cpu = time.process_time()
                    samples = await time_calls(lambda p=path, c=cookies: call(app, "GET", p, cookies=c), repeat,
                                               warmup=2)  # fmt: skip
                    cpu_ms = (time.process_time() - cpu) * 1000 / (repeat + 2)
                    note = "" if first.status == 200 else f" (status {first.status})"
                    lines.append(_figure(label + note, list(samples), cpu_ms))
            kind = kind_holder["kind"]
            stage_ids = [s.id for s in catalogue(app.state.voronka.sessions()).default().open_stages]  # type: ignore[union-attr]
            walls, cpu = [], time.process_time()
            for index, deal_id in enumerate(moves):
                with app.state.voronka.sessions() as session:
                    current = session.scalar(select(Opportunity.stage_id).where(Opportunity.id == deal_id))
                target = next(s for s in stage_ids if s != current)
                started = time.perf_counter()
                with write_transaction(app.state.voronka.sessions) as session:
                    save(session, kind, deal_id, {"stage_id": target}, actor=owner_id)
                if index >= 3:
                    walls.append((time.perf_counter() - started) * 1000)
            lines.append(_figure("move a card (writes.save of stage_id, commit)", walls,
                                 (time.process_time() - cpu) * 1000 / len(moves)))  # fmt: skip
        app.state.voronka.engine.dispose()

    run_in_new_loop(pages())
    engine.dispose()
    return lines


def _top_manager(session: Any) -> tuple[int, int]:
    managers = set(session.scalars(select(ManagerLink.manager_id).distinct()))
    best = max(managers, key=lambda m: len(everyone_under(session, m)))
    return best, len(everyone_under(session, best))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=1_000_000)
    add_kept_database_arguments(parser, repeat=9)
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    url, workdir = kept_database(args, "pipeline", args.deals)
    if not has_rows(url, Opportunity):
        generate(url, args.deals, workdir)
    else:
        upgraded(url, workdir)
        _catch_up(url)
    if args.seed_only:
        return
    for line in measure(url, workdir, args.repeat):
        print(line, flush=True)


if __name__ == "__main__":
    main()

_ = Team

"""Planning at scale: a top manager's team view and "My plan" over 1,000,000 deals.

    python -m bench.planning                              # SQLite, 1,000,000 deals, /work/bench-data/…
    python -m bench.planning --pg                         # the same on PostgreSQL (database kept)
    python -m bench.planning --deals 20000 --sqlite-file /tmp/planning.sqlite

Targets (issue 7): a top manager's team view with 200 employees over five levels and 1,000,000 opportunities
under 300 ms; "My plan" under 50 ms.

**The data**: pipeline's benchmark data (:func:`bench.pipeline.generate`: core's demo organisation at scale
13, 195 users over five levels, and ``--deals`` deals with their stage history and sums), then a plan for
every user for the current quarter on ``pipeline.revenue_won`` and ``pipeline.deals_won``, bulk-inserted: a
sales person's target is drawn at random, a manager's is the sum of their direct reports' (so the tree adds
up). A kept database (``--sqlite-file``, ``--pg-database``) is seeded once; a later run goes straight to
timing.

**What is timed**, warm, in-process, median and p95 of ``--repeat`` after a warm-up, wall and CPU
milliseconds per call, and the SQL statements per call: the engine alone (``progress.team_view`` for the top
manager on both metrics, and once more with one person moved to another manager mid-month, in a transaction
rolled back afterwards; ``progress.my_plan`` for the top manager and for a sales person), then the pages
(``GET /planning/team`` for the top manager, ``GET /planning/`` for both) through direct ASGI calls.
"""

from __future__ import annotations

import argparse
import random
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text

from bench import pipeline as pipeline_bench
from bench.databases import (
    add_kept_database_arguments,
    has_rows,
    kept_database,
    settings_for,
    upgraded,
)
from bench.harness import call, lifespan, run_in_new_loop, time_calls
from voronka.core.company import company_settings
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.models import ManagerLink, Role, User, UserRole
from voronka.core.security.users import load_user
from voronka.core.security.visibility import link_valid_on
from voronka.core.seeding import bulk_insert
from voronka.core.types import utcnow
from voronka.web import seed_core
from voronka.web.app import create_app
from voronka.web.testkit.users import TEST_USERS

from voronka.plugins.planning import periods, progress  # isort: skip
from voronka.plugins.planning.models import BY_HAND, QUARTER, Plan  # isort: skip
from voronka.plugins.pipeline.models import Opportunity  # isort: skip

METRICS = {"pipeline.revenue_won": (1_000_000_00, 6_000_000_00), "pipeline.deals_won": (5, 40)}
"""A sales person's quarterly target is drawn from these ranges; a manager's adds up their reports'."""


# -- the plans ----------------------------------------------------------------------------------------------


def seed_plans(url: str) -> int:
    """A plan per user and metric for the current quarter, unless they are there already."""
    engine = make_engine(url)
    try:
        with write_transaction(make_sessionmaker(engine)) as session:
            period = periods.current(company_settings(session), QUARTER)
            if session.scalar(select(func.count()).select_from(Plan).where(Plan.period_start == period.start)):
                return 0
            users = list(session.scalars(select(User.id).where(User.active.is_(True))))
            today = company_settings(session).today()
            links = select(ManagerLink.user_id, ManagerLink.manager_id).where(link_valid_on(today))
            manager_of = {user: manager for user, manager in session.execute(links)}
            rows = []
            for key, (low, high) in METRICS.items():
                targets = _targets(users, manager_of, random.Random(zlib.crc32(key.encode())), low, high)
                now = utcnow()
                rows += [{"owner_user_id": user, "owner_team_id": None, "metric_key": key, "period_kind": QUARTER,
                          "period_start": period.start, "period_end": period.end, "target": target, "stretch": None,
                          "method": BY_HAND, "unit": "money" if key.endswith("revenue_won") else "count",
                          "note": "", "version": 1, "custom": {}, "created_at": now,
                          "updated_at": now} for user, target in targets.items()]  # fmt: skip
            bulk_insert(session, Plan, rows)
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        return len(rows)
    finally:
        engine.dispose()


def _targets(users: list[int], manager_of: dict[int, int], rng: random.Random, low: int, high: int) -> dict[int, int]:
    """Leaves draw a target; every manager gets the sum of their direct reports' (deepest first)."""
    reports: dict[int, list[int]] = {}
    for user, manager in manager_of.items():
        reports.setdefault(manager, []).append(user)
    found: dict[int, int] = {}

    def target(user: int, seen: frozenset[int]) -> int:
        if user not in found:
            below = [u for u in reports.get(user, ()) if u not in seen]
            found[user] = sum(target(u, seen | {user}) for u in below) if below else rng.randint(low, high)
        return found[user]

    for user in users:
        target(user, frozenset())
    return found


# -- timing -------------------------------------------------------------------------------------------------


class StatementCounter:
    """How many SQL statements the timed calls run (per call)."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.count = 0

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1


def _engine_figure(label: str, engine: Any, fn: Callable[[], Any], repeat: int) -> str:
    fn()
    with StatementCounter(engine) as counter:
        fn()
    walls, cpu = pipeline_bench.timed(fn, repeat)
    return pipeline_bench._figure(label, walls, cpu) + f"  {counter.count} SQL"


def _move_someone(session: Any, period: periods.Period) -> None:
    """In the caller's transaction (rolled back after timing): the newest reporting line ends mid-period and the
    person reports to their manager's manager from then, so the period has two segments."""
    middle = period.start + (period.end - period.start) / 2
    link = session.scalars(select(ManagerLink).where(ManagerLink.valid_to.is_(None))
                           .order_by(ManagerLink.id.desc())).first()  # fmt: skip
    above = session.scalar(select(ManagerLink.manager_id).where(ManagerLink.user_id == link.manager_id,
                                                                ManagerLink.valid_to.is_(None)))  # fmt: skip
    link.valid_to = middle
    session.add(ManagerLink(user_id=link.user_id, manager_id=above, valid_from=middle))
    session.flush()


def measure(url: str, workdir: Path, repeat: int) -> list[str]:
    settings = settings_for(url, workdir, [])
    lines: list[str] = []
    app = create_app(settings)
    runtime = app.state.voronka
    host, engine = runtime.host, runtime.engine
    with runtime.sessions() as session:
        period = periods.current(company_settings(session), QUARTER)
        top, under = pipeline_bench._top_manager(session)
        top_user = load_user(session, top)
        sales_id = session.scalar(select(UserRole.user_id).join(Role, Role.id == UserRole.role_id)
                                  .join(ManagerLink, ManagerLink.user_id == UserRole.user_id)
                                  .where(Role.key == "sales", User.username.not_in(list(TEST_USERS)))
                                  .join(User, User.id == UserRole.user_id)
                                  .order_by(UserRole.user_id).limit(1))  # fmt: skip
        sales_user = load_user(session, sales_id)
        query = select(User.id, User.username).where(User.id.in_([top, sales_id]))
        names = {user_id: username for user_id, username in session.execute(query)}
        deals = session.scalar(text("SELECT count(*) FROM pipeline_opportunity"))
        plans = session.scalar(select(func.count()).select_from(Plan).where(Plan.period_start == period.start))
        lines.append(f"{engine.dialect.name}: {deals:,} deals, {plans:,} plans in {period.key}; top manager "
                     f"{names[top]} ({under} people under them, visibility {top_user.visibility}); sales person "
                     f"{names[sales_id]} ({sales_user.visibility})")  # fmt: skip
        for key in METRICS:
            tree = progress.team_view(session, host, top_user, top, key, period)
            lines.append(f"  {key}: {len(tree.root.walk())} nodes, actual {tree.root.figures.actual:,.0f}, "
                         f"target {tree.root.plan.target if tree.root.plan else None}")  # fmt: skip
            lines.append(_engine_figure(f"team_view, top manager, {key}", engine,
                                        lambda k=key: progress.team_view(session, host, top_user, top, k, period),
                                        repeat))  # fmt: skip
        _move_someone(session, period)
        lines.append(_engine_figure("team_view, top manager, revenue, one person moved mid-month", engine,
                                    lambda: progress.team_view(session, host, top_user, top, "pipeline.revenue_won",
                                                               period), repeat))  # fmt: skip
        session.rollback()
        for label, who, viewer in (("top manager", top, top_user), ("sales person", sales_id, sales_user)):
            lines.append(_engine_figure(f"my_plan, {label}", engine,
                                        lambda w=who, v=viewer: progress.my_plan(session, host, v, w, period),
                                        repeat))  # fmt: skip

    async def pages() -> None:
        async with lifespan(app):
            for username, paths in ((names[top], [("GET /planning/team, top manager", "/planning/team"),
                                                  ("GET /planning/, top manager", "/planning/")]),
                                    (names[sales_id], [("GET /planning/, sales person", "/planning/")])):  # fmt: skip
                cookies = await pipeline_bench.login(app, username, seed_core.DEMO_PASSWORD)
                for label, path in paths:
                    try:
                        first = await call(app, "GET", path, cookies=cookies)
                    except Exception as error:  # a page still being written must not stop the other figures
                        lines.append(f"  {label:<58} failed: {type(error).__name__}: {error}")
                        continue
                    samples = await time_calls(lambda p=path, c=cookies: call(app, "GET", p, cookies=c), repeat,
                                               warmup=2)  # fmt: skip
                    note = "" if first.status == 200 else f" (status {first.status})"
                    lines.append(pipeline_bench._figure(label + note, list(samples), samples.cpu_ms_per_call or 0))

    run_in_new_loop(pages())
    engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=1_000_000)
    add_kept_database_arguments(parser, repeat=21)
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    url, workdir = kept_database(args, "planning", args.deals)
    started = time.perf_counter()
    if not has_rows(url, Opportunity):
        pipeline_bench.generate(url, args.deals, workdir)
    upgraded(url, workdir)  # planning's table, and migrations added since
    pipeline_bench._catch_up(url)
    added = seed_plans(url)
    if added:
        print(f"seeded {added:,} plans ({time.perf_counter() - started:.0f} s so far)", flush=True)
    if args.seed_only:
        return
    for line in measure(url, workdir, args.repeat):
        print(line, flush=True)


if __name__ == "__main__":
    main()

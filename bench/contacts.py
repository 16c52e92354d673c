"""Contacts at scale: the customer card and the people list's search over up to a million parties.

    python -m bench.contacts                          # SQLite, scale 10 (10,000 parties), a scratch database
    python -m bench.contacts --scale 1000 --sqlite-file /tmp/contacts-1000.sqlite           # seeded once, reused
    python -m bench.contacts --scale 1000 --pg --pg-database voronka_contacts_1000          # the same on PostgreSQL
    python -m bench.contacts --parties 1000000 --relationships 2000000 --activities 3000000 \\
        --sqlite-file /tmp/contacts-1m.sqlite        # a plan of your own instead of a scale
    python -m bench.contacts --scale 1000 --sqlite-file /tmp/c.sqlite --seed-only   # only seed and report rows/s
    python -m bench.contacts --scale 100 --sqlite --pg --json bench/results/contacts.json

Targets (issue 4), with 1,000,000 parties, 2,000,000 relationships and 10,000,000 timeline entries: the
customer card under 15 ms median in-process; list search by name prefix (Cyrillic and Latin), e-mail,
phone or city under 50 ms.

**The data** is what ``voronka demo --scale N`` makes (core's organisation, then contacts' seed hook through
:func:`voronka.plugins.contacts.seed.seed_plan`), or the plan given by ``--parties/--relationships/
--activities``. Seeding prints rows and rows/s per table, wall clock and this process's CPU time (on a shared
machine CPU time says more). ``--sqlite-file`` and ``--pg-database`` keep the seeded database: a later run
finds it seeded and goes straight to timing (delete the file or drop the database to seed again). Without
them a scratch database is seeded and removed at the end.

**What is timed**, in-process (direct ASGI calls, ``bench.harness.call``), logged in as the test kit's
``admin`` (sees everything) and as the demo sales person who owns the card's organisation (sees own
records: the visibility filter is in every query):

- the customer card, ``GET /contacts/{id}``: the organisation with the longest timeline among the first
  500 that employ someone (key accounts gather the most activities) and one of its employees;
- the people list's search, ``GET /contacts/people?q=…``: a Cyrillic surname prefix, a Latin one, an exact
  e-mail, a phone in E.164 and as typed with spaces, a city as written ("Київ") and typed in Latin ("lviv");
- the organisations list's search, ``GET /contacts/organisations?q=…``: a brand prefix in Cyrillic and in
  Latin, a city and an e-mail;
- the same reads as plain SQL (SQLAlchemy Core, one session): what the pages cannot be faster than, and a
  figure to quote while the pages are still being built.

Warm: ``--repeat`` calls after a warm-up, median and p95 (p99 too). Cold: the first call of a freshly built
app after its start-up and login (``--cold`` samples). A page that does not answer 200 is still timed and
its status is noted. PostgreSQL runs on ``--pg-url`` (default 127.0.0.1:5432); ANALYZE runs after seeding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, create_engine, func, or_, select, text
from sqlalchemy.engine import make_url

from bench.databases import DEFAULT_PG_ADMIN, settings_for
from bench.harness import Figures, Samples, call, lifespan, new_loop, print_table, time_calls
from bench.shell import FORM, TOKEN
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.models import User
from voronka.core.search_keys import prefix_bounds, search_key
from voronka.core.security.users import load_user
from voronka.core.security.visibility import visible
from voronka.core.seeding import SeedContext
from voronka.web import seed_core
from voronka.web.app import create_app
from voronka.web.provision import upgrade
from voronka.web.testkit.users import TEST_PASSWORD, create_test_users

from voronka.plugins.contacts.models import (  # isort: skip
    Activity, ActivityParticipant, Address, ContactPoint, Party, Relationship, RelationshipType,
)  # fmt: skip
from voronka.plugins.contacts.seed import Plan, seed_plan  # isort: skip

TABLES = ("contacts_party", "contacts_point", "contacts_address", "contacts_relationship", "contacts_activity",
          "contacts_activity_participant")  # fmt: skip
NAME_PREFIXES = {"name": "Шевч", "name ": "Wils"}
CITY_QUERIES = ("Київ", "lviv")
"""A city as written, and another typed in Latin lower case (found by its folded, transliterated key)."""
ORG_QUERIES = {"name": "Карп", "name ": "karp", "city": "Львів"}
TAGS = {"sqlite": "[sqlite]", "postgresql": "[pg]"}
TARGETS = {"card": 15.0, "search": 50.0}


# -- the database ----------------------------------------------------------------------------------------------


def pg_exists(admin_url: str, name: str) -> bool:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    finally:
        engine.dispose()


def pg_admin(admin_url: str, sql: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def open_database(engine: str, args: argparse.Namespace, workdir: Path) -> tuple[str, Callable[[], None]]:
    """The database's URL (created and migrated when new) and what to call at the end (drop a scratch one)."""
    if engine == "sqlite":
        path = args.sqlite_file or workdir / "contacts.sqlite"
        url = f"sqlite:///{path}"
        fresh = not Path(path).exists()
        cleanup: Callable[[], None] = (lambda: None) if args.sqlite_file else (lambda: Path(path).unlink(True))
    else:
        name = args.pg_database or f"voronka_bench_contacts_{int(time.time())}"
        url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
        fresh = not pg_exists(args.pg_url, name)
        if fresh:
            pg_admin(args.pg_url, f'CREATE DATABASE "{name}"')
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        cleanup = (lambda: None) if args.pg_database else (lambda: pg_admin(args.pg_url, drop))
    if fresh:
        _, failures = upgrade(settings_for(url, workdir, []))
        if failures:
            raise RuntimeError(f"migrations failed: {failures}")
        db = make_engine(url)
        with write_transaction(make_sessionmaker(db)) as session:
            create_test_users(session)
        db.dispose()
    return url, cleanup


def plan_of(args: argparse.Namespace) -> Plan:
    plan = Plan.for_scale(args.scale)
    return Plan(
        args.parties or plan.parties,
        args.relationships if args.relationships is not None else plan.relationships,
        args.activities if args.activities is not None else plan.activities,
    )


def seed_if_needed(engine: str, url: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """Seed core's organisation and ``plan`` in one transaction unless the database is seeded already."""
    db = make_engine(url)
    sessions = make_sessionmaker(db)
    try:
        with sessions() as session:
            earlier = seed_core.already_seeded(session)
        if earlier is not None:
            print(f"[{engine}] reusing the seeded database ({earlier}): {counts(db)}", flush=True)
            return None
        plan = plan_of(args)
        print(f"[{engine}] seeding {plan}", flush=True)
        started, cpu = time.perf_counter(), time.process_time()
        with write_transaction(sessions) as session:
            ctx = SeedContext(engine=db, session=session, scale=args.scale, language=args.language,
                              progress=lambda line: print(f"    {line}", flush=True))  # fmt: skip
            seed_core.seed_core(ctx)
            core_rows = ctx.rows
            began = time.perf_counter()
            seed_plan(ctx, plan)
            contacts_s = time.perf_counter() - began
            seed_core.mark_seeded(session, args.scale, ["core", "contacts"])
            committing = time.perf_counter()
        commit_s = time.perf_counter() - committing
        total_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        rows = ctx.rows - core_rows
        began = time.perf_counter()
        with db.connect() as conn:  # fresh planner statistics, as autovacuum / PRAGMA optimize give a live one
            conn.execute(text("ANALYZE"))
            conn.commit()
        analyze_s = time.perf_counter() - began
        figures = {
            "engine": engine, "plan": plan.__dict__, "rows": rows, "contacts_s": contacts_s, "commit_s": commit_s,
            "total_s": total_s, "cpu_s": cpu_s, "analyze_s": analyze_s, "rows_per_s": rows / contacts_s,
            "counts": counts(db), "bytes": size(db),
        }  # fmt: skip
        print(f"[{engine}] seeded {rows:,} contacts rows in {contacts_s:.1f} s ({rows / contacts_s:,.0f} rows/s), "
              f"commit {commit_s:.1f} s, total {total_s:.1f} s, this process's CPU {cpu_s:.1f} s; ANALYZE "
              f"{analyze_s:.1f} s; database {figures['bytes'] / 1e9:.2f} GB", flush=True)  # fmt: skip
        print(f"[{engine}] {figures['counts']}", flush=True)
        return figures
    finally:
        db.dispose()


def counts(db: Any) -> dict[str, int]:
    with db.connect() as conn:
        return {name: int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() or 0) for name in TABLES}


def size(db: Any) -> int:
    with db.connect() as conn:
        if db.dialect.name == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            return int(pages) * int(conn.exec_driver_sql("PRAGMA page_size").scalar())
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())


# -- what to look at -------------------------------------------------------------------------------------------


def pick_targets(session: Any) -> dict[str, Any]:
    """The card's organisation (longest timeline among the first 500 that employ someone), one of its
    people, its owner, and an e-mail and a phone to search for (of a person in the middle of the table with
    the same owner, so both viewers find it)."""
    employment = session.scalar(select(RelationshipType.id).where(RelationshipType.key == "employment"))
    first_orgs = select(Party.id).where(Party.kind == "organisation").order_by(Party.id).limit(500).subquery()
    employers = select(Relationship.b_id).where(Relationship.type_id == employment,
                                                Relationship.b_id.in_(select(first_orgs.c.id)))  # fmt: skip
    org_id, entries = session.execute(
        select(Activity.ref_id, func.count())
        .where(Activity.ref_kind == "organisation", Activity.ref_id.in_(employers))
        .group_by(Activity.ref_id).order_by(func.count().desc()).limit(1)
    ).one()  # fmt: skip
    org = session.get(Party, org_id)
    same_owner = (
        Party.owner_user_id == org.owner_user_id if org.owner_user_id else Party.owner_team_id == org.owner_team_id
    )
    works_there = session.scalar(
        select(Relationship.a_id).join(Party, Party.id == Relationship.a_id)
        .where(Relationship.b_id == org_id, Relationship.type_id == employment, same_owner).limit(1)
    )  # fmt: skip
    person_id = works_there or session.scalar(
        select(Party.id).where(Party.kind == "person", same_owner).order_by(Party.id).limit(1)
    )
    low, high = session.execute(select(func.min(Party.id), func.max(Party.id))).one()
    middle = session.scalar(
        select(Party.id).where(Party.id >= (low + high) // 2, Party.kind == "person", Party.primary_email != "",
                               same_owner).order_by(Party.id).limit(1)
    )  # fmt: skip
    sample = session.get(Party, middle)
    phone_point = session.scalar(
        select(ContactPoint.value).where(
            ContactPoint.party_id == middle, ContactPoint.channel == "phone", ContactPoint.is_primary.is_(True)
        )
    )
    owner = session.scalar(select(User.username).where(User.id == org.owner_user_id)) if org.owner_user_id else None
    org_email = session.scalar(
        select(Party.primary_email).where(Party.id >= (low + high) // 4, Party.kind == "organisation",
                                          Party.primary_email != "", same_owner).order_by(Party.id).limit(1)
    )  # fmt: skip
    relationships = session.scalar(
        select(func.count()).where(or_(Relationship.a_id == org_id, Relationship.b_id == org_id))
    )
    return {
        "org_id": org_id, "org_name": org.name, "org_entries": entries, "org_relationships": relationships,
        "person_id": person_id, "email": sample.primary_email, "phone": sample.primary_phone,
        "phone_typed": phone_point or sample.primary_phone, "owner": owner, "owner_id": org.owner_user_id,
        "org_email": org_email or org.primary_email,
    }  # fmt: skip


def page_paths(t: dict[str, Any]) -> dict[str, str]:
    paths = {
        "card org": f"/contacts/{t['org_id']}",
        "card person": f"/contacts/{t['person_id']}",
    }
    for label, prefix in NAME_PREFIXES.items():
        paths[f"search {label.strip()} {prefix}"] = f"/contacts/people?q={quote(prefix)}"
    paths["search e-mail"] = f"/contacts/people?q={quote(t['email'])}"
    paths["search phone E.164"] = f"/contacts/people?q={quote(t['phone'])}"
    paths["search phone typed"] = f"/contacts/people?q={quote(t['phone_typed'])}"
    for city in CITY_QUERIES:
        paths[f"search city {city}"] = f"/contacts/people?q={quote(city)}"
    for label, query in ORG_QUERIES.items():
        paths[f"org search {label.strip()} {query}"] = f"/contacts/organisations?q={quote(query)}"
    paths["org search e-mail"] = f"/contacts/organisations?q={quote(t['org_email'])}"
    return paths


# -- SQL -------------------------------------------------------------------------------------------------------


def sql_cases(t: dict[str, Any]) -> dict[str, Callable[[Any, Any], Any]]:
    """label → fn(session, viewer) running the reads a page needs, as plain indexed queries."""

    def card(party_id: int) -> Callable[[Any, Any], Any]:
        def run(session: Any, viewer: Any) -> Any:
            party = session.execute(
                select(Party).where(Party.id == party_id, Party.deleted_at.is_(None), visible(Party, viewer))
            ).scalar_one()
            session.execute(select(ContactPoint).where(ContactPoint.party_id == party_id)
                            .order_by(ContactPoint.channel, ContactPoint.position)).all()  # fmt: skip
            session.execute(select(Address).where(Address.party_id == party_id).order_by(Address.position)).all()
            other = Party.__table__.alias("other")
            for mine, theirs in ((Relationship.a_id, Relationship.b_id), (Relationship.b_id, Relationship.a_id)):
                session.execute(
                    select(Relationship.id, RelationshipType.key, other.c.id, other.c.name)
                    .join(RelationshipType, RelationshipType.id == Relationship.type_id)
                    .join(other, other.c.id == theirs)
                    .where(mine == party_id, other.c.deleted_at.is_(None)).limit(200)
                ).all()  # fmt: skip
            page = session.execute(
                select(Activity.id, Activity.type, Activity.subject, Activity.occurred_at, Activity.done)
                .where(Activity.ref_kind == party.kind, Activity.ref_id == party_id, Activity.deleted_at.is_(None))
                .order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(25)
            ).all()  # fmt: skip
            ids = [row.id for row in page]
            session.execute(select(ActivityParticipant).where(ActivityParticipant.activity_id.in_(ids))).all()
            session.expunge_all()
            return page

        return run

    def by_keys(columns: tuple[Any, ...], query: str) -> Callable[[Any, Any], Any]:
        """People whose key in each of ``columns`` in turn starts with ``query`` (50 per column)."""
        lo, hi = prefix_bounds(search_key(query)) or ("", "")

        def run(session: Any, viewer: Any) -> Any:
            found = []
            for column in columns:
                found += session.execute(
                    select(Party.id, Party.name, Party.primary_email, Party.city)
                    .where(Party.kind == "person", column >= lo, column < hi, Party.deleted_at.is_(None),
                           visible(Party, viewer))
                    .order_by(column, Party.id).limit(50)
                ).all()  # fmt: skip
            return found

        return run

    def by_name(prefix: str) -> Callable[[Any, Any], Any]:
        return by_keys((Party.name_key, Party.alt_key), prefix)  # surname first, then first name

    def by_key(column: Any, query: str) -> Callable[[Any, Any], Any]:
        return by_keys((column,), query)

    def by_point(channel: str, key: str) -> Callable[[Any, Any], Any]:
        def run(session: Any, viewer: Any) -> Any:
            return session.execute(
                select(Party.id, Party.name)
                .join(ContactPoint, and_(ContactPoint.party_id == Party.id, ContactPoint.channel == channel))
                .where(ContactPoint.value_key == key, Party.deleted_at.is_(None), visible(Party, viewer))
                .order_by(Party.name_key, Party.id).limit(50)
            ).all()  # fmt: skip

        return run

    cases: dict[str, Callable[[Any, Any], Any]] = {
        "sql card org": card(t["org_id"]),
        "sql card person": card(t["person_id"]),
    }
    for label, prefix in NAME_PREFIXES.items():
        cases[f"sql {label.strip()} {prefix}"] = by_name(prefix)
    cases["sql e-mail"] = by_point("email", t["email"].lower())
    cases["sql phone"] = by_point("phone", t["phone"])
    if hasattr(Party, "city_key"):  # a database before contacts_0003 has no city key (a "before" figure)
        for city in CITY_QUERIES:
            cases[f"sql city {city}"] = by_key(Party.city_key, city)
    return cases


def chosen(rows: dict[str, Any], only: str) -> dict[str, Any]:
    """The rows whose label has one of the comma-separated words of ``--only`` (all without it)."""
    words = [w.strip() for w in only.split(",") if w.strip()]
    return {k: v for k, v in rows.items() if not words or any(w in k for w in words)}


def timed(fn: Callable[[], Any], n: int, warmup: int = 5) -> Samples:
    for _ in range(warmup):
        fn()
    samples = Samples()
    cpu = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.cpu_ms_per_call = (time.process_time() - cpu) * 1000 / n
    return samples


# -- pages -----------------------------------------------------------------------------------------------------


async def login(app: Any, username: str, password: str) -> dict[str, str]:
    page = await call(app, "GET", "/login")
    match = TOKEN.search(page.body)
    assert match is not None, "no CSRF token on the login page"
    body = f"username={quote(username)}&password={quote(password)}&csrf_token={match.group(1).decode()}&next=/"
    done = await call(app, "POST", "/login", cookies=page.cookies(), body=body.encode(), headers=FORM)
    assert done.status == 303, f"login as {username} failed: {done.status}"
    return done.cookies()


def measure(engine: str, url: str, workdir: Path, args: argparse.Namespace) -> tuple[list[Figures], dict[str, Any]]:
    settings = settings_for(url, workdir, [])
    db = make_engine(url)
    with make_sessionmaker(db)() as session:
        t = pick_targets(session)
        admin = load_user(session, session.scalar(select(User.id).where(User.username == "admin")))
        owner = load_user(session, t["owner_id"]) if t["owner_id"] else None
    print(f"[{engine}] card org: {t['org_name']} (#{t['org_id']}, {t['org_entries']:,} activities, "
          f"{t['org_relationships']:,} relationships), person #{t['person_id']}; owner {t['owner']}; "
          f"e-mail {t['email']}, phone {t['phone']}", flush=True)  # fmt: skip
    figures: list[Figures] = []
    viewers = [("admin", admin)] + ([(t["owner"], owner)] if owner is not None else [])
    with make_sessionmaker(db)() as session:
        for who, viewer in viewers:
            for label, fn in chosen(sql_cases(t), args.only).items():
                samples = timed(lambda f=fn, v=viewer: f(session, v), args.repeat)
                figures.append(Figures.of(f"{TAGS[engine]} {label} ({'all' if who == 'admin' else 'own'})", samples))
    db.dispose()
    paths = chosen(page_paths(t), args.only)
    accounts = [("admin", TEST_PASSWORD)] + ([(t["owner"], seed_core.DEMO_PASSWORD)] if t["owner"] else [])

    async def warm() -> None:
        app = create_app(settings)
        async with lifespan(app):
            for username, password in accounts:
                cookies = await login(app, username, password)
                for label, path in paths.items():
                    first = await call(app, "GET", path, cookies=cookies)
                    samples = await time_calls(lambda p=path, c=cookies: call(app, "GET", p, cookies=c),
                                               args.repeat, warmup=10)  # fmt: skip
                    note = "" if first.status == 200 else f"status {first.status}"
                    scope = "all" if username == "admin" else "own"
                    figures.append(Figures.of(f"{TAGS[engine]} warm {label} ({scope})", samples, note=note))
        app.state.voronka.engine.dispose()

    cold: dict[str, list[float]] = {}

    async def cold_run() -> None:
        app = create_app(settings)
        async with lifespan(app):
            cookies = await login(app, "admin", TEST_PASSWORD)
            for label, path in list(paths.items())[:3]:  # the two cards and one search, each a first call
                started = time.perf_counter()
                await call(app, "GET", path, cookies=cookies)
                cold.setdefault(label, []).append((time.perf_counter() - started) * 1000)
        app.state.voronka.engine.dispose()

    loop = new_loop()
    asyncio.set_event_loop(loop)
    try:
        for _ in range(args.cold):
            loop.run_until_complete(cold_run())
        loop.run_until_complete(warm())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    figures += [Figures.of(f"{TAGS[engine]} cold {label} (all)", samples) for label, samples in cold.items()]
    for row in figures:
        kind = "card" if "card" in row.name else "search"
        if row.median_ms is not None and " sql " not in row.name and " cold " not in row.name:
            verdict = "met" if row.median_ms < TARGETS[kind] else "MISSED"
            row.note = f"{row.note + '; ' if row.note else ''}< {TARGETS[kind]:.0f} ms: {verdict}"
    return figures, t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=10, help="as voronka demo --scale (1000: a million parties)")
    parser.add_argument("--parties", type=int, help="override the scale's parties")
    parser.add_argument("--relationships", type=int, help="override the scale's relationships")
    parser.add_argument("--activities", type=int, help="override the scale's activities")
    parser.add_argument("--language", default="uk", help="the deployment's language (uk: mostly Ukrainian names)")
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite (the default when --pg is not given)")
    parser.add_argument("--pg", action="store_true", help="run on PostgreSQL")
    parser.add_argument("--sqlite-file", type=Path, help="keep the seeded SQLite database here and reuse it")
    parser.add_argument("--pg-database", help="keep the seeded PostgreSQL database under this name and reuse it")
    parser.add_argument("--pg-url", default=DEFAULT_PG_ADMIN, help="a PostgreSQL server's admin URL")
    parser.add_argument("--repeat", type=int, default=200, help="warm calls per row (default 200)")
    parser.add_argument("--cold", type=int, default=3, help="fresh apps for the cold rows (default 3)")
    parser.add_argument("--seed-only", action="store_true", help="seed (or find seeded) and stop")
    parser.add_argument("--only", default="", help="time only rows whose label has one of these words: search,city")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    engines = (["sqlite"] if args.sqlite or not args.pg else []) + (["postgresql"] if args.pg else [])
    report: dict[str, Any] = {"seeding": [], "figures": [], "targets": {}}
    figures: list[Figures] = []
    for engine in engines:
        workdir = Path(tempfile.mkdtemp(prefix="voronka-bench-contacts-"))
        url, cleanup = open_database(engine, args, workdir)
        try:
            seeded = seed_if_needed(engine, url, args)
            if seeded:
                report["seeding"].append(seeded)
            if not args.seed_only:
                rows, targets = measure(engine, url, workdir, args)
                figures += rows
                report["targets"][engine] = targets
        finally:
            cleanup()
            shutil.rmtree(workdir, ignore_errors=True)
    for s in report["seeding"]:
        print(f"seeding [{s['engine']}]: {s['rows']:,} rows in {s['contacts_s']:.1f} s = {s['rows_per_s']:,.0f} rows/s "
              f"(CPU {s['cpu_s']:.1f} s, commit {s['commit_s']:.1f} s, ANALYZE {s['analyze_s']:.1f} s)")  # fmt: skip
    if figures:
        print_table(f"Contacts, {plan_of(args)} (ms, in-process)", figures)
    if args.json:
        report["figures"] = [row.as_dict() for row in figures]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()

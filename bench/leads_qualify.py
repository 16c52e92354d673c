"""Qualify in one click at scale: a lead becomes an organisation, a person and an opportunity.

    python -m bench.leads_qualify                          # SQLite, 100,000 parties and leads, /work/bench-data/…
    python -m bench.leads_qualify --pg                     # the same on PostgreSQL (database kept)
    python -m bench.leads_qualify --rows 20000 --sqlite-file /tmp/q.sqlite

Target (issue 6): qualify in one click under 100 ms.

**The data**: core's demo organisation (scale 5), then ``--rows`` organisations, ``--rows`` people (each with
a primary e-mail contact point, half of them employed by an organisation), ``--rows`` leads owned by
sales people (name, company, e-mail, phone, city, country, message, consent) and ``--rows // 5`` open
deals, all with core's bulk insert (executemany on SQLite, COPY on PostgreSQL). The mapping fills 17
targets (organisation 3, person 10, opportunity 4: amount, currency and close date from script answers,
the description from the lead's message); two admin rows override defaults. A kept database
(``--sqlite-file``, ``--pg-database``) is seeded once.

**What is timed**, warm, median and p95 of ``--repeat`` after a warm-up, wall and CPU milliseconds, each on
a different open lead: the qualify service alone (``qualify.qualify`` with the default outcomes and script
answers, in its own write transaction, commit included); ``POST /leads/{id}/qualify`` in-process (what
the user waits for: the form read, the service, the redirect); and ``GET /leads/{id}/qualify`` (the
screen: outcomes, previews and contacts' duplicate matcher for the person and the organisation).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select, text

from bench.databases import (
    add_kept_database_arguments,
    has_rows,
    kept_database,
    settings_for,
    upgraded,
)
from bench.harness import call, lifespan, run_in_new_loop
from bench.pipeline import login
from bench.shell import FORM
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.models import User
from voronka.core.search_keys import search_key
from voronka.core.security.users import load_user
from voronka.core.seeding import SeedContext, bulk_insert
from voronka.web import seed_core
from voronka.web.app import create_app
from voronka.web.provision import upgrade
from voronka.web.testkit.users import create_test_users

from voronka.plugins.contacts.api import ContactPoint, Party, Relationship, RelationshipType  # isort: skip
from voronka.plugins.contacts.city_keys import city_key  # isort: skip
from voronka.plugins.contacts.parties import organisation_keys  # isort: skip
from voronka.plugins.leads import qualify  # isort: skip
from voronka.plugins.leads.models import FieldMapping, Lead, Qualification, Script, ScriptVersion  # isort: skip
from voronka.plugins.pipeline.models import Opportunity  # isort: skip
from voronka.plugins.pipeline.stages import catalogue  # isort: skip

CHUNK = 20_000
UTC = dt.UTC
FIRST = ("Olena", "Taras", "Iryna", "Andrii", "Oksana", "Dmytro", "Natalia", "Serhii", "Mariia", "Bohdan",
         "Anna", "Yurii", "Kateryna", "Oleh", "Sofiia", "Maksym")  # fmt: skip
LAST = ("Koval", "Shevchuk", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk", "Boiko", "Savchenko", "Moroz",
        "Lysenko", "Rudenko", "Marchenko", "Petrenko", "Polishchuk")  # fmt: skip
WORDS = ("Agro", "Tech", "Soft", "Trade", "Build", "Logistic", "Energy", "Med", "Food", "Print", "Steel", "Nova",
         "Data", "Dnipro", "Karpaty", "Polis", "Sonyah", "Zoria")  # fmt: skip
CITIES = ("Kyiv", "Lviv", "Odesa", "Kharkiv", "Dnipro", "Vinnytsia", "Poltava", "Chernihiv", "Uzhhorod")
ANSWERS = {"budget": "125 000", "currency": "UAH", "close_date": "2027-03-31", "need": "40 laptops", "seats": "40"}


def _company(n: int) -> str:
    return f"{WORDS[n % len(WORDS)]}{WORDS[(n // len(WORDS)) % len(WORDS)].lower()} {n} LLC"


def generate(url: str, rows: int, workdir: Path) -> None:
    settings = settings_for(url, workdir, [])
    _, failures = upgrade(settings)
    if failures:
        raise RuntimeError(f"migrations failed: {failures}")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    started, cpu = time.perf_counter(), time.process_time()
    with write_transaction(sessions) as session:
        create_test_users(session)
        ctx = SeedContext(engine=engine, session=session, scale=5)
        seed_core.seed_core(ctx)
        sales = list(ctx.ids["core.sales"])
        employment = session.scalar(select(RelationshipType.id).where(RelationshipType.key == "employment"))
        pipeline = catalogue(session).default()
        assert pipeline is not None and pipeline.first_open() is not None
        first_stage = pipeline.first_open()
    rng = random.Random(20261128)
    now = dt.datetime.now(UTC)
    for start in range(1, rows + 1, CHUNK):
        ids = range(start, min(start + CHUNK, rows + 1))
        orgs, people, points, ties, leads, deals = [], [], [], [], [], []
        for n in ids:
            owner = rng.choice(sales)
            created = now - dt.timedelta(days=rng.uniform(1, 900))
            city = rng.choice(CITIES)
            name = _company(n)
            name_key, alt_key = organisation_keys(name)
            org_id, person_id = n, rows + n
            base = {"description": "", "primary_phone": "", "city": city, "city_key": city_key(city), "country": "UA",
                    "do_not_contact": False, "marketing_consent": False, "consent_at": None, "consent_source": "",
                    "owner_user_id": owner, "owner_team_id": None, "created_at": created, "updated_at": created,
                    "version": 1, "custom": {}, "deleted_at": None, "first_name": "", "middle_name": "",
                    "last_name": "", "job_title": "", "birthday": None, "legal_name": "", "registration_no": "",
                    "industry": ""}  # fmt: skip
            orgs.append({**base, "id": org_id, "kind": "organisation", "name": name, "name_key": name_key,
                         "alt_key": alt_key, "primary_email": ""})  # fmt: skip
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}.{n}@example.com".lower()
            people.append({**base, "id": person_id, "kind": "person", "name": f"{first} {last}",
                           "name_key": search_key(f"{last} {first}"), "alt_key": search_key(f"{first} {last}"),
                           "first_name": first, "last_name": last, "primary_email": email})  # fmt: skip
            points.append({"party_id": person_id, "channel": "email", "label": "work", "value": email,
                           "value_key": email, "is_primary": True, "position": 0})  # fmt: skip
            if n % 2 == 0:
                ties.append({"type_id": employment, "a_id": person_id, "b_id": org_id, "valid_from": None,
                             "valid_to": None, "note": ""})  # fmt: skip
            lfirst, llast = rng.choice(FIRST), rng.choice(LAST)
            lead_company = f"Lead {_company(rows + n)}"
            leads.append({"id": n, "name": f"{lfirst} {llast}", "name_key": search_key(f"{lfirst} {llast}"),
                          "first_name": lfirst, "last_name": llast, "job_title": "Head of purchasing",
                          "company": lead_company, "company_key": organisation_keys(lead_company)[0],
                          "email": f"lead{n}@lead-example.com", "email_key": f"lead{n}@lead-example.com",
                          "phone": f"+38067{n:07d}", "phone_key": f"+38067{n:07d}", "website": "", "city": city,
                          "country": "UA", "message": "We need 40 laptops and a support contract for the new office.",
                          "channel": "leads.web_form", "campaign_id": None, "utm_source": "", "utm_medium": "",
                          "utm_campaign": "", "utm_term": "", "utm_content": "", "referrer": "", "external_ref": "",
                          "payload": {}, "status": "new", "disqualify_reason": "", "disqualify_note": "",
                          "marketing_consent": True, "consent_at": created, "consent_text": "Offers by e-mail",
                          "closed_at": None, "closed_by_id": None, "created_at": created, "updated_at": created,
                          "owner_user_id": owner, "owner_team_id": None, "version": 1, "custom": {},
                          "deleted_at": None})  # fmt: skip
            if n % 5 == 0:
                deal_name = f"Deal {n}"
                deals.append({"id": n // 5, "name": deal_name, "name_key": search_key(deal_name), "customer_id": org_id,
                              "pipeline_id": pipeline.id, "stage_id": first_stage.id, "amount_minor": 1_000_000,
                              "amount_currency": "UAH", "expected_close": None, "probability": 10,
                              "probability_manual": False, "forecast_category": "pipeline", "status": "open",
                              "closed_on": None, "lost_reason": "", "competitor": "", "description": "",
                              "stage_entered_at": created, "created_at": created, "updated_at": created,
                              "owner_user_id": owner, "owner_team_id": None, "version": 1, "custom": {},
                              "deleted_at": None})  # fmt: skip
        with write_transaction(sessions) as session:
            bulk_insert(session, Party, orgs)
            bulk_insert(session, Party, people)
            bulk_insert(session, ContactPoint, points)
            if ties:
                bulk_insert(session, Relationship, ties)
            bulk_insert(session, Lead, leads)
            if deals:
                bulk_insert(session, Opportunity, deals)
        print(f"  {ids[-1]:,} of {rows:,}, {time.perf_counter() - started:.0f} s", flush=True)
    with write_transaction(sessions) as session:
        script = Script(key="bench_intro", name="Intro call")
        session.add(script)
        session.flush()
        steps = [{"key": key, "title": key.replace("_", " ").capitalize(), "type": "text", "next": "done"}
                 for key in ANSWERS] + [{"key": "done", "type": "outcome", "result": "qualify"}]  # fmt: skip
        version = ScriptVersion(script_id=script.id, number=1, definition={"start": "budget", "steps": steps})
        session.add(version)
        session.flush()
        script.current_version_id = version.id
        session.add_all([
            FieldMapping(outcome="leads.person", target="description", source="answer.need"),
            FieldMapping(outcome="leads.organisation", target="description", source="lead.message"),
        ])  # fmt: skip
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            for table in ("contacts_party", "contacts_point", "contacts_relationship", "leads_lead",
                          "pipeline_opportunity"):  # fmt: skip
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"GREATEST((SELECT max(id) FROM {table}), 1))"))  # fmt: skip
        conn.execute(text("ANALYZE"))
        conn.commit()
    print(f"seeded {rows:,} organisations, people and leads in {time.perf_counter() - started:.0f} s wall, "
          f"{time.process_time() - cpu:.0f} s CPU", flush=True)  # fmt: skip
    engine.dispose()


# -- timing -------------------------------------------------------------------------------------------------


def _figure(label: str, walls: list[float], cpu_ms: float) -> str:
    walls = sorted(walls)
    p95 = walls[min(len(walls) - 1, int(len(walls) * 0.95))]
    return f"  {label:<52} median {statistics.median(walls):7.1f} ms  p95 {p95:7.1f} ms  CPU {cpu_ms:7.1f} ms/call"


def _with_run(sessions: Any, lead_ids: list[int]) -> None:
    """Each lead gets a finished run of the bench script (its answers feed the opportunity)."""
    with write_transaction(sessions) as session:
        version_id = session.scalar(select(ScriptVersion.id).join(Script).where(Script.key == "bench_intro"))
        at = dt.datetime.now(UTC)
        session.add_all([Qualification(lead_id=lead_id, script_version_id=version_id, status="finished", step="done",
                                       path=[*ANSWERS, "done"], answers=dict(ANSWERS), finished_at=at)
                         for lead_id in lead_ids])  # fmt: skip


def _wire(rt: Any) -> None:
    """Pipeline's answers to leads' hooks, registered on its hooks module as plugins/pipeline/hooks.py does
    once it imports them (until then the bench does the same, so the opportunity is made)."""
    from voronka.plugins.pipeline import hooks as pipeline_hooks
    from voronka.plugins.pipeline import leads_answers

    if hasattr(pipeline_hooks, "qualification_outcomes"):
        return
    pipeline_hooks.qualification_outcomes = leads_answers.qualification_outcomes  # type: ignore[attr-defined]
    pipeline_hooks.qualification_lookups = leads_answers.qualification_lookups  # type: ignore[attr-defined]
    rt.host.pm.unregister(name="pipeline")
    rt.host.pm.register(pipeline_hooks, name="pipeline")


def measure(url: str, workdir: Path, repeat: int) -> list[str]:
    settings = settings_for(url, workdir, [])
    lines: list[str] = []

    async def run() -> None:
        app = create_app(settings)
        rt = app.state.voronka
        async with lifespan(app):
            _wire(rt)
            with rt.sessions() as session:
                parties = session.scalar(select(func.count()).select_from(Party))
                leads = session.scalar(select(func.count()).select_from(Lead))
                owner_id, username = session.execute(
                    select(Lead.owner_user_id, User.username).join(User, User.id == Lead.owner_user_id)
                    .where(Lead.status == "new").group_by(Lead.owner_user_id, User.username)
                    .order_by(func.count().desc()).limit(1)).one()  # fmt: skip
                wanted = 3 * (repeat + 3)
                open_ids = list(session.scalars(select(Lead.id).where(Lead.owner_user_id == owner_id,
                                                                      Lead.status == "new")
                                                .order_by(Lead.id.desc()).limit(wanted)))  # fmt: skip
                actor = load_user(session, owner_id)
            lines.append(f"{rt.engine.dialect.name}: {parties:,} parties, {leads:,} leads; qualifying as {username}")
            if len(open_ids) < wanted:
                lines.append(f"  only {len(open_ids)} open leads left for {username}: reseed or lower --repeat")
                return
            _with_run(rt.sessions, open_ids)
            service, posts, screens = (
                open_ids[: repeat + 3],
                open_ids[repeat + 3 : 2 * (repeat + 3)],
                open_ids[2 * (repeat + 3) :],
            )

            walls: list[float] = []
            cpu = time.process_time()
            for index, lead_id in enumerate(service):
                started = time.perf_counter()
                with write_transaction(rt.sessions) as session:
                    made = qualify.qualify(session, rt, actor, lead_id)
                if index >= 3:
                    walls.append((time.perf_counter() - started) * 1000)
            assert len(made) == 3, made
            lines.append(_figure("qualify service: organisation + person + deal", walls,
                                 (time.process_time() - cpu) * 1000 / len(service)))  # fmt: skip

            cookies = await login(app, username, seed_core.DEMO_PASSWORD)
            walls, cpu_total = [], 0.0
            statuses: set[int] = set()
            for index, lead_id in enumerate(screens):
                cpu = time.process_time()
                started = time.perf_counter()
                page = await call(app, "GET", f"/leads/{lead_id}/qualify", cookies=cookies)
                if index >= 3:
                    walls.append((time.perf_counter() - started) * 1000)
                    cpu_total += time.process_time() - cpu
                statuses.add(page.status)
            lines.append(
                _figure(f"GET qualify screen (status {sorted(statuses)})", walls, cpu_total * 1000 / len(walls))
            )

            token = re.search(rb'name="csrf_token" value="([^"]+)"', page.body)
            assert token is not None
            body_of = {lead_id: urlencode([("csrf_token", token.group(1).decode()), ("outcome", "leads.organisation"),
                                           ("outcome", "leads.person"), ("outcome", "pipeline.opportunity"),
                                           ("fill_empty_only", "1")]).encode() for lead_id in posts}  # fmt: skip
            walls, cpu_total, statuses = [], 0.0, set()
            for index, lead_id in enumerate(posts):
                cpu = time.process_time()
                started = time.perf_counter()
                done = await call(app, "POST", f"/leads/{lead_id}/qualify", cookies=cookies, body=body_of[lead_id],
                                  headers=FORM)  # fmt: skip
                if index >= 3:
                    walls.append((time.perf_counter() - started) * 1000)
                    cpu_total += time.process_time() - cpu
                statuses.add(done.status)
            lines.append(_figure(f"POST qualify, one click (status {sorted(statuses)})", walls,
                                 cpu_total * 1000 / len(walls)))  # fmt: skip
        rt.engine.dispose()

    run_in_new_loop(run())
    return lines


def main(argv: list[str] | None = None, run_measure: Callable[..., list[str]] = measure) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="organisations, people and leads (each)")
    add_kept_database_arguments(parser, repeat=30)
    args = parser.parse_args(argv)
    url, workdir = kept_database(args, "leads-qualify", args.rows)
    if not has_rows(url, Lead):
        generate(url, args.rows, workdir)
    else:
        upgraded(url, workdir)
    for line in run_measure(url, workdir, args.repeat):
        print(line, flush=True)


if __name__ == "__main__":
    main()

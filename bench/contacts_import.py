"""Import at scale: 100,000 people from a CSV (first and last name, e-mail, phone, city, company), while
another user keeps saving.

    python -m bench.contacts_import                                  # SQLite, duplicates "skip" and "create"
    python -m bench.contacts_import --pg                             # SQLite, then PostgreSQL
    python -m bench.contacts_import --rows 10000 --modes skip --profile /tmp/import.prof

Issue 4's target: 100,000 people under 30 s on either engine. Builds a fresh database with the contacts plugin
(its relationship types installed by its migrations), writes a CSV of N people in memory: Ukrainian and
English names, e-mails, +380 phones (a few written the local way, "067 …"), cities, and an employer from a
pool of about 2,000 company names (so the import creates those organisations and links people to them). One
row in a hundred repeats an earlier person's e-mail under another spelling of the name (a duplicate the
matcher must find). It runs the import in-process exactly as the job does (``run_import``: time-sized
batches, each one write transaction through ``save_batch`` with audit entries and events; the garbage collector
tuned as in the worker, ``web.tuning``) and reports the
total time, rows per second, the CPU time of the import's thread and of the whole process (the other user's
saves run in it too), the number of batches, the longest write transaction (every transaction that wrote,
BEGIN to COMMIT) and the latencies of a second thread that plays another user saving a person every 50 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.databases import bench_database, settings_for
from bench.imports import TransactionClock
from voronka.core.db import write_transaction
from voronka.core.imports import create_import, run_import, start_import
from voronka.core.models import User
from voronka.core.models_records import AuditEntry
from voronka.core.security.users import load_user
from voronka.core.writes import save
from voronka.plugins.contacts.models import ORGANISATION, PERSON, Party, Relationship
from voronka.plugins.contacts.seed_companies import EN_BRANDS, EN_LINES, UK_BRANDS, UK_LINES
from voronka.plugins.contacts.seed_names import EN_FEMALE, EN_MALE, EN_SURNAMES, UK_FEMALE, UK_MALE, UK_SURNAMES
from voronka.plugins.contacts.seed_places import UA, ua_mobile
from voronka.web.app import create_app
from voronka.web.tuning import tune_gc

HEADER = ["First name", "Last name", "E-mail", "Phone", "City", "Company"]
MAPPING = ["first_name", "last_name", "primary_email", "primary_phone", "city", "employer"]
COMPANIES = 2000
REPEAT_EVERY = 100
REPEAT_BACK = 6000
TUNED: list[bool] = []
"""A repeated person comes from at least this many rows back: further than one batch (at most 5,000 rows),
so it is found in the database, not among the batch's own rows."""
EN_CITIES = ("London", "Manchester", "New York", "Chicago", "Toronto", "Warsaw", "Berlin")
UA_DOMAINS = ("ukr.net", "gmail.com", "i.ua", "meta.ua", "outlook.com")


def company_pool(rng: random.Random, n: int = COMPANIES) -> list[str]:
    """About ``n`` distinct company names, Ukrainian ("ТОВ «Дніпро-Агро»") and English ("Summit Foods Ltd")."""
    names: set[str] = set()
    uk_forms, en_forms = ("ТОВ", "ПП", "ПрАТ", "АТ"), ("Ltd", "LLC", "Inc.", "Group")
    while len(names) < n:
        if rng.random() < 0.6:
            brand, (line, _industry) = rng.choice(UK_BRANDS), rng.choice(UK_LINES)
            names.add(f"{rng.choice(uk_forms)} «{brand}-{line}{rng.choice(['', '', ' ' + str(rng.randint(1, 99))])}»")
        else:
            brand, (line, _industry) = rng.choice(EN_BRANDS), rng.choice(EN_LINES)
            names.add(f"{brand} {line}{rng.choice(['', '', ' ' + str(rng.randint(1, 99))])} {rng.choice(en_forms)}")
    return sorted(names)


def _translit(text: str) -> str:
    from voronka.plugins.contacts.seed_names import latin

    return latin(text).lower().replace("'", "")


def make_csv(n: int, rng: random.Random) -> bytes:
    """N people; one row in :data:`REPEAT_EVERY` repeats an earlier row's e-mail (the name in Latin letters)."""
    companies = company_pool(rng)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    rows: list[list[str]] = []
    for i in range(n):
        if i > REPEAT_BACK and i % REPEAT_EVERY == 0:
            first, last, email, phone, city, company = rows[rng.randrange(0, i - REPEAT_BACK)]
            row = [_translit(first).capitalize(), _translit(last).capitalize(), email.upper(), phone, city, company]
        elif rng.random() < 0.75:
            first = rng.choice(UK_FEMALE) if rng.random() < 0.5 else rng.choice(UK_MALE)[0]
            last = rng.choice(UK_SURNAMES)
            email = f"{_translit(first)}.{_translit(last)}{i}@{rng.choice(UA_DOMAINS)}"
            e164, spaced = ua_mobile(rng)
            draw = rng.random()
            phone = f"0{e164[4:6]} {e164[6:9]} {e164[9:]}" if draw < 0.2 else spaced if draw < 0.4 else e164
            city = rng.choice(UA).name
            row = [first, last, email, phone, city, rng.choice(companies)]
        else:
            first, last = rng.choice(EN_FEMALE + EN_MALE), rng.choice(EN_SURNAMES)
            email = f"{first.lower()}.{last.lower()}{i}@example.com"
            row = [first, last, email, f"+38067{i:07d}", rng.choice(EN_CITIES), rng.choice(companies)]
        rows.append(row)
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


class OtherUser(threading.Thread):
    """Saves one person every ``every`` seconds through the write path, timing each save."""

    def __init__(self, runtime: Any, party_id: int, user_id: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.runtime, self.party_id, self.user_id, self.every = runtime, party_id, user_id, every
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        kind = self.runtime.record_kinds["person"]
        n = 0
        while not self.stop.is_set():
            n += 1
            t = time.perf_counter()
            with write_transaction(self.runtime.sessions) as session:
                save(session, kind, self.party_id, {"description": f"edit {n}"}, actor=self.user_id)
            self.latencies.append(time.perf_counter() - t)
            self.stop.wait(self.every)


def run(engine: str, n: int, mode: str, profile: str = "") -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="voronka-bench-contacts-import-"))
    with bench_database(engine, workdir, []) as url:
        settings = settings_for(url, workdir, [])
        app = create_app(settings)
        if not TUNED:  # as the worker and the server that run the import job do, once per process
            TUNED.append(tune_gc(settings))
        runtime = app.state.voronka
        kind = runtime.record_kinds["person"]
        with write_transaction(runtime.sessions) as session:
            admin_id = session.scalar(select(User.id).where(User.username == "admin"))
            other = save(session, kind, None, {"first_name": "Someone", "last_name": "Else", "owner_user_id": admin_id},
                         actor=admin_id).id  # fmt: skip
        data = make_csv(n, random.Random(11))
        t = time.perf_counter()
        with write_transaction(runtime.sessions) as session:
            admin = load_user(session, admin_id)
            imp = create_import(session, runtime.record_kinds, admin, "person", "people.csv", data)
            suggested = list(imp.mapping)
            start_import(session, runtime.record_kinds, imp, admin, mapping=MAPPING, duplicates=mode, dry_run=False)
            import_id = imp.id
        prepared = time.perf_counter() - t
        assert suggested[:2] == MAPPING[:2] and suggested[4:] == MAPPING[4:], suggested
        clock = TransactionClock(runtime.engine)
        batches: list[Any] = []
        user = OtherUser(runtime, other, admin_id)
        user.start()
        profiler = cProfile.Profile() if profile else None
        cpu, own, t = time.process_time(), time.thread_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        final = run_import(runtime.sessions, runtime.record_kinds, import_id, progress=batches.append)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        elapsed, cpu, own = time.perf_counter() - t, time.process_time() - cpu, time.thread_time() - own
        user.stop.set()
        user.join()
        with runtime.sessions() as session:
            people = session.scalar(select(func.count()).select_from(Party).where(Party.kind == PERSON)) or 0
            orgs = session.scalar(select(func.count()).select_from(Party).where(Party.kind == ORGANISATION)) or 0
            links = session.scalar(select(func.count()).select_from(Relationship)) or 0
            audit = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.source == "import"))
        runtime.engine.dispose()
    assert final.status == "done" and final.failed == 0, (final.status, final.failed, final.message)
    lat = sorted(user.latencies) or [0.0]
    return {
        "engine": engine, "rows": n, "mode": mode, "prepare_s": prepared, "import_s": elapsed, "cpu_s": cpu,
        "import_cpu_s": own,
        "rows_per_s": n / elapsed, "batches": len(batches) - 1, "created": final.created, "skipped": final.skipped,
        "people": people, "organisations": orgs, "relationships": links, "audit_rows": audit,
        "longest_write_tx_ms": max(clock.durations) * 1000,
        "write_tx_p99_ms": statistics.quantiles(clock.durations, n=100)[98] * 1000,
        "other_saves": len(user.latencies), "other_save_p50_ms": lat[len(lat) // 2] * 1000,
        "other_save_p99_ms": lat[int(len(lat) * 0.99)] * 1000, "other_save_max_ms": lat[-1] * 1000,
    }  # fmt: skip


def report(f: dict[str, Any]) -> None:
    print(f"\n[{f['engine']}] import of {f['rows']:,} people (name, e-mail, phone, city, company), "
          f"duplicates={f['mode']}")  # fmt: skip
    print(f"  upload + header check + row count: {f['prepare_s']:.2f} s")
    print(f"  import: {f['import_s']:.1f} s = {f['rows_per_s']:,.0f} rows/s in {f['batches']} batches; created "
          f"{f['created']:,}, skipped {f['skipped']:,}")  # fmt: skip
    per_row = f["import_cpu_s"] / f["rows"] * 1000
    print(f"  CPU: the import's thread {f['import_cpu_s']:.1f} s ({per_row:.2f} ms a row), "
          f"the process {f['cpu_s']:.1f} s (with the other user's saves)")  # fmt: skip
    print(f"  now {f['people']:,} people, {f['organisations']:,} organisations, {f['relationships']:,} "
          f"relationships, {f['audit_rows']:,} audit rows from the import")  # fmt: skip
    print(f"  write transactions: longest {f['longest_write_tx_ms']:.0f} ms, p99 {f['write_tx_p99_ms']:.0f} ms")
    print(f"  another user's saves meanwhile: {f['other_saves']}, p50 {f['other_save_p50_ms']:.0f} ms, "
          f"p99 {f['other_save_p99_ms']:.0f} ms, max {f['other_save_max_ms']:.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--modes", default="skip,create", help="duplicate modes to run, comma separated")
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL (127.0.0.1:5432)")
    parser.add_argument("--pg-only", action="store_true", help="only PostgreSQL")
    parser.add_argument("--profile", default="", help="write cProfile stats of the import to this file")
    args = parser.parse_args()
    engines = ["postgresql"] if args.pg_only else ["sqlite", "postgresql"] if args.pg else ["sqlite"]
    for engine in engines:
        for mode in args.modes.split(","):
            profile = f"{args.profile}.{engine}.{mode}" if args.profile else ""
            report(run(engine, args.rows, mode.strip(), profile))


if __name__ == "__main__":
    main()

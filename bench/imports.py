"""Import at scale: 100,000 notes with two custom fields from a CSV, while another user keeps saving.

    PYTHONPATH=tests/fixture_plugins python -m bench.imports            # SQLite
    PYTHONPATH=tests/fixture_plugins python -m bench.imports --pg       # SQLite, then PostgreSQL

Builds a fresh database with the notes test plugin, defines two custom fields (a filterable choice and a
filterable number), writes a CSV of N rows (title, body, owner username, Region, Score), and runs the import
in-process exactly as the job does (``run_import``: time-sized batches, each one write transaction through
``save_batch`` with audit entries and events). It reports the total time, rows per second, the number of
batches and the longest write transaction (every transaction that wrote, timed from BEGIN to COMMIT by
SQLAlchemy engine events). Meanwhile a second thread plays another user saving a note every 50 ms; its
latencies show how responsive the app stays for others during the import.
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

from sqlalchemy import event, func, select

from bench.databases import bench_database, settings_for
from voronka.core import custom_fields_admin as cfa
from voronka.core.db import write_transaction
from voronka.core.imports import create_import, run_import, start_import
from voronka.core.models import User
from voronka.core.models_records import AuditEntry
from voronka.core.security.users import load_user
from voronka.core.writes import save
from voronka.web.app import create_app
from voronka.web.tuning import tune_gc

PLUGIN = "notes=voronka_test_notes"
REGIONS = ["North", "South", "East", "West", "Centre"]


class TransactionClock:
    """Times every transaction that wrote something, from BEGIN to COMMIT/ROLLBACK, per connection."""

    def __init__(self, engine: Any):
        self.started: dict[int, float] = {}
        self.writing: set[int] = set()
        self.durations: list[float] = []
        event.listen(engine, "begin", self.begin)
        event.listen(engine, "before_cursor_execute", self.execute)
        event.listen(engine, "commit", self.end)
        event.listen(engine, "rollback", self.end)

    def begin(self, conn: Any) -> None:
        self.started[id(conn)] = time.perf_counter()

    def execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.writing.add(id(conn))

    def end(self, conn: Any) -> None:
        began = self.started.pop(id(conn), None)
        if began is not None and id(conn) in self.writing:
            self.durations.append(time.perf_counter() - began)
        self.writing.discard(id(conn))


def make_csv(n: int, rng: random.Random) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Title", "Body", "Owner", "Region", "Score"])
    owners = ["admin", "manager", "sales", "sales2"]
    for i in range(n):
        writer.writerow([f"Imported note {i}", f"Body of note {i} — текст", owners[i % 4], rng.choice(REGIONS),
                         rng.randint(0, 1000)])  # fmt: skip
    return buffer.getvalue().encode("utf-8")


class OtherUser(threading.Thread):
    """Saves one note every ``every`` seconds through the write path, timing each save."""

    def __init__(self, runtime: Any, note_id: int, user_id: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.runtime, self.note_id, self.user_id, self.every = runtime, note_id, user_id, every
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        kind = self.runtime.record_kinds["note"]
        n = 0
        while not self.stop.is_set():
            n += 1
            t = time.perf_counter()
            with write_transaction(self.runtime.sessions) as session:
                save(session, kind, self.note_id, {"body": f"edit {n}"}, actor=self.user_id)
            self.latencies.append(time.perf_counter() - t)
            self.stop.wait(self.every)


def run(engine: str, n: int, mode: str, profile: str = "") -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="voronka-bench-import-"))
    with bench_database(engine, workdir, [PLUGIN]) as url:
        settings = settings_for(url, workdir, [PLUGIN])
        app = create_app(settings)
        tune_gc(settings)  # as the server, the worker and `voronka import` do once they have started
        runtime = app.state.voronka
        kind = runtime.record_kinds["note"]
        with write_transaction(runtime.sessions) as session:
            cfa.create_field(session, kind, {"label": "Region", "type": "choice", "choices": "\n".join(REGIONS),
                                             "filterable": "on"})  # fmt: skip
            cfa.create_field(session, kind, {"label": "Score", "type": "number", "filterable": "on"})
            admin_id = session.scalar(select(User.id).where(User.username == "admin"))
            other = save(session, kind, None, {"title": "Someone else's note", "owner_user_id": admin_id},
                         actor=admin_id).id  # fmt: skip
        data = make_csv(n, random.Random(11))
        t = time.perf_counter()
        with write_transaction(runtime.sessions) as session:
            admin = load_user(session, admin_id)
            imp = create_import(session, runtime.record_kinds, admin, "note", "bench.csv", data)
            start_import(session, runtime.record_kinds, imp, admin, mapping=imp.mapping, duplicates=mode,
                         dry_run=False)  # fmt: skip
            import_id, mapping = imp.id, list(imp.mapping)
        prepared = time.perf_counter() - t
        assert mapping == ["title", "body", "owner_user_id", "cf.region", "cf.score"], mapping
        clock = TransactionClock(runtime.engine)
        batches = []
        user = OtherUser(runtime, other, admin_id)
        user.start()
        profiler = cProfile.Profile() if profile else None
        t, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        final = run_import(runtime.sessions, runtime.record_kinds, import_id, progress=lambda s: batches.append(s))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        user.stop.set()
        user.join()
        with runtime.sessions() as session:
            notes = session.scalar(select(func.count()).select_from(kind.model))
            audit = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.source == "import"))
        runtime.engine.dispose()
    assert final.status == "done" and final.failed == 0, (final.status, final.message)
    lat = sorted(user.latencies)
    return {
        "engine": engine, "rows": n, "mode": mode, "prepare_s": prepared, "import_s": elapsed,
        "rows_per_s": n / elapsed, "cpu_s": cpu, "batches": len(batches) - 1, "created": final.created, "notes": notes,
        "audit_rows": audit, "longest_write_tx_ms": max(clock.durations) * 1000,
        "write_tx_p99_ms": statistics.quantiles(clock.durations, n=100)[98] * 1000,
        "other_saves": len(lat), "other_save_p50_ms": lat[len(lat) // 2] * 1000,
        "other_save_p99_ms": lat[int(len(lat) * 0.99)] * 1000, "other_save_max_ms": lat[-1] * 1000,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duplicates", default="create", choices=["skip", "fill", "update", "create"])
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL (127.0.0.1:5432)")
    parser.add_argument("--profile", default="", help="write cProfile stats of the import to this file")
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.pg else ["sqlite"]
    for engine in engines:
        figures = run(engine, args.rows, args.duplicates, f"{args.profile}.{engine}" if args.profile else "")
        print(f"\n[{engine}] import of {figures['rows']:,} notes with two custom fields, duplicates={args.duplicates}")
        print(f"  upload + header check + row count: {figures['prepare_s']:.2f} s")
        print(f"  import: {figures['import_s']:.1f} s (CPU {figures['cpu_s']:.1f} s with the other user) = "
              f"{figures['rows_per_s']:,.0f} rows/s in {figures['batches']} "
              f"batches; {figures['notes']:,} notes, {figures['audit_rows']:,} audit rows")  # fmt: skip
        print(f"  write transactions: longest {figures['longest_write_tx_ms']:.0f} ms, "
              f"p99 {figures['write_tx_p99_ms']:.0f} ms")  # fmt: skip
        print(f"  another user's saves meanwhile: {figures['other_saves']}, p50 {figures['other_save_p50_ms']:.0f} "
              f"ms, p99 {figures['other_save_p99_ms']:.0f} ms, max {figures['other_save_max_ms']:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()

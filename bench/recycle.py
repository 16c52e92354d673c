"""The recycle bin's purge job: 100,000 expired notes purged for good, batch by batch.

    PYTHONPATH=tests/fixture_plugins python -m bench.recycle            # SQLite
    PYTHONPATH=tests/fixture_plugins python -m bench.recycle --pg       # SQLite, then PostgreSQL
    PYTHONPATH=tests/fixture_plugins python -m bench.recycle -n 20000 --batch 250 --batch 1000

Target (issue 3): no write transaction longer than 200 ms on SQLite, so people keep working while the job
runs. Each run loads ``-n`` notes straight into the recycle bin, deleted 40 days ago (one in ten tagged,
one in a hundred with a live note attached, which the notes plugin's ``records_deleted`` purges with it),
then times :func:`voronka.core.recycle.purge_expired` as the ``core.recycle_purge`` job runs it. Every
committed transaction is timed on the connection (BEGIN to COMMIT), so the longest one is what another
writer could have waited for.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select

from voronka.core.models_records import Tag, TagLink
from voronka.core.models_trash import RecycleBinEntry
from voronka.core.recycle import PURGE_BATCH, purge_expired
from voronka.core.types import utcnow
from voronka.web.app import create_app

from .databases import bench_database, settings_for

NOTES = "notes=voronka_test_notes"
LOAD_CHUNK = 5000


def load(runtime: Any, count: int) -> None:
    """``count`` notes in the bin, expired; some tagged, some with a live note attached."""
    from voronka_test_notes.models import Note

    deleted_at = utcnow().replace(microsecond=0) - dt.timedelta(days=40)
    purge_after = deleted_at + dt.timedelta(days=30)
    with runtime.engine.begin() as conn:
        first = (conn.scalar(select(func.max(Note.id))) or 0) + 1
        tag_id = conn.execute(insert(Tag).values(name="Old", name_key="old", colour="#6b7280")).inserted_primary_key[0]
        for start in range(0, count, LOAD_CHUNK):
            ids = range(first + start, first + min(start + LOAD_CHUNK, count))
            conn.execute(insert(Note), [
                {"id": i, "title": f"Old note {i}", "title_key": f"old note {i}", "body": "", "created_at": deleted_at,
                 "version": 2, "custom": {}, "deleted_at": deleted_at} for i in ids])  # fmt: skip
            conn.execute(insert(RecycleBinEntry), [
                {"kind": "note", "record_id": i, "label": f"Old note {i}", "deleted_at": deleted_at,
                 "purge_after": purge_after} for i in ids])  # fmt: skip
            tagged = [{"kind": "note", "record_id": i, "tag_id": tag_id} for i in ids if i % 10 == 0]
            if tagged:
                conn.execute(insert(TagLink), tagged)
        attached = [{"id": first + count + n, "title": f"Attached to {i}", "title_key": f"attached to {i}", "body": "",
                     "version": 1, "created_at": utcnow(), "custom": {}, "ref_kind": "note", "ref_id": i}
                    for n, i in enumerate(i for i in range(first, first + count) if i % 100 == 0)]  # fmt: skip
        if attached:
            conn.execute(insert(Note), attached)
        if conn.dialect.name == "postgresql":  # explicit ids leave the sequence behind
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('notes_note', 'id'), (SELECT max(id) FROM notes_note))"
            )


def session_count(runtime: Any, count: int) -> int:
    """Notes left over (the attached ones must have gone with what they were attached to)."""
    from voronka_test_notes.models import Note

    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Note)) or 0


def timed_transactions(engine: Any) -> list[tuple[float, float]]:
    """(wall ms, CPU ms of this thread) of every committed transaction on ``engine`` from now on. The CPU
    time is what the transaction would take on a free core when other work shares the machine."""
    found: list[tuple[float, float]] = []

    @event.listens_for(engine, "begin")
    def began(conn: Any) -> None:
        conn.info["bench_began"] = (time.perf_counter(), time.thread_time())

    @event.listens_for(engine, "commit")
    def committed(conn: Any) -> None:
        start = conn.info.pop("bench_began", None)
        if start is not None:
            found.append(((time.perf_counter() - start[0]) * 1000, (time.thread_time() - start[1]) * 1000))

    return found


def run(engine_name: str, count: int, batch: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, bench_database(engine_name, Path(tmp), [NOTES]) as url:
        settings = settings_for(url, Path(tmp), [NOTES])
        settings.run_jobs_in_server = False
        app = create_app(settings)
        runtime = app.state.voronka
        started = time.perf_counter()
        load(runtime, count)
        loaded = time.perf_counter() - started
        transactions = timed_transactions(runtime.engine)
        started = time.perf_counter()
        purged = purge_expired(runtime.sessions, runtime.record_kinds, batch=batch)
        total = time.perf_counter() - started
        with runtime.sessions() as session:
            left = session.scalar(select(func.count()).select_from(RecycleBinEntry))
        attached = session_count(runtime, count)
        if purged != count or left or attached:
            raise SystemExit(f"{engine_name}: purged {purged}, {left} bin entries and {attached} notes left")
        runtime.engine.dispose()
        ordered = sorted(wall for wall, _cpu in transactions)
        cpu = sorted(cpu for _wall, cpu in transactions)
        return {
            "purged": purged,
            "load_s": loaded,
            "total_s": total,
            "per_second": purged / total,
            "transactions": len(ordered),
            "median_ms": statistics.median(ordered),
            "p95_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
            "max_ms": ordered[-1],
            "cpu_median_ms": statistics.median(cpu),
            "cpu_max_ms": cpu[-1],
            "cpu_s": sum(cpu) / 1000,
            "over_200": sum(1 for wall in ordered if wall > 200),
            "cpu_first_ms": transactions[0][1],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--notes", type=int, default=100_000, help="expired notes in the bin")
    parser.add_argument("--batch", type=int, action="append", help=f"entries per transaction (default {PURGE_BATCH})")
    parser.add_argument("--pg", action="store_true", help="also on PostgreSQL (127.0.0.1:5432)")
    args = parser.parse_args()
    batches = args.batch or [PURGE_BATCH]
    print(f"purging {args.notes:,} expired notes from the recycle bin")
    print(f"{'engine':<11}{'batch':>6}{'purged':>9}{'total s':>9}{'per s':>9}{'txns':>6}{'median ms':>11}"
          f"{'p95 ms':>8}{'max ms':>8}{'>200':>6}{'cpu med':>9}{'cpu max':>9}{'cpu 1st':>9}{'cpu s':>7}"
          f"{'load s':>8}")  # fmt: skip
    for engine_name in ["sqlite", "postgresql"] if args.pg else ["sqlite"]:
        for batch in batches:
            r = run(engine_name, args.notes, batch)
            print(f"{engine_name:<11}{batch:>6}{r['purged']:>9,.0f}{r['total_s']:>9.1f}{r['per_second']:>9,.0f}"
                  f"{r['transactions']:>6}{r['median_ms']:>11.1f}{r['p95_ms']:>8.1f}{r['max_ms']:>8.1f}"
                  f"{r['over_200']:>6}{r['cpu_median_ms']:>9.1f}{r['cpu_max_ms']:>9.1f}{r['cpu_first_ms']:>9.1f}"
                  f"{r['cpu_s']:>7.1f}{r['load_s']:>8.1f}", flush=True)  # fmt: skip
    print("target: no write transaction over 200 ms on SQLite (wall time; 'cpu' columns: this thread's CPU time,")
    print("        what a free core would take when other work shares the machine)")


if __name__ == "__main__":
    main()

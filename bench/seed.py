"""Seeding at scale: ``voronka demo --scale N`` into a fresh SQLite file and a fresh PostgreSQL database.

    python -m bench.seed                        # scale 1000 (about a million notes), SQLite then PostgreSQL
    python -m bench.seed --scale 100 --sqlite   # one engine, a smaller run
    python -m bench.seed --json bench/results/seed.json

Target (issue 3): a million rows in minutes on both engines. Each run migrates an empty database with the
notes test plugin (the one plugin with a ``seed`` hook in this repository), then runs exactly what
``voronka demo`` runs: core's organisation and every plugin's ``seed`` hook in one transaction. It prints
rows, seconds and rows/s per step, the commit and the total, and checks the counts afterwards. The CPU
time of the seeding process is printed too: on a shared machine it says more than the wall clock (on
PostgreSQL the server's own work is not in it). The
PostgreSQL database (``voronka_bench_seed``) is created for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "tests" / "fixture_plugins"
NOTES = "notes=voronka_test_notes"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "voronka_bench_seed"


def run(engine_name: str, scale: int, workdir: Path, pg_admin: str) -> dict[str, Any]:
    """Seed ``scale`` into a fresh database of ``engine_name``; the figures of each step."""
    from voronka.core.config import Settings
    from voronka.core.db import make_engine, make_sessionmaker, write_transaction
    from voronka.core.seeding import PluginSeeded, SeedContext, seed_plugins
    from voronka.web import seed_core
    from voronka.web.plugins_setup import build_host
    from voronka.web.provision import sync_permissions, upgrade

    if engine_name == "sqlite":
        path = workdir / "seed.sqlite"
        url = f"sqlite:///{path}"
    else:
        _pg(pg_admin, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        _pg(pg_admin, f'CREATE DATABASE "{PG_DATABASE}"')
        url = make_url(pg_admin).set(database=PG_DATABASE).render_as_string(hide_password=False)
    try:
        settings = Settings(database_url=url, secret_key="bench-seed" * 4, extra_plugins=[NOTES], entry_points=False)
        _, failures = upgrade(settings)
        if failures:
            raise RuntimeError(f"migrations failed: {failures}")
        host = build_host(settings)
        engine = make_engine(url)
        sync_permissions(engine, host)
        steps: list[dict[str, Any]] = []

        def done(p: PluginSeeded) -> None:
            steps.append({"step": p.plugin, "rows": p.rows, "seconds": p.seconds})
            print(f"  {p.plugin}: {p.rows:,} rows in {p.seconds:.1f} s ({p.rate:,.0f} rows/s)", flush=True)

        print(f"{engine_name}: seeding scale {scale}", flush=True)
        started, cpu_started = time.perf_counter(), time.process_time()
        with write_transaction(make_sessionmaker(engine)) as session:
            ctx = SeedContext(
                engine=engine, session=session, scale=scale, language="uk", progress=lambda s: print(f"    {s}")
            )
            summary = seed_core.seed_core(ctx)
            assert summary is not None
            core_seconds = time.perf_counter() - started
            steps.append({"step": "core", "rows": ctx.rows, "seconds": core_seconds})
            print(f"  core: {summary.describe()}, {ctx.rows:,} rows in {core_seconds:.1f} s", flush=True)
            seed_plugins(host, ctx, done)
            seed_core.mark_seeded(session, scale, ["core", *(s["step"] for s in steps[1:])])
            before_commit = time.perf_counter()
        commit = time.perf_counter() - before_commit
        total = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        rows = sum(s["rows"] for s in steps)
        steps.append({"step": "commit", "rows": 0, "seconds": commit})
        print(f"  commit: {commit:.1f} s", flush=True)

        from voronka_test_notes.models import Note
        from voronka_test_notes.seed import notes_for_scale

        with make_sessionmaker(engine)() as session:
            notes = session.scalar(select(func.count()).select_from(Note))
        assert notes == notes_for_scale(scale), (notes, notes_for_scale(scale))
        size = _size(engine)
        engine.dispose()
        print(
            f"  total: {rows:,} rows in {total:.1f} s ({rows / total:,.0f} rows/s), {notes:,} notes, "
            f"database {size / 1e6:,.0f} MB; this process used {cpu:.1f} s of CPU",
            flush=True,
        )
        return {
            "engine": engine_name, "scale": scale, "rows": rows, "seconds": total, "cpu_seconds": cpu,
            "bytes": size, "steps": steps,
        }  # fmt: skip
    finally:
        if engine_name != "sqlite":
            _pg(pg_admin, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


def _size(engine: Any) -> int:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            return int(pages) * int(conn.exec_driver_sql("PRAGMA page_size").scalar())
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())


def _pg(admin_url: str, sql: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1000, help="as voronka demo --scale (default 1000)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite only")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL only")
    parser.add_argument("--pg-url", default=PG_ADMIN, help="a PostgreSQL server's admin URL")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if str(FIXTURE_PLUGINS) not in sys.path:
        sys.path.insert(0, str(FIXTURE_PLUGINS))
    engines = ["sqlite"] if args.sqlite else ["postgresql"] if args.pg else ["sqlite", "postgresql"]
    results = []
    with tempfile.TemporaryDirectory(prefix="voronka-bench-seed-") as tmp:
        for name in engines:
            results.append(run(name, args.scale, Path(tmp), args.pg_url))
    print("\nsummary")
    for r in results:
        steps = ", ".join(f"{s['step']} {s['seconds']:.1f} s" for s in r["steps"])
        rate = r["rows"] / r["seconds"]
        print(f"  {r['engine']:<10} {r['rows']:>11,} rows  {r['seconds']:>7.1f} s  {rate:>9,.0f} rows/s  ({steps})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Custom fields at scale: the notes list filtered and searched by custom fields over 100,000 notes.

    PYTHONPATH=tests/fixture_plugins python -m bench.custom_fields            # SQLite
    PYTHONPATH=tests/fixture_plugins python -m bench.custom_fields --pg       # SQLite, then PostgreSQL

Builds a fresh database with the notes test plugin, defines three fields (a filterable choice, a
filterable number, a searchable text), loads N notes with values straight into the table (Core
executemany) and rebuilds the index with ``custom_fields_index.reindex`` (timed), then times, warm and
in-process: the list query alone and the whole ``GET /notes/`` page (the admin sees every note) for a
common choice value (~20 %), a rare one (~0.1 %), a number range, a combined filter and the search box;
and the write path: one note saved through ``save``, and ``save_many`` of 500 notes changing a value.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.databases import bench_database, settings_for
from bench.harness import Figures, call, lifespan, new_loop, print_table
from bench.shell import login_session
from voronka.core import custom_fields as cf
from voronka.core import custom_fields_admin as cfa
from voronka.core.custom_fields_index import reindex
from voronka.core.db import write_transaction
from voronka.core.models import User
from voronka.core.search_keys import search_key
from voronka.web.app import create_app

PLUGIN = "notes=voronka_test_notes"
STAGES = ["New", "Qualified", "Proposal", "Won", "Lost"]


def load(runtime: Any, n: int, rng: random.Random) -> dict[str, float]:
    from voronka_test_notes.models import Note

    kind = runtime.record_kinds["note"]
    with write_transaction(runtime.sessions) as session:
        cfa.create_field(session, kind, {"label": "Stage", "type": "choice", "choices": "\n".join(STAGES),
                                         "filterable": "on"})  # fmt: skip
        cfa.create_field(session, kind, {"label": "Amount", "type": "number", "filterable": "on"})
        cfa.create_field(session, kind, {"label": "Code", "type": "text", "searchable": "on"})
        admin = session.scalar(select(User.id).where(User.username == "admin"))
    now = dt.datetime.now(dt.UTC)
    t = time.perf_counter()
    for start in range(0, n, 10_000):
        rows = []
        for i in range(start, min(n, start + 10_000)):
            stage = "Lost" if i % 1000 == 0 else rng.choice(STAGES[:4])  # "Lost" is the rare value: 0.1 %
            title = f"Note {i}"
            rows.append({"title": title, "title_key": search_key(title), "body": "", "owner_user_id": admin,
                         "owner_team_id": None, "version": 1, "ref_kind": None, "ref_id": None,
                         "created_at": now - dt.timedelta(minutes=i),
                         "custom": {"stage": stage, "amount": rng.randint(0, 100_000),
                                    "code": f"C{i:06d}"}})  # fmt: skip
        with write_transaction(runtime.sessions) as session:
            session.execute(insert(Note), rows)
    loaded = time.perf_counter() - t
    t = time.perf_counter()
    with write_transaction(runtime.sessions) as session:
        written = reindex(session, kind)
    indexed = time.perf_counter() - t
    with runtime.engine.connect() as conn:  # fresh statistics, as autovacuum/ANALYZE give a live database
        conn.execute(text("ANALYZE"))
        conn.commit()
    return {"load_s": loaded, "reindex_s": indexed, "index_rows": written}


def timed(fn: Any, n: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def run(engine: str, n: int, repeat: int) -> list[Figures]:
    from voronka_test_notes import queries

    workdir = Path(tempfile.mkdtemp(prefix="voronka-bench-cf-"))
    figures: list[Figures] = []
    with bench_database(engine, workdir, [PLUGIN]) as url:
        app = create_app(settings_for(url, workdir, [PLUGIN]))
        runtime = app.state.voronka
        rng = random.Random(7)
        loaded = load(runtime, n, rng)
        print(f"[{engine}] loaded {n:,} notes in {loaded['load_s']:.1f} s; index of "
              f"{loaded['index_rows']:,} rows rebuilt in {loaded['reindex_s']:.1f} s")  # fmt: skip
        kind = runtime.record_kinds["note"]
        with runtime.sessions() as session:
            fields = {f.key: f for f in cf.definitions(session, "note")}
            from voronka.core.security.users import load_user

            viewer = load_user(session, session.scalar(select(User.id).where(User.username == "admin")))
        cases = {
            "common choice (~20 %)": [(fields["stage"], "eq", "Won")],
            "rare choice (0.1 %)": [(fields["stage"], "eq", "Lost")],
            "number range (1 %)": [(fields["amount"], "between", (500, 1500))],
            "choice + range": [(fields["stage"], "eq", "Won"), (fields["amount"], "ge", 90_000)],
        }
        for label, filters in cases.items():
            with runtime.sessions() as session:

                def query(s: Any = session, f: Any = filters) -> Any:
                    where = [cf.filter_clause(kind, field, op, value, session=s) for field, op, value in f]
                    return queries.list_notes(s, viewer, "", 50, where=where)

                assert query()[0], label
                samples = timed(query, repeat)
            figures.append(Figures.of(f"[{engine}] query: {label}", samples))
        with runtime.sessions() as session:
            also = cf.search_ids(session, kind, "c00012")
            samples = timed(lambda s=session: queries.list_notes(s, viewer, "c00012", 50, also=also), repeat)
        figures.append(Figures.of(f"[{engine}] query: search a custom text (prefix)", samples))

        pages = {
            "page: common choice": "/notes/?cf.stage=Won",
            "page: rare choice": "/notes/?cf.stage=Lost",
            "page: number range": "/notes/?cf.amount.from=500&cf.amount.to=1500",
            "page: search custom text": "/notes/?q=c00012",
            "page: unfiltered": "/notes/",
        }
        loop = new_loop()

        async def pages_run() -> None:
            async with lifespan(app):
                _anon, _token, cookies = await login_session(app)
                for label, path in pages.items():
                    reply = await call(app, "GET", path, cookies=cookies)
                    assert reply.status == 200, (path, reply.status)
                    samples = []
                    for _ in range(repeat):
                        t = time.perf_counter()
                        await call(app, "GET", path, cookies=cookies)
                        samples.append((time.perf_counter() - t) * 1000)
                    figures.append(Figures.of(f"[{engine}] {label}", samples))

        loop.run_until_complete(pages_run())
        loop.close()

        from voronka.core.writes import save, save_many

        ids: list[int] = []
        counter = iter(range(10**9))

        def one() -> None:
            with write_transaction(runtime.sessions) as session:
                values = {"title": f"Bench {next(counter)}", "body": "", "owner_user_id": viewer.id,
                          "cf.stage": "New", "cf.amount": 5, "cf.code": f"B{len(ids)}"}  # fmt: skip
                ids.append(save(session, kind, None, values, actor=viewer.id).id)

        figures.append(Figures.of(f"[{engine}] write: save one note with 3 custom values", timed(one, 50)))
        with runtime.sessions() as session:
            batch = list(session.scalars(select(kind.model.id).order_by(kind.model.id).limit(500)))
        flip = iter(["Won", "New"] * 100)

        def bulk() -> None:
            with write_transaction(runtime.sessions) as session:
                save_many(session, kind, batch, {"cf.stage": next(flip)}, actor=viewer.id, source="bulk")

        figures.append(Figures.of(f"[{engine}] write: save_many 500 notes, one custom value", timed(bulk, 6, 1)))
        runtime.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL (127.0.0.1:5432)")
    args = parser.parse_args()
    figures = run("sqlite", args.notes, args.repeat)
    if args.pg:
        figures += run("postgresql", args.notes, args.repeat)
    print_table(f"Custom fields over {args.notes:,} notes (ms, warm, in-process)", figures)
    asyncio.set_event_loop(None)


if __name__ == "__main__":
    main()

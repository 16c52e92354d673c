"""The public web-to-lead endpoint under load: submissions/s on ONE uvicorn worker, SQLite and PostgreSQL.

    python -m bench.leads_capture                  # SQLite, 10 s of load, 32 connections
    python -m bench.leads_capture --pg             # then the same on PostgreSQL (127.0.0.1:5432)
    python -m bench.leads_capture --seconds 20 --connections 48 --profile

Target (issue 6): at least 300 submissions/s. Each submission is a real form post (form-encoded, an
``Origin`` of the campaign's allowed site, name, e-mail, phone, message, UTM, consent) answered with the
303 to the thank-you page: the guard's rate-limit count (its own write transaction), the form's
``form_rate`` count, ``capture`` through ``writes.save`` (lead rules, contacts' e-mail and phone cleaning,
audit row, outbox event, the channel-day aggregate) in one write transaction.

**Many source addresses**: each connection binds a local address in 127.0.0.0/8 (``local_addr=(127.a.b.c,
0)``) and reconnects from a fresh address after :data:`PER_ADDRESS` posts, fewer than the ``form_rate``
default of 20 a minute, so the limiter is exercised on every request but never what limits the rate.

Prints submissions/s, latency median/p95/p99, non-303 answers, and the server's CPU ms per submission
(read from /proc: meaningful when other work shares the machine). ``--profile`` samples the worker with
pyinstrument (``BENCH_PROFILE``, see bench/asgi.py) and prints the busiest functions.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.databases import DEFAULT_PG_ADMIN, bench_database, environment_for, settings_for
from bench.harness import Figures, new_loop, percentile, uvicorn_server
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.writes import save
from voronka.web.app import create_app

SITE = "https://www.example.com"
CODE = "bench"
PER_ADDRESS = 15
"""Posts per source address before the connection moves to a new one (form_rate's default is 20/min)."""


def addresses() -> Any:
    """127.1.0.1, 127.1.0.2, … : fresh loopback source addresses, never 127.0.0.1 (the browser-ish default)."""
    for a, b, c in itertools.product(range(1, 255), range(0, 256), range(1, 255)):
        yield f"127.{a}.{b}.{c}"


SOURCES = addresses()
"""One sequence for the whole run: the warm-up's addresses are not reused within their minute."""


def make_campaign(url: str, workdir: Path) -> None:
    app = create_app(settings_for(url, workdir, []))
    runtime = app.state.voronka
    try:
        with write_transaction(runtime.sessions) as session:
            values = {"name": "Bench", "tracking_code": CODE, "channel": "leads.web_form", "allowed_origins": SITE}
            save(session, runtime.record_kinds["campaign"], None, values, actor=None)
    finally:
        runtime.engine.dispose()


def body(n: int) -> bytes:
    return urlencode({
        "first_name": "Olena", "last_name": f"Koval {n}", "email": f"olena.{n}@example.org",
        "phone": f"+38044{n % 10_000_000:07d}", "company": "Dnipro Foods", "message": "Price for 40 seats, please.",
        "consent": "1", "utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring",
        "landing_url": f"{SITE}/offer?utm_source=google", "homepage": "",
    }).encode()  # fmt: skip


async def load(base: str, seconds: float, connections: int) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    head = (f"POST /leads/form/{CODE} HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {SITE}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n")  # fmt: skip
    sources = SOURCES
    counter = itertools.count()
    latencies: list[float] = []
    tally = {"bad": 0, "errors": 0, "addresses": 0}
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            source = next(sources)
            tally["addresses"] += 1
            try:
                reader, writer = await asyncio.open_connection(host, int(port), local_addr=(source, 0))
            except OSError:
                tally["errors"] += 1
                await asyncio.sleep(0.01)
                continue
            try:
                for _ in range(PER_ADDRESS):
                    if time.perf_counter() >= deadline:
                        break
                    payload = body(next(counter))
                    start = time.perf_counter()
                    writer.write(f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                    status_line = await reader.readline()
                    length = 0
                    while True:
                        line = await reader.readline()
                        if line in (b"\r\n", b""):
                            break
                        key, _, value = line.decode("latin-1").partition(":")
                        if key.strip().lower() == "content-length":
                            length = int(value)
                    await reader.readexactly(length)
                    latencies.append((time.perf_counter() - start) * 1000)
                    status = status_line.split()[1]
                    if status != b"303":
                        tally["bad"] += 1
                        tally.setdefault("statuses", {}).setdefault(status.decode(), 0)
                        tally["statuses"][status.decode()] += 1
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                tally["errors"] += 1
            finally:
                writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return {"latencies": latencies, "elapsed": time.perf_counter() - started, **tally}


def in_process(url: str, workdir: Path, n: int, profile: bool) -> list[Figures]:
    """``n`` submissions straight into the ASGI app (no socket), each from its own address; with
    ``profile``, cProfile's busiest functions (cumulative and own time)."""
    from bench.harness import call, lifespan, time_calls

    app = create_app(settings_for(url, workdir, []))
    sources = SOURCES
    counter = itertools.count()
    headers = [("origin", SITE), ("content-type", "application/x-www-form-urlencoded")]

    async def one() -> None:
        scope_client = next(sources)
        reply = await call(_Client(app, scope_client), "POST", f"/leads/form/{CODE}", headers=headers,
                           body=body(next(counter)))  # fmt: skip
        if reply.status != 303:
            raise RuntimeError(f"{reply.status}: {reply.body[:300]!r}")

    async def robot() -> None:  # the same post with the honeypot filled: everything but the capture
        reply = await call(_Client(app, next(sources)), "POST", f"/leads/form/{CODE}", headers=headers,
                           body=body(next(counter)).replace(b"homepage=", b"homepage=x"))  # fmt: skip
        if reply.status != 303:
            raise RuntimeError(f"{reply.status}: {reply.body[:300]!r}")

    async def health() -> None:
        await call(_Client(app, next(sources)), "GET", "/health")

    async def main() -> Any:
        async with lifespan(app):
            await time_calls(one, 50)
            if not profile:
                floors.append(Figures.of("  in-process, honeypot post (no capture)", await time_calls(robot, n // 2)))
                floors.append(Figures.of("  in-process, GET /health (the floor)", await time_calls(health, n // 2)))
            if profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
                samples = await time_calls(one, n)
                profiler.disable()
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(os.environ.get("BENCH_FILTER", ""), 45)
                print_groups(stats)
                return samples
            return await time_calls(one, n)

    floors: list[Figures] = []
    try:
        samples = new_loop().run_until_complete(main())
    finally:
        app.state.voronka.engine.dispose()
    return [Figures.of("in-process POST /leads/form/<code>", samples), *floors]


GROUPS = (("leads capture (ours)", ("leads/capture.py", "leads/public_form.py")),
          ("leads rules", ("leads/rules.py",)), ("leads channel rollups", ("leads/channel_rollups.py",)),
          ("leads assignment", ("leads/assignment.py",)), ("guard", ("web/guard.py", "security/throttle")),
          ("core writes/audit/events", ("core/writes", "core/events", "core/custom_fields", "core/records")),
          ("contacts (e-mail, phone)", ("plugins/contacts", "phonenumbers")), ("sqlalchemy", ("sqlalchemy",)),
          ("database driver", ("sqlite3", "psycopg")), ("starlette/middleware", ("starlette", "web/middleware",
          "itsdangerous", "python_multipart")), ("json", ("json",)))  # fmt: skip


def print_groups(stats: Any) -> None:
    """Own (self) time by who owns the code, from cProfile's table."""
    totals: dict[str, float] = {}
    whole = 0.0
    for (path, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        whole += own
        where = f"{path}:{name}"
        group = next((g for g, marks in GROUPS if any(m in where for m in marks)), "other")
        totals[group] = totals.get(group, 0.0) + own
    print("self time by owner:")
    for group, own in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {100 * own / whole:5.1f}%  {group}")


class _Client:
    """The app seen from one client address (the scope's ``client``), as uvicorn would fill it in."""

    def __init__(self, app: Any, address: str):
        self.app, self.address = app, address

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope["client"] = (self.address, 40000)
        await self.app(scope, receive, send)


def count_leads(url: str) -> int:
    from sqlalchemy import func, select

    from voronka.plugins.leads.models import Lead

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return session.scalar(select(func.count()).select_from(Lead)) or 0
    finally:
        engine.dispose()


def run(engine: str, args: argparse.Namespace, rows: list[Figures]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-leads-capture-") as tmp:
        workdir = Path(tmp)
        with bench_database(engine, workdir, [], pg_admin_url=args.pg_url) as url:
            make_campaign(url, workdir)
            if args.in_process:
                rows.extend(in_process(url, workdir, args.in_process, args.profile))
            if args.no_http:
                return
            env = environment_for(url, workdir, [])
            env["VORONKA_RUN_JOBS_IN_SERVER"] = "false"  # the outbox is not what is measured
            profile = workdir / "profile.pyisession"
            if args.profile:
                env["BENCH_PROFILE"] = str(profile)
            with uvicorn_server(env) as server:
                new_loop().run_until_complete(load(server.base, 2, args.connections))  # warm-up
                before = server.cpu_seconds()
                result = new_loop().run_until_complete(load(server.base, args.seconds, args.connections))
                after = server.cpu_seconds()
            leads = count_leads(url)
            if args.profile and profile.exists():
                from pyinstrument.session import Session as Sampled

                from bench.profiling import report

                saved = Path("bench/results/leads-capture-uvicorn.pyisession").resolve()
                saved.parent.mkdir(exist_ok=True)
                saved.write_bytes(profile.read_bytes())
                report(f"{engine}: uvicorn worker under the form load", Sampled.load(str(saved)), saved)
    samples = result["latencies"]
    rps = len(samples) / result["elapsed"]
    cpu = (after - before) * 1000 / len(samples) if before is not None and after is not None and samples else None
    note = (f"CPU {cpu:.2f} ms/submission (one free core: {1000 / cpu:,.0f}/s); " if cpu else "") + (
        f"{result['bad']} not 303 {result.get('statuses', '')}, {result['errors']} socket errors, "
        f"{result['addresses']} source addresses, "
        f"{leads} leads stored"
    )
    rows.append(Figures(f"{engine}: POST /leads/form/<code>", len(samples), statistics.median(samples),
                        percentile(samples, 95), percentile(samples, 99), rps, note))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--pg-only", action="store_true")
    parser.add_argument("--pg-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the worker (pyinstrument) or, with --in-process, the in-process calls (cProfile)",
    )
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="N",
        help="first time N submissions straight into the app (no socket)",
    )
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    engines = ["postgresql"] if args.pg_only else ["sqlite", "postgresql"] if args.pg else ["sqlite"]
    rows: list[Figures] = []
    for engine in engines:
        run(engine, args, rows)
    print(f"\n{'what':<44} {'n':>7} {'median ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'subm/s':>9}")
    for row in rows:
        print(row.row())
    print("\ntarget: at least 300 submissions/s on one uvicorn worker")


if __name__ == "__main__":
    main()

"""Benchmark the shell: create_app, the login page, a login, and the authenticated start page.

    python -m bench.shell                 # SQLite
    python -m bench.shell --pg            # SQLite, then PostgreSQL
    python -m bench.shell --profile       # also: where the time goes (pyinstrument, py-spy)

Targets (issue 2): create_app < 1 s; authenticated shell < 3 ms median in-process and > 1,000 requests/s
on one uvicorn worker. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from voronka.web.app import create_app
from voronka.web.testkit.users import TEST_PASSWORD

from . import profiling
from .databases import DEFAULT_PG_ADMIN, bench_database, environment_for, settings_for
from .harness import (
    REPO,
    Figures,
    call,
    cookie_from,
    form_body,
    lifespan,
    new_loop,
    print_table,
    raw_request,
    run_load,
    time_calls,
    uvicorn_server,
    wrk_available,
)

FORM = [("content-type", "application/x-www-form-urlencoded")]
TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')
TARGETS = {
    "create_app": 1000.0,  # ms
    "shell_median": 3.0,  # ms, in-process
    "shell_rps": 1000.0,  # requests/s, one uvicorn worker
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shell", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("VORONKA_BENCH_PG_URL", DEFAULT_PG_ADMIN),
        help="PostgreSQL server URL (a scratch database is created and dropped)",
    )
    parser.add_argument("--requests", type=int, default=3000, help="in-process requests per page (warm)")
    parser.add_argument("--logins", type=int, default=30, help="login POSTs timed (argon2 makes each ~slow)")
    parser.add_argument("--cold", type=int, default=5, help="cold samples (fresh processes / fresh apps)")
    parser.add_argument("--seconds", type=float, default=10, help="HTTP load duration per page")
    parser.add_argument("--connections", type=int, default=16, help="HTTP connections kept open")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        dest="plugins",
        help="extra plugin module to load (repeatable), e.g. one that adds home panels",
    )
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        dest="pages",
        help="another page to time logged in (repeatable), e.g. a plugin's lazy panel /notes/panels/recent",
    )
    parser.add_argument("--scale", type=int, default=0, help="seed data at this scale first (0: none)")
    parser.add_argument("--no-http", action="store_true", help="skip the uvicorn runs")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after start-up (both modes)")
    parser.add_argument("--profile", action="store_true", help="profile the authenticated shell")
    parser.add_argument("--json", type=Path, help="also write the figures here (e.g. bench/results/x.json)")
    args = parser.parse_args(argv)

    engines = ["sqlite"] + (["postgresql"] if args.pg else [])
    report: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "engines": {}}
    print(
        f"Voronka shell benchmark · Python {report['python']} · {report['cpus']} CPUs · "
        f"load tool: {'wrk' if wrk_available() else 'python asyncio'}"
    )
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix=f"voronka-bench-{engine}-") as tmp:
            workdir = Path(tmp)
            t = time.perf_counter()
            with bench_database(engine, workdir, args.plugins, args.scale, args.pg_url) as url:
                print(f"\n=== {engine}: database migrated in {time.perf_counter() - t:.1f} s")
                report["engines"][engine] = run_engine(args, url, workdir)
    summary(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    return 0


def run_engine(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, Any]:
    env = environment_for(url, workdir, args.plugins)
    if args.gc_freeze:
        env["BENCH_GC_FREEZE"] = "1"
    results: dict[str, Any] = {}
    results["startup"] = startup_figures(args, url, workdir, env)
    print_table("start-up (cold: a fresh interpreter each; warm: create_app again in one process)", results["startup"])
    results["in_process"] = in_process_figures(args, url, workdir)
    print_table("in-process (direct ASGI calls, no socket, no test client)", results["in_process"])
    if not args.no_http:
        results["http"] = http_figures(args, env)
        print_table(
            f"HTTP, one uvicorn worker, {args.connections} connections, {args.seconds:g} s per page", results["http"]
        )
    if args.profile:
        results["profile"] = profiling.profile_shell(args, url, workdir, env)
    return {k: [f.as_dict() for f in v] if isinstance(v, list) else v for k, v in results.items()}


# --- start-up ----------------------------------------------------------------------------------------------


def startup_figures(args: argparse.Namespace, url: str, workdir: Path, env: dict[str, str]) -> list[Figures]:
    samples: dict[str, list[float]] = {}
    for _ in range(args.cold):
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "bench.coldstart"],
            cwd=REPO,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        wall = (time.perf_counter() - t) * 1000
        if out.returncode != 0:
            raise RuntimeError(f"cold start failed:\n{out.stderr}")
        figures = json.loads(out.stdout)
        figures["wall_ms"] = wall
        for key, value in figures.items():
            samples.setdefault(key, []).append(value * 1000 if key.endswith("_s") else value)
    warm = []
    settings = settings_for(url, workdir, args.plugins)
    for _ in range(max(args.cold, 5) + 1):
        t = time.perf_counter()
        app = create_app(settings)
        warm.append((time.perf_counter() - t) * 1000)
        app.state.voronka.engine.dispose()
    warm = warm[1:]
    rows = [
        Figures.of("cold process: python start → first home page", samples["wall_ms"]),
        Figures.of("cold: import voronka.web.app", samples["import_s"]),
        Figures.of("cold: create_app (all plugins)", samples["create_app_s"], note=target("create_app", samples)),
        Figures.of("cold: lifespan start-up", samples["startup_s"]),
        Figures.of("cold: first GET /login", samples["first_login_page_ms"]),
        Figures.of("cold: first POST /login", samples["first_login_post_ms"]),
        Figures.of("cold: first GET / (logged in)", samples["first_home_ms"]),
        Figures.of("cold: second GET / (logged in)", samples["second_home_ms"]),
        Figures.of("warm: create_app again, same process", warm),
    ]
    return rows


def target(key: str, samples: dict[str, list[float]]) -> str:
    value = statistics.median([v for v in samples["create_app_s"]])
    return f"target < {TARGETS[key]:.0f} ms: {'met' if value < TARGETS[key] else 'MISSED'}"


# --- in-process ----------------------------------------------------------------------------------------------


async def login_session(app: Any) -> tuple[dict[str, str], str, dict[str, str]]:
    """(anonymous cookies, CSRF token, logged-in cookies) through the real login form."""
    page = await call(app, "GET", "/login")
    match = TOKEN.search(page.body)
    assert match is not None, "no CSRF token on the login page"
    token = match.group(1).decode()
    anonymous = page.cookies()
    body = form_body({"username": "admin", "password": TEST_PASSWORD, "csrf_token": token, "next": "/"})
    done = await call(app, "POST", "/login", cookies=anonymous, body=body, headers=FORM)
    assert done.status == 303, f"login failed: {done.status} {done.body[:200]!r}"
    return anonymous, token, done.cookies()


def in_process_figures(args: argparse.Namespace, url: str, workdir: Path) -> list[Figures]:
    settings = settings_for(url, workdir, args.plugins)
    cold: dict[str, list[float]] = {"login": [], "post": [], "home": []}

    async def cold_run() -> None:
        app = create_app(settings)
        async with lifespan(app):
            t = time.perf_counter()
            page = await call(app, "GET", "/login")
            cold["login"].append((time.perf_counter() - t) * 1000)
            token = TOKEN.search(page.body).group(1).decode()  # type: ignore[union-attr]
            body = form_body({"username": "admin", "password": TEST_PASSWORD, "csrf_token": token})
            t = time.perf_counter()
            done = await call(app, "POST", "/login", cookies=page.cookies(), body=body, headers=FORM)
            cold["post"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await call(app, "GET", "/", cookies=done.cookies())
            cold["home"].append((time.perf_counter() - t) * 1000)
        app.state.voronka.engine.dispose()

    async def warm_run() -> list[Figures]:
        app = create_app(settings)
        async with lifespan(app):
            if args.gc_freeze:
                gc.collect()
                gc.freeze()
            anonymous, token, cookies = await login_session(app)
            home = await call(app, "GET", "/", cookies=cookies)
            assert home.status == 200 and b"global-search" in home.body, "the home page is not the shell"
            login_page = await time_calls(lambda: call(app, "GET", "/login"), args.requests, warmup=200)
            body = form_body({"username": "admin", "password": TEST_PASSWORD, "csrf_token": token})
            login_post = await time_calls(
                lambda: call(app, "POST", "/login", cookies=anonymous, body=body, headers=FORM), args.logins, 3
            )
            shell = await time_calls(lambda: call(app, "GET", "/", cookies=cookies), args.requests, warmup=200)
            search = await time_calls(
                lambda: call(app, "GET", "/search?q=ol", cookies=cookies, headers=[("hx-request", "true")]),
                args.requests // 3,
                warmup=50,
            )
            missing = await time_calls(lambda: call(app, "GET", "/nowhere", cookies=cookies), args.requests // 3, 50)
            extra = []
            for path in args.pages:
                reply = await call(app, "GET", path, cookies=cookies)
                assert reply.status == 200, f"GET {path} answered {reply.status}"
                samples = await time_calls(lambda p=path: call(app, "GET", p, cookies=cookies), args.requests, 200)
                extra.append(Figures.of(f"warm: GET {path}", samples))
        app.state.voronka.engine.dispose()
        median = statistics.median(shell)
        verdict = "met" if median < TARGETS["shell_median"] else "MISSED"
        return [
            Figures.of("warm: GET /login (anonymous)", login_page),
            Figures.of("warm: POST /login (argon2 verify)", login_post),
            Figures.of("warm: GET / (logged in: the shell)", shell, note=f"target < 3 ms median: {verdict}"),
            Figures.of("warm: GET /search?q=ol (HTMX fragment)", search),
            Figures.of("warm: GET /nowhere (404 page, logged in)", missing),
            *extra,
            Figures.of("cold: first GET /login of a new app", cold["login"]),
            Figures.of("cold: first POST /login of a new app", cold["post"]),
            Figures.of("cold: first GET / of a new app", cold["home"]),
        ]

    loop = new_loop()
    asyncio.set_event_loop(loop)
    try:
        for _ in range(args.cold):
            loop.run_until_complete(cold_run())
        return loop.run_until_complete(warm_run())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


# --- HTTP ----------------------------------------------------------------------------------------------------


def http_login(base: str) -> tuple[str, str, str]:
    """(anonymous session cookie, its CSRF token, logged-in session cookie) over a real socket."""
    status, headers, body = raw_request(base, "GET", "/login")
    anonymous = cookie_from(headers, "voronka_session")
    match = TOKEN.search(body)
    assert status == 200 and anonymous and match, f"GET /login answered {status}"
    token = match.group(1).decode()
    post = form_body({"username": "admin", "password": TEST_PASSWORD, "csrf_token": token})
    status, headers, _ = raw_request(
        base,
        "POST",
        "/login",
        body=post,
        headers={"Cookie": f"voronka_session={anonymous}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    session = cookie_from(headers, "voronka_session")
    assert status == 303 and session, f"POST /login answered {status}"
    return anonymous, token, session


def http_figures(args: argparse.Namespace, env: dict[str, str]) -> list[Figures]:
    cold: dict[str, list[float]] = {"up": [], "login": [], "post": [], "home": []}
    for _ in range(args.cold):
        t = time.perf_counter()
        with uvicorn_server(env) as server:
            base = server.base
            cold["up"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            status, headers, body = raw_request(base, "GET", "/login")
            cold["login"].append((time.perf_counter() - t) * 1000)
            anonymous = cookie_from(headers, "voronka_session")
            token = TOKEN.search(body).group(1).decode()  # type: ignore[union-attr]
            post = form_body({"username": "admin", "password": TEST_PASSWORD, "csrf_token": token})
            form_headers = {"Cookie": f"voronka_session={anonymous}", "Content-Type": FORM[0][1]}
            t = time.perf_counter()
            status, headers, _ = raw_request(base, "POST", "/login", body=post, headers=form_headers)
            cold["post"].append((time.perf_counter() - t) * 1000)
            session = cookie_from(headers, "voronka_session")
            t = time.perf_counter()
            status, _, _ = raw_request(base, "GET", "/", headers={"Cookie": f"voronka_session={session}"})
            cold["home"].append((time.perf_counter() - t) * 1000)
            assert status == 200, f"GET / answered {status}"

    rows: list[Figures] = []
    with uvicorn_server(env) as server:
        anonymous, token, session = http_login(server.base)
        auth = {"Cookie": f"voronka_session={session}"}
        seconds, conns = args.seconds, args.connections
        run_load(server, "/", seconds=2, connections=conns, headers=auth)  # warm-up
        login_page = run_load(server, "/login", seconds=seconds, connections=conns)
        shell = run_load(server, "/", seconds=seconds, connections=conns, headers=auth)
        body = form_body({"username": "admin", "password": TEST_PASSWORD, "csrf_token": token})
        login_post = run_load(
            server,
            "/login",
            seconds=min(seconds, 5),
            connections=2,
            method="POST",
            body=body,
            headers={"Cookie": f"voronka_session={anonymous}"},
        )
        health = run_load(server, "/health", seconds=min(seconds, 5), connections=conns)
        extra = [
            run_load(server, path, seconds=seconds, connections=conns, headers=auth).figures(f"warm: GET {path}")
            for path in args.pages
        ]
    verdict = "met" if shell.rps > TARGETS["shell_rps"] else "MISSED"
    rows += [
        login_page.figures("warm: GET /login (anonymous)"),
        login_post.figures("warm: POST /login (2 connections)"),
        shell.figures("warm: GET / (logged in: the shell)", f"target > {TARGETS['shell_rps']:,.0f} req/s: {verdict}"),
        health.figures("warm: GET /health (floor: one SELECT 1)"),
        *extra,
        Figures.of("cold: uvicorn start until /health answers", cold["up"]),
        Figures.of("cold: first GET /login", cold["login"]),
        Figures.of("cold: first POST /login", cold["post"]),
        Figures.of("cold: first GET / (logged in)", cold["home"]),
    ]
    return rows


def summary(report: dict[str, Any]) -> None:
    print("\nSummary against the targets")

    def row(results: dict[str, Any], section: str, name: str) -> dict[str, Any]:
        return next(r for r in results[section] if r["name"] == name)

    for engine, results in report["engines"].items():
        create = row(results, "startup", "cold: create_app (all plugins)")["median_ms"]
        shell = row(results, "in_process", "warm: GET / (logged in: the shell)")["median_ms"]
        line = f"  {engine:<10} create_app {create:7.1f} ms (< 1000)   shell in-process {shell:6.2f} ms (< 3)"
        if "http" in results:
            rps = row(results, "http", "warm: GET / (logged in: the shell)")["rps"]
            line += f"   shell over HTTP {rps:,.0f} req/s (> 1,000)"
        print(line)


if __name__ == "__main__":
    sys.exit(main())

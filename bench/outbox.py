"""Outbox delivery latency: from the commit of a change that emitted an event to its ``on_event`` handler.

    python -m bench.outbox              # SQLite
    python -m bench.outbox --pg         # SQLite, then PostgreSQL
    python -m bench.outbox -n 200       # events per run

Target (issue 3): an event emitted is delivered in under 1 s. Two paths are timed:

- in-process: the change commits in the process whose job runner holds the ``core.outbox`` lease, which
  wakes the dispatcher right after the commit (the embedded setup: a form saved in the server);
- cross-process: another process commits the event; the dispatcher finds it by polling
  (``job_poll_seconds``, 0.2 s by default), as with web servers and a ``voronka worker``.

A spy handler registered as a core ``on_event`` implementation takes the time the event reaches it; the
commit time is taken right after ``commit()`` returns. Events are emitted one at a time, 20 ms apart.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from voronka.core.db import write_transaction
from voronka.core.events import emit
from voronka.core.markers import hookimpl
from voronka.web.app import create_app
from voronka.web.worker import InServer

from .databases import bench_database, settings_for

EMITTER = r"""
import sys, time
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.events import emit
engine = make_engine(sys.argv[1])
sessions = make_sessionmaker(engine)
for i in range(int(sys.argv[2])):
    with write_transaction(sessions) as session:
        emit(session, "bench.ping", {"i": i, "process": "other"})
    print(f"{i} {time.time()}", flush=True)
    time.sleep(0.02)
"""


class Spy:
    """Records when each event reaches ``on_event`` (wall clock: the emitter may be another process)."""

    __name__ = "bench_spy"

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], float] = {}

    @hookimpl
    def on_event(self, session: Any, event: Any) -> None:
        if event.name == "bench.ping":
            self.seen[(event.payload["process"], event.payload["i"])] = time.time()


def percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "median": statistics.median(values),
        "p95": values[min(len(values) - 1, int(len(values) * 0.95))],
        "max": values[-1],
    }


def run(engine: str, count: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp, bench_database(engine, Path(tmp), []) as url:
        settings = settings_for(url, Path(tmp), [])
        settings.run_jobs_in_server = False  # started by hand below, on its own loop thread
        app = create_app(settings)
        runtime = app.state.voronka
        spy = Spy()
        runtime.host.pm.register(spy, name="core:bench_spy")
        server = InServer(runtime)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_until_complete, args=(server.runner.run(),), daemon=True)
        thread.start()
        time.sleep(1.0)  # the runner has claimed the core.outbox lease

        def wait_for(key: tuple[str, int]) -> None:
            deadline = time.time() + 10
            while key not in spy.seen and time.time() < deadline:
                time.sleep(0.001)

        committed: dict[tuple[str, int], float] = {}
        for i in range(count):
            with write_transaction(runtime.sessions) as session:
                emit(session, "bench.ping", {"i": i, "process": "same"})
            committed[("same", i)] = time.time()
            wait_for(("same", i))
            time.sleep(0.02)
        emitter = subprocess.run(
            [sys.executable, "-c", EMITTER, url, str(count)], capture_output=True, text=True, check=True
        )
        for line in emitter.stdout.split("\n"):
            if line.strip():
                i, at = line.split()
                committed[("other", int(i))] = float(at)
        wait_for(("other", count - 1))
        loop.call_soon_threadsafe(server.runner.stop)
        thread.join(20)
        runtime.engine.dispose()
        figures = {}
        for where in ("same", "other"):
            keys = [k for k in committed if k[0] == where]
            missing = [k for k in keys if k not in spy.seen]
            if missing:
                raise SystemExit(f"{engine}: {len(missing)} events never reached the handler")
            figures[where] = percentiles([(spy.seen[k] - committed[k]) * 1000 for k in keys])
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", action="store_true", help="also PostgreSQL (127.0.0.1:5432)")
    parser.add_argument("-n", type=int, default=100, help="events per path")
    args = parser.parse_args()
    print(f"emit -> on_event latency, ms ({args.n} events per path; target < 1000 ms)")
    print(f"{'engine':<11} {'path':<14} {'median':>8} {'p95':>8} {'max':>8}")
    for engine in ["sqlite", "postgresql"] if args.pg else ["sqlite"]:
        figures = run(engine, args.n)
        for where, label in (("same", "in-process"), ("other", "cross-process")):
            f = figures[where]
            print(f"{engine:<11} {label:<14} {f['median']:8.1f} {f['p95']:8.1f} {f['max']:8.1f}")


if __name__ == "__main__":
    main()

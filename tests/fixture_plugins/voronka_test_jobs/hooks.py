import os
import time
from pathlib import Path

from sqlalchemy import update

from voronka.core.db import write_transaction
from voronka.core.jobs import LISTENER, PERIODIC, QUEUED, JobDefinition
from voronka.core.markers import hookimpl
from voronka.core.types import utcnow

from .models import Effect, Run


@hookimpl
def on_event(session, event):
    if not event.name.startswith("jobtest."):
        return
    if event.payload.get("fail"):
        raise RuntimeError(f"jobtest refuses event {event.id}")
    session.add(Effect(event_id=event.id, handler="jobtest", name=event.name))
    session.flush()
    pause_file = event.payload.get("pause_file")
    if pause_file:  # the work is done but not committed: the test kills the process now
        Path(pause_file).write_text(str(os.getpid()))
        time.sleep(float(event.payload.get("pause", 60)))


def _record(ctx, item=0, hold=0.0):
    with write_transaction(ctx.sessions) as session:
        run = Run(job=ctx.key, owner=ctx.owner, item=item, started_at=utcnow())
        session.add(run)
    time.sleep(hold)
    with write_transaction(ctx.sessions) as session:
        session.execute(update(Run).where(Run.id == run.id).values(ended_at=utcnow()))


def tick(ctx):
    _record(ctx, hold=float(os.environ.get("JOBTEST_HOLD", "0.05")))


def count(ctx):
    """Resumable: counts from its saved cursor to payload["total"], one item per save."""
    total = int(ctx.payload.get("total", 3))
    start = int(ctx.state or 0)
    for item in range(start, total):
        _record(ctx, item=item, hold=float(ctx.payload.get("hold", 0)))
        ctx.save(item + 1, done=item + 1, total=total)


def boom(ctx):
    raise ValueError("jobtest.boom always fails")


def listen(ctx):
    """A listener: holds the lease and records a heartbeat row until the runner stops."""
    while not ctx.should_stop:
        _record(ctx, hold=0.05)
        ctx.stopping.wait(0.1)


@hookimpl
def jobs():
    lease = float(os.environ.get("JOBTEST_LEASE", "2"))
    return [
        JobDefinition("jobtest.tick", PERIODIC, tick, interval=0.05, lease_seconds=lease),
        JobDefinition("jobtest.count", QUEUED, count, lease_seconds=lease),
        JobDefinition("jobtest.boom", QUEUED, boom, lease_seconds=lease),
        JobDefinition("jobtest.listen", LISTENER, listen, interval=0.1, lease_seconds=lease),
    ]

"""The outbox dispatcher: delivers committed events to ``on_event`` handlers, one handler at a time.

Each (event, handler) runs in its own transaction that also inserts a ``core_event_done`` row, whose
primary key makes a second delivery of the same pair fail instead of repeating its effects: delivery is at
least once, effects exactly once. A handler that raises is recorded in ``core_event_failure`` and retried
with backoff while the other handlers and later events go on; after ``max_attempts`` it gives up, and the
jobs page offers a retry. An event is marked delivered once every handler enabled at that time has handled
it or given up. Handlers are the enabled plugins' ``on_event`` implementations and core's (always on).

The dispatcher runs as the listener job ``core.outbox`` (one process at a time, by lease), woken right
after a commit that emitted events in the same process and polling otherwise.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .db import write_transaction
from .events import Event, add_waker, database_key
from .i18n import N_
from .jobs import LISTENER, PERIODIC, JobContext, JobDefinition, backoff, prune_finished
from .models_jobs import EventDone, EventFailure, OutboxEvent
from .types import utcnow

log = logging.getLogger("voronka.events")

CORE_PREFIX = "core:"


@dataclass
class Handler:
    name: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]

    def __call__(self, session: Session, event: Event) -> None:
        kwargs = {"session": session, "event": event}
        self.function(**{k: v for k, v in kwargs.items() if k in self.argnames})


def handlers(host: Any) -> list[Handler]:
    """The ``on_event`` implementations to deliver to now: enabled plugins in dependency order, then core."""
    impls = {i.plugin_name: i for i in host.pm.hook.on_event.get_hookimpls()}
    ordered = [n for n in host.order if n in impls and host.is_enabled(n)]
    ordered += sorted(n for n in impls if n.startswith(CORE_PREFIX))
    return [Handler(n, impls[n].function, tuple(impls[n].argnames)) for n in ordered]


@dataclass
class StepResult:
    events: int = 0
    delivered: int = 0
    handled: int = 0
    failed: int = 0


class Dispatcher:
    """Delivers outbox events. ``step()`` handles one batch; it is safe to run in several processes at once
    (the done rows keep effects single), though the ``core.outbox`` lease normally keeps it to one."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        host: Any,
        *,
        batch: int = 100,
        max_attempts: int = 8,
        backoff_base: float = 1.0,
        backoff_cap: float = 600.0,
        refresh: Callable[[], None] | None = None,
    ):
        self.sessions = sessions
        self.host = host
        self.batch = batch
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.refresh = refresh
        self.cursor = 0
        """Events up to here were looked at in this pass; a pass that reaches the end starts over, so events
        waiting for a retry never hide newer ones, and late commits of lower ids are still found."""

    def step(self) -> StepResult:
        if self.refresh is not None:
            self.refresh()
        result = StepResult()
        now = utcnow()
        with self.sessions() as session:
            rows = session.execute(
                select(OutboxEvent.id, OutboxEvent.name, OutboxEvent.payload, OutboxEvent.occurred_at)
                .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.id > self.cursor)
                .order_by(OutboxEvent.id)
                .limit(self.batch)
            ).all()
            ids = [r.id for r in rows]
            done: set[tuple[int, str]] = set()
            failures: dict[tuple[int, str], EventFailure] = {}
            if ids:
                found = select(EventDone.event_id, EventDone.handler).where(EventDone.event_id.in_(ids))
                done = {(e, h) for e, h in session.execute(found)}
                for f in session.scalars(select(EventFailure).where(EventFailure.event_id.in_(ids))):
                    failures[(f.event_id, f.handler)] = f
                    session.expunge(f)
        self.cursor = rows[-1].id if len(rows) == self.batch else 0
        if not rows:
            return result
        current = handlers(self.host)
        settled: list[int] = []
        for row in rows:
            result.events += 1
            event = Event(id=row.id, name=row.name, payload=row.payload, occurred_at=row.occurred_at)
            complete = True
            for handler in current:
                key = (event.id, handler.name)
                if key in done:
                    continue
                failure = failures.get(key)
                if failure is not None and (failure.gave_up or failure.next_attempt_at > now):
                    complete = complete and failure.gave_up
                    continue
                outcome = self.deliver(event, handler, failure)
                if outcome == "done":
                    result.handled += 1
                else:
                    result.failed += 1
                    complete = complete and outcome == "gave_up"
            if complete:
                settled.append(event.id)
        if settled:
            with write_transaction(self.sessions) as session:
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_(settled), OutboxEvent.delivered_at.is_(None))
                    .values(delivered_at=utcnow())
                )
            result.delivered = len(settled)
        return result

    def deliver(self, event: Event, handler: Handler, failure: EventFailure | None) -> str:
        """Run one handler for one event in its own transaction: "done", "retry" or "gave_up"."""
        try:
            with write_transaction(self.sessions) as session:
                session.add(EventDone(event_id=event.id, handler=handler.name, done_at=utcnow()))
                try:
                    session.flush()
                except IntegrityError:
                    session.rollback()
                    return "done"  # another dispatcher did it while we looked
                handler(session, copy.deepcopy(event))  # one handler cannot change what the next one sees
                if failure is not None:
                    mine = (EventFailure.event_id == event.id, EventFailure.handler == handler.name)
                    session.execute(delete(EventFailure).where(*mine))
            return "done"
        except Exception as exc:
            log.exception("on_event of %s failed for event %s #%s", handler.name, event.name, event.id)
            return self._record_failure(event, handler, exc)

    def _record_failure(self, event: Event, handler: Handler, exc: BaseException) -> str:
        message = "".join(traceback.format_exception_only(exc)).strip()[:4000]
        now = utcnow()
        with write_transaction(self.sessions) as session:
            row = session.get(EventFailure, (event.id, handler.name))
            if row is None:
                row = EventFailure(event_id=event.id, handler=handler.name, attempts=0, failed_at=now)
                session.add(row)
            row.attempts += 1
            row.last_error = message
            row.gave_up = row.attempts >= self.max_attempts
            wait = backoff(row.attempts, self.backoff_base, self.backoff_cap)
            row.next_attempt_at = now + dt.timedelta(seconds=wait)
            gave_up = row.gave_up
        return "gave_up" if gave_up else "retry"

    def drain(self, limit: int = 100) -> StepResult:
        """Steps until nothing is left to do now (tests and ``voronka worker --once``)."""
        total = StepResult()
        self.cursor = 0
        for _ in range(limit):
            r = self.step()
            total.events += r.events
            total.delivered += r.delivered
            total.handled += r.handled
            total.failed += r.failed
            if self.cursor == 0 and (r.handled + r.failed + r.delivered) == 0:
                break
        return total


def retry_delivery(session: Session, event_id: int, handler: str) -> bool:
    """An admin's retry of a failed delivery: attempts start over and the event is pending again."""
    result = session.execute(
        update(EventFailure)
        .where(EventFailure.event_id == event_id, EventFailure.handler == handler)
        .values(gave_up=False, attempts=0, next_attempt_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(delivered_at=None))
    return True


def backlog(session: Session) -> dict[str, Any]:
    """Figures for the jobs page: undelivered events, oldest pending, failures waiting and given up."""
    pending, oldest = session.execute(
        select(func.count(), func.min(OutboxEvent.occurred_at)).where(OutboxEvent.delivered_at.is_(None))
    ).one()
    retrying = session.scalar(select(func.count()).select_from(EventFailure).where(EventFailure.gave_up.is_(False)))
    gave_up = session.scalar(select(func.count()).select_from(EventFailure).where(EventFailure.gave_up.is_(True)))
    return {"pending": pending or 0, "oldest": oldest, "retrying": retrying or 0, "failed": gave_up or 0}


def prune(session: Session, keep_days: int = 7) -> int:
    """Delete delivered events older than ``keep_days`` (their done rows go with them)."""
    cutoff = utcnow() - dt.timedelta(days=keep_days)
    old = select(OutboxEvent.id).where(OutboxEvent.delivered_at.is_not(None), OutboxEvent.delivered_at < cutoff)
    ids = list(session.scalars(old.limit(5000)))
    if not ids:
        return 0
    session.execute(delete(EventDone).where(EventDone.event_id.in_(ids)))
    session.execute(delete(EventFailure).where(EventFailure.event_id.in_(ids)))
    session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
    return len(ids)


def core_jobs(
    *,
    poll: float = 0.2,
    lease_seconds: float = 10.0,
    refresh: Callable[[], None] | None = None,
    dispatcher_options: dict[str, Any] | None = None,
) -> list[JobDefinition]:
    """Core's own jobs: the outbox dispatcher (a listener) and the outbox clean-up (daily)."""

    def dispatch(ctx: JobContext) -> None:
        dispatcher = Dispatcher(ctx.sessions, ctx.host, refresh=refresh, **(dispatcher_options or {}))
        wake = threading.Event()
        remove = add_waker(database_key(ctx.sessions.kw["bind"]), wake.set)
        ctx.on_stop(wake.set)
        try:
            while not ctx.stopping.is_set() and not ctx.lost.is_set():
                wake.clear()
                result = dispatcher.step()
                if result.events and dispatcher.cursor:
                    continue  # more in this pass
                if result.handled or result.delivered:
                    continue  # handlers may have emitted more
                wake.wait(poll)
        finally:
            remove()

    def clean(ctx: JobContext) -> None:
        with write_transaction(ctx.sessions) as session:
            prune(session)

    def clean_jobs(ctx: JobContext) -> None:
        while not ctx.should_stop:
            with write_transaction(ctx.sessions) as session:
                if prune_finished(session, limit=2000) < 2000:
                    return

    from .recycle import purge_job as recycle_purge_job  # recycle builds on the write path: import late

    return [
        JobDefinition("core.outbox", LISTENER, dispatch, interval=1.0, label=N_("Event delivery"),
                      lease_seconds=lease_seconds),
        JobDefinition("core.outbox_prune", PERIODIC, clean, interval=24 * 3600, label=N_("Event clean-up")),
        JobDefinition("core.jobs_prune", PERIODIC, clean_jobs, interval=24 * 3600, label=N_("Finished jobs clean-up")),
        recycle_purge_job(),
    ]  # fmt: skip


__all__ = ["Dispatcher", "Handler", "StepResult", "backlog", "core_jobs", "handlers", "prune", "retry_delivery"]

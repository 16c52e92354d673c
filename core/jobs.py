"""Background work: periodic jobs, queued work and long-running listeners, coordinated by lease rows.

A job definition (:class:`JobDefinition`) comes from core (the outbox dispatcher) or from a plugin's
``jobs()`` hook. Every job has a row in ``core_job``: periodic jobs and listeners one row per definition,
queued work one row per :func:`enqueue`. A process runs a job only while it holds the row's lease (owner and
expiry, taken by a conditional UPDATE, which is atomic on PostgreSQL under READ COMMITTED and runs inside
``BEGIN IMMEDIATE`` on SQLite), so no job runs twice at once across processes. The runner renews the lease
while the handler runs; a killed process stops renewing, its lease expires and another process takes the
job over, handing the handler the state it last saved (:meth:`JobContext.save`), so jobs resume.

The same :class:`JobRunner` runs inside the web server (embedded setup, ``run_jobs_in_server``) and in
``voronka worker`` processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .db import write_transaction
from .errors import VoronkaError
from .events import NAME_RE, EventError, check_payload
from .models_jobs import JOB_KINDS, Job, Lease
from .types import utcnow

log = logging.getLogger("voronka.jobs")

PERIODIC, QUEUED, LISTENER = JOB_KINDS


class LeaseLost(VoronkaError):
    """Another process took this job over (our lease expired); stop without writing results."""


class JobInterrupted(VoronkaError):
    """Raised by a handler that stopped because the process is stopping (``ctx.should_stop``) after saving
    where it was: the job runs again soon and resumes, and the stop does not count as a failed attempt."""


@dataclass(frozen=True)
class JobDefinition:
    """What a job is. ``key`` is namespaced by its plugin (``outlook.sync``).

    - ``periodic``: ``handler(ctx)`` runs every ``interval`` seconds (measured from the end of a run).
    - ``queued``: ``handler(ctx)`` runs once per :func:`enqueue`, with ``ctx.payload``; after
      ``max_attempts`` failures the job is marked failed and waits for an admin's retry.
    - ``listener``: ``handler(ctx)`` runs for as long as the process holds the lease and should return
      when ``ctx.stopping`` is set; restarted ``interval`` seconds after it returns or raises.

    A handler may be a plain function (run in a worker thread) or a coroutine function (run on the
    runner's event loop). ``lease_seconds`` bounds how long a killed process keeps the job.
    """

    key: str
    kind: str
    handler: Callable[[JobContext], Any]
    interval: float = 60.0
    label: str = ""
    lease_seconds: float = 30.0
    max_attempts: int = 5

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.key) or len(self.key) > 120:
            raise ValueError(f"job key {self.key!r} must be namespaced by its plugin, like 'outlook.sync'")
        if self.kind not in JOB_KINDS:
            raise ValueError(f"job {self.key}: kind must be one of {', '.join(JOB_KINDS)}, not {self.kind!r}")
        if self.interval < 0 or self.lease_seconds <= 0 or self.max_attempts < 1:
            raise ValueError(f"job {self.key}: interval, lease_seconds and max_attempts must be positive")


@dataclass
class JobContext:
    """What a running handler gets: its payload and saved state, the database, progress and lease."""

    job_id: int
    key: str
    payload: dict[str, Any]
    state: Any
    attempts: int
    sessions: sessionmaker[Session]
    host: Any
    owner: str
    lease_seconds: float
    stopping: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)
    runner: JobRunner | None = None
    stop_callbacks: list[Callable[[], None]] = field(default_factory=list)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (thread-safe, quick) when the runner stops, e.g. to end a listener's wait."""
        self.stop_callbacks.append(callback)
        if self.stopping.is_set():
            callback()

    def save(self, state: Any = None, *, done: int | None = None, total: int | None = None) -> None:
        """Persist the cursor ``state`` (plain data) and progress, and renew the lease, in one short
        transaction. Call it after each batch: a process that takes the job over resumes from here."""
        if self.lost.is_set():
            raise LeaseLost(f"job {self.key} #{self.job_id} was taken over by another process")
        values: dict[str, Any] = {"lease_expires_at": utcnow() + dt.timedelta(seconds=self.lease_seconds)}
        if state is not None:
            check_payload(state, "state")
            values["state"] = state
            self.state = state
        if done is not None:
            values["progress_done"] = done
        if total is not None:
            values["progress_total"] = total
        with write_transaction(self.sessions) as session:
            result = session.execute(
                update(Job).where(Job.id == self.job_id, Job.lease_owner == self.owner).values(**values)
            )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            self.lost.set()
            raise LeaseLost(f"job {self.key} #{self.job_id} was taken over by another process")

    def hold(self, session: Session) -> None:
        """Fence a batch: inside the handler's own write transaction, check the lease is still ours and
        extend it. Call it in each batch's transaction; if another process has taken the job over, it
        raises :class:`LeaseLost` and the batch rolls back, so a stalled process that wakes up late can
        never write a batch twice (the progress it saves in the same transaction says where to resume)."""
        if self.lost.is_set():
            raise LeaseLost(f"job {self.key} #{self.job_id} was taken over by another process")
        result = session.execute(
            update(Job)
            .where(Job.id == self.job_id, Job.lease_owner == self.owner)
            .values(lease_expires_at=utcnow() + dt.timedelta(seconds=self.lease_seconds))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            self.lost.set()
            raise LeaseLost(f"job {self.key} #{self.job_id} was taken over by another process")

    @property
    def should_stop(self) -> bool:
        """True when the process is stopping or another process took the job over: a listener's loop
        condition (``while not ctx.should_stop: ...``)."""
        return self.stopping.is_set() or self.lost.is_set()

    def progress(self, done: int, total: int | None = None) -> None:
        self.save(done=done, total=total)

    def wake_runner(self) -> None:
        if self.runner is not None:
            self.runner.wake()


def enqueue(
    session: Session,
    key: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: dt.datetime | None = None,
    max_attempts: int = 5,
) -> Job:
    """Queue one run of the queued job ``key`` in ``session``'s transaction; it runs after commit."""
    if not isinstance(key, str) or not NAME_RE.match(key) or len(key) > 120:
        raise EventError(f"job key {key!r} must be namespaced by its plugin, like 'imports.run'")
    payload = {} if payload is None else payload
    if not isinstance(payload, dict):
        raise EventError(f"the payload of job {key} must be a dict, not a {type(payload).__name__}")
    check_payload(payload)
    job = Job(
        key=key,
        kind=QUEUED,
        payload=payload,
        status="pending",
        next_run_at=run_at or utcnow(),
        max_attempts=max_attempts,
        last_error="",
    )
    session.add(job)
    session.flush()
    return job


def retry(session: Session, job_id: int) -> bool:
    """An admin's retry: a failed (or waiting) job runs again as soon as a runner is free."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("failed", "pending", "done")))
        .values(status="pending", attempts=0, next_run_at=utcnow(), last_error="")
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def prune_finished(session: Session, *, keep_days: int = 30, limit: int = 5000) -> int:
    """Delete queued jobs that finished (done or failed) more than ``keep_days`` ago; periodic jobs and
    listeners keep their one row. At most ``limit`` rows per call, so a big backlog goes in short batches."""
    cutoff = utcnow() - dt.timedelta(days=keep_days)
    old = (
        select(Job.id)
        .where(Job.kind == QUEUED, Job.status.in_(("done", "failed")), Job.finished_at < cutoff)
        .limit(limit)
    )
    ids = list(session.scalars(old))
    if ids:
        session.execute(delete(Job).where(Job.id.in_(ids)))
    return len(ids)


def acquire_lease(sessions: sessionmaker[Session], name: str, owner: str, seconds: float) -> bool:
    """Take (or renew) the named lease for ``seconds`` unless another owner holds it unexpired.

    For work that must not run twice at once but is not a job row of its own (one mailbox, one
    channel): ``acquire_lease(sessions, f"outlook.mailbox.{id}", runner.owner, 60)``. Renew it by calling
    again before it expires; a killed process's lease simply runs out.
    """
    now = utcnow()
    expires = now + dt.timedelta(seconds=seconds)
    with write_transaction(sessions) as session:
        taken = session.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.owner == owner, Lease.expires_at < now))
            .values(owner=owner, expires_at=expires, acquired_at=now)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return True
        if session.get(Lease, name) is not None:
            return False
    try:
        with write_transaction(sessions) as session:
            session.add(Lease(name=name, owner=owner, acquired_at=now, expires_at=expires))
    except IntegrityError:
        return False  # another process inserted it first
    return True


def release_lease(sessions: sessionmaker[Session], name: str, owner: str) -> None:
    """Give the lease up early (only if still ours), so another process need not wait for it to expire."""
    with write_transaction(sessions) as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.owner == owner))


def backoff(attempts: int, base: float = 1.0, cap: float = 300.0) -> float:
    return min(cap, base * (2 ** max(0, attempts - 1)))


def make_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def collect_definitions(host: Any, builtin: Iterable[JobDefinition] = ()) -> dict[str, JobDefinition]:
    """Core's definitions plus every enabled plugin's ``jobs()``; a plugin whose hook fails is logged."""
    found: dict[str, JobDefinition] = {d.key: d for d in builtin}
    if host is None:
        return found
    for impl in host.pm.hook.jobs.get_hookimpls():
        name = impl.plugin_name
        if not name.startswith("core:") and not host.is_enabled(name):
            continue
        try:
            defs = list(impl.function() or [])
        except Exception:
            log.exception("plugin %s failed in jobs()", name)
            continue
        for d in defs:
            if not isinstance(d, JobDefinition):
                log.error("plugin %s returned %r from jobs(), not a JobDefinition", name, d)
                continue
            if d.key in found:
                log.error("plugin %s: job key %s is taken; ignored", name, d.key)
                continue
            found[d.key] = d
    return found


class JobRunner:
    """Claims due jobs by lease and runs them; one per process (server or worker).

    ``definitions`` is called on each tick (plugins may be toggled at run time). ``refresh`` re-reads the
    enabled plugins (``Runtime.sync``). ``poll`` is how often the database is asked for due jobs.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        host: Any,
        definitions: Callable[[], dict[str, JobDefinition]],
        *,
        owner: str | None = None,
        poll: float = 0.2,
        concurrency: int = 4,
        refresh: Callable[[], None] | None = None,
    ):
        self.sessions = sessions
        self.host = host
        self.definitions = definitions
        self.owner = owner or make_owner()
        self.poll = poll
        self.concurrency = concurrency
        self.refresh = refresh
        self.stopping = threading.Event()
        self.running: dict[int, tuple[asyncio.Task[Any], JobContext]] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ensured: set[str] = set()
        self._executor: ThreadPoolExecutor | None = None

    # -- rows ------------------------------------------------------------------------------------------

    def ensure_rows(self, defs: dict[str, JobDefinition]) -> None:
        """Create the one row of each periodic job and listener (safe when processes race)."""
        missing = [d for k, d in defs.items() if d.kind != QUEUED and k not in self._ensured]
        if not missing:
            return
        with self.sessions() as session:
            have = set(session.scalars(select(Job.singleton).where(Job.singleton.in_([d.key for d in missing]))))
        for d in missing:
            if d.key not in have:
                try:
                    with write_transaction(self.sessions) as session:
                        session.add(
                            Job(key=d.key, kind=d.kind, singleton=d.key, payload={}, status="pending",
                                next_run_at=utcnow(), max_attempts=d.max_attempts, last_error="")
                        )  # fmt: skip
                except IntegrityError:
                    pass  # another process created it first
            self._ensured.add(d.key)

    def claim(self, defs: dict[str, JobDefinition], limit: int) -> list[tuple[Job, JobDefinition]]:
        """Take the leases of up to ``limit`` due jobs this process knows how to run."""
        if limit <= 0 or not defs:
            return []
        now = utcnow()
        free = or_(Job.lease_owner.is_(None), Job.lease_expires_at < now)
        due = or_(and_(Job.status == "pending", Job.next_run_at <= now), Job.status == "running")
        with self.sessions() as session:
            candidates = session.execute(
                select(Job.id, Job.key)
                .where(due, free, Job.key.in_(list(defs)))
                .order_by(Job.next_run_at, Job.id)
                .limit(limit * 3)
            ).all()
        claimed: list[tuple[Job, JobDefinition]] = []
        for job_id, key in candidates:
            if len(claimed) >= limit or job_id in self.running:
                continue
            d = defs[key]
            with write_transaction(self.sessions) as session:
                now = utcnow()
                result = session.execute(
                    update(Job)
                    .where(Job.id == job_id, due, or_(Job.lease_owner.is_(None), Job.lease_expires_at < now))
                    .values(
                        lease_owner=self.owner,
                        lease_expires_at=now + dt.timedelta(seconds=d.lease_seconds),
                        status="running",
                        started_at=now,
                        attempts=Job.attempts + 1,
                    )
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                job = session.get(Job, job_id)
                assert job is not None
                session.expunge(job)
            claimed.append((job, d))
        return claimed

    def renew(self, ctx: JobContext) -> bool:
        with write_transaction(self.sessions) as session:
            result = session.execute(
                update(Job)
                .where(Job.id == ctx.job_id, Job.lease_owner == self.owner)
                .values(lease_expires_at=utcnow() + dt.timedelta(seconds=ctx.lease_seconds))
            )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            ctx.lost.set()
            return False
        return True

    def finish(self, job: Job, d: JobDefinition, error: BaseException | None) -> None:
        """Record the outcome and release the lease (only while still ours)."""
        now = utcnow()
        values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None, "finished_at": now}
        if isinstance(error, JobInterrupted):  # stopped, not failed: due again at once, the attempt given back
            values.update(status="pending", next_run_at=now, attempts=Job.attempts - 1, last_error="")
        elif error is None:
            values["last_error"] = ""
            if d.kind == QUEUED:
                values["status"] = "done"
            else:
                values.update(status="pending", attempts=0, next_run_at=now + dt.timedelta(seconds=d.interval))
        else:
            values["last_error"] = "".join(traceback.format_exception_only(error)).strip()[:4000]
            if d.kind == QUEUED and job.attempts >= job.max_attempts:
                values["status"] = "failed"
            else:
                wait = backoff(job.attempts)
                if d.kind != QUEUED:
                    wait = max(wait, d.interval)
                values.update(status="pending", next_run_at=now + dt.timedelta(seconds=wait))
        with write_transaction(self.sessions) as session:
            session.execute(update(Job).where(Job.id == job.id, Job.lease_owner == self.owner).values(**values))

    def context(self, job: Job, d: JobDefinition) -> JobContext:
        return JobContext(
            job_id=job.id,
            key=job.key,
            payload=dict(job.payload or {}),
            state=job.state,
            attempts=job.attempts,
            sessions=self.sessions,
            host=self.host,
            owner=self.owner,
            lease_seconds=d.lease_seconds,
            stopping=self.stopping,
            runner=self,
        )

    # -- running ---------------------------------------------------------------------------------------

    def run_due_once(self, limit: int = 100) -> list[str]:
        """Synchronously run the due periodic and queued jobs once (tests, ``voronka worker --once``)."""
        defs = {k: d for k, d in self.definitions().items() if d.kind != LISTENER}
        self.ensure_rows(defs)
        ran = []
        for job, d in self.claim(defs, limit):
            ctx = self.context(job, d)
            error: BaseException | None = None
            try:
                result = d.handler(ctx)
                if inspect.isawaitable(result):
                    asyncio.run(result)  # type: ignore[arg-type]
            except Exception as exc:
                error = exc
                log.exception("job %s #%s failed", d.key, job.id)
            if not ctx.lost.is_set():
                self.finish(job, d, error)
            ran.append(d.key)
        return ran

    def wake(self) -> None:
        """Thread-safe: look for due jobs now instead of at the next poll."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(event.set)

    async def run(self) -> None:
        """The loop: claim due jobs, run them as tasks, renew their leases; until :meth:`stop`."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        # our own threads: the loop's default executor is small and shared with whatever else runs there
        self._executor = ThreadPoolExecutor(self.concurrency + 4, thread_name_prefix="voronka-jobs")
        log.info("job runner %s started", self.owner)
        try:
            while not self.stopping.is_set():
                try:
                    claimed = await self._in_thread(self._tick)
                except Exception:
                    log.exception("job runner tick failed")
                    claimed = []
                for job, d in claimed:
                    ctx = self.context(job, d)
                    task = asyncio.create_task(self._run_one(job, d, ctx), name=f"job {d.key} #{job.id}")
                    self.running[job.id] = (task, ctx)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)
                self._wake.clear()
        finally:
            await self._drain()
            # wait for threads still in a query (a cancelled lease renewal, say): the engine is disposed
            # right after us, and a connection it no longer owns would leak
            await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)
            log.info("job runner %s stopped", self.owner)

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        assert self._loop is not None
        return await self._loop.run_in_executor(self._executor, fn, *args)

    def _tick(self) -> list[tuple[Job, JobDefinition]]:
        if self.refresh is not None:
            self.refresh()
        defs = self.definitions()
        self.ensure_rows(defs)
        return self.claim(defs, self.concurrency - len(self.running))

    async def _run_one(self, job: Job, d: JobDefinition, ctx: JobContext) -> None:
        renewer = asyncio.create_task(self._keep_lease(ctx))
        error: BaseException | None = None
        try:
            if inspect.iscoroutinefunction(d.handler):
                await d.handler(ctx)
            else:
                await self._in_thread(d.handler, ctx)
        except LeaseLost:
            log.warning("job %s #%s lost its lease to another process", d.key, job.id)
        except JobInterrupted as exc:
            error = exc
            log.info("job %s #%s stopped with the process; it resumes", d.key, job.id)
        except Exception as exc:
            error = exc
            log.exception("job %s #%s failed", d.key, job.id)
        finally:
            renewer.cancel()
        try:
            if not ctx.lost.is_set():
                await self._in_thread(self.finish, job, d, error)
        except Exception:
            log.exception("could not record the outcome of job %s #%s", d.key, job.id)
        finally:
            self.running.pop(job.id, None)  # only now: stopping waits for the outcome to be written
        self.wake()

    async def _keep_lease(self, ctx: JobContext) -> None:
        while True:
            await asyncio.sleep(max(0.05, ctx.lease_seconds / 3))
            try:
                if not await self._in_thread(self.renew, ctx):
                    log.warning("job %s #%s: lease taken over", ctx.key, ctx.job_id)
                    return
            except Exception:
                log.exception("renewing the lease of job %s #%s failed", ctx.key, ctx.job_id)

    def stop(self) -> None:
        self.stopping.set()
        for _task, ctx in list(self.running.values()):
            for callback in ctx.stop_callbacks:
                with contextlib.suppress(Exception):
                    callback()
        self.wake()

    async def _drain(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        tasks = [task for task, _ctx in self.running.values()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()


__all__ = [
    "LISTENER",
    "PERIODIC",
    "QUEUED",
    "JobContext",
    "JobDefinition",
    "JobInterrupted",
    "JobRunner",
    "LeaseLost",
    "acquire_lease",
    "backoff",
    "collect_definitions",
    "enqueue",
    "prune_finished",
    "release_lease",
    "retry",
]

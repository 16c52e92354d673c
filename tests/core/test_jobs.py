"""Jobs: queued, periodic and listener jobs coordinated by lease rows, resumable, with retry; two worker
processes on PostgreSQL never run one job at once, and a killed worker's lease is taken over."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from voronka.core.db import write_transaction
from voronka.core.events import EventError
from voronka.core.jobs import JobDefinition, JobRunner, LeaseLost, collect_definitions, enqueue, retry
from voronka.core.models_jobs import Job
from voronka.core.types import utcnow
from voronka.web.worker import make_runner

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixture_plugins"

pytestmark = pytest.mark.voronka(plugins=["jobtest=voronka_test_jobs"])


@pytest.fixture
def runtime(make_app: Any) -> Any:
    return make_app(run_jobs_in_server=False).state.voronka


def runs(runtime: Any, job: str) -> list[Any]:
    from voronka_test_jobs.models import Run

    with runtime.sessions() as session:
        return list(session.execute(select(Run).where(Run.job == job).order_by(Run.id)).scalars())


def job_row(runtime: Any, job_id: int) -> Job:
    with runtime.sessions() as session:
        found = session.get(Job, job_id)
        assert found is not None
        return found


def queue(runtime: Any, key: str, payload: dict[str, Any] | None = None, **kwargs: Any) -> int:
    with write_transaction(runtime.sessions) as session:
        return enqueue(session, key, payload, **kwargs).id


def only(runtime: Any, *keys: str) -> JobRunner:
    runner = make_runner(runtime)
    every = runner.definitions
    runner.definitions = lambda: {k: d for k, d in every().items() if k in keys}
    return runner


def test_definitions_come_from_core_and_enabled_plugins(runtime):
    keys = set(make_runner(runtime).definitions())
    assert {"core.outbox", "core.outbox_prune", "jobtest.tick", "jobtest.count", "jobtest.listen"} <= keys
    assert collect_definitions(None) == {}
    with pytest.raises(ValueError, match="namespaced"):
        JobDefinition("tick", "periodic", print)
    with pytest.raises(ValueError, match="kind"):
        JobDefinition("x.tick", "sometimes", print)


def test_enqueue_checks_its_input_and_belongs_to_the_callers_transaction(runtime):
    with runtime.sessions() as session:
        with pytest.raises(EventError, match="namespaced"):
            enqueue(session, "count", {})
        with pytest.raises(EventError, match="not plain data"):
            enqueue(session, "jobtest.count", {"when": object()})
    with pytest.raises(RuntimeError), write_transaction(runtime.sessions) as session:
        enqueue(session, "jobtest.count", {"total": 1})
        raise RuntimeError("the caller's change fails")
    with runtime.sessions() as session:
        assert session.scalars(select(Job).where(Job.kind == "queued")).all() == []


def test_a_queued_job_runs_once_with_progress(runtime):
    job_id = queue(runtime, "jobtest.count", {"total": 3})
    runner = only(runtime, "jobtest.count")
    assert runner.run_due_once() == ["jobtest.count"]
    assert runner.run_due_once() == []
    job = job_row(runtime, job_id)
    assert (job.status, job.progress_done, job.progress_total, job.state) == ("done", 3, 3, 3)
    assert job.lease_owner is None and job.finished_at is not None
    assert [r.item for r in runs(runtime, "jobtest.count")] == [0, 1, 2]


def test_a_failing_job_is_retried_then_marked_failed_until_an_admin_retries(runtime):
    job_id = queue(runtime, "jobtest.boom", max_attempts=2)
    runner = only(runtime, "jobtest.boom")
    runner.run_due_once()
    job = job_row(runtime, job_id)
    assert (job.status, job.attempts) == ("pending", 1)
    assert "always fails" in job.last_error
    with write_transaction(runtime.sessions) as session:  # skip the backoff
        session.execute(update(Job).where(Job.id == job_id).values(next_run_at=utcnow()))
    runner.run_due_once()
    job = job_row(runtime, job_id)
    assert (job.status, job.attempts) == ("failed", 2)
    assert runner.run_due_once() == []  # failed jobs wait for a person
    with write_transaction(runtime.sessions) as session:
        assert retry(session, job_id)
    assert job_row(runtime, job_id).status == "pending"
    assert runner.run_due_once() == ["jobtest.boom"]


def test_a_periodic_job_has_one_row_and_runs_again_after_its_interval(runtime):
    runner = only(runtime, "jobtest.tick")
    assert runner.run_due_once() == ["jobtest.tick"]
    assert runner.run_due_once() == []  # not due yet (interval 0.05 s)
    time.sleep(0.1)
    assert runner.run_due_once() == ["jobtest.tick"]
    only(runtime, "jobtest.tick").ensure_rows(runner.definitions())  # another process: still one row
    with runtime.sessions() as session:
        rows = session.scalars(select(Job).where(Job.key == "jobtest.tick")).all()
    assert len(rows) == 1 and rows[0].status == "pending" and rows[0].attempts == 0
    assert len(runs(runtime, "jobtest.tick")) == 2


def test_a_leased_job_is_not_claimed_twice_and_an_expired_lease_is_taken_over_with_its_state(runtime, make_app):
    other = make_app(run_jobs_in_server=False).state.voronka
    job_id = queue(runtime, "jobtest.count", {"total": 5})
    first, second = only(runtime, "jobtest.count"), only(other, "jobtest.count")
    defs = first.definitions()
    [(job, d)] = first.claim(defs, 10)
    ctx = first.context(job, d)
    ctx.save(2, done=2, total=5)  # two items done, then the process "dies" (stops renewing)
    assert second.claim(second.definitions(), 10) == []
    with write_transaction(runtime.sessions) as session:
        session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - dt.timedelta(seconds=1)))
    assert second.run_due_once() == ["jobtest.count"]  # resumes from the saved cursor
    assert [r.item for r in runs(runtime, "jobtest.count")] == [2, 3, 4]
    done = job_row(runtime, job_id)
    assert (done.status, done.progress_done, done.attempts) == ("done", 5, 2)
    with pytest.raises(LeaseLost):  # the old owner can no longer write
        ctx.save(3)
    assert not first.renew(ctx)


# -- worker processes ----------------------------------------------------------------------------------

WORKER = r"""
import json, logging, os
from voronka.core.config import Settings
from voronka.web.app import create_app
from voronka.web.worker import run_worker

logging.basicConfig(level=logging.WARNING)
settings = Settings(**json.loads(os.environ["JOBTEST_SETTINGS"]))
app = create_app(settings)
run_worker(app.state.voronka)
"""


WORKER_LEASE = 6
"""Seconds. Renewal runs every third of it; a loaded CI machine has stalled a worker for over 2 s, and a
lease that lapses lets a successor start before the stalled run notices (handlers must be idempotent)."""


def start_worker(settings: Any) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(FIXTURES), env.get("PYTHONPATH", "")])
    env["JOBTEST_LEASE"] = str(WORKER_LEASE)
    env["JOBTEST_HOLD"] = "0.1"
    keys = ("database_url", "secret_key", "entry_points", "extra_plugins", "disabled_plugins")
    env["JOBTEST_SETTINGS"] = json.dumps({k: getattr(settings, k) for k in keys} | {"run_jobs_in_server": False})
    return subprocess.Popen([sys.executable, "-c", WORKER], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def overlaps(rows: list[Any], killed: tuple[str, Any] | None = None) -> list[tuple[Any, Any]]:
    """Pairs of runs that overlapped. A run still open counts as running until now, except one of the
    killed owner (`killed` = (owner, when)): it never records its end, so it ends at the kill."""

    def end(r: Any) -> Any:
        if r.ended_at is not None:
            return r.ended_at
        return killed[1] if killed and r.owner == killed[0] else utcnow()

    spans = sorted(((r.started_at, end(r), r.owner) for r in rows), key=lambda s: s[0])
    return [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1]]


def test_two_workers_never_run_one_job_at_once_and_a_killed_workers_lease_is_taken_over(
    runtime, voronka_settings, engine
):
    if engine != "postgresql":
        pytest.skip("the two-process test runs on PostgreSQL, the engine of multi-process deployments")
    workers = [start_worker(voronka_settings), start_worker(voronka_settings)]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(runs(runtime, "jobtest.tick")) < 20:
            time.sleep(0.2)
        time.sleep(1.0)
        ticks = runs(runtime, "jobtest.tick")
        listens = runs(runtime, "jobtest.listen")
        assert len(ticks) >= 20, [w.poll() for w in workers]
        assert overlaps(ticks) == [] and overlaps(listens) == []
        holder = listens[-1].owner
        pid = int(holder.split(":")[1])
        victim = next(w for w in workers if w.pid == pid)
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=10)
        killed_at = utcnow()
        deadline = time.monotonic() + WORKER_LEASE + 15
        while time.monotonic() < deadline and not [r for r in runs(runtime, "jobtest.listen") if r.owner != holder]:
            time.sleep(0.1)
        taken = [r for r in runs(runtime, "jobtest.listen") if r.owner != holder]
        assert taken, "no worker took the listener over after its lease expired"
        waited = (taken[0].started_at - killed_at).total_seconds()
        assert waited < WORKER_LEASE + 3  # the lease plus polls, with room for a loaded machine
        after = [r for r in runs(runtime, "jobtest.listen") if r.ended_at is None or r.owner != holder]
        assert overlaps([r for r in after if r.owner != holder]) == []
        assert overlaps(runs(runtime, "jobtest.tick"), killed=(holder, killed_at)) == []
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                w.kill()
                w.communicate()
    survivor = next(w for w in workers if w.pid != pid)
    assert survivor.returncode == 0  # stopped cleanly on SIGTERM


# -- the jobs page ---------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(make_app: Any) -> Any:
    from voronka.web.testkit.client import VoronkaClient

    app = make_app(run_jobs_in_server=False)
    with VoronkaClient(app) as client:
        client.runtime = app.state.voronka
        yield client


def test_the_jobs_page_shows_status_progress_errors_and_the_outbox(admin_client):
    runtime = admin_client.runtime
    done_id = queue(runtime, "jobtest.count", {"total": 2})
    failed_id = queue(runtime, "jobtest.boom", max_attempts=1)
    only(runtime, "jobtest.count", "jobtest.boom", "jobtest.tick").run_due_once()
    from voronka.core.events import emit
    from voronka.core.jobs_outbox import Dispatcher

    with write_transaction(runtime.sessions) as session:
        emit(session, "jobtest.created", {"fail": True})
        emit(session, "jobtest.created", {})
    Dispatcher(runtime.sessions, runtime.host, max_attempts=1).drain()
    with write_transaction(runtime.sessions) as session:
        emit(session, "jobtest.created", {})  # waiting for delivery
    admin_client.login("admin")
    page = admin_client.get("/admin/jobs")
    assert page.status_code == 200
    html = page.text
    assert 'href="/admin/jobs" class="active"' in html
    assert f'id="job-{done_id}"' in html and f'id="job-{failed_id}"' in html
    assert '<progress max="2" value="2">' in html
    assert "jobtest.boom always fails" in html
    assert "1 event waits for delivery" in html
    assert "jobtest refuses event" in html and "1 delivery failed" in html
    fragment = admin_client.hx_get("/admin/jobs", headers={"HX-Target": "jobs"})
    assert fragment.text.lstrip().startswith('<div id="jobs"') and "admin-tabs" not in fragment.text

    response = admin_client.post("/admin/jobs/retry", data={"job": str(failed_id)}, follow_redirects=False)
    assert response.status_code == 303
    assert job_row(runtime, failed_id).status == "pending"
    with runtime.sessions() as session:
        from voronka.core.models_jobs import EventFailure

        failure = session.scalars(select(EventFailure)).one()
    response = admin_client.post(
        "/admin/jobs/deliveries/retry",
        data={"event": str(failure.event_id), "handler": "jobtest"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with runtime.sessions() as session:
        assert not session.scalars(select(EventFailure)).one().gave_up
    assert "will be tried again" in admin_client.get("/admin/jobs?retried=delivery").text


@pytest.mark.parametrize(
    ("url", "data", "status"),
    [
        ("/admin/jobs/retry", {}, 400),
        ("/admin/jobs/retry", {"job": "abc"}, 400),
        ("/admin/jobs/retry", {"job": "99999999999999999999999"}, 400),
        ("/admin/jobs/retry", {"job": "424242"}, 404),
        ("/admin/jobs/deliveries/retry", {"event": "1"}, 400),
        ("/admin/jobs/deliveries/retry", {"event": "x", "handler": "jobtest"}, 400),
        ("/admin/jobs/deliveries/retry", {"event": "424242", "handler": "jobtest"}, 404),
    ],
)
def test_bad_retries_get_a_clear_4xx(admin_client, url, data, status):
    admin_client.login("admin")
    assert admin_client.post(url, data=data, follow_redirects=False).status_code == status


def test_only_admins_see_the_jobs_page(admin_client):
    admin_client.login("sales")
    assert admin_client.get("/admin/jobs").status_code == 403
    assert admin_client.post("/admin/jobs/retry", data={"job": "1"}).status_code == 403


def test_voronka_worker_once_delivers_events_and_runs_due_jobs(runtime, voronka_settings, tmp_path):
    from typer.testing import CliRunner

    from voronka.core.events import emit
    from voronka.web.cli import create_cli

    job_id = queue(runtime, "jobtest.count", {"total": 1})
    with write_transaction(runtime.sessions) as session:
        emit(session, "jobtest.created", {})
    config = tmp_path / "worker.toml"
    config.write_text(
        f"database_url = {json.dumps(voronka_settings.database_url)}\n"
        f"secret_key = {json.dumps(voronka_settings.secret_key)}\n"
        f"entry_points = {json.dumps(voronka_settings.entry_points)}\n"
        "run_jobs_in_server = false\n"
        "[plugins]\n"
        f"extra = {json.dumps(voronka_settings.extra_plugins)}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(create_cli(), ["--config", str(config), "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert job_row(runtime, job_id).status == "done"
    from voronka_test_jobs.models import Effect

    with runtime.sessions() as session:
        assert session.scalars(select(Effect.name)).all() == ["jobtest.created"]


def test_a_named_lease_has_one_owner_until_it_expires_or_is_released(runtime, make_app):
    from voronka.core.jobs import acquire_lease, release_lease
    from voronka.core.models_jobs import Lease

    other = make_app(run_jobs_in_server=False).state.voronka
    assert acquire_lease(runtime.sessions, "jobtest.mailbox.1", "a", 30)
    assert not acquire_lease(other.sessions, "jobtest.mailbox.1", "b", 30)
    assert acquire_lease(runtime.sessions, "jobtest.mailbox.1", "a", 30)  # renewal
    assert acquire_lease(other.sessions, "jobtest.mailbox.2", "b", 30)  # another name is free
    with write_transaction(runtime.sessions) as session:
        session.execute(
            update(Lease).where(Lease.name == "jobtest.mailbox.1").values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert acquire_lease(other.sessions, "jobtest.mailbox.1", "b", 30)  # expired: taken over
    assert not acquire_lease(runtime.sessions, "jobtest.mailbox.1", "a", 30)
    release_lease(runtime.sessions, "jobtest.mailbox.1", "a")  # not a's any more: nothing happens
    assert not acquire_lease(runtime.sessions, "jobtest.mailbox.1", "a", 30)
    release_lease(other.sessions, "jobtest.mailbox.1", "b")
    assert acquire_lease(runtime.sessions, "jobtest.mailbox.1", "a", 30)


def test_a_worker_killed_mid_batch_leaves_a_job_that_another_worker_resumes(runtime, voronka_settings):
    job_id = queue(runtime, "jobtest.count", {"total": 12, "hold": 0.1})
    first = start_worker(voronka_settings)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and job_row(runtime, job_id).progress_done < 3:
            time.sleep(0.05)
        assert job_row(runtime, job_id).progress_done >= 3, first.poll()
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    killed = job_row(runtime, job_id)
    assert killed.status == "running" and killed.progress_done < 12  # mid-batch, lease still held
    second = start_worker(voronka_settings)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and job_row(runtime, job_id).status != "done":
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=20)
    done = job_row(runtime, job_id)
    assert (done.status, done.progress_done, done.progress_total, done.attempts) == ("done", 12, 12, 2)
    items = [r.item for r in runs(runtime, "jobtest.count")]
    assert sorted(set(items)) == list(range(12))
    assert len(items) - len(set(items)) <= 1  # at most the batch in flight at the kill ran twice
    owners = [r.owner for r in runs(runtime, "jobtest.count")]
    assert len(set(owners)) == 2 and owners == sorted(owners, key=owners.index)  # one took over from the other


@pytest.mark.voronka(plugins=["jobtest=voronka_test_jobs"], disabled=["jobtest"])
def test_a_disabled_plugins_jobs_do_not_run(runtime):
    job_id = queue(runtime, "jobtest.count", {"total": 1})
    keys = set(make_runner(runtime).definitions())
    assert "core.outbox" in keys and not any(k.startswith("jobtest.") for k in keys)
    ran = make_runner(runtime).run_due_once()  # installed plugins' periodic jobs (pipeline's snapshot) run too
    assert {"core.jobs_prune", "core.outbox_prune", "core.recycle_purge"} <= set(ran)
    assert not any(k.startswith("jobtest.") for k in ran)
    assert job_row(runtime, job_id).status == "pending"


# -- fencing, clean-up, the jobs CLI -------------------------------------------------------------------


def test_a_batch_fenced_by_hold_rolls_back_once_another_process_took_the_job_over(runtime, make_app):
    from voronka_test_jobs.models import Run

    other = make_app(run_jobs_in_server=False).state.voronka
    job_id = queue(runtime, "jobtest.count", {"total": 5})
    first = only(runtime, "jobtest.count")
    [(job, d)] = first.claim(first.definitions(), 10)
    ctx = first.context(job, d)
    with write_transaction(runtime.sessions) as session:  # a batch while the lease is ours commits
        ctx.hold(session)
        session.add(Run(job="jobtest.count", item=0, owner=first.owner, started_at=utcnow()))
    with write_transaction(runtime.sessions) as session:  # the process stalls; its lease runs out
        session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - dt.timedelta(seconds=1)))
    second = only(other, "jobtest.count")
    assert [j.id for j, _d in second.claim(second.definitions(), 10)] == [job_id]
    with pytest.raises(LeaseLost), write_transaction(runtime.sessions) as session:  # it wakes up late
        session.add(Run(job="jobtest.count", item=1, owner=first.owner, started_at=utcnow()))
        ctx.hold(session)
    assert [r.item for r in runs(runtime, "jobtest.count")] == [0]  # the late batch left nothing behind
    assert ctx.should_stop


def test_finished_queued_jobs_are_pruned_after_their_keep_time_and_standing_jobs_stay(runtime):
    from voronka.core.jobs import prune_finished

    old = utcnow() - dt.timedelta(days=40)
    ids = {status: queue(runtime, "jobtest.count") for status in ("done", "failed", "pending")}
    recent = queue(runtime, "jobtest.count")
    make_runner(runtime).ensure_rows(make_runner(runtime).definitions())
    with write_transaction(runtime.sessions) as session:
        for status, job_id in ids.items():
            session.execute(update(Job).where(Job.id == job_id).values(status=status, finished_at=old))
        session.execute(update(Job).where(Job.id == recent).values(status="done", finished_at=utcnow()))
        session.execute(update(Job).where(Job.singleton.is_not(None)).values(finished_at=old, status="done"))
        assert prune_finished(session, keep_days=30, limit=1) == 1  # batches: one at a time here
        assert prune_finished(session, keep_days=30) == 1
        assert prune_finished(session, keep_days=30) == 0
    with runtime.sessions() as session:
        left = set(session.scalars(select(Job.id).where(Job.singleton.is_(None))))
        standing = session.scalar(select(Job.id).where(Job.singleton == "core.outbox_prune"))
    assert left == {ids["pending"], recent} and standing is not None


def test_the_jobs_cli_lists_shows_and_retries(runtime, voronka_settings, tmp_path):
    from typer.testing import CliRunner

    from voronka.web.cli import create_cli

    failed = queue(runtime, "jobtest.count", {"total": 3})
    with write_transaction(runtime.sessions) as session:
        session.execute(
            update(Job)
            .where(Job.id == failed)
            .values(status="failed", attempts=5, progress_done=1, progress_total=3,
                    last_error="Traceback…\nValueError: the CSV ended early", finished_at=utcnow())
        )  # fmt: skip
    config = tmp_path / "jobs.toml"
    config.write_text(
        f"database_url = {json.dumps(voronka_settings.database_url)}\n"
        f"secret_key = {json.dumps(voronka_settings.secret_key)}\n"
        f"entry_points = {json.dumps(voronka_settings.entry_points)}\n"
        "[plugins]\n"
        f"extra = {json.dumps(voronka_settings.extra_plugins)}\n",
        encoding="utf-8",
    )

    def cli(*args: str) -> Any:
        return CliRunner().invoke(create_cli(), ["--config", str(config), "jobs", *args])

    listed = cli("list", "--status", "failed")
    assert listed.exit_code == 0, listed.output
    assert "jobtest.count" in listed.output and "1/3 (33%)" in listed.output
    assert "ValueError: the CSV ended early" in listed.output
    shown = cli("show", str(failed))
    assert shown.exit_code == 0 and '"total": 3' in shown.output and "Traceback" in shown.output
    assert cli("list", "--status", "bogus").exit_code != 0
    assert cli("show", "999999").exit_code != 0 and "no job 999999" in cli("show", "999999").output
    retried = cli("retry", str(failed))
    assert retried.exit_code == 0, retried.output
    assert (job_row(runtime, failed).status, job_row(runtime, failed).attempts) == ("pending", 0)
    with write_transaction(runtime.sessions) as session:
        session.execute(update(Job).where(Job.id == failed).values(status="running"))
    assert cli("retry", str(failed)).exit_code != 0

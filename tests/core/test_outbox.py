"""The outbox: events written with the change, delivered after commit, at least once, effects exactly once.

The kill tests run real processes (a small script that builds the plugin host and delivers) and end them
with SIGKILL at the two moments that matter: after the change committed but before delivery, and after a
handler did its work but before its transaction committed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.db import write_transaction
from voronka.core.events import Event, EventError, emit
from voronka.core.jobs_outbox import Dispatcher, backlog, handlers, retry_delivery
from voronka.core.models_jobs import EventDone, EventFailure, OutboxEvent
from voronka.web.testkit.client import VoronkaClient

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixture_plugins"
BOTH = ["jobtest=voronka_test_jobs", "jobtest2=voronka_test_jobs.second"]

pytestmark = pytest.mark.voronka(plugins=BOTH, disabled=["jobtest2"], entry_points=False)  # core delivery only


@pytest.fixture
def runtime(make_app: Any) -> Any:
    return make_app(run_jobs_in_server=False).state.voronka


def effects(runtime: Any, handler: str = "jobtest") -> list[tuple[int, str]]:
    from voronka_test_jobs.models import Effect

    with runtime.sessions() as session:
        rows = session.execute(
            select(Effect.event_id, Effect.name).where(Effect.handler == handler).order_by(Effect.id)
        )
        return [tuple(r) for r in rows]


def emit_one(runtime: Any, name: str = "jobtest.created", payload: dict[str, Any] | None = None) -> int:
    with write_transaction(runtime.sessions) as session:
        emit(session, name, payload or {})
        session.flush()
        return session.scalar(select(func.max(OutboxEvent.id)))


# -- emit ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["created", "Jobtest.created", "jobtest.", ".created", "jobtest created", "a.b-c", "x" * 130, 7]
)
def test_emit_refuses_names_that_are_not_namespaced(runtime, name):
    with runtime.sessions() as session:
        with pytest.raises(EventError, match="namespaced"):
            emit(session, name, {})
        assert not session.new


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"when": dt.date(2026, 1, 1)}, "ISO strings"),
        ({"x": {1, 2}}, "not plain data"),
        ({"x": float("nan")}, "JSON cannot carry"),
        ({1: "a"}, "not a string"),
        ({"x": object()}, "not plain data"),
        (["not", "a", "dict"], "must be a dict"),
    ],
)
def test_emit_refuses_payloads_that_are_not_plain_data(runtime, payload, message):
    with runtime.sessions() as session:
        with pytest.raises(EventError, match=message):
            emit(session, "jobtest.created", payload)
        assert not session.new


def test_an_event_emitted_in_a_transaction_that_rolls_back_is_never_delivered(runtime):
    with pytest.raises(RuntimeError), write_transaction(runtime.sessions) as session:
        emit(session, "jobtest.created", {"n": 1})
        session.flush()
        raise RuntimeError("the change fails")
    result = Dispatcher(runtime.sessions, runtime.host).drain()
    assert result.events == 0
    assert effects(runtime) == []
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


# -- delivery -----------------------------------------------------------------------------------------


def test_each_event_reaches_an_enabled_plugin_once_and_a_disabled_plugin_never(runtime):
    assert [h.name for h in handlers(runtime.host) if not h.name.startswith("core:")] == ["jobtest"]
    ids = [emit_one(runtime, payload={"n": n}) for n in range(3)]
    dispatcher = Dispatcher(runtime.sessions, runtime.host)
    first = dispatcher.drain()
    assert (first.events, first.delivered, first.handled) == (3, 3, 3)
    again = dispatcher.drain()
    assert again.events == 0
    assert effects(runtime) == [(i, "jobtest.created") for i in ids]
    assert effects(runtime, "jobtest2") == []
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).where(OutboxEvent.delivered_at.is_(None))) == 0
        assert session.scalar(select(func.count()).select_from(EventDone)) == 3


@pytest.mark.voronka(plugins=BOTH)
def test_handlers_get_a_frozen_event_with_the_plain_payload(runtime):
    seen: list[Event] = []

    class Spy:
        __name__ = "spy"

        @staticmethod
        def on_event(session, event):
            seen.append(event)
            event.payload["mutated"] = True  # must not leak into what the next handler sees

    from voronka.core.markers import hookimpl

    Spy.on_event = hookimpl(Spy.on_event)
    runtime.host.pm.register(Spy, name="core:spy")
    try:
        event_id = emit_one(runtime, payload={"ids": (1, 2), "amount": {"minor": 100, "currency": "UAH"}})
        Dispatcher(runtime.sessions, runtime.host).drain()
    finally:
        runtime.host.pm.unregister(name="core:spy")
    assert len(seen) == 1
    event = seen[0]
    assert (event.id, event.name) == (event_id, "jobtest.created")
    assert event.payload["ids"] == [1, 2]
    assert event.occurred_at.tzinfo is not None
    with pytest.raises(AttributeError):
        event.name = "other.name"  # type: ignore[misc]
    assert effects(runtime, "jobtest2") == [(event_id, "jobtest.created")]


@pytest.mark.voronka(plugins=BOTH)
def test_a_failing_handler_is_retried_then_given_up_and_blocks_nobody(runtime):
    dispatcher = Dispatcher(runtime.sessions, runtime.host, max_attempts=3, backoff_base=0)
    bad = emit_one(runtime, payload={"fail": True})
    good = emit_one(runtime, payload={})
    first = dispatcher.drain(limit=1)
    assert first.failed == 1 and first.handled >= 3  # jobtest2 got both, jobtest got the good one
    assert effects(runtime) == [(good, "jobtest.created")]
    assert {e for e, _ in effects(runtime, "jobtest2")} == {bad, good}
    with runtime.sessions() as session:
        failure = session.get(EventFailure, (bad, "jobtest"))
        assert failure is not None and failure.attempts == 1 and not failure.gave_up
        assert "jobtest refuses event" in failure.last_error
        assert session.get(OutboxEvent, bad).delivered_at is None
        assert session.get(OutboxEvent, good).delivered_at is not None
        assert backlog(session)["pending"] == 1
    dispatcher.drain()
    with runtime.sessions() as session:
        failure = session.get(EventFailure, (bad, "jobtest"))
        assert failure.attempts == 3 and failure.gave_up
        assert session.get(OutboxEvent, bad).delivered_at is not None  # never blocks the queue forever
        assert backlog(session) == {"pending": 0, "oldest": None, "retrying": 0, "failed": 1}
    assert len(effects(runtime, "jobtest2")) == 2  # the other handler was never repeated
    # an admin's retry runs it again (and it fails again: the handler still refuses)
    with write_transaction(runtime.sessions) as session:
        assert retry_delivery(session, bad, "jobtest")
        assert not retry_delivery(session, bad, "nobody")
    again = dispatcher.drain(limit=1)
    assert again.failed == 1 and again.handled == 0


def test_two_dispatchers_at_once_still_apply_each_effect_once(runtime, make_app):
    other = make_app(run_jobs_in_server=False).state.voronka
    ids = [emit_one(runtime) for _ in range(5)]
    a = Dispatcher(runtime.sessions, runtime.host)
    b = Dispatcher(other.sessions, other.host)
    a.step()
    b.cursor = 0
    b.step()
    a.drain()
    b.drain()
    assert effects(runtime) == [(i, "jobtest.created") for i in ids]


def test_the_server_delivers_an_event_within_a_second(make_app):
    app = make_app(run_jobs_in_server=True, job_poll_seconds=0.2)
    runtime = app.state.voronka
    with VoronkaClient(app):
        time.sleep(0.3)  # the runner has started and holds the core.outbox lease
        started = time.monotonic()
        event_id = emit_one(runtime)
        while not effects(runtime) and time.monotonic() - started < 5:
            time.sleep(0.01)
        elapsed = time.monotonic() - started
    assert effects(runtime) == [(event_id, "jobtest.created")]
    assert elapsed < 1.0, f"delivery took {elapsed:.3f}s"


# -- killed processes ---------------------------------------------------------------------------------

SCRIPT = r"""
import json, os, signal, sys
from voronka.core.config import Settings
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.events import emit
from voronka.core.jobs_outbox import Dispatcher
from voronka.web.plugins_setup import build_host

settings = Settings(**json.loads(os.environ["JOBTEST_SETTINGS"]))
engine = make_engine(settings.database_url)
sessions = make_sessionmaker(engine)
host = build_host(settings)
action = sys.argv[1]
if action == "emit-and-die":
    with write_transaction(sessions) as session:
        emit(session, "jobtest.created", {"n": 1})
    os.kill(os.getpid(), signal.SIGKILL)  # committed; no delivery has happened
elif action == "emit":
    with write_transaction(sessions) as session:
        emit(session, "jobtest.created", json.loads(sys.argv[2]))
elif action == "deliver":
    result = Dispatcher(sessions, host).step()
    print(json.dumps(result.__dict__))
"""


def run_script(
    settings: Any, *args: str, wait: bool = True
) -> subprocess.Popen[str] | subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(FIXTURES), env.get("PYTHONPATH", "")])
    keys = ("database_url", "secret_key", "entry_points", "extra_plugins", "disabled_plugins")
    env["JOBTEST_SETTINGS"] = json.dumps({k: getattr(settings, k) for k in keys})
    cmd = [sys.executable, "-c", SCRIPT, *args]
    if wait:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_between_commit_and_delivery_the_event_is_delivered_after_restart(runtime, voronka_settings):
    died = run_script(voronka_settings, "emit-and-die")
    assert died.returncode == -signal.SIGKILL, died.stderr
    with runtime.sessions() as session:
        (event_id,) = session.scalars(select(OutboxEvent.id)).all()
    assert effects(runtime) == []
    restarted = run_script(voronka_settings, "deliver")
    assert restarted.returncode == 0, restarted.stderr
    assert json.loads(restarted.stdout.strip().splitlines()[-1])["delivered"] == 1
    assert effects(runtime) == [(event_id, "jobtest.created")]


def test_killed_between_a_handlers_work_and_its_commit_the_effect_happens_once(runtime, voronka_settings, tmp_path):
    pause_file = tmp_path / "paused"
    emitted = run_script(voronka_settings, "emit", json.dumps({"pause_file": str(pause_file), "pause": 60}))
    assert emitted.returncode == 0, emitted.stderr
    worker = run_script(voronka_settings, "deliver", wait=False)
    deadline = time.monotonic() + 30
    while not pause_file.exists() and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.02)
    assert pause_file.exists(), worker.communicate()[1] if worker.poll() is not None else "the handler never ran"
    os.kill(worker.pid, signal.SIGKILL)  # the handler's row is flushed, its transaction not committed
    worker.communicate(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    assert effects(runtime) == []
    with runtime.sessions() as session:
        (event_id,) = session.scalars(select(OutboxEvent.id)).all()
        assert session.scalar(select(func.count()).select_from(EventDone)) == 0
    # the restarted process delivers it again; the payload still pauses, so take the pause out of the way
    pause_file.unlink()
    with write_transaction(runtime.sessions) as session:
        session.get(OutboxEvent, event_id).payload = {"pause": 0}
    for _ in range(2):  # delivered once, and a second pass finds nothing to repeat
        again = run_script(voronka_settings, "deliver")
        assert again.returncode == 0, again.stderr
    assert effects(runtime) == [(event_id, "jobtest.created")]
    with runtime.sessions() as session:
        assert session.get(EventDone, (event_id, "jobtest")) is not None
        assert session.get(OutboxEvent, event_id).delivered_at is not None

"""Helpers for the scripts tests: save scripts through the script service, read runs, drive the wizard."""

from __future__ import annotations

import re
from typing import Any

from voronka.core.db import write_transaction
from voronka.core.jobs_outbox import Dispatcher
from voronka.plugins.leads import scripts
from voronka.plugins.leads.models import Qualification


def save_script(app: Any, definition: dict[str, Any], key: str = "main", name: str = "Main", *,
                default: bool = True) -> int:  # fmt: skip
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        existing = scripts.by_key(session, key)
        script, _warnings = scripts.save(session, runtime.host, existing, definition=definition, actor_id=None,
                                         key=key, name=name)  # fmt: skip
        if default:
            scripts.set_default(session, script)
        return script.id


def run_of(app: Any, run_id: int) -> Qualification:
    with app.state.voronka.sessions() as session:
        run = session.get(Qualification, run_id)
        session.expunge(run)
        return run


def start(client: Any, lead_id: int, **form: Any) -> int:
    response = client.post(f"/leads/{lead_id}/script", data=form)
    assert response.status_code == 200, response.text
    match = re.search(r"/leads/\d+/run/(\d+)$", str(response.url))
    assert match, response.url
    return int(match.group(1))


def answer(client: Any, app: Any, lead_id: int, run_id: int, value: Any = None, *, op: str = "next",
           version: int | None = None, step: str | None = None) -> Any:  # fmt: skip
    run = run_of(app, run_id)
    data = {"op": op, "step": step or run.step, "version": str(version if version is not None else run.version)}
    if value is not None:
        data["answer"] = value
    return client.hx_post(f"/leads/{lead_id}/run/{run_id}", data=data)


def deliver(app: Any) -> Any:
    runtime = app.state.voronka
    return Dispatcher(runtime.sessions, runtime.host).drain()

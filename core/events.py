"""Events: written to the outbox in the transaction of the change, delivered to ``on_event`` after commit.

``emit(session, "pipeline.deal_won", {"deal_id": 7})`` adds one row to ``core_outbox`` in the caller's
transaction, so an event exists exactly when the change it describes committed. The dispatcher
(:mod:`voronka.core.jobs_outbox`) delivers it to each enabled plugin's ``on_event`` at least once, each
handler in its own transaction that also records "(event, handler) done", so its effects happen once.

Payloads are plain data (dicts, lists, strings, numbers, booleans, None), documented by the publisher, so a
consumer never imports the publisher. Dates travel as ISO strings.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from .errors import VoronkaError
from .models_jobs import OutboxEvent
from .seeding import insert_many
from .types import utcnow

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_NAME = 120
MAX_DEPTH = 32
PENDING_KEY = "voronka.events.pending"


class EventError(VoronkaError, ValueError):
    """An event name or payload that cannot be written; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Event:
    """What ``on_event`` receives. ``payload`` is the plain data given to :func:`emit`."""

    id: int
    name: str
    payload: dict[str, Any]
    occurred_at: dt.datetime

    @property
    def publisher(self) -> str:
        """The namespace before the first dot (``pipeline`` for ``pipeline.deal_won``)."""
        return self.name.split(".", 1)[0]


def check_name(name: Any) -> str:
    if not isinstance(name, str) or len(name) > MAX_NAME or not NAME_RE.match(name):
        raise EventError(
            f"event name {name!r} must be namespaced by its plugin, like 'pipeline.deal_won' "
            f"(lower-case letters, digits and underscores, dot-separated, at most {MAX_NAME} characters)"
        )
    return name


def check_payload(payload: Any, path: str = "payload", depth: int = 0) -> None:
    """Refuse anything that would not come back from JSON as the same plain data."""
    if depth > MAX_DEPTH:
        raise EventError(f"{path} is nested more than {MAX_DEPTH} levels deep")
    if payload is None or isinstance(payload, (str, bool, int)):
        return
    if isinstance(payload, float):
        if not math.isfinite(payload):
            raise EventError(f"{path} is {payload!r}, which JSON cannot carry")
        return
    if isinstance(payload, dict):
        for key, value in payload.items():
            if not isinstance(key, str):
                raise EventError(f"{path} has a key {key!r} that is not a string")
            check_payload(value, f"{path}[{key!r}]", depth + 1)
        return
    if isinstance(payload, (list, tuple)):
        for i, value in enumerate(payload):
            check_payload(value, f"{path}[{i}]", depth + 1)
        return
    hint = " (send dates as ISO strings, money as minor units and currency)" if isinstance(payload, dt.date) else ""
    raise EventError(f"{path} is a {type(payload).__name__}, not plain data{hint}")


def emit(session: Session, name: str, payload: dict[str, Any] | None = None) -> None:
    """Queue event ``name`` with ``payload`` in ``session``'s transaction; delivered only if it commits."""
    check_name(name)
    payload = {} if payload is None else payload
    if not isinstance(payload, dict):
        raise EventError(f"the payload of {name} must be a dict, not a {type(payload).__name__}")
    check_payload(payload)
    session.add(OutboxEvent(name=name, payload=_plain(payload), occurred_at=utcnow()))
    session.info[PENDING_KEY] = True


def emit_many(session: Session, name: str, payloads: Iterable[dict[str, Any] | None], *, checked: bool = False) -> int:
    """Queue one event ``name`` per payload with a single ``executemany``; returns how many were queued.

    The same checks as :func:`emit`, all made before anything is written (one bad payload writes none).
    Events keep the order of ``payloads`` and follow any emitted earlier in the transaction. ``checked``
    skips the checks for payloads made of plain JSON values (lists, not tuples) by construction: core's
    write path builds them from :func:`~voronka.core.writes.json_safe` values, thousands per import batch.
    """
    check_name(name)
    now = utcnow()
    rows = []
    for n, payload in enumerate(payloads):
        payload = {} if payload is None else payload
        if not isinstance(payload, dict):
            raise EventError(f"payload {n} of {name} must be a dict, not a {type(payload).__name__}")
        if not checked:
            check_payload(payload, f"payload {n}")
            payload = _plain(payload)
        rows.append({"name": name, "payload": payload, "occurred_at": now})
    if rows:
        session.flush()  # events added by emit() first, so ids keep the order they were emitted in
        insert_many(session, OutboxEvent, rows)
        session.info[PENDING_KEY] = True
    return len(rows)


def _plain(value: Any) -> Any:
    # tuples become lists, so the handler sees what JSON gives back
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# -- waking the dispatcher in this process right after a commit ---------------------------------------

_wakers: dict[str, list[Callable[[], None]]] = {}
_wakers_lock = threading.Lock()


def add_waker(database_key: str, wake: Callable[[], None]) -> Callable[[], None]:
    """Call ``wake()`` after any commit in this process that emitted events into ``database_key`` (a URL
    string). Returns a function that removes it. ``wake`` must be thread-safe and quick."""
    with _wakers_lock:
        _wakers.setdefault(database_key, []).append(wake)

    def remove() -> None:
        with _wakers_lock:
            found = _wakers.get(database_key, [])
            if wake in found:
                found.remove(wake)

    return remove


def database_key(bind: Any) -> str:
    url = getattr(getattr(bind, "engine", bind), "url", bind)  # an Engine, or a Connection's engine
    return url.render_as_string(hide_password=True) if hasattr(url, "render_as_string") else str(url)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(PENDING_KEY, False) or not _wakers:
        return
    try:
        key = database_key(session.get_bind())
    except Exception:
        return
    with _wakers_lock:
        found = list(_wakers.get(key, ()))
    for wake in found:
        with contextlib.suppress(Exception):  # a closed loop must never break the caller's commit
            wake()


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


__all__ = ["Event", "EventError", "add_waker", "check_name", "check_payload", "emit", "emit_many"]

"""Login throttling and rate limits, counted in the database so they hold across processes."""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import LoginAttempt, RateCounter
from ..types import utcnow

LOGIN_LIMIT = 5
LOGIN_WINDOW = dt.timedelta(minutes=15)


def login_keys(username: str, client_ip: str) -> list[str]:
    """Failures count per account and per address, so neither guessing one account nor many works."""
    return [f"user:{username.strip().casefold()}", f"ip:{client_ip}"]


def login_blocked(session: Session, keys: list[str], limit: int = LOGIN_LIMIT) -> bool:
    since = utcnow() - LOGIN_WINDOW
    counts = session.execute(
        select(LoginAttempt.key, func.count())
        .where(LoginAttempt.key.in_(keys), LoginAttempt.at >= since)
        .group_by(LoginAttempt.key)
    ).all()
    user_limit = limit
    ip_limit = limit * 4  # an office behind one address has many people typing
    return any(n >= (ip_limit if key.startswith("ip:") else user_limit) for key, n in counts)


def record_login_failure(session: Session, keys: list[str]) -> None:
    now = utcnow()
    session.add_all([LoginAttempt(key=k, at=now) for k in keys])
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - LOGIN_WINDOW * 4))


def clear_login_failures(session: Session, username: str) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == login_keys(username, "")[0]))


def rate_hit(session: Session, key: str, limit: int, per: int) -> bool:
    """Count one request for ``key`` in the current window; False when the limit is exceeded."""
    return rate_count(session, key, per) <= limit


def rate_count(session: Session, key: str, per: int) -> int:
    """Count one request for ``key`` in the current window of ``per`` seconds; return the window's count."""
    window = int(time.time()) // per
    upsert, prune = _rate_statements(session.get_bind().dialect.name)
    conn = session.connection()  # Core, not the ORM: nothing here is an ORM entity, and it runs per request
    count = conn.execute(upsert, {"key": key, "window": window}).scalar_one()
    if count == 1:
        conn.execute(prune, {"key": key, "window": window})
    return int(count)


@dataclass(frozen=True)
class RateLimit:
    """What the guard hands an endpoint marked ``rate_limit(..., counted_by_endpoint=True)``."""

    key: str
    limit: int
    per: int


class RateLimited(Exception):
    """A request over its route's rate limit; the guard answers 429 unless the endpoint answers itself."""

    def __init__(self, per: int):
        super().__init__(f"over the rate limit; retry after {per} s")
        self.per = per


RATE_STATE = "voronka_rate_limit"
COUNTED_STATE = "voronka_rate_counted"


def count_request(session: Session, request: Any) -> int:
    """Count ``request`` against its route's rate limit inside the caller's write transaction (one
    transaction instead of two); return this window's count for the address. Raises :class:`RateLimited`
    over the limit. The request counts as counted only once that transaction commits: when it rolls back
    (over the limit, a refused record, any error) the guard counts the request after the endpoint, so every
    request is counted exactly once and a flood stays refused."""
    limit: RateLimit = getattr(request.state, RATE_STATE)
    session.info[_PENDING] = request
    count = rate_count(session, limit.key, limit.per)
    if count > limit.limit:
        raise RateLimited(limit.per)
    return count


@functools.cache
def _rate_statements(dialect: str) -> tuple[Any, Any]:
    """The counting upsert and the pruning delete, built once per dialect: building them cost more than
    running them on every rate-limited request."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = insert(RateCounter).values(key=bindparam("key"), window=bindparam("window"), count=1)
    upsert = upsert.on_conflict_do_update(
        index_elements=[RateCounter.key, RateCounter.window], set_={"count": RateCounter.count + 1}
    ).returning(RateCounter.count)
    prune = delete(RateCounter).where(RateCounter.key == bindparam("key"), RateCounter.window < bindparam("window"))
    return upsert, prune


_PENDING = "voronka_rate_pending"


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    request = session.info.pop(_PENDING, None)
    if request is not None:
        setattr(request.state, COUNTED_STATE, True)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)

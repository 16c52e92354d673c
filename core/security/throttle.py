"""Login throttling and rate limits, counted in the database so they hold across processes."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import delete, func, select
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
    window = int(time.time()) // per
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(RateCounter).values(key=key, window=window, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RateCounter.key, RateCounter.window], set_={"count": RateCounter.count + 1}
    ).returning(RateCounter.count)
    count = session.execute(stmt).scalar_one()
    if count == 1:
        session.execute(delete(RateCounter).where(RateCounter.key == key, RateCounter.window < window))
    return count <= limit

"""Server-side login sessions: the cookie holds a random token, the database holds its hash.

A signed cookie alone cannot be revoked; with a row per login, logging out ends that session for good (a
copied cookie stops working) and an admin can end all of a user's sessions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import LoginSession
from ..state import bump
from ..types import utcnow


def session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user_id: int, max_age: int, ip: str = "", user_agent: str = "") -> str:
    """Record a new login and return the token for the cookie; the user's expired sessions are dropped."""
    now = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            key=session_key(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=max_age),
            ip=ip[:64],
            user_agent=user_agent[:200],
        )
    )
    return token


def end_session(session: Session, token: str) -> None:
    """Revoke one session; every process drops it within a poll interval ("sessions" counter)."""
    session.execute(delete(LoginSession).where(LoginSession.key == session_key(token)))
    bump(session, "sessions")


def end_all_sessions(session: Session, user_id: int) -> int:
    """Log a user out everywhere; returns how many sessions ended."""
    result = session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    bump(session, "sessions")
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def session_owner(session: Session, token: str) -> int | None:
    """The user id of a live session, or None when it was revoked or has expired."""
    row = session.execute(
        select(LoginSession.user_id, LoginSession.expires_at).where(LoginSession.key == session_key(token))
    ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return int(row.user_id)

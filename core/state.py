"""Version counters that tell every process when to drop a cache (plugin toggles, roles, users)."""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from .models import StateVersion

KEYS = ("plugins", "security", "settings")


def bump(session: Session, key: str) -> None:
    """Increment ``key``'s counter in the caller's transaction (create it at 1 when missing)."""
    result = session.execute(
        update(StateVersion).where(StateVersion.key == key).values(version=StateVersion.version + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(StateVersion(key=key, version=1))
        session.flush()


def read_versions(conn: Connection | Session) -> dict[str, int]:
    return {k: v for k, v in conn.execute(select(StateVersion.key, StateVersion.version))}

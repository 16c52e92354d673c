"""Reads, always under the viewer's visibility, with Core selects (few columns, no ORM objects)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from voronka.core.models import Team, User
from voronka.core.search_keys import prefix_filter
from voronka.core.security.visibility import visible

from .models import Note

COLUMNS = (
    Note.id,
    Note.title,
    Note.body,
    Note.created_at,
    Note.version,
    Note.owner_user_id,
    User.display_name.label("owner"),
    Team.name.label("team"),
)


def _base(viewer: Any) -> Any:
    return (
        select(*COLUMNS)
        .outerjoin(User, User.id == Note.owner_user_id)
        .outerjoin(Team, Team.id == Note.owner_team_id)
        .where(visible(Note, viewer))
    )


def list_notes(session: Session, viewer: Any, query: str = "", limit: int = 50) -> tuple[list[Row[Any]], bool]:
    """Newest first, optionally only titles starting with ``query``; returns (rows, more_exist)."""
    stmt = _base(viewer)
    if query:
        match = prefix_filter(Note.title_key, query)
        if match is None:
            return [], False
        stmt = stmt.where(match)
    rows = list(session.execute(stmt.order_by(Note.created_at.desc(), Note.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def notes_of(session: Session, viewer: Any, owner_id: int, limit: int = 5) -> list[Row[Any]]:
    """The newest notes owned by ``owner_id`` that ``viewer`` may see."""
    stmt = _base(viewer).where(Note.owner_user_id == owner_id)
    return list(session.execute(stmt.order_by(Note.created_at.desc(), Note.id.desc()).limit(limit)))


def get_note(session: Session, viewer: Any, note_id: int) -> Row[Any] | None:
    return session.execute(_base(viewer).where(Note.id == note_id)).first()

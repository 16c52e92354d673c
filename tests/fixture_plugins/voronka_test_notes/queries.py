"""Reads, always under the viewer's visibility, with Core selects (few columns, no ORM objects)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, or_, select
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
    Note.custom,
    Note.owner_user_id,
    User.display_name.label("owner"),
    Team.name.label("team"),
)


def _base(viewer: Any) -> Any:
    return (
        select(*COLUMNS)
        .outerjoin(User, User.id == Note.owner_user_id)
        .outerjoin(Team, Team.id == Note.owner_team_id)
        .where(visible(Note, viewer), Note.deleted_at.is_(None))  # notes in the recycle bin are gone to readers
    )


def list_notes(
    session: Session, viewer: Any, query: str = "", limit: int = 50, *, also: Any = None, where: Any = ()
) -> tuple[list[Row[Any]], bool]:
    """Newest first, optionally only titles starting with ``query`` (or matching ``also``, the custom
    fields' search) and custom-field filters ``where``; returns (rows, more_exist)."""
    stmt = list_query(viewer, query, also=also, where=where)
    if stmt is None:
        return [], False
    rows = list(session.execute(stmt.order_by(Note.created_at.desc(), Note.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def list_query(viewer: Any, query: str = "", *, also: Any = None, where: Any = ()) -> Any:
    """The list's filtered SELECT (no order, no limit), shared by the page and its CSV export; None when
    ``query`` can match nothing."""
    stmt = _base(viewer).where(*where)
    if query:
        match = prefix_filter(Note.title_key, query)
        if match is None:
            return None
        if isinstance(also, Select):  # ids (custom fields' search_ids): a UNION keeps both index range scans
            stmt = stmt.where(Note.id.in_(select(Note.id).where(match).union(also)))
        else:
            stmt = stmt.where(match if also is None else or_(match, also))
    return stmt


def notes_of(session: Session, viewer: Any, owner_id: int, limit: int = 5) -> list[Row[Any]]:
    """The newest notes owned by ``owner_id`` that ``viewer`` may see."""
    stmt = _base(viewer).where(Note.owner_user_id == owner_id)
    return list(session.execute(stmt.order_by(Note.created_at.desc(), Note.id.desc()).limit(limit)))


def get_note(session: Session, viewer: Any, note_id: int) -> Row[Any] | None:
    return session.execute(_base(viewer).where(Note.id == note_id)).first()

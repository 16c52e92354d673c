"""The system scope: matching that must look past the user's visibility, answering only minimal facts.

Duplicate checks, qualification lookups and mail correlation must know whether *any* matching record
exists, even one the user cannot see; they learn that fact and who owns it, never the record itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ..models import Team, User


@dataclass(frozen=True)
class MatchFact:
    """ "A record like this exists": how many, and who owns the first one (a display name)."""

    count: int
    owner: str | None


def match_fact(session: Session, model: Any, *criteria: ColumnElement[bool]) -> MatchFact | None:
    """Count ``model`` rows matching ``criteria`` regardless of visibility; None when there are none.

    ``model`` needs the ownership mixin. The record's id and fields are deliberately not returned.
    """
    count = session.scalar(select(func.count()).select_from(model).where(*criteria)) or 0
    if not count:
        return None
    first = session.execute(
        select(User.display_name, Team.name)
        .select_from(model)
        .outerjoin(User, User.id == model.owner_user_id)
        .outerjoin(Team, Team.id == model.owner_team_id)
        .where(*criteria)
        .limit(1)
    ).first()
    owner = (first[0] or first[1]) if first else None
    return MatchFact(count=count, owner=owner)

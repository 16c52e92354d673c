"""Duplicate matches as the minimal facts a form may show (system scope, DESIGN §6).

The matcher looks past visibility, so what reaches the user is only "a customer with this e-mail exists,
owned by N": the record's name and address only when the viewer may open it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models import Team, User
from voronka.core.security.visibility import visible

from .duplicates import EMAIL, NAME, PHONE, REGISTRATION, Match
from .kinds import card_url
from .models import Party

REASONS = {
    EMAIL: N_("same e-mail"),
    PHONE: N_("same phone"),
    NAME: N_("similar name"),
    REGISTRATION: N_("same registration number"),
}


@dataclass(frozen=True)
class DuplicateHint:
    """One likely duplicate as the viewer may learn it: ``name`` and ``url`` are None when the viewer cannot
    see the record; ``owner_name`` is who to ask then."""

    reason: str
    name: str | None
    owner_name: str
    url: str | None
    party_id: int | None = None
    """Only for a record the viewer can see (the merge picker needs it)."""


def hints_for(session: Session, viewer: Any, found: list[Match]) -> list[DuplicateHint]:
    """:class:`DuplicateHint` for each match, in the matcher's order; one query for all of them."""
    if not found:
        return []
    ids = [m.party_id for m in found]
    seen = set()
    if getattr(viewer, "is_authenticated", False):
        where = Party.id.in_(ids), Party.deleted_at.is_(None), visible(Party, viewer)
        seen = set(session.scalars(select(Party.id).where(*where)))
    rows = session.execute(
        select(Party.id, Party.name, User.display_name, Team.name)
        .outerjoin(User, User.id == Party.owner_user_id)
        .outerjoin(Team, Team.id == Party.owner_team_id)
        .where(Party.id.in_(ids))
    )
    by_id = {r[0]: r for r in rows}
    hints = []
    for match in found:
        row = by_id.get(match.party_id)
        if row is None:
            continue
        owner = row[2] or row[3] or _("nobody")
        reason = _(REASONS.get(match.reason, REASONS[NAME]))
        if match.party_id in seen:
            hints.append(DuplicateHint(reason, row[1], owner, card_url(match.party_id), match.party_id))
        else:
            hints.append(DuplicateHint(reason, None, owner, None))
    return hints


__all__ = ["REASONS", "DuplicateHint", "hints_for"]

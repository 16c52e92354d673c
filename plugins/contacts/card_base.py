"""What every part of the customer card needs: the party the viewer may see (one query, with its owner's
names), its record kind, and answering an HTMX request or a plain form the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.models import Team, User
from voronka.core.security.visibility import visibility_key, visible
from voronka.core.statements import StatementCache

from .models import ORGANISATION, Party


class CardParty:
    """A party as the card shows it: the row plus its owner's and team's names."""

    def __init__(self, party: Party, owner_name: str | None, team_name: str | None):
        self.party, self.owner_name, self.team_name = party, owner_name, team_name


def kind_of(request: Request, party: Party) -> Any:
    """The registered record kind (person or organisation) core's services want for ``party``."""
    return runtime(request).record_kinds[party.kind]


def load(request: Request, party_id: Any = None) -> CardParty:
    """The live party the viewer may see (``party_id``, or the path's), with its owner's names; 404 otherwise
    (missing, hidden and not an id at all look the same, so nothing leaks about what exists). Every page of
    contacts that shows one party loads it here."""
    wanted = parse_id(request.path_params.get("party_id") if party_id is None else party_id)
    if wanted is None:
        raise HTTPException(404, _("There is no such contact, or it is not yours to see."))
    viewer = user(request)
    query = _statements.get(visibility_key(viewer), lambda: _party_query(viewer))
    row = db(request).execute(query, {"party_id": wanted}).first()
    if row is None:
        raise HTTPException(404, _("There is no such contact, or it is not yours to see."))
    return CardParty(row[0], row[1], row[2])


_statements = StatementCache()


def _party_query(viewer: Any) -> Any:
    """The card's party with its owner's names, as ``viewer`` may see it (``:party_id`` bound later)."""
    return (
        select(Party, User.display_name, Team.name)
        .outerjoin(User, User.id == Party.owner_user_id)
        .outerjoin(Team, Team.id == Party.owner_team_id)
        .where(Party.id == bindparam("party_id", type_=Integer), Party.deleted_at.is_(None), visible(Party, viewer))
    )


def reload(request: Request) -> CardParty:
    """The party as saved just now: end the read snapshot taken before the write, then load again."""
    db(request).rollback()
    return load(request)


def card_url(party: Party) -> str:
    return f"/contacts/{party.id}"


def list_url(party: Party) -> str:
    return "/contacts/organisations" if party.kind == ORGANISATION else "/contacts/people"


def full_card(request: Request, card: CardParty, status_code: int = 200, **extra: Any) -> Response:
    """The whole card page with one section's state overridden: what a request without JavaScript gets."""
    from .cards import render_card  # the card page builds on the sections that call this

    return render_card(request, card, status_code, **extra)

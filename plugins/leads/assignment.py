"""Who gets a new lead: the default queue (a team named in leads' settings) and round-robin within a team.

Round-robin keeps its turn in :class:`~.models.RoundRobin` (the member who got the last lead), read with
``FOR UPDATE`` on PostgreSQL so two assignments at once wait for each other and never hand out the same
turn; on SQLite the write transaction already holds the database (``BEGIN IMMEDIATE``). Inactive users
are skipped. Both functions only set the owner on what they are given (a lead not yet saved, or a dict of
values to save): the caller writes it through core's write path, in its own transaction.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from voronka.core.db import runtime_of
from voronka.core.models import SettingValue, Team, TeamMember, User

from .models import RoundRobin

PLUGIN = "leads"
DEFAULTS: dict[str, Any] = {"default_queue": "", "round_robin": False}


def setting(session: Session, key: str) -> Any:
    """A leads setting as an admin saved it (core's settings table), else its schema default. Read here
    from the app's settings store the session belongs to (capture and actions may run without a request),
    else from the table."""
    runtime = runtime_of(session)
    if runtime is not None:  # the per-process cache, refreshed when an admin saves settings
        value = runtime.settings_store.get(session, PLUGIN, key)
        return value if value is not None else DEFAULTS.get(key)
    row = session.get(SettingValue, (PLUGIN, key))
    return row.value if row is not None and row.value is not None else DEFAULTS.get(key)


def default_queue_id(session: Session) -> int | None:
    """The team whose queue receives new leads (settings ``default_queue``, a team name), if it exists."""
    name = str(setting(session, "default_queue") or "").strip()
    if not name:
        return None
    return session.scalar(select(Team.id).where(Team.name == name))


def _owner(lead: Any) -> tuple[Any, Any]:
    if isinstance(lead, MutableMapping):
        return lead.get("owner_user_id"), lead.get("owner_team_id")
    return getattr(lead, "owner_user_id", None), getattr(lead, "owner_team_id", None)


def _set_owner(lead: Any, user_id: int | None, team_id: int | None) -> None:
    if isinstance(lead, MutableMapping):
        lead["owner_user_id"], lead["owner_team_id"] = user_id, team_id
    else:
        lead.owner_user_id, lead.owner_team_id = user_id, team_id


def _locked_turn(session: Session, team_id: int) -> RoundRobin:
    """The team's round-robin row, created if missing (two creators at once: one insert wins, the other
    is ignored), and locked for this transaction on PostgreSQL."""
    dialect = session.get_bind().dialect.name
    values = {"team_id": team_id, "last_user_id": None}
    if dialect == "postgresql":
        session.execute(pg_insert(RoundRobin).values(**values).on_conflict_do_nothing(index_elements=["team_id"]))
    elif dialect == "sqlite":
        session.execute(sqlite_insert(RoundRobin).values(**values).on_conflict_do_nothing(index_elements=["team_id"]))
    elif session.get(RoundRobin, team_id) is None:  # pragma: no cover - other engines
        session.add(RoundRobin(**values))
        session.flush()
    query = select(RoundRobin).where(RoundRobin.team_id == team_id).execution_options(populate_existing=True)
    if dialect == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one()


def next_member(session: Session, team_id: int, after: int | None) -> int | None:
    """The active member of the team after ``after`` in id order (wrapping round), or None."""
    members = list(
        session.scalars(
            select(User.id)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(TeamMember.team_id == team_id, User.active.is_(True))
            .order_by(User.id)
        )
    )
    if not members:
        return None
    if after is None:
        return members[0]
    return next((uid for uid in members if uid > after), members[0])


def assign_round_robin(session: Session, lead: Any, team_id: int) -> int | None:
    """Give ``lead`` to the next active member of team ``team_id`` (in the caller's transaction, safe when
    two assignments run at once); return the user id, or None when the team has no active member (the
    lead is then left as it was).

    ``lead`` is a :class:`~.models.Lead` (its owner columns are set; save it through core's write path)
    or a dict of values for that write."""
    turn = _locked_turn(session, team_id)
    chosen = next_member(session, team_id, turn.last_user_id)
    if chosen is None:
        return None
    turn.last_user_id = chosen
    session.flush()
    _set_owner(lead, chosen, None)
    return chosen


def place_new_lead(session: Session, lead: Any) -> None:
    """Put a lead that arrived without an owner (web form, API, mail) into the default queue, round-robin
    when the settings say so. Called by capture before the lead is saved; a lead with an owner, or no
    default queue configured, is left as it is."""
    user_id, team_id = _owner(lead)
    if user_id or team_id:
        return
    queue = default_queue_id(session)
    if queue is None:
        return
    if setting(session, "round_robin") and assign_round_robin(session, lead, queue) is not None:
        return
    _set_owner(lead, None, queue)

"""Reading activities: a record's timeline entries, an activity with its participants, open tasks.

Every query applies the viewer's visibility in SQL and reads a page with LIMIT along an index: the timeline
walks ``ix_contacts_activity_ref`` (ref_kind, ref_id, occurred_at, id) backwards and, for a party, the
activities it took part in through ``ix_contacts_activity_participant_party``; open tasks use
``ix_contacts_activity_open``. Names of owners, participants and attached records come in one query per
page (per kind of record), never one per row.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, and_, bindparam, case, false, func, or_, select, true, union
from sqlalchemy.orm import Session, aliased

from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models import Team, User
from voronka.core.records import Ref
from voronka.core.security.visibility import visibility_key, visible
from voronka.core.statements import StatementCache
from voronka.core.types import utcnow

from .api import TimelineEntry
from .kinds import ACTIVITY_KIND, PARTY_KIND_NAMES
from .models import ACTIVITY_TYPES, Activity, ActivityParticipant, Party

KEY_PREFIX = "contacts.activity:"
KEY_DIGITS = 12
ICONS = {"note": "note", "call": "phone", "meeting": "calendar", "task": "task"}
SNIPPET = 280


def entry_key(activity_id: int) -> str:
    """Zero-padded, so the keys of one timestamp sort as text the way ids sort as numbers."""
    return f"{KEY_PREFIX}{activity_id:0{KEY_DIGITS}d}"


def visible_activity(viewer: Any) -> ColumnElement[bool]:
    """Live activities ``viewer`` may see (the activity kind's visibility, without the recycle bin)."""
    return ACTIVITY_KIND.visible_to(viewer)


def _cursor_shape(before: tuple[dt.datetime, str] | None) -> tuple[Any, dict[str, Any]]:
    """How the cursor bounds the page (None: it does not; "id": by our id at the same time; True/False:
    every or no activity of the same time), and the values to bind."""
    if before is None:
        return None, {}
    at, key = before
    rest = key[len(KEY_PREFIX) :]
    if key.startswith(KEY_PREFIX) and rest.isdigit():
        return "id", {"before_at": at, "before_id": int(rest)}
    return key > KEY_PREFIX, {"before_at": at}


def _older_clause(shape: Any) -> ColumnElement[bool]:
    """Activities strictly older than the cursor ``(at, key)``, comparing keys as the merge does (as text).

    A cursor key of another plugin sorts before or after every activity key of the same time, or, when it
    is one of ours, the id decides. ``occurred_at <= at`` comes first so the index bounds the scan.
    """
    at = bindparam("before_at", type_=Activity.occurred_at.type)
    if shape == "id":
        same_time: ColumnElement[bool] = Activity.id < bindparam("before_id", type_=Integer)
    else:
        same_time = true() if shape else false()
    return and_(Activity.occurred_at <= at, or_(Activity.occurred_at < at, same_time))


def types_for(kinds: Iterable[str] | None) -> list[str]:
    if kinds is None:
        return list(ACTIVITY_TYPES)
    wanted = set(kinds)
    return [t for t in ACTIVITY_TYPES if f"contacts.{t}" in wanted]


TIMELINE_COLUMNS = (
    Activity.id, Activity.type, Activity.subject, Activity.body, Activity.occurred_at, Activity.due_at,
    Activity.done, Activity.direction, Activity.duration_minutes, Activity.outcome, Activity.location,
)  # fmt: skip
"""What a timeline line shows of an activity (plain columns: no ORM objects to build for a page)."""

_timeline_statements = StatementCache()


def timeline_rows(
    session: Session, viewer: Any, ref: Ref, types: list[str], before: tuple[dt.datetime, str] | None, limit: int
) -> list[Any]:
    """Activities attached to ``ref`` or, for a party, with it among the participants: newest first.

    Rows carry the :data:`TIMELINE_COLUMNS` and ``owner_name``/``team_name``. The statement is built once
    per viewer's visibility and shape of the page; the record, cursor and limit are bound parameters."""
    if not types or limit < 1:
        return []
    shape, params = _cursor_shape(before)
    is_party = ref.kind in PARTY_KIND_NAMES
    params.update({"ref_kind": ref.kind, "ref_id": ref.id, "page_limit": limit, "fence": limit * FENCE})
    # PostgreSQL first reads the newest activities of the record and filters them by visibility (see
    # FENCE); when that leaves the page short, the plain query decides (it may be the timeline's end)
    fenced = session.get_bind().dialect.name == "postgresql" and getattr(viewer, "visibility", None) != "all"
    for fence in (True, False) if fenced else (False,):
        key = (visibility_key(viewer), is_party, tuple(types), shape, fence)
        query = _timeline_statements.get(key, lambda f=fence: _timeline_query(viewer, is_party, types, shape, f))
        rows = list(session.execute(query, params))
        if len(rows) >= limit:
            break
    return rows


FENCE = 8
"""On PostgreSQL a viewer's page of a record's activities reads the newest ``FENCE × limit`` of them in
index order, then keeps those the viewer may see. Without the fence the planner, which takes the owner and
the record as independent (they are not: a customer's activities are mostly its owner's), combines the
owner index with the record's and sorts every activity of the record: 5.5 ms for 1,534, and growing."""


def _timeline_query(viewer: Any, is_party: bool, types: list[str], shape: Any, fence: bool = False) -> Any:
    newest = (Activity.occurred_at.desc(), Activity.id.desc())
    ref_id, limit = bindparam("ref_id", type_=Integer), bindparam("page_limit", type_=Integer)
    where = [visible_activity(viewer)]
    kept: list[ColumnElement[bool]] = []
    if len(types) < len(ACTIVITY_TYPES):
        kept.append(Activity.type.in_(types))
    if shape is not None:
        kept.append(_older_clause(shape))
    where += kept
    if fence:
        newest_ones = (
            select(Activity)
            .where(Activity.ref_kind == bindparam("ref_kind", type_=String), Activity.ref_id == ref_id, *kept)
            .order_by(*newest)
            .limit(bindparam("fence", type_=Integer))
            .subquery("newest_of_record")
        )
        candidate = aliased(Activity, newest_ones)
        attached = (
            select(candidate.id)
            .where(visible(candidate, viewer), candidate.deleted_at.is_(None))  # as the kind's visible_to
            .order_by(candidate.occurred_at.desc(), candidate.id.desc())
            .limit(limit)
            .subquery()
        )
    else:
        attached = (
            select(Activity.id)
            .where(Activity.ref_kind == bindparam("ref_kind", type_=String), Activity.ref_id == ref_id, *where)
            .order_by(*newest)
            .limit(limit)
            .subquery()
        )
    ids: Any = select(attached.c.id)
    if is_party:
        took_part = (
            select(Activity.id)
            .join(ActivityParticipant, ActivityParticipant.activity_id == Activity.id)
            .where(ActivityParticipant.party_id == ref_id, *where)
            .order_by(*newest)
            .limit(limit)
            .subquery()
        )
        ids = union(select(attached.c.id), select(took_part.c.id))
    return (
        select(*TIMELINE_COLUMNS, User.display_name.label("owner_name"), Team.name.label("team_name"))
        .outerjoin(User, User.id == Activity.owner_user_id)
        .outerjoin(Team, Team.id == Activity.owner_team_id)
        .where(Activity.id.in_(ids))
        .order_by(*newest)
        .limit(limit)
    )


def timeline_entries(
    session: Session, viewer: Any, ref: Ref, kinds: list[str] | None, before: Any, limit: int
) -> list[TimelineEntry]:
    """Contacts' answer to its own ``timeline`` hook: the activities of ``ref`` as timeline entries."""
    rows = timeline_rows(session, viewer, ref, types_for(kinds), before, limit)
    now, words = utcnow(), functools.cache(_)  # a page repeats the same few words: translate each once
    return [to_entry(row, row.owner_name or row.team_name or "", now, words) for row in rows]


def to_entry(activity: Any, actor: str, now: dt.datetime, words: Callable[[str], str] = _) -> TimelineEntry:
    """``activity``: an :class:`Activity` or a row of :data:`TIMELINE_COLUMNS`; ``words`` translates."""
    return TimelineEntry(
        at=activity.occurred_at,
        key=entry_key(activity.id),
        kind=f"contacts.{activity.type}",
        title=activity.subject,
        body=summary(activity, words),
        link=f"/contacts/activities/{activity.id}",
        actor=actor,
        icon=ICONS.get(activity.type, "dot"),
        badge=badge(activity, now, words),
    )


def summary(activity: Any, words: Callable[[str], str] = _) -> str:
    """The details a timeline line shows under the subject: a call's direction, length and outcome, a
    meeting's place, then the start of the text."""
    parts: list[str] = []
    if activity.type == "call":
        parts.append(words(N_("Inbound call")) if activity.direction == "inbound" else words(N_("Outbound call")))
        if activity.duration_minutes is not None:
            parts.append(words(N_("%(n)s min")) % {"n": activity.duration_minutes})
        if activity.outcome:
            parts.append(activity.outcome)
    elif activity.type == "meeting" and activity.location:
        parts.append(activity.location)
    text = activity.body if len(activity.body) <= SNIPPET else activity.body[: SNIPPET - 1].rstrip() + "…"
    head = " · ".join(parts)
    return f"{head} — {text}" if head and text else head or text


def badge(activity: Any, now: dt.datetime, words: Callable[[str], str] = _) -> str:
    if activity.type != "task":
        return ""
    if activity.done:
        return words(N_("Done"))
    if activity.due_at is not None and activity.due_at < now:
        return words(N_("Overdue"))
    return words(N_("Open"))


# -- one activity -----------------------------------------------------------------------------------------


def get_activity(session: Session, viewer: Any, activity_id: int) -> Activity | None:
    return session.scalar(select(Activity).where(Activity.id == activity_id, visible_activity(viewer)))


@dataclass(frozen=True)
class Participant:
    party_id: int | None
    user_id: int | None
    name: str
    visible: bool = True  # False: a party the viewer may not see (shown without its name or a link)


def participants(session: Session, viewer: Any, activity_ids: list[int]) -> dict[int, list[Participant]]:
    """Participants of these activities by activity, people the viewer may not see named as hidden."""
    if not activity_ids:
        return {}
    shown = case((and_(Party.deleted_at.is_(None), visible(Party, viewer)), Party.name), else_=None)
    rows = session.execute(
        select(
            ActivityParticipant.activity_id,
            ActivityParticipant.party_id,
            ActivityParticipant.user_id,
            shown.label("party_name"),
            User.display_name,
        )
        .outerjoin(Party, Party.id == ActivityParticipant.party_id)
        .outerjoin(User, User.id == ActivityParticipant.user_id)
        .where(ActivityParticipant.activity_id.in_(activity_ids))
        .order_by(ActivityParticipant.id)
    )
    found: dict[int, list[Participant]] = defaultdict(list)
    for row in rows:
        seen = row.party_id is None or row.party_name is not None
        if row.party_id is not None:
            name = row.party_name if seen else _("(someone you cannot see)")
        else:
            name = row.display_name or ""
        found[row.activity_id].append(Participant(row.party_id, row.user_id, name, seen))
    return found


def set_participants(session: Session, activity_id: int, party_ids: list[int], user_ids: list[int]) -> bool:
    """Make the activity's participants exactly these (in the caller's transaction); True when changed."""
    rows = list(session.scalars(select(ActivityParticipant).where(ActivityParticipant.activity_id == activity_id)))
    have = {(r.party_id, r.user_id): r for r in rows}
    want = [(pid, None) for pid in party_ids] + [(None, uid) for uid in user_ids]
    changed = False
    for pair, row in have.items():
        if pair not in want:
            session.delete(row)
            changed = True
    for party_id, user_id in want:
        if (party_id, user_id) not in have:
            session.add(ActivityParticipant(activity_id=activity_id, party_id=party_id, user_id=user_id))
            changed = True
    return changed


def known_parties(session: Session, viewer: Any, party_ids: list[int]) -> dict[int, str]:
    """Names of the live parties among ``party_ids`` that ``viewer`` may see."""
    if not party_ids:
        return {}
    rows = session.execute(
        select(Party.id, Party.name).where(Party.id.in_(party_ids), Party.deleted_at.is_(None), visible(Party, viewer))
    )
    return dict(rows.all())


def active_users(session: Session, limit: int = 500) -> list[Any]:
    return list(
        session.execute(
            select(User.id, User.display_name).where(User.active.is_(True)).order_by(User.display_name).limit(limit)
        )
    )


def teams(session: Session) -> list[Any]:
    return list(session.execute(select(Team.id, Team.name, Team.is_queue).order_by(Team.name)))


def ref_labels(session: Session, registry: Any, viewer: Any, refs: Iterable[tuple[str | None, int | None]]) -> dict:
    """``{(kind, id): display name}`` for the records these activities are attached to, that the viewer
    sees; one query per kind of record."""
    by_kind: dict[str, set[int]] = defaultdict(set)
    for kind_name, ref_id in refs:
        if kind_name and ref_id and kind_name in registry:
            by_kind[kind_name].add(ref_id)
    labels: dict[tuple[str, int], str] = {}
    for kind_name, wanted in by_kind.items():
        kind = registry[kind_name]
        for record in session.scalars(select(kind.model).where(kind.model.id.in_(wanted), kind.visible_to(viewer))):
            labels[(kind_name, record.id)] = kind.display(record)
    return labels


# -- open tasks -------------------------------------------------------------------------------------------


def open_tasks(session: Session, viewer: Any, limit: int) -> list[Activity]:
    """The viewer's open tasks (theirs or their teams' queues'), overdue first, then by due date; tasks
    without a due date last."""
    mine = Activity.owner_user_id == viewer.id
    if viewer.team_ids:
        mine = or_(mine, Activity.owner_team_id.in_(list(viewer.team_ids)))
    query = (
        select(Activity)
        .where(Activity.type == "task", Activity.done.is_(False), mine, visible_activity(viewer))
        .order_by(case((Activity.due_at.is_(None), 1), else_=0), Activity.due_at, Activity.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def count_open_tasks(session: Session, viewer: Any) -> tuple[int, int]:
    """(open, overdue) tasks of the viewer, for the home panel's headline."""
    mine = Activity.owner_user_id == viewer.id
    if viewer.team_ids:
        mine = or_(mine, Activity.owner_team_id.in_(list(viewer.team_ids)))
    overdue = case((Activity.due_at < utcnow(), 1), else_=0)
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(overdue), 0)).where(
            Activity.type == "task", Activity.done.is_(False), mine, visible_activity(viewer)
        )
    ).one()
    return int(row[0]), int(row[1])

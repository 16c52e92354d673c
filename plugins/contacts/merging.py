"""Merging duplicates and keeping contacts' rows consistent when records of any plugin merge or go for good.

Core's :func:`voronka.core.recycle.merge` moves tags, attachments and custom values and calls every installed
plugin's ``records_merged``; ours moves what contacts holds of the merged record to the kept one: its
contact points and addresses (exact duplicates dropped, one primary per channel), relationships on both
sides (a tie that would link the kept party to itself, or repeat one it has, is dropped), activity
participants, and activities attached to it, whatever kind it is. ``records_deleted`` purges what would be
left pointing at nothing.

Contract used by the card: ``card_section(session, viewer, party) -> dict`` rendered by
``contacts/_merge.html`` (the card includes it with the dict as ``merge``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from voronka.core.recycle import KINDS_KEY, purge_attached
from voronka.core.security.visibility import visible
from voronka.core.writes import audit_changes

from .duplicate_pages import card_section, routes
from .models import PARTY_KINDS, Activity, ActivityParticipant, Address, ContactPoint, Party, Relationship
from .models import RelationshipType as RelType
from .relationship_rules import ancestors_query

PRIMARY_COLUMNS = {"email": Party.primary_email, "phone": Party.primary_phone}


def records_merged(session: Session, kind: str, kept: int, merged: int, actor_id: int | None) -> None:
    """Move contacts' references from record ``merged`` of ``kind`` to ``kept`` (inside core's merge);
    ``actor_id`` (who merges) signs the audit of what moved."""
    session.flush()
    _move_activities(session, kind, kept, merged)
    if kind in PARTY_KINDS:
        filled = _move_points(session, kept, merged)
        _move_addresses(session, kept, merged)
        moved, dropped = _move_relationships(session, kept, merged)
        _move_participants(session, kept, merged)
        _record(session, kind, kept, merged, filled, moved, dropped, actor_id)


def _record(session: Session, kind_name: str, kept: int, merged: int, filled: dict[str, str], moved: list[int],
            dropped: list[int], actor_id: int | None) -> None:  # fmt: skip
    """The kept party changed under whoever has its card open: its version goes up (their save is a 409) and
    what changed outside core's own merge entry is audited — primary e-mail/phone filled from the merged
    record, and the ties re-pointed or dropped (field "relationship")."""
    party = session.get(Party, kept)
    if party is None:
        return
    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in filled.items():
        changes[name] = (getattr(party, name), value)
        setattr(party, name, value)
    if moved or dropped:
        changes["relationship"] = (None, {"merged": merged, "moved": moved, "dropped": dropped})
    party.version = (party.version or 0) + 1
    session.flush()
    kinds = session.info.get(KINDS_KEY)
    if kinds is not None and kind_name in kinds and changes:
        audit_changes(session, kinds[kind_name], kept, changes, actor=actor_id)


def records_deleted(session: Session, kind: str, ids: list[int]) -> None:
    """Records of ``kind`` go for good: activities attached to them are purged through core (their tags,
    attachments and what is attached to them go too); for parties, their relationships likewise. Points,
    addresses and participations go with the party row (foreign keys cascade)."""
    if not ids:
        return
    attached = select(Activity.id).where(
        Activity.ref_kind == kind, Activity.ref_id.in_(list(ids)), Activity.deleted_at.is_(None)
    )
    if kind == "activity":
        attached = attached.where(Activity.id.not_in(list(ids)))
    found = list(session.scalars(attached))
    if found and not purge_attached(session, "activity", found):
        session.execute(delete(Activity).where(Activity.id.in_(found)))
    if kind in PARTY_KINDS:
        ties = list(
            session.scalars(
                select(Relationship.id).where(or_(Relationship.a_id.in_(list(ids)), Relationship.b_id.in_(list(ids))))
            )
        )
        if ties and not purge_attached(session, "relationship", ties):
            session.execute(delete(Relationship).where(Relationship.id.in_(ties)))


# -- the parts ------------------------------------------------------------------------------------------------


def _move_activities(session: Session, kind: str, kept: int, merged: int) -> None:
    """Activities attached to the merged record follow it (those in the bin too, so a restored one comes back
    attached to the kept record)."""
    session.execute(
        update(Activity).where(Activity.ref_kind == kind, Activity.ref_id == merged).values(ref_id=kept),
        execution_options={"synchronize_session": False},
    )
    if kind == "activity":  # the kept activity was attached to the one merged into it: not to itself
        itself = (Activity.id == kept) & (Activity.ref_kind == "activity") & (Activity.ref_id == kept)
        session.execute(
            update(Activity).where(itself).values(ref_kind=None, ref_id=None),
            execution_options={"synchronize_session": False},
        )


def _move_points(session: Session, kept: int, merged: int) -> dict[str, str]:
    """Move the merged party's contact points; returns the primary columns the kept party should now fill
    (it had none on that channel) — written by :func:`_record` through the audit, not here."""
    rows = session.execute(
        select(ContactPoint.id, ContactPoint.party_id, ContactPoint.channel, ContactPoint.value_key,
               ContactPoint.value, ContactPoint.is_primary, ContactPoint.position)
        .where(ContactPoint.party_id.in_((kept, merged)))
        .order_by(ContactPoint.party_id != kept, ContactPoint.position, ContactPoint.id)
    ).all()  # fmt: skip
    have = {(r.channel, r.value_key) for r in rows if r.party_id == kept}
    primary = {r.channel for r in rows if r.party_id == kept and r.is_primary}
    top: dict[str, int] = {}
    for r in rows:
        if r.party_id == kept:
            top[r.channel] = max(top.get(r.channel, -1), r.position)
    drop: list[int] = []
    filled: dict[str, str] = {}
    for r in rows:
        if r.party_id != merged:
            continue
        if (r.channel, r.value_key) in have:
            drop.append(r.id)
            continue
        have.add((r.channel, r.value_key))
        top[r.channel] = top.get(r.channel, -1) + 1
        stays_primary = r.is_primary and r.channel not in primary
        if stays_primary:
            primary.add(r.channel)
            column = PRIMARY_COLUMNS.get(r.channel)
            if column is not None:  # the kept party had none: its row shows the one it now has
                filled[column.key] = r.value_key
        session.execute(
            update(ContactPoint)
            .where(ContactPoint.id == r.id)
            .values(party_id=kept, is_primary=stays_primary, position=top[r.channel]),
            execution_options={"synchronize_session": False},
        )
    if drop:
        session.execute(delete(ContactPoint).where(ContactPoint.id.in_(drop)))
    if filled:  # only where the kept party's column is still empty
        party = session.get(Party, kept)
        filled = {name: value for name, value in filled.items() if party is not None and not getattr(party, name)}
    return filled


def _address_key(r: Any) -> tuple[str, ...]:
    return tuple(" ".join((v or "").casefold().split()) for v in (r.street, r.city, r.region, r.postcode, r.country))


def _move_addresses(session: Session, kept: int, merged: int) -> None:
    rows = session.execute(
        select(Address.id, Address.party_id, Address.street, Address.city, Address.region, Address.postcode,
               Address.country, Address.is_primary, Address.position)
        .where(Address.party_id.in_((kept, merged)))
        .order_by(Address.party_id != kept, Address.position, Address.id)
    ).all()  # fmt: skip
    have = {_address_key(r) for r in rows if r.party_id == kept}
    has_primary = any(r.is_primary for r in rows if r.party_id == kept)
    top = max((r.position for r in rows if r.party_id == kept), default=-1)
    drop: list[int] = []
    for r in rows:
        if r.party_id != merged:
            continue
        key = _address_key(r)
        if key in have:
            drop.append(r.id)
            continue
        have.add(key)
        top += 1
        stays_primary = r.is_primary and not has_primary
        has_primary = has_primary or stays_primary
        session.execute(
            update(Address).where(Address.id == r.id).values(party_id=kept, is_primary=stays_primary, position=top),
            execution_options={"synchronize_session": False},
        )
    if drop:
        session.execute(delete(Address).where(Address.id.in_(drop)))


def _move_relationships(session: Session, kept: int, merged: int) -> tuple[list[int], list[int]]:
    """Re-point the merged party's ties on both sides; drop those that would become a self-link, repeat one
    the kept party has (the same type between the same two, either way round when it is symmetric) or close
    a loop in a holding structure."""
    rows = session.execute(
        select(Relationship.id, Relationship.type_id, Relationship.a_id, Relationship.b_id,
               RelType.a_role == RelType.b_role, RelType.hierarchy)
        .join(RelType, RelType.id == Relationship.type_id)
        .where(or_(Relationship.a_id.in_((kept, merged)), Relationship.b_id.in_((kept, merged))))
        .order_by((Relationship.a_id == merged) | (Relationship.b_id == merged), Relationship.id)
    ).all()  # fmt: skip
    have: set[tuple[int, int, int]] = set()
    drop: list[int] = []
    holding: list[tuple[int, int, int]] = []
    for rel_id, type_id, a_id, b_id, symmetric, hierarchy in rows:
        a = kept if a_id == merged else a_id
        b = kept if b_id == merged else b_id
        keys = {(type_id, a, b), (type_id, b, a)} if symmetric else {(type_id, a, b)}
        if a == b or keys & have:
            drop.append(rel_id)
            continue
        have |= keys
        if (a, b) != (a_id, b_id):
            session.execute(
                update(Relationship)
                .where(Relationship.id == rel_id)
                .values(a_id=a, b_id=b, version=Relationship.version + 1),
                execution_options={"synchronize_session": False},
            )
            if hierarchy:
                holding.append((rel_id, a, b))
    moved = [row[0] for row in rows if row[0] not in drop and merged in (row[2], row[3])]
    if drop and not purge_attached(session, "relationship", drop):
        session.execute(delete(Relationship).where(Relationship.id.in_(drop)))
    for rel_id, a, b in holding:  # the subsidiary (A) may not already stand above its new parent (B)
        up = ancestors_query(b, exclude_id=rel_id)
        loop = session.scalar(select(up.c.id).where(up.c.id == a).limit(1)) is not None
        if loop:
            moved.remove(rel_id)
            drop.append(rel_id)
            if not purge_attached(session, "relationship", [rel_id]):  # now: the next check sees it gone
                session.execute(delete(Relationship).where(Relationship.id == rel_id))
    return moved, drop


def _move_participants(session: Session, kept: int, merged: int) -> None:
    """The merged party took part in activities: now the kept one did (once per activity)."""
    already = select(ActivityParticipant.activity_id).where(ActivityParticipant.party_id == kept)
    session.execute(
        delete(ActivityParticipant).where(
            ActivityParticipant.party_id == merged, ActivityParticipant.activity_id.in_(already)
        )
    )
    session.execute(
        update(ActivityParticipant).where(ActivityParticipant.party_id == merged).values(party_id=kept),
        execution_options={"synchronize_session": False},
    )


def counts(session: Session, party_ids: Sequence[int], viewer: Any) -> dict[int, dict[str, int]]:
    """How many points, relationships and activities each party has that ``viewer`` may see (the confirm
    page shows what moves; ties to hidden or binned parties and hidden activities are not counted); a few
    grouped queries."""
    from .activity_queries import visible_activity

    ids = list(party_ids)
    found = {i: {"points": 0, "relationships": 0, "activities": 0} for i in ids}
    for party_id, n in session.execute(
        select(ContactPoint.party_id, func.count())
        .where(ContactPoint.party_id.in_(ids))
        .group_by(ContactPoint.party_id)
    ):
        found[party_id]["points"] = n
    other = aliased(Party, name="other")
    for column, other_column in ((Relationship.a_id, Relationship.b_id), (Relationship.b_id, Relationship.a_id)):
        query = (
            select(column, func.count())
            .join(other, other.id == other_column)
            .where(column.in_(ids), other.deleted_at.is_(None), visible(other, viewer))
            .group_by(column)
        )
        for party_id, n in session.execute(query):
            found[party_id]["relationships"] += n
    for party_id, n in session.execute(
        select(Activity.ref_id, func.count())
        .where(Activity.ref_kind.in_(PARTY_KINDS), Activity.ref_id.in_(ids), visible_activity(viewer))
        .group_by(Activity.ref_id)
    ):
        found[party_id]["activities"] = n
    return found


__all__ = ["card_section", "counts", "records_deleted", "records_merged", "routes"]

"""What every write of a relationship obeys, on every path (quick add, import, API): no tie to itself, no
new tie of an archived type, party kinds that fit the type, no cycle in a holding structure, no second tie
of one type between one pair at overlapping dates, and an end after the start.

Called from ``before_save`` inside the write transaction; a refusal names the field and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, literal, or_, select
from sqlalchemy.orm import Session

from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _

from .batch_relationships import Primed, memo_of
from .models import Party, Relationship, RelationshipType
from .relationship_types import fits

MAX_DEPTH = 50
"""How far up the cycle check climbs: deeper than any real holding, bounded so bad data cannot loop."""


def as_date(value: Any, field: str) -> dt.date | None:
    """Dates arrive as ``date`` from forms and as ISO text from imports and the API."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError({field: _("Enter a date as YYYY-MM-DD.")})


def check(session: Session, record: Relationship, changes: dict[str, Any]) -> None:
    with session.no_autoflush:  # the record's own pending change must not reach the queries below
        _check(session, record, changes)


def _check(session: Session, record: Relationship, changes: dict[str, Any]) -> None:
    start = record.valid_from = as_date(record.valid_from, "valid_from")
    end = record.valid_to = as_date(record.valid_to, "valid_to")
    record.note = (record.note or "").strip()
    # read once: an import checks thousands of ties, and each attribute read goes through the ORM
    record_id, a_id, b_id = record.id, record.a_id, record.b_id
    primed = memo_of(session) if record_id is None else None  # a batch's primed answers (batch_relationships)
    errors: dict[str, str] = {}
    if start and end and end < start:
        errors["valid_to"] = _("The end date is before the start date.")
    rtype = _type(session, primed, record.type_id)
    if rtype is None:
        errors["type_id"] = _("Choose a relationship type.")
    elif rtype.archived and (record_id is None or "type_id" in changes):
        errors["type_id"] = _("This relationship type is archived; choose another one.")
    if a_id is not None and a_id == b_id:
        errors["b_id"] = _("A party cannot have a relationship with itself.")
    if primed is not None:
        kinds = primed.kinds_of(session, [a_id, b_id])
    else:
        query = select(Party.id, Party.kind).where(Party.id.in_([a_id, b_id]), Party.deleted_at.is_(None))
        kinds = dict(session.execute(query).all())  # type: ignore[arg-type]
    for side, party_id in (("a_id", a_id), ("b_id", b_id)):
        if party_id not in kinds and side not in errors:
            errors[side] = _("Choose a person or an organisation that exists.")
    if rtype is not None and not errors:
        _check_kinds(rtype, kinds[a_id], kinds[b_id], errors)
    if not errors:
        _check_duplicate(session, record, errors, primed)
    if not errors and rtype is not None and rtype.hierarchy and _current(end):
        _check_cycle(session, record, errors, primed)
    if errors:
        raise ValidationError(errors)
    if primed is not None:
        primed.add(record)


def _type(session: Session, primed: Primed | None, type_id: Any) -> RelationshipType | None:
    if type_id is None:
        return None
    if primed is not None and type_id in primed.types:
        return primed.types[type_id]
    return session.get(RelationshipType, type_id)


def _check_kinds(rtype: RelationshipType, a_kind: str, b_kind: str, errors: dict[str, str]) -> None:
    if not fits(rtype.a_kinds, a_kind):
        kind = _kind_words()[rtype.a_kinds]
        errors["a_id"] = _("“%(role)s” must be %(kind)s.") % {"role": _(rtype.a_role), "kind": kind}
    if not fits(rtype.b_kinds, b_kind):
        role = _(rtype.b_role) if rtype.b_role else _("The other side")
        errors["b_id"] = _("“%(role)s” must be %(kind)s.") % {"role": role, "kind": _kind_words()[rtype.b_kinds]}


def _kind_words() -> dict[str, str]:
    """Translated only for a refusal: an import checks thousands of ties that fit."""
    return {"person": _("a person"), "organisation": _("an organisation")}


def _current(valid_to: dt.date | None) -> bool:
    return valid_to is None or valid_to >= dt.date.today()


def _check_duplicate(session: Session, record: Relationship, errors: dict[str, str], primed: Primed | None) -> None:
    """The same type between the same pair (either way round) at overlapping dates is one tie, not two."""
    stored = primed.stored_ties(record.a_id, record.b_id) if primed is not None else None
    if stored is not None:
        found = any(_overlaps(record, t.type_id, t.valid_from, t.valid_to) for t in stored)
        pending = primed.pending_ties(session, record)  # type: ignore[union-attr]
    else:
        found = session.scalar(select(Relationship.id).where(*_overlap(record)).limit(1)) is not None
        pending = _pending(session, record)
    if found or any(_same_tie(record, other) for other in pending):
        errors["b_id"] = _("These two already have this relationship for these dates; edit that one instead.")


def _overlap(record: Relationship) -> list[Any]:
    """SQL: another tie of the record's type between its pair, either way round, at overlapping dates."""
    r = Relationship
    pair = or_(and_(r.a_id == record.a_id, r.b_id == record.b_id), and_(r.a_id == record.b_id, r.b_id == record.a_id))
    overlap = [r.type_id == record.type_id, pair]
    if record.valid_to is not None:
        overlap.append(or_(r.valid_from.is_(None), r.valid_from <= record.valid_to))
    if record.valid_from is not None:
        overlap.append(or_(r.valid_to.is_(None), r.valid_to >= record.valid_from))
    if record.id is not None:
        overlap.append(r.id != record.id)
    return overlap


def _overlaps(record: Relationship, type_id: Any, start: dt.date | None, end: dt.date | None) -> bool:
    """A tie of ``type_id`` from ``start`` to ``end`` (the record's pair) overlaps the record: :func:`_overlap`."""
    if type_id != record.type_id:
        return False
    if record.valid_to is not None and start is not None and start > record.valid_to:
        return False
    return not (record.valid_from is not None and end is not None and end < record.valid_from)


def _pending(session: Session, record: Relationship) -> list[Relationship]:
    """Ties of this transaction not yet flushed (earlier rows of a batch: core saves a batch without
    autoflush, so the queries above cannot see them)."""
    return [o for o in (*session.new, *session.dirty) if isinstance(o, Relationship) and o is not record]


def _same_tie(record: Relationship, other: Relationship) -> bool:
    """``other`` is the same type between the same pair (either way round) at overlapping dates."""
    if other.type_id != record.type_id or {other.a_id, other.b_id} != {record.a_id, record.b_id}:
        return False
    return _overlaps(
        record, other.type_id, as_date(other.valid_from, "valid_from"), as_date(other.valid_to, "valid_to")
    )


def ancestors_query(
    party_id: int, exclude_id: int | None = None, max_depth: int = MAX_DEPTH, started_only: bool = False
) -> Any:
    """Recursive CTE of the parties above ``party_id`` through hierarchy links not ended (and, with
    ``started_only``, already started): (id, child, depth)."""
    today = dt.date.today()
    hierarchy = select(RelationshipType.id).where(RelationshipType.hierarchy.is_(True)).scalar_subquery()
    r = Relationship
    live = [r.type_id.in_(hierarchy), or_(r.valid_to.is_(None), r.valid_to >= today)]
    if started_only:
        live.append(or_(r.valid_from.is_(None), r.valid_from <= today))
    if exclude_id is not None:
        live.append(r.id != exclude_id)
    base = select(r.b_id.label("id"), r.a_id.label("child"), literal(1).label("depth")).where(r.a_id == party_id, *live)
    tree = base.cte("holding_up", recursive=True)
    step = (
        select(r.b_id, r.a_id, tree.c.depth + 1).join(tree, r.a_id == tree.c.id).where(tree.c.depth < max_depth, *live)
    )
    return tree.union_all(step)


def _check_cycle(session: Session, record: Relationship, errors: dict[str, str], primed: Primed | None) -> None:
    """A subsidiary (A) of a parent (B) may not already stand above B: climb from B and look for A."""
    if primed is not None and (above := primed.parents_above(record.b_id)) is not None:
        found = record.a_id in above
    else:
        up = ancestors_query(record.b_id, exclude_id=record.id)
        found = session.scalar(select(up.c.id).where(up.c.id == record.a_id).limit(1)) is not None
    if found or _pending_cycle(session, record, primed):
        errors["b_id"] = _("This would make a loop in the holding structure: the company already owns its parent.")


def _pending_cycle(session: Session, record: Relationship, primed: Primed | None) -> bool:
    """The cycle check over stored ties plus this transaction's unflushed hierarchy ties: from B, climb the
    stored structure, step over any pending tie, climb again, until A is reached or nothing new is found.
    One query per pending tie used (none when a batch primed the climb), and none when the transaction has
    no other hierarchy tie."""
    if primed is not None:
        candidates = primed.holding_ties(session, record)
        types: dict[Any, Any] = primed.types
    else:
        candidates = _pending(session, record)
        types = {o.type_id: session.get(RelationshipType, o.type_id) for o in candidates if o.type_id is not None}
    edges = [
        (o.a_id, o.b_id)
        for o in candidates
        if o.a_id is not None and o.b_id is not None and o.type_id is not None and _current(_end(o))
        and getattr(types.get(o.type_id), "hierarchy", False)
    ]  # fmt: skip
    if not edges:
        return False
    above: set[int] = set()
    todo = [record.b_id]
    while todo:
        start = todo.pop()
        if start in above:
            continue
        stored = primed.parents_above(start) if primed is not None else None
        if stored is None:
            up = ancestors_query(start, exclude_id=record.id)
            stored = set(session.scalars(select(up.c.id).distinct()))
        reached = {start, *stored}
        above |= reached
        if record.a_id in above:
            return True
        todo += [parent for child, parent in edges if child in reached and parent not in above]
    return False


def _end(record: Relationship) -> dt.date | None:
    try:
        return as_date(record.valid_to, "valid_to")
    except ValidationError:
        return None

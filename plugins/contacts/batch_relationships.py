"""What :mod:`.relationship_rules` asks about each new tie, loaded once for a whole batch (an import's links,
a bulk creation) by ``before_save_batch``: every relationship type, the kinds of every party named, the
stored ties between the pairs named and, for holding types, how far up each parent's structure goes. Three
or four queries per batch instead of two or three per tie; the rules then run in Python, against this and
against the batch's own earlier ties (not in the database yet: core flushes a batch once).

Only batches that create ties are primed; one that changes stored ties keeps the per-tie queries (a tie's
own stored row must not count against its new values, which one shared load cannot say per row). A party
or a parent not primed (a hook changed the values) is asked about as a single save would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, literal, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from voronka.core.writes import batch_memo

from .models import Party, Relationship, RelationshipType

MEMO_KEY = "contacts.relationships"
TYPES_KEY = "contacts.relationship_types"
CHUNK = 500
"""Ids per IN (…): far under SQLite's and PostgreSQL's parameter limits."""


@dataclass
class StoredTie:
    """A stored tie as the duplicate check compares it."""

    id: int
    type_id: int
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass
class Primed:
    """One batch's answers (see the module's docstring); ``pending`` grows as its ties pass the rules."""

    types: dict[int, RelationshipType]
    kinds: dict[int, str]
    asked: set[int]
    pairs: set[tuple[int, int]]
    ties: dict[frozenset[int], list[StoredTie]]
    above: dict[int, set[int]]
    pending: dict[frozenset[int], list[Relationship]] = field(default_factory=dict)
    pending_holding: list[Relationship] = field(default_factory=list)

    def kinds_of(self, session: Session, ids: list[Any]) -> dict[Any, str]:
        """Live parties among ``ids`` with their kind, from the memo when it was asked about them."""
        if all(i in self.asked for i in ids if i is not None):
            return {i: self.kinds[i] for i in ids if i in self.kinds}
        query = select(Party.id, Party.kind).where(Party.id.in_(ids), Party.deleted_at.is_(None))
        return dict(session.execute(query).all())  # type: ignore[arg-type]

    def stored_ties(self, a_id: int, b_id: int) -> list[StoredTie] | None:
        """Stored ties between the pair (either way round), or None when the pair was not primed."""
        return self.ties.get(frozenset((a_id, b_id)), []) if (a_id, b_id) in self.pairs else None

    def parents_above(self, party_id: int) -> set[int] | None:
        """Parties above ``party_id`` in stored holding ties (not ended), or None when not primed."""
        return self.above.get(party_id)

    def pending_ties(self, session: Session, record: Relationship) -> list[Relationship]:
        """Earlier ties of the batch between the record's pair that went into the session (one refused by
        another plugin after these rules passed it never did)."""
        found = self.pending.get(frozenset((record.a_id, record.b_id)), [])
        return [o for o in found if o is not record and o in session]

    def holding_ties(self, session: Session, record: Relationship) -> list[Relationship]:
        return [o for o in self.pending_holding if o is not record and o in session]

    def add(self, record: Relationship) -> None:
        """The record passed the rules: later ties of the batch are checked against it."""
        if record.a_id is None or record.b_id is None:
            return
        self.pending.setdefault(frozenset((record.a_id, record.b_id)), []).append(record)
        rtype = self.types.get(record.type_id) if record.type_id is not None else None
        if rtype is not None and rtype.hierarchy:
            self.pending_holding.append(record)


def memo_of(session: Session) -> Primed | None:
    """The batch's primed answers, or None outside a primed batch (a single save)."""
    found = batch_memo(session).get(MEMO_KEY)
    return found if isinstance(found, Primed) else None


def prime(session: Session, values: list[dict[str, Any]], ids: list[int | None]) -> None:
    """``before_save_batch`` for relationships: load what the rules ask about the batch's ties."""
    if not values or any(i is not None for i in ids):
        return
    types = {t.id: t for t in all_types(session)}
    waiting = [o for o in (*session.new, *session.dirty) if isinstance(o, Relationship)]
    rows = [(v.get("type_id"), v.get("a_id"), v.get("b_id")) for v in values]
    rows += [(o.type_id, o.a_id, o.b_id) for o in waiting]
    parties = sorted({i for _t, a, b in rows for i in (a, b) if isinstance(i, int)})
    pairs = {(a, b) for _t, a, b in rows if isinstance(a, int) and isinstance(b, int) and a != b}
    holding = sorted({b for t, _a, b in rows if isinstance(b, int) and getattr(types.get(t), "hierarchy", False)})
    both_ways = {p for a, b in pairs for p in ((a, b), (b, a))}
    primed = Primed(types, _kinds(session, parties), set(parties), both_ways, _ties(session, pairs),
                    _above(session, holding))  # fmt: skip
    for other in waiting:
        primed.add(other)
    batch_memo(session)[MEMO_KEY] = primed


def all_types(session: Session) -> list[RelationshipType]:
    """Every relationship type, loaded once per transaction (an import's batch asks for them in its link
    step and again in the rules' priming; a handful of rows an admin rarely changes), and held: the
    session's identity map alone is weak."""
    found = session.info.get(TYPES_KEY)
    if found is None or found[0] is not session.get_transaction():
        found = session.info[TYPES_KEY] = (session.get_transaction(), list(session.scalars(select(RelationshipType))))
    return found[1]


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_KINDS = select(Party.id, Party.kind, Party.deleted_at).where(Party.id.in_(bindparam("ids", expanding=True)))
_TIES = select(
    Relationship.id,
    Relationship.type_id,
    Relationship.a_id,
    Relationship.b_id,
    Relationship.valid_from,
    Relationship.valid_to,
).where(Relationship.a_id.in_(bindparam("ends", expanding=True)))
"""Built once (as the duplicate matcher's statements): building a statement costs more than running it. A
party in the recycle bin is left out here, not in SQL: ``deleted_at IS NULL`` there makes SQLite without
statistics (and PostgreSQL with stale ones) walk the deleted_at index over every party instead."""


def _kinds(session: Session, ids: list[int]) -> dict[int, str]:
    """Live parties among ``ids`` with their kind: those this transaction wrote (an import's people, the
    organisations it created) from the session, the others in one query per chunk."""
    found: dict[int, str] = {}
    asked = []
    held = session.identity_map
    for party_id in ids:
        party = held.get((Party, (party_id,), None))
        loaded = party.__dict__ if party is not None else {}
        if "kind" not in loaded or "deleted_at" not in loaded or sa_inspect(party).modified:
            asked.append(party_id)  # not in the session, expired, or changed and not yet flushed
        elif loaded["deleted_at"] is None:
            found[party_id] = loaded["kind"]
    connection = session.connection()
    for chunk in _chunks(asked):
        rows = connection.execute(_KINDS, {"ids": chunk})
        found.update((party_id, kind) for party_id, kind, deleted in rows if deleted is None)
    return found


def _ties(session: Session, pairs: Iterable[tuple[int, int]]) -> dict[frozenset[int], list[StoredTie]]:
    """Stored ties between each pair, either way round: per chunk of pairs one query on the A side's index
    for every party of the chunk (a tie either way round has one of them as A), the pairs picked out here.
    Not B as well in SQL: SQLite would walk the B index instead, every employee of every organisation."""
    wanted = sorted(pairs)
    either = {frozenset(p) for p in wanted}
    found: dict[frozenset[int], list[StoredTie]] = {}
    connection = session.connection()
    for chunk in _chunks(wanted, CHUNK // 2):
        ends = sorted({i for pair in chunk for i in pair})
        for tie_id, type_id, a_id, b_id, start, end in connection.execute(_TIES, {"ends": ends}):
            pair = frozenset((a_id, b_id))
            if pair in either:
                tie = StoredTie(tie_id, type_id, start, end)
                if all(t.id != tie_id for t in found.get(pair, ())):
                    found.setdefault(pair, []).append(tie)
    return found


def _above(session: Session, starts: list[int]) -> dict[int, set[int]]:
    """For each party in ``starts``, the parties above it through holding ties not ended: the cycle check's
    climb (:func:`.relationship_rules.ancestors_query`) from many parties in one recursive query."""
    from .relationship_rules import MAX_DEPTH  # the rules import this module

    found: dict[int, set[int]] = {i: set() for i in starts}
    today = dt.date.today()
    hierarchy = select(RelationshipType.id).where(RelationshipType.hierarchy.is_(True)).scalar_subquery()
    r = Relationship
    live = [r.type_id.in_(hierarchy), or_(r.valid_to.is_(None), r.valid_to >= today)]
    for chunk in _chunks(starts):
        base = select(r.a_id.label("start"), r.b_id.label("id"), literal(1).label("depth")).where(
            r.a_id.in_(chunk), *live
        )
        tree = base.cte("holding_up_many", recursive=True)
        step = (
            select(tree.c.start, r.b_id, tree.c.depth + 1)
            .join(tree, r.a_id == tree.c.id)
            .where(tree.c.depth < MAX_DEPTH, *live)
        )
        up = tree.union_all(step)
        for start, parent in session.execute(select(up.c.start, up.c.id).distinct()):
            found[start].add(parent)
    return found

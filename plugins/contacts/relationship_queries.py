"""Reading relationships for a card and holding trees for an organisation.

A card reads a party's ties from both sides in one indexed query (``a_id`` and ``b_id`` each have an
index), words each tie as this party sees it, and counts the ties to parties the viewer may not see without
naming them. Holding trees climb and descend hierarchy links with recursive CTEs (both engines).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from voronka.core.i18n import gettext as _
from voronka.core.security.visibility import visibility_key, visible
from voronka.core.statements import StatementCache

from .card_view import date_format
from .models import CATEGORIES, PERSON, Party, Relationship, RelationshipType
from .relationship_rules import ancestors_query
from .relationship_types import CATEGORY_LABELS, all_types

CARD_LIMIT = 300
"""Ties listed on one card; a party with more shows the first ones and says how many there are."""
TREE_DEPTH = 10
TREE_NODES = 500
TREE_ROWS = 20_000
"""Links read below one company: the counts are exact up to here, the page says "more" beyond."""
HIDDEN_CAP = 1000
"""Hidden ties are counted up to this many; beyond, the card says "1000+"."""


@dataclass
class Tie:
    """One relationship as the party whose card shows it sees it."""

    id: int
    version: int
    type: RelationshipType
    side: str  # "a" or "b": where this party stands
    other_id: int
    other_name: str
    other_kind: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    note: str

    @property
    def ended(self) -> bool:
        return self.valid_to is not None and self.valid_to < dt.date.today()

    @property
    def current(self) -> bool:
        today = dt.date.today()
        return not self.ended and (self.valid_from is None or self.valid_from <= today)

    @property
    def at(self) -> bool:
        """A one-sided tie on the side that plays the role: "Decision maker at ACME"."""
        return self.side == "a" and self.type.one_sided

    @property
    def role(self) -> str:
        """The words before the other party's name: what the other is to this party, or for a one-sided
        tie seen from the side that plays it, "<role> at"."""
        if self.at:
            return _("%(role)s at") % {"role": _(self.type.a_role)}
        label = self.type.b_role if self.side == "a" else self.type.a_role
        return _(label)

    @property
    def other_role(self) -> str:
        """What the other party is here (empty when it plays no role)."""
        label = self.type.b_role if self.side == "a" else self.type.a_role
        return _(label) if not self.at and label else ""

    @property
    def period(self) -> str:
        medium = date_format("medium")
        start, end = medium(self.valid_from), medium(self.valid_to)
        if start and end:
            return _("%(start)s – %(end)s") % {"start": start, "end": end}
        if start:
            return _("since %(start)s") % {"start": start}
        if end:
            return _("until %(end)s") % {"end": end}
        return ""


@dataclass
class Section:
    """What ``contacts/_relationships.html`` shows for one party."""

    party: Any
    groups: list[tuple[str, list[Tie]]] = field(default_factory=list)
    hidden: int = 0
    more: bool = False
    influencers: list[Tie] = field(default_factory=list)
    people_by_role: list[tuple[str, list[Tie]]] = field(default_factory=list)
    has_holding: bool = False
    types: list[RelationshipType] = field(default_factory=list)


def _ties_of() -> Any:
    """A party's ties from both sides (``:party_id``), each side read through its own index."""
    r = Relationship
    party_id = bindparam("party_id", type_=Integer)
    cols = (r.id, r.version, r.type_id, r.valid_from, r.valid_to, r.note)
    as_a = select(*cols, literal("a").label("side"), r.b_id.label("other_id")).where(r.a_id == party_id)
    as_b = select(*cols, literal("b").label("side"), r.a_id.label("other_id")).where(r.b_id == party_id)
    return union_all(as_a, as_b).subquery("ties")


TIES = _ties_of()
"""Built once: the card is read often, and building a union's columns costs more than running it."""


_section_statements = StatementCache()


def _section_queries(viewer: Any) -> tuple[Any, Any]:
    """(the ties the viewer may see, the count of those hidden from them or None), built once per
    viewer's visibility: building them cost a card more than running them."""
    ties = TIES
    seen = visible(Party, viewer)
    shown = (
        select(ties, Party.name, Party.kind)
        .join(Party, Party.id == ties.c.other_id)
        .where(Party.deleted_at.is_(None), seen)
        .limit(CARD_LIMIT + 1)  # no ORDER BY: both sides stream from their index and stop at the limit
    )
    if getattr(viewer, "visibility", None) == "all":  # who sees everything has nothing hidden: no count
        return shown, None
    # capped: a party with a million hidden ties must not cost a million rows on every card view
    capped = (
        select(ties.c.id)
        .join(Party, Party.id == ties.c.other_id)
        .where(Party.deleted_at.is_(None), case((seen, 0), else_=1) == 1)
        .limit(HIDDEN_CAP + 1)
        .subquery("hidden_ties")
    )
    return shown, select(func.count()).select_from(capped)


def read_section(session: Session, viewer: Any, party: Any) -> Section:
    types = all_types(session)
    by_id = {t.id: t for t in types}
    params = {"party_id": party.id}
    shown, hidden_count = _section_statements.get(visibility_key(viewer), lambda: _section_queries(viewer))
    rows = session.execute(shown, params).all()
    hidden = 0
    if hidden_count is not None:
        hidden = session.scalar(hidden_count, params)
    section = Section(party=party, hidden=int(hidden or 0), more=len(rows) > CARD_LIMIT, types=types)
    found = [
        Tie(row.id, row.version, by_id[row.type_id], row.side, row.other_id, row.name, row.kind, row.valid_from,
            row.valid_to, row.note or "")
        for row in rows[:CARD_LIMIT]
    ]  # fmt: skip
    order = {t.id: i for i, t in enumerate(types)}
    found.sort(key=lambda t: (t.ended, order[t.type.id], t.role, t.other_name))
    grouped: dict[str, list[Tie]] = defaultdict(list)
    for tie in found:
        grouped[tie.type.category].append(tie)
    section.groups = [(_(CATEGORY_LABELS[c]), grouped[c]) for c in CATEGORIES if grouped[c]]
    current = [t for t in found if t.current]
    section.influencers = [t for t in current if t.type.influence and t.side == "b"]
    people: dict[str, list[Tie]] = defaultdict(list)
    if party.kind != PERSON:
        for tie in current:
            if tie.other_kind == PERSON and tie.other_role:
                people[tie.other_role].append(tie)
    section.people_by_role = sorted(people.items(), key=lambda item: (-len(item[1]), item[0]))
    section.has_holding = any(t.type.hierarchy and t.current for t in found)
    return section


# -- holding trees -----------------------------------------------------------------------------------------


@dataclass
class Node:
    id: int
    name: str
    subsidiaries: int = 0  # direct subsidiaries the viewer may see
    children: list[Node] = field(default_factory=list)
    is_self: bool = False
    hidden: int = 0  # direct subsidiaries not shown: not the viewer's to see, or in the recycle bin


@dataclass
class Holding:
    """A holding tree as one viewer may see it: every figure counts only companies the viewer may see and
    reach through companies they may see (what lies beneath a hidden company is neither shown nor counted)."""

    root_nodes: list[Node]
    ancestors: int
    descendants: int
    direct: int
    truncated: bool
    hidden: int  # companies at the top level the viewer may not see (nothing beneath them is shown)
    hidden_below: int = 0  # hidden direct subsidiaries, summed over the nodes shown

    @property
    def empty(self) -> bool:
        """Nothing above or below, not even a company the viewer may not see."""
        return not (self.ancestors or self.descendants or self.hidden or self.hidden_below)


def _hierarchy_live() -> list[Any]:
    today = dt.date.today()
    hierarchy = select(RelationshipType.id).where(RelationshipType.hierarchy.is_(True)).scalar_subquery()
    r = Relationship
    return [r.type_id.in_(hierarchy), or_(r.valid_to.is_(None), r.valid_to >= today),
            or_(r.valid_from.is_(None), r.valid_from <= today)]  # fmt: skip


def descendants_query(party_id: int, max_depth: int = TREE_DEPTH) -> Any:
    """Recursive CTE of the subsidiaries under ``party_id`` (current links): (id, parent, depth)."""
    r = Relationship
    live = _hierarchy_live()
    base = select(r.a_id.label("id"), r.b_id.label("parent"), literal(1).label("depth")).where(r.b_id == party_id,
                                                                                               *live)  # fmt: skip
    tree = base.cte("holding_down", recursive=True)
    step = select(r.a_id, r.b_id, tree.c.depth + 1).join(tree, r.b_id == tree.c.id).where(tree.c.depth < max_depth,
                                                                                          *live)  # fmt: skip
    return tree.union_all(step)


def holding(session: Session, viewer: Any, party: Any) -> Holding:
    """The tree up from ``party`` to the top and down through all its subsidiaries (``TREE_DEPTH`` levels,
    at most ``TREE_NODES`` shown; the counts cover every level read). Both ways the tree goes only through
    companies the viewer may see: a hidden (or binned) one is counted where it hangs, and nothing beyond it
    is shown or counted."""
    up = ancestors_query(party.id, max_depth=TREE_DEPTH, started_only=True)
    up_rows = session.execute(select(up.c.id, up.c.child).distinct()).all()
    below_children, below_seen, read = _below(session, viewer, party.id)
    # the visible subsidiaries reachable through visible companies, nearest first
    order: list[int] = []
    reached, todo = {party.id}, deque([party.id])
    while todo:
        for child in sorted(below_children[todo.popleft()]):
            if child not in reached and below_seen[child]:
                reached.add(child)
                order.append(child)
                todo.append(child)
    above = {row.id for row in up_rows} - {party.id}
    # names and counts only for what the page can show: the line up, then the nearest levels down
    ids = above | {party.id} | set(order[:TREE_NODES])
    names = _names(session, viewer, ids)
    counts = _direct_counts(session, viewer, ids)
    parents_of: dict[int, set[int]] = defaultdict(set)
    edges: dict[int, set[int]] = defaultdict(set, below_children)
    for parent, child in up_rows:
        parents_of[child].add(parent)
        edges[parent].add(child)
    hidden = {i for i, seen in below_seen.items() if not seen} | {i for i in above if names.get(i) is None}
    # the line up is climbed through companies the viewer may see only: it stops at a hidden (or binned) one,
    # which is counted, and nothing above it is shown
    line, climb = {party.id}, [party.id]
    while climb:
        for parent in parents_of[climb.pop()]:
            if parent not in line and parent not in hidden:
                line.add(parent)
                climb.append(parent)
    roots = sorted((i for i in line if not any(p in line for p in parents_of[i])), key=lambda i: names.get(i) or "")
    roots = roots or [party.id]
    hidden_top = {p for i in line for p in parents_of[i] if p in hidden}
    shown = hidden_below = 0
    truncated = False

    def build(node_id: int, trail: frozenset[int]) -> Node:
        nonlocal shown, truncated, hidden_below
        shown += 1
        node = Node(node_id, names.get(node_id) or "", counts.get(node_id, 0), is_self=node_id == party.id)
        for child in sorted(edges.get(node_id, ()), key=lambda i: names.get(i) or ""):
            if child in trail:
                continue
            if child in hidden:
                node.hidden += 1  # pruned: neither it nor anything beneath it is shown
            elif shown >= TREE_NODES or child not in names:
                truncated = True
            else:
                node.children.append(build(child, trail | {child}))
        hidden_below += node.hidden
        return node

    tree = [build(root, frozenset({root})) for root in roots]
    truncated = truncated or read >= TREE_ROWS
    return Holding(tree, len(line) - 1, len(order), counts.get(party.id, 0), truncated, len(hidden_top),
                   hidden_below)  # fmt: skip


def _below(session: Session, viewer: Any, party_id: int) -> tuple[dict[int, set[int]], dict[int, bool], int]:
    """The links beneath ``party_id`` (at most ``TREE_ROWS``): children by parent, whether the viewer may
    see each company (live and within their visibility), and how many rows were read."""
    down = descendants_query(party_id)
    seen = case((and_(Party.deleted_at.is_(None), visible(Party, viewer)), 1), else_=0)
    rows = session.execute(
        select(down.c.id, down.c.parent, seen.label("seen")).join(Party, Party.id == down.c.id).limit(TREE_ROWS)
    ).all()
    children: dict[int, set[int]] = defaultdict(set)
    for child, parent, _seen in rows:
        children[parent].add(child)
    return children, {row.id: bool(row.seen) for row in rows}, len(rows)


def _names(session: Session, viewer: Any, ids: set[int]) -> dict[int, str | None]:
    """Names of the parties the viewer may see; None for the others (they stay in the tree, unnamed)."""
    if not ids:
        return {}
    shown = case((visible(Party, viewer), Party.name), else_=None)
    rows = session.execute(select(Party.id, shown).where(Party.id.in_(ids), Party.deleted_at.is_(None)))
    return {pid: name for pid, name in rows}


def _direct_counts(session: Session, viewer: Any, ids: set[int]) -> dict[int, int]:
    """Current direct subsidiaries of each of ``ids`` that the viewer may see (live ones only)."""
    if not ids:
        return {}
    r = Relationship
    query = (
        select(r.b_id, func.count(func.distinct(r.a_id)))
        .join(Party, Party.id == r.a_id)
        .where(r.b_id.in_(ids), *_hierarchy_live(), Party.deleted_at.is_(None), visible(Party, viewer))
        .group_by(r.b_id)
    )
    return {pid: n for pid, n in session.execute(query)}

"""Demo relationships between the seeded parties (see :mod:`.seed` for the whole picture).

The structure comes first, from what the parties pass recorded: subsidiary → parent company inside each
holding (a tree, parents always made before their subsidiaries, so never a cycle), employment at the
employer (and a past one for some), decision makers and influencers by job title, spouses and parents of
grown-up children, suppliers and partners among organisations. Then colleagues (people of the same
employer), friends and acquaintances fill up to the planned count. Type ids are read from
``contacts_relationship_type`` by key; a kind with no type is skipped and logged, never invented here
(types are the relationships module's data).
"""

from __future__ import annotations

import datetime as dt
import logging
from array import array
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from voronka.core.seeding import SeedContext

from .models import Relationship, RelationshipType

if TYPE_CHECKING:
    from .seed import Book

log = logging.getLogger(__name__)

ALIASES: dict[str, tuple[str, ...]] = {
    "subsidiary": ("subsidiary", "subsidiary_of", "holding"),
    "employment": ("employment", "employee", "works_at"),
    "decision_maker": ("decision_maker",),
    "influencer": ("influencer",),
    "champion": ("champion",),
    "spouse": ("spouse", "married"),
    "parent_child": ("child", "parent_child", "parent"),
    "supplier": ("supplier",),
    "partner": ("partner",),
    "colleague": ("colleague",),
    "friend": ("friend",),
    "acquaintance": ("acquaintance", "knows"),
}
"""Each kind of tie the seed makes, and the type keys that may stand for it (the first found wins)."""
KINDS = tuple(ALIASES)
CODE = {kind: n for n, kind in enumerate(KINDS)}
YEAR = 365


class Types:
    """The relationship types found, by kind: id and whether A and B are swapped against the seed's
    reading (employee → employer, subsidiary → parent, parent → child)."""

    def __init__(self, rows: list[Any]):
        by_key = {row.key: row for row in rows if not row.archived}
        self.id: dict[str, int] = {}
        self.swap: dict[str, bool] = {}
        for kind, keys in ALIASES.items():
            row = next((by_key[k] for k in keys if k in by_key), None)
            if row is None:
                continue
            self.id[kind] = row.id
            a_role = (row.a_role or "").lower()
            if kind == "employment":
                swap = row.a_kinds == "organisation" or a_role.startswith("employer")
            elif kind == "subsidiary":
                swap = "parent" in a_role
            elif kind == "parent_child":  # the seed's reading is parent → child
                swap = "child" in a_role or a_role.startswith(("дит", "син", "доч"))
            elif kind == "supplier":  # supplier → customer
                swap = a_role.startswith("customer")
            elif kind in ("decision_maker", "influencer", "champion"):
                swap = row.a_kinds == "organisation"
            else:
                swap = False
            self.swap[kind] = swap

    @property
    def missing(self) -> list[str]:
        return [kind for kind in KINDS if kind not in self.id]


def load_types(ctx: SeedContext) -> Types:
    return Types(list(ctx.session.execute(select(RelationshipType)).scalars()))


def seed_relationships(ctx: SeedContext, book: Book, target: int) -> int:
    types = load_types(ctx)
    if types.missing:
        log.warning("contacts seed: no relationship type for %s; those ties are not seeded", ", ".join(types.missing))
        if ctx.progress is not None:
            ctx.progress(f"contacts: no relationship type for {', '.join(types.missing)} (skipped)")
    ties = Ties()
    structure(book, types, ties)
    fill(book, types, ties, target)
    return ctx.bulk_insert(Relationship.__table__, rows(book, types, ties))


class Ties:
    """Ties by party position, kept compactly until the ids are known."""

    def __init__(self) -> None:
        self.kind = array("b")
        self.a = array("i")
        self.b = array("i")
        self.start = array("i")  # days before today, -1 for none
        self.end = array("i")

    def add(self, kind: str, a: int, b: int, start: int = -1, end: int = -1) -> None:
        self.kind.append(CODE[kind])
        self.a.append(a)
        self.b.append(b)
        self.start.append(start)
        self.end.append(end)

    def __len__(self) -> int:
        return len(self.kind)


def structure(book: Book, types: Types, ties: Ties) -> None:
    rng, have = book.rng, types.id
    if "subsidiary" in have:
        for org in range(book.n_orgs):
            if book.parent[org] >= 0:
                ties.add("subsidiary", org, book.parent[org], int(rng.random() * 12 * YEAR) + 2 * YEAR)
    for person in range(book.n_orgs, book.n_parties):
        employer = book.employer[person]
        if employer < 0:
            continue
        since = int(rng.random() * 10 * YEAR)
        if "employment" in have:
            ties.add("employment", person, employer, since)
            if rng.random() < 0.1 and book.n_orgs > 1:
                before = int(rng.random() * book.n_orgs)
                if before != employer:
                    left = since + 30 + int(rng.random() * YEAR)
                    ties.add("employment", person, before, left + YEAR // 2 + int(rng.random() * 4 * YEAR), left)
        level = book.level[person]
        if level == 2 and "decision_maker" in have:
            ties.add("decision_maker", person, employer)
        elif level == 1 and "influencer" in have and rng.random() < 0.6:
            ties.add("influencer", person, employer)
        elif level < 2 and "champion" in have and rng.random() < 0.03:
            ties.add("champion", person, employer)
    for kind, a, b in book.family:
        if kind in have:
            ties.add(kind, a, b)
    if book.n_orgs > 1:  # trade between organisations: who supplies whom, who partners with whom
        for org in range(book.n_orgs):
            pick = rng.random()
            other = int(rng.random() * book.n_orgs)
            if other == org:
                continue
            if pick < 0.1 and "supplier" in have:
                ties.add("supplier", other, org, int(rng.random() * 6 * YEAR))
            elif pick < 0.13 and "partner" in have:
                ties.add("partner", org, other, int(rng.random() * 6 * YEAR))


def fill(book: Book, types: Types, ties: Ties, target: int) -> None:
    """Colleagues (each with up to three earlier people of the same employer) and acquaintances (random
    pairs of people) until there are ``target`` ties."""
    rng, have = book.rng, types.id
    need = target - len(ties)
    first, people = book.n_orgs, book.n_parties - book.n_orgs
    if need <= 0 or people < 2:
        return
    if "colleague" in have:
        ring: dict[int, list[int]] = {}
        possible = 0
        for person in range(first, book.n_parties):
            employer = book.employer[person]
            if employer >= 0:
                seen = ring.setdefault(employer, [])
                possible += len(seen)
                seen.append(person)
                if len(seen) > 3:
                    del seen[0]
        share = min(1.0, 0.75 * need / possible) if possible else 0.0
        ring.clear()
        for person in range(first, book.n_parties):
            employer = book.employer[person]
            if employer < 0:
                continue
            seen = ring.setdefault(employer, [])
            for other in seen:
                if rng.random() < share:
                    ties.add("colleague", other, person)
            seen.append(person)
            if len(seen) > 3:
                del seen[0]
    social = [kind for kind in ("friend", "acquaintance") if kind in have]
    if social:
        while len(ties) < target:
            a = first + int(rng.random() * people)
            b = first + int(rng.random() * people)
            if a != b:
                ties.add(social[0] if rng.random() < 0.3 else social[-1], a, b)


def rows(book: Book, types: Types, ties: Ties) -> Iterator[dict[str, Any]]:
    ids, today, created = book.ids, book.today, book.now
    type_of = [types.id.get(kind, 0) for kind in KINDS]
    swap_of = [types.swap.get(kind, False) for kind in KINDS]
    notes = {CODE["employment"]: "", CODE["subsidiary"]: ""}
    for n in range(len(ties)):
        code, a, b = ties.kind[n], ties.a[n], ties.b[n]
        if swap_of[code]:
            a, b = b, a
        start, end = ties.start[n], ties.end[n]
        yield {
            "type_id": type_of[code],
            "a_id": ids[a],
            "b_id": ids[b],
            "valid_from": today - dt.timedelta(days=start) if start >= 0 else None,
            "valid_to": today - dt.timedelta(days=end) if end >= 0 else None,
            "note": notes.get(code, ""),
            "created_at": created,
            "version": 1,
        }


__all__ = ["ALIASES", "Types", "load_types", "seed_relationships"]

"""Import targets contacts adds to core's import: links to organisations named in a cell.

- person: "Employer (organisation name)": the organisation is found by name (system scope: one the
  importer cannot see is still the same company) or created, and an employment relationship is added;
- organisation: "Subsidiary of (organisation name)": a subsidiary relationship to the parent (A is the
  subsidiary, B the parent). A parent further down the file is linked at the end of the import (core keeps
  what an ``after`` step leaves and offers it again), one never found is reported on its row.

Relationship types are looked up by key; without the built-in types installed the link is skipped.
Every record goes through ``writes.save_batch`` (before_save, audit, events), in bulk per batch.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.imports_targets import AfterBatch, Lookups, Pending, Target
from voronka.core.search_keys import search_key
from voronka.core.writes import save_batch

from .models import NAME_MAX, ORGANISATION, Party, Relationship, RelationshipType
from .parties import QUOTES

EMPLOYMENT = ("employment", "employee", "works_at")
SUBSIDIARY = ("subsidiary", "subsidiary_of", "parent_company")
"""Keys the relationship type may have (the first found wins): the built-in types' migration names them."""


def parse_name(text: str) -> str:
    value = " ".join(text.split())
    if len(value) > NAME_MAX:
        raise ValidationError(_("Keep the name under %(n)s characters.") % {"n": NAME_MAX})
    return value


def type_id(session: Session, keys: tuple[str, ...]) -> int | None:
    found = dict(
        session.execute(select(RelationshipType.key, RelationshipType.id).where(RelationshipType.key.in_(keys))).all()
    )
    return next((found[k] for k in keys if k in found), None)


def name_key(name: str) -> str:
    """An organisation's ``name_key`` as :func:`.parties.keys_for` makes it (quotes left out): «Ромашка» is
    found as the same organisation it was created as."""
    return search_key(name.translate(QUOTES))


def organisations_by_name(session: Session, names: list[str]) -> dict[str, int]:
    """Live organisations by their name's search key (the oldest wins), system scope, one indexed query."""
    keys = sorted({name_key(n) for n in names if n})
    found: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = session.execute(
            select(Party.name_key, Party.id)
            .where(Party.kind == ORGANISATION, Party.name_key.in_(chunk), Party.deleted_at.is_(None))
            .order_by(Party.id)
        )
        for key, party_id in rows:
            found.setdefault(key, party_id)
    return found


def _create_organisations(ctx: AfterBatch, names: list[str]) -> dict[str, int]:
    kind = ctx.kinds["organisation"]
    wanted = {name_key(n): n for n in names}
    rows = [(None, {"name": name, "owner_user_id": ctx.user.id}) for name in wanted.values()]
    outcomes = save_batch(ctx.session, kind, rows, actor=ctx.user.id)
    return {key: o.record_id for key, o in zip(wanted, outcomes, strict=True) if o.record_id is not None}


def link(ctx: AfterBatch, type_keys: tuple[str, ...], pairs: list[tuple[Pending, int]]) -> list[Pending]:
    """Relationships (A = the row's record, B = the named party) of the first type found; existing links are
    left alone. Returns the pairs that failed, with the reason."""
    rel_type = type_id(ctx.session, type_keys)
    if rel_type is None or not pairs:
        return []
    a_ids = sorted({item[1] for item, _b in pairs})
    existing = set(
        ctx.session.execute(
            select(Relationship.a_id, Relationship.b_id).where(
                Relationship.type_id == rel_type, Relationship.a_id.in_(a_ids)
            )
        ).all()
    )
    todo: list[tuple[Pending, int]] = []
    for item, b_id in pairs:
        if item[1] != b_id and (item[1], b_id) not in existing:
            existing.add((item[1], b_id))
            todo.append((item, b_id))
    rows = [(None, {"type_id": rel_type, "a_id": item[1], "b_id": b_id}) for item, b_id in todo]
    # held while the batch is saved: the session's identity map is weak, and each row's rule check asks for
    # the type by id (``session.get``): loaded once here, it is found in memory instead of queried per row
    held = ctx.session.get(RelationshipType, rel_type)
    outcomes = save_batch(ctx.session, ctx.kinds["relationship"], rows, actor=ctx.user.id) if rows else []
    del held
    return [
        (item[0], item[1], item[2], "; ".join(o.errors.values()))
        for (item, _b), o in zip(todo, outcomes, strict=True)
        if o.outcome == "failed"
    ]


def employer_after(ctx: AfterBatch, items: list[Pending]) -> list[Pending]:
    """Find or create each named organisation, then link the person to it as an employee."""
    names = [str(value) for _n, _rid, value, _r in items if value]
    found = organisations_by_name(ctx.session, names)
    missing = [n for n in names if name_key(n) not in found]
    if missing:
        found.update(_create_organisations(ctx, missing))
    pairs = [(item, found[name_key(item[2])]) for item in items if item[2] and name_key(item[2]) in found]
    failed = link(ctx, EMPLOYMENT, pairs)
    return failed if ctx.final else []  # an employer never appears later: nothing to wait for


def subsidiary_after(ctx: AfterBatch, items: list[Pending]) -> list[Pending]:
    """Link each organisation to its parent by name; a parent not there yet waits for the end."""
    found = organisations_by_name(ctx.session, [str(v) for _n, _rid, v, _r in items if v])
    pairs, waiting = [], []
    for item in items:
        parent = found.get(name_key(str(item[2])))
        if parent is None:
            reason = _("There is no organisation called “%(name)s”.") % {"name": item[2]}
            waiting.append((item[0], item[1], item[2], reason))
        elif parent == item[1]:
            waiting.append((item[0], item[1], item[2], _("An organisation cannot be its own parent.")))
        else:
            pairs.append((item, parent))
    failed = link(ctx, SUBSIDIARY, pairs)
    return waiting + failed


def person_targets(session: Session, lookups: Lookups) -> list[Target]:
    return [
        Target(
            "employer",
            _("Employer (organisation name)"),
            parse_name,
            after=employer_after,
            aliases=(
                "company",
                "organisation",
                "organization",
                "employer",
                "компанія",
                "організація",
                "роботодавець",
                "org",
            ),
        )
    ]


def organisation_targets(session: Session, lookups: Lookups) -> list[Target]:
    return [
        Target(
            "subsidiary_of",
            _("Subsidiary of (organisation name)"),
            parse_name,
            after=subsidiary_after,
            aliases=("parent", "parent company", "материнська компанія", "дочірня компанія від"),
        )
    ]

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

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.imports_targets import AfterBatch, Lookups, Pending, Target
from voronka.core.search_keys import search_key
from voronka.core.writes import save_batch

from .batch_relationships import all_types
from .models import NAME_MAX, ORGANISATION, Party, Relationship
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
    """The first of ``keys`` that names a relationship type (types loaded once per transaction and held,
    so each tie's rule check finds its type in memory: :func:`.batch_relationships.all_types`)."""
    found = {t.key: t.id for t in all_types(session)}
    return next((found[k] for k in keys if k in found), None)


def name_key(name: str) -> str:
    """An organisation's ``name_key`` as :func:`.parties.keys_for` makes it (quotes left out): «Ромашка» is
    found as the same organisation it was created as."""
    return search_key(name.translate(QUOTES))


def organisations_by_name(session: Session, names: list[str], keys: dict[str, str] | None = None) -> dict[str, int]:
    """Live organisations by their name's search key (the oldest wins), system scope, one indexed query per
    500 names (ordered as the (kind, name_key, id) index is: ordered by id alone, SQLite without statistics
    walks every live party instead)."""
    wanted = sorted({keys[n] if keys is not None else name_key(n) for n in names if n})
    found: dict[str, int] = {}
    connection = session.connection()
    for start in range(0, len(wanted), 500):
        for key, party_id, deleted in connection.execute(_ORGS_NAMED, {"keys": wanted[start : start + 500]}):
            if deleted is None:
                found.setdefault(key, party_id)
    return found


_ORGS_NAMED = (
    select(Party.name_key, Party.id, Party.deleted_at)
    .where(Party.kind == ORGANISATION, Party.name_key.in_(bindparam("keys", expanding=True)))
    .order_by(Party.name_key, Party.id)
)
"""Built once; the recycle bin left out in Python (``deleted_at IS NULL`` in SQL walks the deleted_at index
over every party when statistics are missing or stale)."""


def _create_organisations(ctx: AfterBatch, names: list[str], keys: dict[str, str]) -> dict[str, int]:
    kind = ctx.kinds["organisation"]
    wanted = {keys[n]: n for n in names}
    rows = [(None, {"name": name, "owner_user_id": ctx.user.id}) for name in wanted.values()]
    outcomes = save_batch(ctx.session, kind, rows, actor=ctx.user.id)
    return {key: o.record_id for key, o in zip(wanted, outcomes, strict=True) if o.record_id is not None}


_EXISTING = select(Relationship.a_id, Relationship.b_id).where(
    Relationship.type_id == bindparam("type"), Relationship.a_id.in_(bindparam("ids", expanding=True))
)
"""Built once: an import links every batch, and building a statement costs more than running it."""


def link(ctx: AfterBatch, type_keys: tuple[str, ...], pairs: list[tuple[Pending, int]]) -> list[Pending]:
    """Relationships (A = the row's record, B = the named party) of the first type found; existing links are
    left alone. Returns the pairs that failed, with the reason."""
    rel_type = type_id(ctx.session, type_keys)
    if rel_type is None or not pairs:
        return []
    a_ids = sorted({item[1] for item, _b in pairs})
    existing: set[tuple[int, int]] = set()
    connection = ctx.session.connection()
    for start in range(0, len(a_ids), 500):
        chunk = a_ids[start : start + 500]
        existing.update((a, b) for a, b in connection.execute(_EXISTING, {"type": rel_type, "ids": chunk}))
    todo: list[tuple[Pending, int]] = []
    for item, b_id in pairs:
        if item[1] != b_id and (item[1], b_id) not in existing:
            existing.add((item[1], b_id))
            todo.append((item, b_id))
    rows = [(None, {"type_id": rel_type, "a_id": item[1], "b_id": b_id}) for item, b_id in todo]
    outcomes = save_batch(ctx.session, ctx.kinds["relationship"], rows, actor=ctx.user.id) if rows else []
    return [
        (item[0], item[1], item[2], "; ".join(o.errors.values()))
        for (item, _b), o in zip(todo, outcomes, strict=True)
        if o.outcome == "failed"
    ]


def employer_after(ctx: AfterBatch, items: list[Pending]) -> list[Pending]:
    """Find or create each named organisation, then link the person to it as an employee."""
    names = [str(value) for _n, _rid, value, _r in items if value]
    keys = {name: name_key(name) for name in set(names)}  # each distinct name folded once
    found = organisations_by_name(ctx.session, list(keys), keys)
    missing = [n for n in names if keys[n] not in found]
    if missing:
        found.update(_create_organisations(ctx, missing, keys))
    pairs = [(item, found[keys[str(item[2])]]) for item in items if item[2] and keys[str(item[2])] in found]
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

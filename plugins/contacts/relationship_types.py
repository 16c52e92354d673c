"""Relationship types: the built-in set (mirrored by migration contacts_0002), the picker's options as seen
from one party, and the admin page where managers add, edit and archive types.

Types are configuration, not records: they are few, edited by admins, and read on every card, so they are
plain rows (no audit), and a type in use is archived rather than deleted so existing ties keep their words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, literal, select, union_all
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.handlers import db, form_dict, go_to, runtime
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.search_keys import search_key
from voronka.core.security.markers import requires
from voronka.core.templating import render

from .kinds import MANAGE
from .models import CATEGORIES, ORGANISATION, PERSON, Relationship, RelationshipType

CATEGORY_LABELS = {"business": N_("Business"), "family": N_("Family"), "social": N_("Social")}
KIND_LABELS = {PERSON: N_("Person"), ORGANISATION: N_("Organisation"), "any": N_("Anyone")}
ROLE_MAX = 120

# The built-in roles as gettext sees them (the migration stores the same English words).
BUILTIN_TYPES: tuple[tuple[str, str, str, str], ...] = (
    ("employment", "business", N_("Employee"), N_("Employer")),
    ("colleague", "business", N_("Colleague"), N_("Colleague")),
    ("subsidiary", "business", N_("Subsidiary"), N_("Parent company")),
    ("decision_maker", "business", N_("Decision maker"), ""),
    ("influencer", "business", N_("Influencer"), ""),
    ("champion", "business", N_("Champion"), ""),
    ("partner", "business", N_("Partner"), N_("Partner")),
    ("supplier", "business", N_("Supplier"), N_("Customer")),
    ("contact_person", "business", N_("Contact person"), N_("Represented party")),
    ("spouse", "family", N_("Spouse"), N_("Spouse")),
    ("child", "family", N_("Child"), N_("Parent")),
    ("sibling", "family", N_("Sibling"), N_("Sibling")),
    ("friend", "social", N_("Friend"), N_("Friend")),
    ("acquaintance", "social", N_("Acquaintance"), N_("Acquaintance")),
    ("referral", "social", N_("Referral"), N_("Referrer")),
)


def fits(kinds: str, party_kind: str) -> bool:
    return kinds == "any" or kinds == party_kind


def all_types(session: Session) -> list[RelationshipType]:
    """Every type in picker order (a small table, read once per request)."""
    order = (RelationshipType.category, RelationshipType.position, RelationshipType.id)
    return list(session.scalars(select(RelationshipType).order_by(*order)))


@dataclass(frozen=True)
class RoleOption:
    """One entry of the quick-add picker: this party stands on ``side`` of ``type``."""

    value: str  # "<type id>:<a|b>"
    label: str
    category: str


def role_options(types: list[RelationshipType], party_kind: str) -> list[tuple[str, list[RoleOption]]]:
    """The roles this party can take, as it would say them ("Employee of…", "Employer of…"), grouped by
    category; archived types are left out."""
    grouped: dict[str, list[RoleOption]] = {c: [] for c in CATEGORIES}
    for rtype in types:
        if rtype.archived:
            continue
        if fits(rtype.a_kinds, party_kind):
            text = _("%(role)s at…") if rtype.one_sided else _("%(role)s of…")
            grouped[rtype.category].append(RoleOption(f"{rtype.id}:a", text % {"role": _(rtype.a_role)},
                                                      rtype.category))  # fmt: skip
        if not rtype.one_sided and not rtype.symmetric and fits(rtype.b_kinds, party_kind):
            text = _("%(role)s of…") % {"role": _(rtype.b_role)}
            grouped[rtype.category].append(RoleOption(f"{rtype.id}:b", text, rtype.category))
    return [(_(CATEGORY_LABELS[c]), grouped[c]) for c in CATEGORIES if grouped[c]]


def parse_role(raw: str, types: list[RelationshipType]) -> tuple[RelationshipType, str] | None:
    """(type, side) from a picker value, or None when it names no type."""
    match = re.fullmatch(r"(\d{1,9}):([ab])", raw or "")
    if match is None:
        return None
    found = next((t for t in types if t.id == int(match.group(1))), None)
    return None if found is None else (found, match.group(2))


# -- the admin page ---------------------------------------------------------------------------------------

FLAGS = ("hierarchy", "influence")


def read_type_form(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Cleaned values and errors per field of the add/edit form."""
    values: dict[str, Any] = {
        "category": form.get("category", ""),
        "a_role": " ".join(form.get("a_role", "").split()),
        "b_role": " ".join(form.get("b_role", "").split()),
        "a_kinds": form.get("a_kinds", "any"),
        "b_kinds": form.get("b_kinds", "any"),
        "hierarchy": form.get("hierarchy") == "on",
        "influence": form.get("influence") == "on",
    }
    if form.get("shape") == "symmetric":
        values["b_role"] = values["a_role"]
        values["b_kinds"] = values["a_kinds"]
    elif form.get("shape") == "one_sided":
        values["b_role"] = ""
    errors: dict[str, str] = {}
    if values["category"] not in CATEGORIES:
        errors["category"] = _("Choose business, family or social.")
    if not values["a_role"]:
        errors["a_role"] = _("Name the role of the first party (“Employee”).")
    elif len(values["a_role"]) > ROLE_MAX:
        errors["a_role"] = _("Keep the role under %(n)s characters.") % {"n": ROLE_MAX}
    if len(values["b_role"]) > ROLE_MAX:
        errors["b_role"] = _("Keep the role under %(n)s characters.") % {"n": ROLE_MAX}
    if form.get("shape") == "reciprocal" and not values["b_role"]:
        errors["b_role"] = _("Name the role of the second party (“Employer”), or make the type one-sided.")
    for field in ("a_kinds", "b_kinds"):
        if values[field] not in KIND_LABELS:
            errors[field] = _("Choose person, organisation or anyone.")
    if values["hierarchy"] and (values["a_kinds"] != ORGANISATION or values["b_kinds"] != ORGANISATION):
        errors["hierarchy"] = _("A holding structure links organisations to organisations.")
    if values["hierarchy"] and (not values["b_role"] or values["b_role"] == values["a_role"]):
        errors["hierarchy"] = _("A holding structure needs two different roles (subsidiary and parent).")
    return values, errors


def unique_key(session: Session, role: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", search_key(role)).strip("_")[:40] or "type"
    taken = set(session.scalars(select(RelationshipType.key).where(RelationshipType.key.like(f"{base}%"))))
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}_{n}"
    return key


USAGE_CAP = 1000


class Usage(int):
    """A capped count of ties: above :data:`USAGE_CAP` it shows as "1000+" (the number is still truthy)."""

    def __str__(self) -> str:
        return f"{USAGE_CAP}+" if self > USAGE_CAP else int.__str__(self)

    __html__ = __str__


def type_usage(session: Session, type_ids: list[int]) -> dict[int, int]:
    """Ties per type for ``type_ids``, each count stopping after :data:`USAGE_CAP` + 1 rows read from the type
    index: O(types) on every admin view, not a GROUP BY over every relationship."""
    if not type_ids:
        return {}
    r = Relationship
    parts = [
        select(literal(type_id).label("type_id"), func.count().label("n")).select_from(
            select(r.id).where(r.type_id == type_id).limit(USAGE_CAP + 1).subquery()
        )
        for type_id in type_ids
    ]
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    return {type_id: Usage(n) for type_id, n in session.execute(query) if n}


def types_context(request: Request, **extra: Any) -> dict[str, Any]:
    session = db(request)
    types = all_types(session)
    ctx: dict[str, Any] = {
        "types": types,
        "usage": type_usage(session, [t.id for t in types]),
        "categories": [(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
        "category_labels": CATEGORY_LABELS,
        "kind_labels": KIND_LABELS,
        "form": {"category": "business", "shape": "reciprocal", "a_kinds": "any", "b_kinds": "any"},
        "errors": {},
        "editing": None,
        "saved": request.query_params.get("saved"),
    }
    ctx.update(extra)
    return ctx


def shape_of(rtype: RelationshipType) -> str:
    return "one_sided" if rtype.one_sided else "symmetric" if rtype.symmetric else "reciprocal"


def type_or_404(session: Session, type_id: Any) -> RelationshipType:
    parsed = parse_id(type_id)
    found = session.get(RelationshipType, parsed) if parsed is not None else None
    if found is None:
        raise HTTPException(404, _("There is no such relationship type."))
    return found


@requires(MANAGE)
async def type_list(request: Request) -> Response:
    return render(request, "contacts/relationship_types.html", types_context(request), block="types")


@requires(MANAGE)
async def type_create(request: Request) -> Response:
    form = await form_dict(request)
    values, errors = read_type_form(form)
    if not errors:
        with write_transaction(runtime(request).sessions) as session:
            top = session.scalar(select(func.max(RelationshipType.position))) or 0
            session.add(RelationshipType(key=unique_key(session, values["a_role"]), position=top + 10, **values))
        return go_to(request, "/contacts/relationship-types?saved=1")
    ctx = types_context(request, form=form, errors=errors)
    return render(request, "contacts/relationship_types.html", ctx, block="add", status_code=400)


@requires(MANAGE)
async def type_edit(request: Request) -> Response:
    rtype = type_or_404(db(request), request.path_params["type_id"])
    form = {"category": rtype.category, "a_role": rtype.a_role, "b_role": rtype.b_role, "a_kinds": rtype.a_kinds,
            "b_kinds": rtype.b_kinds, "hierarchy": rtype.hierarchy, "influence": rtype.influence,
            "shape": shape_of(rtype)}  # fmt: skip
    ctx = types_context(request, editing=rtype, form=form)
    return render(request, "contacts/relationship_types.html", ctx, block="types")


@requires(MANAGE)
async def type_update(request: Request) -> Response:
    session = db(request)
    rtype = type_or_404(session, request.path_params["type_id"])
    form = await form_dict(request)
    values, errors = read_type_form(form)
    used = type_usage(session, [rtype.id]).get(rtype.id, 0)
    if used and not errors and values["hierarchy"] != rtype.hierarchy:
        errors["hierarchy"] = _("This type is in use; add a new type instead of changing what it means.")
    if not errors:
        with write_transaction(runtime(request).sessions) as tx:
            target = tx.get(RelationshipType, rtype.id)
            for name, value in values.items():
                setattr(target, name, value)
        return go_to(request, "/contacts/relationship-types?saved=1")
    ctx = types_context(request, editing=rtype, form=form, errors=errors)
    return render(request, "contacts/relationship_types.html", ctx, block="types", status_code=400)


@requires(MANAGE)
async def type_archive(request: Request) -> Response:
    """Archive (or bring back) a type: archived types leave the picker; existing ties keep showing."""
    type_id = type_or_404(db(request), request.path_params["type_id"]).id
    archive = (await form_dict(request)).get("archived", "1") == "1"
    with write_transaction(runtime(request).sessions) as session:
        session.get(RelationshipType, type_id).archived = archive
    return go_to(request, "/contacts/relationship-types?saved=1")


@requires(MANAGE)
async def type_delete(request: Request) -> Response:
    """Delete a type nobody uses (and that is not built in); a used one can only be archived."""
    session = db(request)
    rtype = type_or_404(session, request.path_params["type_id"])
    used = session.scalar(select(exists().where(Relationship.type_id == rtype.id)))
    if used or rtype.builtin:
        message = (_("This type is in use: archive it instead, so existing relationships keep their words.")
                   if used else _("Built-in types cannot be deleted; archive it instead."))  # fmt: skip
        ctx = types_context(request, action_error=message)
        return render(request, "contacts/relationship_types.html", ctx, block="types", status_code=409)
    with write_transaction(runtime(request).sessions) as tx:
        tx.delete(tx.get(RelationshipType, rtype.id))
    return go_to(request, "/contacts/relationship-types?saved=1")


routes = [
    Route("/relationship-types", type_list, methods=["GET"], name="relationship_types"),
    Route("/relationship-types", type_create, methods=["POST"], name="relationship_type_create"),
    Route("/relationship-types/{type_id:int}", type_edit, methods=["GET"], name="relationship_type"),
    Route("/relationship-types/{type_id:int}", type_update, methods=["POST"], name="relationship_type_update"),
    Route("/relationship-types/{type_id:int}/archive", type_archive, methods=["POST"],
          name="relationship_type_archive"),
    Route("/relationship-types/{type_id:int}/delete", type_delete, methods=["POST"],
          name="relationship_type_delete"),
]  # fmt: skip

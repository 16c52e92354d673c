"""What a qualified lead can become that leads itself offers: a person and an organisation of contacts
(leads' answers to its own ``qualification_outcomes`` hook; pipeline adds the opportunity).

Both are written through core's write path, so contacts' rules (names, e-mail and phone checks, search
keys), audit and events apply as on the customer card. The organisation is made first; the person is then
tied to it as an employee (contacts' ``employment`` relationship, again through the write path) by
:func:`tie_person`, which the qualify service calls whether each of them was created or linked.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core import custom_fields
from voronka.core.errors import ValidationError
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.writes import save
from voronka.plugins.contacts.api import Relationship, RelationshipType

from .mapping import CUSTOM, write_values

log = logging.getLogger(__name__)

ORGANISATION, PERSON = "leads.organisation", "leads.person"
EMPLOYMENT = "employment"

FIELD_LABELS: dict[str, str] = {
    "name": N_("Name"), "legal_name": N_("Legal name"), "registration_no": N_("Registration number"),
    "industry": N_("Industry"), "first_name": N_("First name"), "middle_name": N_("Middle name"),
    "last_name": N_("Last name"), "job_title": N_("Job title"), "birthday": N_("Birthday"),
    "description": N_("Description"), "primary_email": N_("E-mail"), "primary_phone": N_("Phone"),
    "city": N_("City"), "country": N_("Country"), "do_not_contact": N_("Do not contact"),
    "marketing_consent": N_("Marketing consent"), "consent_at": N_("Consent given at"),
    "consent_source": N_("Consent source"),
}  # fmt: skip
ORGANISATION_TARGETS = ("name", "legal_name", "registration_no", "industry", "description", "primary_email",
                        "primary_phone", "city", "country")  # fmt: skip
PERSON_TARGETS = ("first_name", "middle_name", "last_name", "job_title", "birthday", "description", "primary_email",
                  "primary_phone", "city", "country", "do_not_contact", "marketing_consent", "consent_at",
                  "consent_source")  # fmt: skip

ORGANISATION_DEFAULTS = {"name": "lead.company", "city": "lead.city", "country": "lead.country"}
"""The company's own name and place; the lead's e-mail and phone are the person's (a work address on the
organisation would make every colleague's lead look like a duplicate of it)."""
PERSON_DEFAULTS = {
    "first_name": "lead.first_name", "last_name": "lead.last_name", "job_title": "lead.job_title",
    "primary_email": "lead.email", "primary_phone": "lead.phone", "city": "lead.city", "country": "lead.country",
    "marketing_consent": "lead.marketing_consent", "consent_at": "lead.consent_at",
    "consent_source": "lead.consent_text",
}  # fmt: skip


def _targets(kind_name: str, plain: tuple[str, ...]) -> Any:
    def fields(session: Session) -> list[tuple[str, str]]:
        """The kind's writable fields and its custom fields as ``custom.<key>``."""
        found = [(name, _(FIELD_LABELS[name])) for name in plain]
        found += [(CUSTOM + f.key, f.label) for f in custom_fields.definitions(session, kind_name)]
        return found

    return fields


def owner_values(ctx: Any) -> dict[str, Any]:
    """The lead's owner (a user, else its team queue), else whoever qualifies it."""
    lead = ctx.lead
    if lead.get("owner_user_id"):
        return {"owner_user_id": lead["owner_user_id"], "owner_team_id": None}
    if lead.get("owner_team_id"):
        return {"owner_user_id": None, "owner_team_id": lead["owner_team_id"]}
    actor = ctx.actor if isinstance(ctx.actor, int) else getattr(ctx.actor, "id", None)
    return {"owner_user_id": actor, "owner_team_id": None}


def _kinds(ctx: Any) -> Any:
    kinds = getattr(ctx, "kinds", None)
    if kinds is None:
        raise RuntimeError("the qualification context carries no record kinds (ctx.kinds)")
    return kinds


def create_organisation(ctx: Any) -> int:
    values = write_values(ctx.values)
    if not (values.get("name") or "").strip():
        raise ValidationError({"name": _("The lead has no company name to create the organisation from.")})
    record = save(ctx.session, _kinds(ctx)["organisation"], None, {**values, **owner_values(ctx)}, actor=ctx.actor)
    return int(record.id)


def create_person(ctx: Any) -> int:
    values = write_values(ctx.values)
    if not any((values.get(name) or "").strip() for name in ("first_name", "last_name")):
        raise ValidationError({"name": _("The lead has no name of a person to create the person from.")})
    record = save(ctx.session, _kinds(ctx)["person"], None, {**values, **owner_values(ctx)}, actor=ctx.actor)
    return int(record.id)


def tie_person(session: Session, kinds: Any, actor: Any, person_id: int, organisation_id: int, *,
               fresh: bool = False) -> int | None:  # fmt: skip
    """Make the person an employee of the organisation (contacts' ``employment`` type, through the write
    path and contacts' rules) unless a current tie of that type exists (``fresh``: one of them was just
    made, so none can); returns the new tie's id."""
    type_id = session.scalar(
        select(RelationshipType.id).where(RelationshipType.key == EMPLOYMENT, RelationshipType.archived.is_(False))
    )
    if type_id is None:
        log.warning("no live relationship type %r: the person is not tied to the organisation", EMPLOYMENT)
        return None
    existing = (
        None
        if fresh
        else session.scalar(
            select(Relationship.id).where(
                Relationship.type_id == type_id,
                Relationship.a_id == person_id,
                Relationship.b_id == organisation_id,
                Relationship.valid_to.is_(None),
            )
        )
    )
    if existing is not None:
        return None
    values = {"type_id": type_id, "a_id": person_id, "b_id": organisation_id}
    return int(save(session, kinds["relationship"], None, values, actor=actor).id)


def own_outcomes() -> list[dict[str, Any]]:
    return [
        {"key": ORGANISATION, "label": N_("Organisation"), "kind": "organisation", "after": (), "default": True,
         "fields": _targets("organisation", ORGANISATION_TARGETS), "defaults": dict(ORGANISATION_DEFAULTS),
         "create": create_organisation},
        {"key": PERSON, "label": N_("Person"), "kind": "person", "after": (ORGANISATION,), "default": True,
         "fields": _targets("person", PERSON_TARGETS), "defaults": dict(PERSON_DEFAULTS), "create": create_person},
    ]  # fmt: skip

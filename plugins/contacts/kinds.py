"""The record kinds contacts registers with core: person, organisation (one party table), relationship and
activity. Core's record services (write path, audit, tags, custom fields, attachments, recycle bin,
import/export) work on them through these definitions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select

from voronka.core.records import RecordKind
from voronka.core.security.visibility import visible

from . import duplicates, kind_imports
from .models import Activity, Organisation, Party, Person, Relationship

VIEW, EDIT, MANAGE = "contacts.view", "contacts.edit", "contacts.manage"

SHARED = ("description", "primary_email", "primary_phone", "city", "country", "do_not_contact",
          "marketing_consent", "consent_at", "consent_source", "owner_user_id", "owner_team_id")  # fmt: skip
PERSON_FIELDS = ("name", "first_name", "middle_name", "last_name", "job_title", "birthday", *SHARED)
ORGANISATION_FIELDS = ("name", "legal_name", "registration_no", "industry", *SHARED)
RELATIONSHIP_FIELDS = ("type_id", "a_id", "b_id", "valid_from", "valid_to", "note")
ACTIVITY_FIELDS = ("type", "subject", "body", "ref_kind", "ref_id", "occurred_at", "ends_at", "due_at", "done",
                   "done_at", "direction", "duration_minutes", "outcome", "location", "owner_user_id",
                   "owner_team_id")  # fmt: skip


def card_url(party_id: int) -> str:
    return f"/contacts/{party_id}"


def party_visible(party_id: Any, user: Any) -> ColumnElement[bool]:
    """``party_id`` (a column) points at a live party ``user`` may see."""
    return exists(select(Party.id).where(Party.id == party_id, Party.deleted_at.is_(None), visible(Party, user)))


def relationship_visibility(user: Any) -> ColumnElement[bool]:
    """A relationship is seen by whoever sees both of its parties."""
    return and_(party_visible(Relationship.a_id, user), party_visible(Relationship.b_id, user))


PERSON_KIND = RecordKind(
    name="person",
    label="Person",
    model=Person,
    url=card_url,
    display=lambda party: party.name,
    duplicates=duplicates.person_candidates,
    duplicates_many=duplicates.person_candidates_many,
    fields=PERSON_FIELDS,
    references=(),
    view_permission=VIEW,
    edit_permission=EDIT,
    import_targets=kind_imports.person_targets,
    import_sources=kind_imports.SOURCES,
)

ORGANISATION_KIND = RecordKind(
    name="organisation",
    label="Organisation",
    model=Organisation,
    url=card_url,
    display=lambda party: party.name,
    duplicates=duplicates.organisation_candidates,
    duplicates_many=duplicates.organisation_candidates_many,
    fields=ORGANISATION_FIELDS,
    view_permission=VIEW,
    edit_permission=EDIT,
    import_targets=kind_imports.organisation_targets,
    import_sources=kind_imports.SOURCES,
)

RELATIONSHIP_KIND = RecordKind(
    name="relationship",
    label="Relationship",
    model=Relationship,
    url=lambda rel_id: f"/contacts/relationships/{rel_id}",
    display=lambda rel: f"#{rel.id}",
    visibility=relationship_visibility,
    fields=RELATIONSHIP_FIELDS,
    view_permission=VIEW,
    edit_permission=EDIT,
)

ACTIVITY_KIND = RecordKind(
    name="activity",
    label="Activity",
    model=Activity,
    url=lambda activity_id: f"/contacts/activities/{activity_id}",
    display=lambda activity: activity.subject,
    fields=ACTIVITY_FIELDS,
    references=(("ref_kind", "ref_id"),),
    view_permission=VIEW,
    edit_permission=EDIT,
)

KINDS = [PERSON_KIND, ORGANISATION_KIND, RELATIONSHIP_KIND, ACTIVITY_KIND]
PARTY_KIND_NAMES = ("person", "organisation")

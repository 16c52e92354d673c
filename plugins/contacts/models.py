"""Contacts' tables. Their schema lives in migrations/versions, never created at run time.

People and organisations share ``contacts_party`` (single-table inheritance on ``kind``), so relationships,
activities and other plugins point at either with one id. Contact points and addresses are child rows; the
primary e-mail, phone and city are also kept on the party row, written through core's write path (audited,
importable, listed without a join), and the child rows follow them (see ``points``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from voronka.core.db import Base
from voronka.core.models import CustomFieldsMixin, OwnedMixin, SoftDeleteMixin, VersionedMixin
from voronka.core.types import SearchKey, UTCDateTime, utcnow

from .city_keys import CITY_KEY_MAX, city_key

PERSON, ORGANISATION = "person", "organisation"
PARTY_KINDS = (PERSON, ORGANISATION)
NAME_MAX = 300
EMAIL_MAX = 254
PHONE_MAX = 40

CHANNELS = ("email", "phone", "web", "messenger")
ACTIVITY_TYPES = ("note", "call", "meeting", "task")
CATEGORIES = ("business", "family", "social")


class Party(OwnedMixin, VersionedMixin, CustomFieldsMixin, SoftDeleteMixin, Base):
    """A person or an organisation. ``name`` is what people see (a person's is composed from the name
    parts). ``name_key`` and ``alt_key`` are casefolded, transliterated keys for prefix search: a person's
    ``name_key`` starts with the last name (lists sort by it) and ``alt_key`` with the first name; an
    organisation's ``name_key`` is its name and ``alt_key`` its name without the legal form ("ТОВ", "LLC").
    ``city_key`` is ``city`` folded the same way (:mod:`.city_keys`), for search by city without a join."""

    __tablename__ = "contacts_party"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    name_key: Mapped[str] = mapped_column(SearchKey(NAME_MAX), default="")
    alt_key: Mapped[str] = mapped_column(SearchKey(NAME_MAX), default="")
    # a person
    first_name: Mapped[str] = mapped_column(String(120), default="")
    middle_name: Mapped[str] = mapped_column(String(120), default="")
    last_name: Mapped[str] = mapped_column(String(120), default="")
    job_title: Mapped[str] = mapped_column(String(200), default="")
    birthday: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # an organisation
    legal_name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    registration_no: Mapped[str] = mapped_column(String(60), default="")
    industry: Mapped[str] = mapped_column(String(120), default="")
    # both
    description: Mapped[str] = mapped_column(Text, default="")
    primary_email: Mapped[str] = mapped_column(String(EMAIL_MAX), default="")
    primary_phone: Mapped[str] = mapped_column(String(PHONE_MAX), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    city_key: Mapped[str] = mapped_column(SearchKey(CITY_KEY_MAX), default="", server_default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consent_source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __mapper_args__: ClassVar[dict[str, Any]] = {"polymorphic_on": "kind", "polymorphic_abstract": True}
    __table_args__ = (
        CheckConstraint("kind IN ('person', 'organisation')", name="kind"),
        Index("ix_contacts_party_kind_name", "kind", "name_key", "id"),  # lists sorted by name, prefix search
        Index("ix_contacts_party_kind_alt", "kind", "alt_key", "id"),
        Index("ix_contacts_party_kind_created", "kind", "created_at", "id"),
        Index("ix_contacts_party_kind_updated", "kind", "updated_at", "id"),
        # a viewer who sees their own (and their queues') records searches along these, not the whole range
        Index("ix_contacts_party_owner_kind_name", "owner_user_id", "kind", "name_key", "id"),
        Index("ix_contacts_party_owner_kind_alt", "owner_user_id", "kind", "alt_key", "id"),
        Index("ix_contacts_party_team_kind_name", "owner_team_id", "kind", "name_key", "id"),
        Index("ix_contacts_party_team_kind_alt", "owner_team_id", "kind", "alt_key", "id"),
        Index("ix_contacts_party_email", "primary_email"),
        Index("ix_contacts_party_kind_city_key", "kind", "city_key", "id"),  # search by city, as by name
        Index("ix_contacts_party_owner_kind_city", "owner_user_id", "kind", "city_key", "id"),
        Index("ix_contacts_party_team_kind_city", "owner_team_id", "kind", "city_key", "id"),
    )


@event.listens_for(Party, "before_insert", propagate=True)
def _new_city_key(_mapper: Any, _connection: Any, party: Party) -> None:
    """The city key follows the city on every ORM write, whatever path set the city (forms, imports, merge,
    the card's primary address); only bulk rows (the seed) write it themselves."""
    party.city_key = city_key(party.city)


@event.listens_for(Party, "before_update", propagate=True)
def _changed_city_key(_mapper: Any, _connection: Any, party: Party) -> None:
    if inspect(party).attrs.city.history.has_changes():
        party.city_key = city_key(party.city)


class Person(Party):
    __mapper_args__: ClassVar[dict[str, Any]] = {"polymorphic_identity": PERSON}


class Organisation(Party):
    __mapper_args__: ClassVar[dict[str, Any]] = {"polymorphic_identity": ORGANISATION}


class ContactPoint(Base):
    """An e-mail address, phone number, web site or messenger handle of a party, typed (``label``: work,
    home, mobile, telegram…) with one primary per channel. ``value_key`` is the normalised form that search
    and duplicate matching compare: lower-cased e-mail, E.164 phone, host and path of a URL."""

    __tablename__ = "contacts_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("contacts_party.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(40), default="")
    value: Mapped[str] = mapped_column(String(300))
    value_key: Mapped[str] = mapped_column(SearchKey(300))  # compared byte-wise: prefix ranges on any collation
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("channel IN ('email', 'phone', 'web', 'messenger')", name="channel"),
        Index("ix_contacts_point_party", "party_id", "channel", "position"),
        Index("ix_contacts_point_key", "channel", "value_key"),
    )


class Address(Base):
    """A postal address of a party, typed (``label``: work, home, billing, delivery…), one primary."""

    __tablename__ = "contacts_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("contacts_party.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(40), default="")
    street: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    city_key: Mapped[str] = mapped_column(SearchKey(120), default="")
    region: Mapped[str] = mapped_column(String(120), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_contacts_address_party", "party_id", "position"),
        Index("ix_contacts_address_city", "city_key", "party_id"),
    )


class RelationshipType(Base):
    """A kind of tie between two parties, A and B.

    ``a_role`` is what A is to B ("Employee"), ``b_role`` what B is to A ("Employer"); the same word on both
    sides makes it symmetric ("Colleague"); an empty ``b_role`` makes it one-sided ("Decision maker" at an
    organisation: B plays no role). ``a_kinds``/``b_kinds`` say which party kinds may stand on each side
    ("person", "organisation" or "any"). ``hierarchy`` types (subsidiary → parent) form holding trees and
    may not make a cycle; ``influence`` types answer "who influences decisions here".
    """

    __tablename__ = "contacts_relationship_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    category: Mapped[str] = mapped_column(String(20))
    a_role: Mapped[str] = mapped_column(String(120))
    b_role: Mapped[str] = mapped_column(String(120), default="")
    a_kinds: Mapped[str] = mapped_column(String(20), default="any")
    b_kinds: Mapped[str] = mapped_column(String(20), default="any")
    hierarchy: Mapped[bool] = mapped_column(Boolean, default=False)
    influence: Mapped[bool] = mapped_column(Boolean, default=False)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("category IN ('business', 'family', 'social')", name="category"),
        CheckConstraint("a_kinds IN ('person', 'organisation', 'any')", name="a_kinds"),
        CheckConstraint("b_kinds IN ('person', 'organisation', 'any')", name="b_kinds"),
    )

    @property
    def symmetric(self) -> bool:
        return self.a_role == self.b_role

    @property
    def one_sided(self) -> bool:
        return not self.b_role


class Relationship(VersionedMixin, Base):
    """A tie of ``type`` between party A and party B, valid from/to (either open), with a note."""

    __tablename__ = "contacts_relationship"

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("contacts_relationship_type.id", ondelete="RESTRICT"))
    a_id: Mapped[int] = mapped_column(ForeignKey("contacts_party.id", ondelete="CASCADE"))
    b_id: Mapped[int] = mapped_column(ForeignKey("contacts_party.id", ondelete="CASCADE"))
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("a_id <> b_id", name="not_self"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="dates"),
        Index("ix_contacts_relationship_a", "a_id", "type_id"),
        Index("ix_contacts_relationship_b", "b_id", "type_id"),
        Index("ix_contacts_relationship_type", "type_id"),
    )


class Activity(OwnedMixin, VersionedMixin, CustomFieldsMixin, SoftDeleteMixin, Base):
    """A note, call, meeting or task, attached to a record of any kind by ``(ref_kind, ref_id)``.

    ``occurred_at`` places it on timelines (a call's or note's time, a meeting's start, a task's due time
    or, without one, its creation). A task is open until ``done``.
    """

    __tablename__ = "contacts_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    ref_kind: Mapped[str | None] = mapped_column(String(60), nullable=True)
    ref_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    direction: Mapped[str] = mapped_column(String(10), default="")
    duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("type IN ('note', 'call', 'meeting', 'task')", name="type"),
        CheckConstraint("direction IN ('', 'inbound', 'outbound')", name="direction"),
        Index("ix_contacts_activity_ref", "ref_kind", "ref_id", "occurred_at", "id"),  # the timeline
        Index("ix_contacts_activity_open", "owner_user_id", "done", "due_at"),  # my open tasks
        Index("ix_contacts_activity_done", "done_at"),  # the "activities completed" metric
    )


class ActivityParticipant(Base):
    """Who took part in an activity: a party (someone at the customer) or a user (someone of ours)."""

    __tablename__ = "contacts_activity_participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("contacts_activity.id", ondelete="CASCADE"))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("contacts_party.id", ondelete="CASCADE"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), nullable=True)
    role: Mapped[str] = mapped_column(String(20), default="")

    __table_args__ = (
        CheckConstraint("(party_id IS NULL) <> (user_id IS NULL)", name="one_participant"),
        Index("ix_contacts_activity_participant_activity", "activity_id"),
        Index("ix_contacts_activity_participant_party", "party_id", "activity_id"),
        Index("ix_contacts_activity_participant_user", "user_id", "activity_id"),
    )

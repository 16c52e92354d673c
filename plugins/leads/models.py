"""Leads' tables. Their schema lives in migrations/versions, never created at run time.

A lead keeps what was captured as it arrived (``payload``) beside the fields people work with. What a lead
became — a person, an organisation, an opportunity — is kept here, in :class:`LeadOutcome`, never as a
column of the other plugins' tables (DESIGN §3): pipeline knows nothing about leads, and the channel report
learns each deal's result by consuming pipeline's ``deal_won``/``deal_lost`` events into that table.
Money is minor units beside an ISO code, as everywhere (DESIGN §4).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from voronka.core.db import Base
from voronka.core.models import CustomFieldsMixin, OwnedMixin, SoftDeleteMixin, VersionedMixin
from voronka.core.types import SearchKey, UTCDateTime, utcnow

NAME_MAX = 300
EMAIL_MAX = 320
PHONE_MAX = 40

NEW, CONTACTED, QUALIFIED, DISQUALIFIED = "new", "contacted", "qualified", "disqualified"
STATUSES = (NEW, CONTACTED, QUALIFIED, DISQUALIFIED)
OPEN_STATUSES = (NEW, CONTACTED)
DISQUALIFY_REASONS = ("lost", "cannot_contact", "not_interested", "canceled")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

RUNNING, FINISHED, ABANDONED = "running", "finished", "abandoned"
RUN_STATUSES = (RUNNING, FINISHED, ABANDONED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Campaign(OwnedMixin, VersionedMixin, CustomFieldsMixin, SoftDeleteMixin, Base):
    """A marketing activity that brings leads: its channel, period, cost and tracking code.

    ``tracking_code`` identifies the campaign in links and forms (``utm_campaign`` or ``?c=``); the public
    form of a campaign posts to ``/leads/form/<tracking_code>``. ``allowed_origins`` lists (one per line) the
    web sites allowed to post that form; ``thank_you_url`` is where the visitor goes after submitting.
    """

    __tablename__ = "leads_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(SearchKey(200), default="")
    channel: Mapped[str] = mapped_column(String(60))
    tracking_code: Mapped[str] = mapped_column(String(60))
    starts_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ends_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_currency: Mapped[str] = mapped_column(String(3), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    form_title: Mapped[str] = mapped_column(String(200), default="")
    allowed_origins: Mapped[str] = mapped_column(Text, default="")
    thank_you_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("cost_minor >= 0", name="cost"),
        UniqueConstraint("tracking_code", name="uq_leads_campaign_tracking_code"),
        Index("ix_leads_campaign_name", "name_key", "id"),
    )


class Lead(OwnedMixin, VersionedMixin, CustomFieldsMixin, SoftDeleteMixin, Base):
    """An inquiry: who asked (a person and/or a company, as captured), through which channel and campaign,
    and where it stands. ``payload`` is the submission exactly as received (form fields, API body, mail
    headers), kept for audit and for re-mapping; the other columns are what people edit.

    Status: ``new`` → ``contacted`` → ``qualified`` (it became records: :class:`LeadOutcome`) or
    ``disqualified`` with a ``disqualify_reason``; a closed lead can be reopened. ``owner_team_id`` without
    an ``owner_user_id`` is a team queue ("Inbound sales") waiting to be picked or assigned round-robin.
    """

    __tablename__ = "leads_lead"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    name_key: Mapped[str] = mapped_column(SearchKey(NAME_MAX), default="")
    first_name: Mapped[str] = mapped_column(String(120), default="")
    last_name: Mapped[str] = mapped_column(String(120), default="")
    job_title: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    company_key: Mapped[str] = mapped_column(SearchKey(NAME_MAX), default="")
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), default="")
    email_key: Mapped[str] = mapped_column(String(EMAIL_MAX), default="")
    phone: Mapped[str] = mapped_column(String(PHONE_MAX), default="")
    phone_key: Mapped[str] = mapped_column(String(PHONE_MAX), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(60), default="leads.manual")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("leads_campaign.id"), nullable=True)
    utm_source: Mapped[str] = mapped_column(String(200), default="")
    utm_medium: Mapped[str] = mapped_column(String(200), default="")
    utm_campaign: Mapped[str] = mapped_column(String(200), default="")
    utm_term: Mapped[str] = mapped_column(String(200), default="")
    utm_content: Mapped[str] = mapped_column(String(200), default="")
    referrer: Mapped[str] = mapped_column(String(500), default="")
    external_ref: Mapped[str] = mapped_column(String(200), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default=NEW)
    disqualify_reason: Mapped[str] = mapped_column(String(20), default="")
    disqualify_note: Mapped[str] = mapped_column(Text, default="")
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consent_text: Mapped[str] = mapped_column(String(500), default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("(status = 'disqualified') = (disqualify_reason <> '')", name="disqualify_reason"),
        # queues and "my leads": an owner's (or a team queue's) leads by status, newest first
        Index("ix_leads_lead_owner_status", "owner_user_id", "status", "created_at"),
        Index("ix_leads_lead_team_status", "owner_team_id", "status", "created_at"),
        Index("ix_leads_lead_status_created", "status", "created_at"),
        Index("ix_leads_lead_name", "name_key", "id"),
        Index("ix_leads_lead_company", "company_key", "id"),
        Index("ix_leads_lead_email", "email_key"),
        Index("ix_leads_lead_phone", "phone_key"),
        Index("ix_leads_lead_channel_created", "channel", "created_at"),
        Index("ix_leads_lead_campaign_created", "campaign_id", "created_at"),
        # an integration's resend (API) or a redelivered mail: the lead that channel already made
        Index("ix_leads_lead_external", "channel", "external_ref"),
    )


class LeadOutcome(Base):
    """What a qualified lead became: one row per record created or linked (``kind``/``record_id``), with
    the outcome key that made it (``leads.person``, ``pipeline.opportunity``…) and whether it was created or
    an existing record was linked. For an opportunity, ``deal_status``, ``deal_amount_base_minor`` and
    ``deal_closed_on`` follow the deal through pipeline's events — the channel report reads them here."""

    __tablename__ = "leads_outcome"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads_lead.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(Integer)
    created: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"), nullable=True)
    deal_status: Mapped[str] = mapped_column(String(4), default="")
    deal_amount_base_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    deal_base_currency: Mapped[str] = mapped_column(String(3), default="")
    deal_closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    __table_args__ = (
        UniqueConstraint("lead_id", "kind", "record_id", name="uq_leads_outcome_record"),
        Index("ix_leads_outcome_record", "kind", "record_id"),
    )


class Script(Base):
    """A qualification script: a named series of question screens with branches. Its content lives in
    versions (:class:`ScriptVersion`); ``current_version_id`` is what new qualifications start with, while a
    running one keeps the version it started on."""

    __tablename__ = "leads_script"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # no foreign key: the two tables point at each other; the script service keeps it right
    current_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("key", name="uq_leads_script_key"),)


class ScriptVersion(Base):
    """One saved, validated version of a script (``definition``: the steps as plain data, the same shape
    as the YAML/JSON export). Never changed once saved; editing a script saves a new version."""

    __tablename__ = "leads_script_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("leads_script.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"), nullable=True)

    __table_args__ = (UniqueConstraint("script_id", "number", name="uq_leads_script_version_number"),)


class Qualification(Base):
    """A run of a script on a lead: where it is (``step``), how it got there (``path``, the steps visited,
    so Back works), and every answer given (``answers``: step key → value), saved as the user goes so it
    can be resumed later. ``version`` guards against two people answering the same run at once."""

    __tablename__ = "leads_qualification"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads_lead.id", ondelete="CASCADE"))
    script_version_id: Mapped[int] = mapped_column(ForeignKey("leads_script_version.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("leads_qualification.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default=RUNNING)
    step: Mapped[str] = mapped_column(String(60), default="")
    path: Mapped[list[str]] = mapped_column(JSON, default=list)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str] = mapped_column(String(60), default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        Index("ix_leads_qualification_lead", "lead_id", "started_at"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class FieldMapping(Base):
    """Admin-configured mapping onto an outcome's target: ``target`` (a field or ``custom.<key>`` of the
    kind the outcome creates) takes its value from ``source`` (``lead.<field>``, ``lead.custom.<key>`` or
    ``answer.<step key>``). Built-in defaults apply where no row says otherwise."""

    __tablename__ = "leads_field_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(160))

    __table_args__ = (UniqueConstraint("outcome", "target", name="uq_leads_field_mapping_target"),)


class RoundRobin(Base):
    """Where round-robin assignment stands for a team queue: the member who got the last lead. Read with
    ``FOR UPDATE`` (PostgreSQL) so two assignments at once never hand out the same turn."""

    __tablename__ = "leads_round_robin"

    team_id: Mapped[int] = mapped_column(ForeignKey("core_team.id", ondelete="CASCADE"), primary_key=True)
    last_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ChannelDay(Base):
    """The channel report's aggregate: per company-local day, channel and campaign, counts and sums kept
    current in the same transaction as the lead, outcome or deal change that moves them (tested equal to a
    full recount). ``day`` is the day the lead was created: a lead's later qualification and its deals'
    results count toward the cohort of the day it arrived, which is what "which channel brings the money"
    asks. ``campaign_id`` 0 means no campaign (a real key, so the unique constraint holds on both engines)."""

    __tablename__ = "leads_channel_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(60))
    campaign_id: Mapped[int] = mapped_column(Integer, default=0)
    leads: Mapped[int] = mapped_column(Integer, default=0)
    qualified: Mapped[int] = mapped_column(Integer, default=0)
    disqualified: Mapped[int] = mapped_column(Integer, default=0)
    opportunities: Mapped[int] = mapped_column(Integer, default=0)
    won: Mapped[int] = mapped_column(Integer, default=0)
    lost: Mapped[int] = mapped_column(Integer, default=0)
    won_base_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    won_days_sum: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("day", "channel", "campaign_id", name="uq_leads_channel_day"),
        Index("ix_leads_channel_day_campaign", "campaign_id", "day"),
    )

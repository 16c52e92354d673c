"""Tables of the outbox (events written with the change that caused them), their deliveries, jobs and leases.

Declared in migration ``core_0004``. See :mod:`voronka.core.events` and :mod:`voronka.core.jobs`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base
from .types import UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64 bits for a table that grows forever.
EventId = BigInteger().with_variant(Integer(), "sqlite")

JOB_STATUSES = ("pending", "running", "done", "failed")
JOB_KINDS = ("periodic", "queued", "listener")


class OutboxEvent(Base):
    """An event written in the same transaction as the change; ``delivered_at`` is set once every handler
    enabled at delivery time has handled it (or given up on it)."""

    __tablename__ = "core_outbox"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_core_outbox_pending", "delivered_at", "id"),)


class EventDone(Base):
    """(event, handler) handled: inserted in the handler's own transaction, so its effects happen once."""

    __tablename__ = "core_event_done"

    event_id: Mapped[int] = mapped_column(EventId, ForeignKey("core_outbox.id", ondelete="CASCADE"), primary_key=True)
    handler: Mapped[str] = mapped_column(String(120), primary_key=True)
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EventFailure(Base):
    """A handler that raised for an event: retried with backoff until ``gave_up`` (then retried by an admin)."""

    __tablename__ = "core_event_failure"

    event_id: Mapped[int] = mapped_column(EventId, ForeignKey("core_outbox.id", ondelete="CASCADE"), primary_key=True)
    handler: Mapped[str] = mapped_column(String(120), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    gave_up: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class Job(Base):
    """One job: a periodic job or listener (one row per definition, ``singleton`` = its key) or one piece of
    queued work (``singleton`` NULL). The lease columns say which process runs it and until when."""

    __tablename__ = "core_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    singleton: Mapped[str | None] = mapped_column(String(120), unique=True, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[Any] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_core_job_due", "status", "next_run_at"),
        CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("kind IN ('periodic', 'queued', 'listener')", name="kind"),
    )


class Lease(Base):
    """A named lease any process may hold (``never two workers on one mailbox``): owner and expiry."""

    __tablename__ = "core_lease"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


__all__ = ["EventDone", "EventFailure", "Job", "Lease", "OutboxEvent"]

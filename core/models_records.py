"""Core tables of the shared record services: tags on any record kind and the structured audit log.

Both point at records by the generic reference ``(kind, record_id)`` rather than a foreign key, because
the records live in plugins' tables; the plugins' ``records_deleted``/``records_merged`` hooks and
:func:`voronka.core.writes.delete` keep them consistent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base
from .types import SearchKey, UTCDateTime, utcnow

AUDIT_ID = BigInteger().with_variant(Integer(), "sqlite")
"""The audit log outgrows 32 bits; on SQLite only INTEGER is the rowid alias."""


class Tag(Base):
    """A label people put on records of any kind; ``name_key`` (folded) keeps "VIP" and "vip" one tag."""

    __tablename__ = "core_tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_key: Mapped[str] = mapped_column(SearchKey(), unique=True)
    colour: Mapped[str] = mapped_column(String(7), default="#6b7280")


class TagLink(Base):
    """Tag ``tag_id`` is on record ``(kind, record_id)``."""

    __tablename__ = "core_tag_link"

    kind: Mapped[str] = mapped_column(String(60), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("core_tag.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_core_tag_link_tag", "tag_id", "kind"),)


class AuditEntry(Base):
    """One changed field of one record: old and new as JSON-safe values, when, who, through which path.

    ``action`` is "create", "update" or "delete" (a deletion is one entry with field "" whose ``old`` is
    the record's audited fields). ``change_id`` groups the entries one call of the write function made.
    """

    __tablename__ = "core_audit"

    id: Mapped[int] = mapped_column(AUDIT_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    field: Mapped[str] = mapped_column(String(80))
    old: Mapped[Any] = mapped_column(JSON, nullable=True)
    new: Mapped[Any] = mapped_column(JSON, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"), nullable=True)
    source: Mapped[str] = mapped_column(String(10))
    change_id: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_core_audit_record", "kind", "record_id", "at"),
        Index("ix_core_audit_change_id", "change_id"),
    )


__all__ = ["AuditEntry", "Tag", "TagLink"]

"""Soft delete and merges: the recycle bin and merged-into redirects.

Both point at records by the generic reference ``(kind, record_id)``, like tags and the audit log; the
records themselves stay in their plugins' tables (soft-deleted: ``deleted_at`` set) until purged.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base
from .types import UTCDateTime


class RecycleBinEntry(Base):
    """Record ``(kind, record_id)`` is in the recycle bin until ``purge_after``.

    ``label`` is the record's display name when it was deleted, so the bin lists records without loading
    every plugin's rows (and still names records of a plugin that is switched off).
    """

    __tablename__ = "core_recycle_bin"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200), default="")
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"), nullable=True)
    deleted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    purge_after: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("kind", "record_id"),
        Index("ix_core_recycle_bin_purge", "purge_after", "id"),
        Index("ix_core_recycle_bin_listed", "kind", "deleted_at"),
        Index("ix_core_recycle_bin_deleted", "deleted_at"),
    )


class RecordRedirect(Base):
    """Record ``(kind, record_id)`` was merged into ``(kind, target_id)``: its address leads there.

    Chains are kept flat: when the target is merged on, every row pointing at it moves to the new target,
    so a lookup is one primary-key read.
    """

    __tablename__ = "core_record_redirect"

    kind: Mapped[str] = mapped_column(String(60), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(Integer)
    merged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    merged_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"), nullable=True)

    __table_args__ = (Index("ix_core_record_redirect_target", "kind", "target_id"),)


__all__ = ["RecordRedirect", "RecycleBinEntry"]

"""Imports: uploaded files, their column mapping, progress and per-row outcomes.

The uploaded bytes live in the row itself: imports are bounded by the upload limit (``max_body_bytes``),
every process (web or worker) reads them from the one database, and they go with the import when it is
deleted. ``next_row`` and the counts are written in the same transaction as each batch of records, so a
killed worker's job resumes exactly after the last committed batch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, object_session

from .db import Base
from .types import UTCDateTime, utcnow

IMPORT_STATUSES = ("draft", "queued", "running", "done", "failed", "cancelled")
DUPLICATE_MODES = ("skip", "fill", "update", "create")
ROW_OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")


class Import(Base):
    """One uploaded CSV and what to do with it: target (a record kind, or "users", "teams", "managers"),
    encoding and delimiter, the column mapping, the duplicate mode, and how far the job has come."""

    __tablename__ = "core_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(60))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"), nullable=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    encoding: Mapped[str] = mapped_column(String(20), default="")
    delimiter: Mapped[str] = mapped_column(String(4), default=",")
    mapping: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The target of each column, in column order: a field name, ``cf.<key>``, or "" (ignored)."""
    duplicates: Mapped[str] = mapped_column(String(10), default="skip")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    next_row: Mapped[int] = mapped_column(Integer, default=0)
    """Data rows (header excluded) already handled: the job resumes at this one."""
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("core_job.id", ondelete="SET NULL"), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_core_import_user", "user_id", "created_at"),
        CheckConstraint("status IN ('draft', 'queued', 'running', 'done', 'failed', 'cancelled')", name="status"),
        CheckConstraint("duplicates IN ('skip', 'fill', 'update', 'create')", name="duplicates"),
    )

    @property
    def content(self) -> bytes:
        """The uploaded file (kept in :class:`ImportFile`, read when the file is opened)."""
        session = object_session(self)
        found = session.get(ImportFile, self.id) if session is not None and self.id is not None else None
        return found.content if found is not None else b""


class ImportFile(Base):
    """The uploaded file of an import, apart from the import's row: that row is updated after every
    batch, and SQLite rewrites a whole row on update (a 12 MB upload made each batch 74 ms slower)."""

    __tablename__ = "core_import_file"

    import_id: Mapped[int] = mapped_column(ForeignKey("core_import.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRow(Base):
    """The outcome of one row that did not simply go in: failed (with the reason) or skipped (a duplicate).
    ``row`` is the row number as a spreadsheet shows it (the header is row 1)."""

    __tablename__ = "core_import_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("core_import.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_core_import_row_import", "import_id", "row"),)


__all__ = ["DUPLICATE_MODES", "IMPORT_STATUSES", "ROW_OUTCOMES", "Import", "ImportFile", "ImportRow"]

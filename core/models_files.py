"""Attachments: files on records of any kind, kept by a file storage.

A row points at its record by the generic reference ``(kind, record_id)`` (records live in plugins'
tables) and at its bytes by ``storage_key`` in the deployment's :mod:`voronka.core.files` storage. A row
exists only when its blob does: :mod:`voronka.core.attachments` writes the blob first and removes it again
if the transaction does not commit, and deletes blobs only after the rows' deletion committed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base
from .types import UTCDateTime, utcnow

FILENAME_MAX = 255
CONTENT_TYPE_MAX = 127


class Attachment(Base):
    """One file attached to one record: what people see (name, type, size, who, when) and where it is."""

    __tablename__ = "core_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX))
    content_type: Mapped[str] = mapped_column(String(CONTENT_TYPE_MAX))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"), nullable=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_core_attachment_record", "kind", "record_id"),)


__all__ = ["Attachment"]

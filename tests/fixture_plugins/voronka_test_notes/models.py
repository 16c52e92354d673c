"""The one table: ``notes_note``. Its schema lives in migrations/versions, never created at run time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voronka.core.db import Base
from voronka.core.models import CustomFieldsMixin, OwnedMixin, SoftDeleteMixin, VersionedMixin
from voronka.core.types import SearchKey, UTCDateTime, utcnow

TITLE_MAX = 200
BODY_MAX = 10_000


class Note(OwnedMixin, VersionedMixin, CustomFieldsMixin, SoftDeleteMixin, Base):
    """A note. ``title_key`` is the folded, transliterated title that prefix search reads.

    ``ref_kind``/``ref_id`` attach the note to a record of any plugin; the consistency hooks keep
    them pointing at live records when records are merged or deleted.
    """

    __tablename__ = "notes_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    title_key: Mapped[str] = mapped_column(SearchKey(), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    ref_kind: Mapped[str | None] = mapped_column(String(60), nullable=True)
    ref_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_notes_note_owner_created", "owner_user_id", "created_at"),
        Index("ix_notes_note_ref", "ref_kind", "ref_id"),
        Index("ix_notes_note_created", "created_at", "id"),  # newest first: the list reads it backwards, filters probe
    )

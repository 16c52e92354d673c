"""Custom fields: definitions per record kind and the index of their values.

Values live in the record's own ``custom`` JSON column (:class:`~voronka.core.models.CustomFieldsMixin`);
every value is also mirrored here as one row (a multi-choice has one row per chosen option), written in the
same transaction, so lists filter and search on both engines through plain B-tree indexes and unique
fields are checked without reading JSON.
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
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base
from .types import SearchKey, UTCDateTime, utcnow

VALUE_ID = BigInteger().with_variant(Integer(), "sqlite")
"""Index rows outgrow 32 bits (records × fields); on SQLite only INTEGER is the rowid alias."""

FIELD_TYPES = ("text", "number", "money", "date", "choice", "multichoice", "bool", "link")


class CustomField(Base):
    """One admin-defined field of a record kind. ``key`` names it in the JSON and never changes.

    ``removed`` archives the field: hidden from forms, cards and filters, its values kept in the records'
    JSON and in the index, so restoring it brings everything back.
    """

    __tablename__ = "core_custom_field"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(20))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    unique: Mapped[bool] = mapped_column(Boolean, default=False)
    default: Mapped[Any] = mapped_column(JSON, nullable=True)
    filterable: Mapped[bool] = mapped_column(Boolean, default=False)
    searchable: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "key"),
        CheckConstraint(
            "type IN ('text', 'number', 'money', 'date', 'choice', 'multichoice', 'bool', 'link')", name="type"
        ),
    )


class CustomValue(Base):
    """One value of one custom field of one record, in the column its type compares on.

    text: ``text_key`` (folded, first 200 characters); choice and multi-choice: ``text_key`` (the option);
    link: ``text_key`` ("kind:id"); number: ``number``; money: ``number`` (the amount) and ``text_key``
    (the currency); yes/no: ``number`` (1 or 0); date: ``date``.
    """

    __tablename__ = "core_custom_value"

    id: Mapped[int] = mapped_column(VALUE_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int] = mapped_column(Integer)
    field_id: Mapped[int] = mapped_column(ForeignKey("core_custom_field.id", ondelete="CASCADE"))
    text_key: Mapped[str | None] = mapped_column(SearchKey(), nullable=True)
    number: Mapped[float | None] = mapped_column(Float, nullable=True)
    date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    __table_args__ = (
        Index("ix_core_custom_value_text", "field_id", "text_key", "record_id"),
        Index("ix_core_custom_value_number", "field_id", "number"),
        Index("ix_core_custom_value_date", "field_id", "date"),
        Index("ix_core_custom_value_record", "record_id", "field_id"),
    )


__all__ = ["FIELD_TYPES", "CustomField", "CustomValue"]

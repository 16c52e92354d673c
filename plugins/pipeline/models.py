"""Pipeline's tables. Their schema lives in migrations/versions, never created at run time.

Money is an integer in minor units beside its ISO currency (``amount_minor``, ``amount_currency``): SQLite
would turn ``Numeric`` into floating point, and every amount keeps its own currency (DESIGN §4). Rates,
percentages and quantities are integers too: probabilities in whole percent, discounts and tax rates in
basis points of a percent (``2000`` is 20 %), quantities in thousandths (``1500`` is 1.5).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
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
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from voronka.core.db import Base
from voronka.core.models import CustomFieldsMixin, OwnedMixin, SoftDeleteMixin, VersionedMixin
from voronka.core.types import SearchKey, UTCDateTime, utcnow

NAME_MAX = 300
OPEN, WON, LOST = "open", "won", "lost"
OUTCOMES = (OPEN, WON, LOST)
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "omitted", "won", "lost")
QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected")
ORDER_STATUSES = ("open", "fulfilled", "cancelled")
PERCENT_BP = 10_000
"""100 % in basis points: discounts and tax rates are stored as whole basis points."""
QUANTITY_SCALE = 1000
"""Quantities are stored in thousandths of a unit."""


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Pipeline(Base):
    """A sales process with its own ordered stages (new business, renewals, partners…)."""

    __tablename__ = "pipeline_pipeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Stage(Base):
    """A step of a pipeline. ``probability`` (percent) and ``forecast_category`` are what a deal takes on
    when it enters the stage; ``outcome`` says whether the stage closes the deal (won or lost);
    ``expected_days`` is how long a deal usually stays (the board flags deals that stay longer)."""

    __tablename__ = "pipeline_stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline_pipeline.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    probability: Mapped[int] = mapped_column(Integer, default=0)
    forecast_category: Mapped[str] = mapped_column(String(12), default="pipeline")
    outcome: Mapped[str] = mapped_column(String(4), default=OPEN)
    expected_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(_in("forecast_category", FORECAST_CATEGORIES), name="forecast_category"),
        Index("ix_pipeline_stage_pipeline_position", "pipeline_id", "position"),
    )


_BOARD_COVERED = ("status", "pipeline_id", "stage_id", "expected_close", "id", "amount_currency", "amount_minor",
                  "probability", "deleted_at")  # fmt: skip


class Opportunity(OwnedMixin, VersionedMixin, CustomFieldsMixin, SoftDeleteMixin, Base):
    """A potential deal with a customer (a person or an organisation of contacts).

    ``status`` follows the stage's outcome; ``closed_on`` is the company-local day it was won or lost
    (won revenue converts at that day's rate). ``probability_manual`` says the probability was set by hand
    and no longer follows the stage's default until the next stage change.
    """

    __tablename__ = "pipeline_opportunity"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    name_key: Mapped[str] = mapped_column(SearchKey(NAME_MAX), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("contacts_party.id"), nullable=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline_pipeline.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stage.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_currency: Mapped[str] = mapped_column(String(3), default="")
    expected_close: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    probability: Mapped[int] = mapped_column(Integer, default=0)
    probability_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    forecast_category: Mapped[str] = mapped_column(String(12), default="pipeline")
    status: Mapped[str] = mapped_column(String(4), default=OPEN)
    closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    lost_reason: Mapped[str] = mapped_column(String(200), default="")
    competitor: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    stage_entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    history: WriteOnlyMapped[StageChange] = relationship(
        lazy="write_only", cascade="all, delete-orphan", passive_deletes=True, order_by="StageChange.entered_at"
    )

    __table_args__ = (
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
        CheckConstraint("amount_minor >= 0", name="amount"),
        CheckConstraint(_in("status", OUTCOMES), name="status"),
        CheckConstraint(_in("forecast_category", FORECAST_CATEGORIES), name="forecast_category"),
        # a board: one owner's (or queue's) open deals of a pipeline, column by column; covering what the
        # column sums and the cards' ranking read (pipeline_0005), so neither looks up a table row
        Index("ix_pipeline_opportunity_owner_board", "owner_user_id", *_BOARD_COVERED, "owner_team_id"),
        Index("ix_pipeline_opportunity_team_board", "owner_team_id", *_BOARD_COVERED, "owner_user_id"),
        # the board's won and lost zones: one owner's deals closed in a period
        Index("ix_pipeline_opportunity_owner_closed", "owner_user_id", "status", "closed_on"),
        Index("ix_pipeline_opportunity_team_closed", "owner_team_id", "status", "closed_on"),
        Index("ix_pipeline_opportunity_board", "pipeline_id", "status", "stage_id"),
        Index("ix_pipeline_opportunity_customer", "customer_id", "status"),
        Index("ix_pipeline_opportunity_close", "status", "expected_close"),
        Index("ix_pipeline_opportunity_closed", "status", "closed_on"),
        Index("ix_pipeline_opportunity_name", "name_key", "id"),
    )


class StageChange(Base):
    """A deal's stay in a stage: entered, left (None while it is there), who moved it. Conversion between
    stages, time in stage and the sales cycle are computed from these rows."""

    __tablename__ = "pipeline_stage_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("pipeline_opportunity.id", ondelete="CASCADE"))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline_pipeline.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stage.id"))
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_stage.id"), nullable=True)
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"), nullable=True)

    __table_args__ = (
        Index("ix_pipeline_stage_history_opportunity", "opportunity_id", "entered_at"),
        Index("ix_pipeline_stage_history_stage", "stage_id", "entered_at"),
    )


class Stakeholder(Base):
    """A person (or organisation) with a role on a deal. ``role`` is the key of a contacts relationship
    type (decision maker, influencer, champion…), so deals and relationships speak one vocabulary."""

    __tablename__ = "pipeline_stakeholder"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("pipeline_opportunity.id", ondelete="CASCADE"))
    party_id: Mapped[int] = mapped_column(ForeignKey("contacts_party.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(60), default="")
    note: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
        UniqueConstraint("opportunity_id", "party_id", "role"),
        Index("ix_pipeline_stakeholder_party", "party_id"),
    )


class Product(VersionedMixin, CustomFieldsMixin, SoftDeleteMixin, Base):
    """A product or service of the catalogue, with a price per currency (:class:`ProductPrice`)."""

    __tablename__ = "pipeline_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), default="")
    name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    name_key: Mapped[str] = mapped_column(SearchKey(NAME_MAX), default="")
    category: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(20), default="")
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("tax_rate_bp BETWEEN 0 AND 10000", name="tax_rate"),
        Index("ix_pipeline_product_name", "name_key", "id"),
        Index("ix_pipeline_product_code", "code"),
    )


class ProductPrice(Base):
    """The list price of a product in one currency."""

    __tablename__ = "pipeline_product_price"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("pipeline_product.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(3))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("product_id", "currency"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price"),
    )


class _Totals:
    """Totals of a quote or an order in its currency: each line is rounded to the currency's minor unit
    first, and these are the sums of the rounded lines (see ``pricing``)."""

    currency: Mapped[str] = mapped_column(String(3), default="")
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class Quote(_Totals, OwnedMixin, VersionedMixin, CustomFieldsMixin, SoftDeleteMixin, Base):
    """An offer to a customer. ``number`` comes from the company's gap-free ``pipeline.quote`` sequence;
    a new version of a quote keeps the number and raises ``revision``."""

    __tablename__ = "pipeline_quote"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), default="")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_opportunity.id"), nullable=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("contacts_party.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(8), default="draft")
    issued_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(_in("status", QUOTE_STATUSES), name="status"),
        UniqueConstraint("number", "revision"),
        Index("ix_pipeline_quote_opportunity", "opportunity_id"),
        Index("ix_pipeline_quote_customer", "customer_id", "status"),
    )


class Order(_Totals, OwnedMixin, VersionedMixin, CustomFieldsMixin, SoftDeleteMixin, Base):
    """A customer's order, usually from an accepted quote; orders make the customer's sales history."""

    __tablename__ = "pipeline_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), default="")
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_quote.id"), nullable=True, unique=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_opportunity.id"), nullable=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("contacts_party.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(9), default="open")
    ordered_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        UniqueConstraint("number"),
        Index("ix_pipeline_order_customer", "customer_id", "ordered_on"),
        Index("ix_pipeline_order_opportunity", "opportunity_id"),
    )


class _Line:
    """A line of a quote or an order: what, how many, at what price, less what discount, plus what tax;
    ``net_minor``, ``tax_minor`` and ``total_minor`` are rounded to the currency's minor unit."""

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_product.id"), nullable=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    quantity_milli: Mapped[int] = mapped_column(BigInteger, default=QUANTITY_SCALE)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_bp: Mapped[int] = mapped_column(Integer, default=0)
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    gross_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    net_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class QuoteLine(_Line, Base):
    __tablename__ = "pipeline_quote_line"

    quote_id: Mapped[int] = mapped_column(ForeignKey("pipeline_quote.id", ondelete="CASCADE"))

    __table_args__ = (
        CheckConstraint("quantity_milli > 0", name="quantity"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price"),
        CheckConstraint("discount_bp BETWEEN 0 AND 10000", name="discount"),
        CheckConstraint("tax_rate_bp BETWEEN 0 AND 10000", name="tax_rate"),
        Index("ix_pipeline_quote_line_quote", "quote_id", "position"),
    )


class OrderLine(_Line, Base):
    __tablename__ = "pipeline_order_line"

    order_id: Mapped[int] = mapped_column(ForeignKey("pipeline_order.id", ondelete="CASCADE"))

    __table_args__ = (
        CheckConstraint("quantity_milli > 0", name="quantity"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price"),
        CheckConstraint("discount_bp BETWEEN 0 AND 10000", name="discount"),
        CheckConstraint("tax_rate_bp BETWEEN 0 AND 10000", name="tax_rate"),
        Index("ix_pipeline_order_line_order", "order_id", "position"),
    )

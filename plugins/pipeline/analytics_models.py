"""Tables the funnel, the forecast and the metrics read instead of scanning a million deals.

They hold sums, never deals: :mod:`.deal_rollups` keeps them current in the transaction of every write of
a deal, and can recount them from the deals. Every key column is NOT NULL (0 or :data:`NO_DATE` stand for
"none") so that one unique index finds a row for an upsert on both engines. Owners stay in the key, so
visibility filters apply to sums exactly as they do to deals.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voronka.core.db import Base
from voronka.core.types import UTCDateTime, utcnow

NO_DATE = dt.date(1900, 1, 1)
"""The bucket of an open deal with no expected close date."""


class DealRollup(Base):
    """Deals summed by owner, pipeline, stage, status, forecast category, currency and bucket.

    ``bucket`` is the first day of the expected-close month of an open deal, the first day of the month a
    deal closed in when its currency is the base currency, and the close day itself for other currencies
    (so won amounts convert at the rate of the day they closed). ``weighted`` sums amount × probability
    (percent); ``cycle_days`` sums the days from creation (UTC date) to the close date of closed deals.
    """

    __tablename__ = "pipeline_rollup"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(4))
    owner_user_id: Mapped[int] = mapped_column(Integer, default=0)
    owner_team_id: Mapped[int] = mapped_column(Integer, default=0)
    pipeline_id: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[dt.date] = mapped_column(Date)
    stage_id: Mapped[int] = mapped_column(Integer)
    forecast_category: Mapped[str] = mapped_column(String(12))
    currency: Mapped[str] = mapped_column(String(3))
    deals: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    weighted: Mapped[int] = mapped_column(BigInteger, default=0)
    cycle_days: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        Index("ux_pipeline_rollup_key", "status", "owner_user_id", "owner_team_id", "pipeline_id", "bucket",
              "stage_id", "forecast_category", "currency", unique=True),
        Index("ix_pipeline_rollup_bucket", "status", "bucket"),
    )  # fmt: skip


class StageRollup(Base):
    """Stage history summed by the deal's owner, pipeline, stage and month (UTC) the stay began.

    ``entered`` counts deals whose first stay in the stage began that month, ``advanced`` those of them
    that later entered a later open stage of the pipeline or a won stage; ``stays`` and ``stay_seconds``
    count finished stays and their length (average time in stage)."""

    __tablename__ = "pipeline_rollup_stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(Integer, default=0)
    owner_team_id: Mapped[int] = mapped_column(Integer, default=0)
    pipeline_id: Mapped[int] = mapped_column(Integer)
    month: Mapped[dt.date] = mapped_column(Date)
    stage_id: Mapped[int] = mapped_column(Integer)
    entered: Mapped[int] = mapped_column(BigInteger, default=0)
    advanced: Mapped[int] = mapped_column(BigInteger, default=0)
    stays: Mapped[int] = mapped_column(BigInteger, default=0)
    stay_seconds: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        Index("ux_pipeline_rollup_stage_key", "owner_user_id", "owner_team_id", "pipeline_id", "month", "stage_id",
              unique=True),
        Index("ix_pipeline_rollup_stage_month", "month"),
    )  # fmt: skip


class ForecastSnapshot(Base):
    """The open pipeline as it stood at the start of ``taken_on`` (company time): what the forecast of a
    period said when the period began. Written once, never updated, so later edits cannot change it."""

    __tablename__ = "pipeline_forecast_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_on: Mapped[dt.date] = mapped_column(Date)
    owner_user_id: Mapped[int] = mapped_column(Integer, default=0)
    owner_team_id: Mapped[int] = mapped_column(Integer, default=0)
    pipeline_id: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[dt.date] = mapped_column(Date)
    forecast_category: Mapped[str] = mapped_column(String(12))
    currency: Mapped[str] = mapped_column(String(3))
    deals: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    weighted: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_pipeline_forecast_snapshot_taken", "taken_on", "bucket"),)


class SnapshotTaken(Base):
    """One row per snapshot day: claims the day (so two writers never both take it) and says when."""

    __tablename__ = "pipeline_forecast_snapshot_day"

    taken_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DealTotal(Base):
    """:class:`DealRollup` summed over the users who own deals (``owner_team_id`` 0); deals of a team's
    queue stay apart by team. What a viewer who may see every user with deals reads (a top manager, an
    administrator): a few thousand rows instead of some per user."""

    __tablename__ = "pipeline_rollup_all"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(4))
    owner_team_id: Mapped[int] = mapped_column(Integer, default=0)
    pipeline_id: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[dt.date] = mapped_column(Date)
    stage_id: Mapped[int] = mapped_column(Integer)
    forecast_category: Mapped[str] = mapped_column(String(12))
    currency: Mapped[str] = mapped_column(String(3))
    deals: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    weighted: Mapped[int] = mapped_column(BigInteger, default=0)
    cycle_days: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        Index("ux_pipeline_rollup_all_key", "status", "owner_team_id", "pipeline_id", "bucket", "stage_id",
              "forecast_category", "currency", unique=True),
    )  # fmt: skip


class StageTotal(Base):
    """:class:`StageRollup` summed over users (queues apart by team, as in :class:`DealTotal`)."""

    __tablename__ = "pipeline_rollup_stage_all"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_team_id: Mapped[int] = mapped_column(Integer, default=0)
    pipeline_id: Mapped[int] = mapped_column(Integer)
    month: Mapped[dt.date] = mapped_column(Date)
    stage_id: Mapped[int] = mapped_column(Integer)
    entered: Mapped[int] = mapped_column(BigInteger, default=0)
    advanced: Mapped[int] = mapped_column(BigInteger, default=0)
    stays: Mapped[int] = mapped_column(BigInteger, default=0)
    stay_seconds: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        Index("ux_pipeline_rollup_stage_all_key", "owner_team_id", "pipeline_id", "month", "stage_id", unique=True),
    )


class OwnerTotal(Base):
    """Live deals per owner: tells in a few hundred rows whether a viewer may see every owner who has
    deals, and so may read the totals instead of the per-owner sums."""

    __tablename__ = "pipeline_rollup_owner"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(Integer, default=0)
    owner_team_id: Mapped[int] = mapped_column(Integer, default=0)
    deals: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ux_pipeline_rollup_owner_key", "owner_user_id", "owner_team_id", unique=True),)

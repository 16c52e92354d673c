"""Planning's table. Its schema lives in migrations/versions, never created at run time.

One row is one employee's target for one metric and one period. Children are not stored: a plan's
children are the plans, for the same metric and period, of the people who reported to its owner during the
period (core's manager links with validity dates), so the tree always follows the hierarchy as it was.
Targets are integers in the metric's unit: a count, or minor units of the base currency for money.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voronka.core.db import Base
from voronka.core.models import CustomFieldsMixin, OwnedMixin, VersionedMixin
from voronka.core.types import UTCDateTime, utcnow

MONTH, QUARTER, YEAR = "month", "quarter", "year"
PERIOD_KINDS = (MONTH, QUARTER, YEAR)

UNITS = ("count", "money")
"""The metric's unit, kept with the plan so its target reads right while the metric's plugin is off."""

BY_HAND, EVENLY, BY_SHARE = "hand", "even", "share"
METHODS = (BY_HAND, EVENLY, BY_SHARE)
"""How a target was set: typed in, an even split of the manager's, or by last period's share."""


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Plan(OwnedMixin, VersionedMixin, CustomFieldsMixin, Base):
    """``owner_user_id``'s target for ``metric_key`` over ``[period_start, period_end)`` (company-local days).

    ``metric_key`` names a metric of any plugin; when that plugin is disabled or gone the plan stays and is
    shown as unavailable until it comes back, its target still in ``unit`` (count, or money in minor units).
    ``stretch`` is an optional higher target. The owner is always a user (a queue has no plan);
    ``owner_team_id`` stays empty.
    """

    __tablename__ = "planning_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_key: Mapped[str] = mapped_column(String(80))
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    unit: Mapped[str] = mapped_column(String(8), default="count")
    target: Mapped[int] = mapped_column(BigInteger)
    stretch: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    method: Mapped[str] = mapped_column(String(8), default=BY_HAND)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("owner_user_id", "metric_key", "period_start"),
        Index("ix_planning_plan_metric_period", "metric_key", "period_start", "period_end"),
        CheckConstraint("target >= 0", name="target"),
        CheckConstraint("stretch IS NULL OR stretch >= target", name="stretch"),
        CheckConstraint("period_end > period_start", name="period"),
        CheckConstraint(_in("period_kind", PERIOD_KINDS), name="period_kind"),
        CheckConstraint(_in("method", METHODS), name="method"),
        CheckConstraint(_in("unit", UNITS), name="unit"),
    )

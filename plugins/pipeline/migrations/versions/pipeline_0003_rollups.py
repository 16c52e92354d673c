"""funnel and forecast sums kept with every write of a deal, and monthly forecast snapshots

Revision ID: pipeline_0003
Revises: pipeline_0002
Create Date: 2026-11-28 01:30:00

Empty on creation: deals written before this revision (none, on a new deployment) are summed by
``deal_rollups.rebuild``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "pipeline_0003"
down_revision: str | Sequence[str] | None = "pipeline_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipeline_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Date(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("forecast_category", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("deals", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("weighted", sa.BigInteger(), nullable=False),
        sa.Column("cycle_days", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_rollup")),
    )
    with op.batch_alter_table("pipeline_rollup", schema=None) as batch_op:
        batch_op.create_index("ix_pipeline_rollup_bucket", ["status", "bucket"], unique=False)
        batch_op.create_index(
            "ux_pipeline_rollup_key",
            ["status", "owner_user_id", "owner_team_id", "pipeline_id", "bucket", "stage_id", "forecast_category",
             "currency"],
            unique=True,
        )  # fmt: skip
    op.create_table(
        "pipeline_rollup_stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("entered", sa.BigInteger(), nullable=False),
        sa.Column("advanced", sa.BigInteger(), nullable=False),
        sa.Column("stays", sa.BigInteger(), nullable=False),
        sa.Column("stay_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_rollup_stage")),
    )
    with op.batch_alter_table("pipeline_rollup_stage", schema=None) as batch_op:
        batch_op.create_index("ix_pipeline_rollup_stage_month", ["month"], unique=False)
        batch_op.create_index(
            "ux_pipeline_rollup_stage_key",
            ["owner_user_id", "owner_team_id", "pipeline_id", "month", "stage_id"],
            unique=True,
        )
    op.create_table(
        "pipeline_forecast_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Date(), nullable=False),
        sa.Column("forecast_category", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("deals", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("weighted", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_forecast_snapshot")),
    )
    with op.batch_alter_table("pipeline_forecast_snapshot", schema=None) as batch_op:
        batch_op.create_index("ix_pipeline_forecast_snapshot_taken", ["taken_on", "bucket"], unique=False)
    op.create_table(
        "pipeline_forecast_snapshot_day",
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("taken_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("taken_on", name=op.f("pk_pipeline_forecast_snapshot_day")),
    )

    _totals()


def _totals() -> None:
    values = [sa.Column(name, sa.BigInteger(), nullable=False) for name in ("deals", "amount_minor", "weighted",
                                                                            "cycle_days")]  # fmt: skip
    op.create_table(
        "pipeline_rollup_all",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Date(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("forecast_category", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *values,
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_rollup_all")),
    )
    with op.batch_alter_table("pipeline_rollup_all", schema=None) as batch_op:
        batch_op.create_index(
            "ux_pipeline_rollup_all_key",
            ["status", "owner_team_id", "pipeline_id", "bucket", "stage_id", "forecast_category", "currency"],
            unique=True,
        )
    op.create_table(
        "pipeline_rollup_stage_all",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        *[
            sa.Column(name, sa.BigInteger(), nullable=False)
            for name in ("entered", "advanced", "stays", "stay_seconds")
        ],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_rollup_stage_all")),
    )
    with op.batch_alter_table("pipeline_rollup_stage_all", schema=None) as batch_op:
        batch_op.create_index(
            "ux_pipeline_rollup_stage_all_key", ["owner_team_id", "pipeline_id", "month", "stage_id"], unique=True
        )
    op.create_table(
        "pipeline_rollup_owner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=False),
        sa.Column("deals", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_rollup_owner")),
    )
    with op.batch_alter_table("pipeline_rollup_owner", schema=None) as batch_op:
        batch_op.create_index("ux_pipeline_rollup_owner_key", ["owner_user_id", "owner_team_id"], unique=True)


def downgrade() -> None:
    for table, index in (("pipeline_rollup_owner", "ux_pipeline_rollup_owner_key"),
                         ("pipeline_rollup_stage_all", "ux_pipeline_rollup_stage_all_key"),
                         ("pipeline_rollup_all", "ux_pipeline_rollup_all_key")):  # fmt: skip
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
        op.drop_table(table)
    op.drop_table("pipeline_forecast_snapshot_day")
    with op.batch_alter_table("pipeline_forecast_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_pipeline_forecast_snapshot_taken")
    op.drop_table("pipeline_forecast_snapshot")
    with op.batch_alter_table("pipeline_rollup_stage", schema=None) as batch_op:
        batch_op.drop_index("ux_pipeline_rollup_stage_key")
        batch_op.drop_index("ix_pipeline_rollup_stage_month")
    op.drop_table("pipeline_rollup_stage")
    with op.batch_alter_table("pipeline_rollup", schema=None) as batch_op:
        batch_op.drop_index("ux_pipeline_rollup_key")
        batch_op.drop_index("ix_pipeline_rollup_bucket")
    op.drop_table("pipeline_rollup")

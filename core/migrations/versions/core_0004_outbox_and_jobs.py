"""outbox, event deliveries, jobs and worker leases

Revision ID: core_0004
Revises: core_0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "core_0004"
down_revision: str | Sequence[str] | None = "core_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "core_outbox",
        sa.Column("id", EVENT_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_outbox")),
    )
    with op.batch_alter_table("core_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_core_outbox_pending", ["delivered_at", "id"], unique=False)

    op.create_table(
        "core_event_done",
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("handler", sa.String(length=120), nullable=False),
        sa.Column("done_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["core_outbox.id"], name=op.f("fk_core_event_done_event_id_core_outbox"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "handler", name=op.f("pk_core_event_done")),
    )

    op.create_table(
        "core_event_failure",
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("handler", sa.String(length=120), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("failed_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("gave_up", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["core_outbox.id"],
            name=op.f("fk_core_event_failure_event_id_core_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "handler", name=op.f("pk_core_event_failure")),
    )
    with op.batch_alter_table("core_event_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_core_event_failure_gave_up"), ["gave_up"], unique=False)

    op.create_table(
        "core_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("singleton", sa.String(length=120), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("lease_expires_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name=op.f("ck_core_job_status")),
        sa.CheckConstraint("kind IN ('periodic', 'queued', 'listener')", name=op.f("ck_core_job_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_job")),
        sa.UniqueConstraint("singleton", name=op.f("uq_core_job_singleton")),
    )
    with op.batch_alter_table("core_job", schema=None) as batch_op:
        batch_op.create_index("ix_core_job_due", ["status", "next_run_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_core_job_key"), ["key"], unique=False)

    op.create_table(
        "core_lease",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("acquired_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_core_lease")),
    )


def downgrade() -> None:
    op.drop_table("core_lease")
    with op.batch_alter_table("core_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_core_job_key"))
        batch_op.drop_index("ix_core_job_due")
    op.drop_table("core_job")
    with op.batch_alter_table("core_event_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_core_event_failure_gave_up"))
    op.drop_table("core_event_failure")
    op.drop_table("core_event_done")
    with op.batch_alter_table("core_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_core_outbox_pending")
    op.drop_table("core_outbox")

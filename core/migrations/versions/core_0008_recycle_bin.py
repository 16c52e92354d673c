"""soft delete recycle bin and merged-into redirects

Revision ID: core_0008
Revises: core_0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "core_0008"
down_revision: str | Sequence[str] | None = "core_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "core_recycle_bin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("deleted_by", sa.Integer(), nullable=True),
        sa.Column("deleted_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("purge_after", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deleted_by"],
            ["core_user.id"],
            name=op.f("fk_core_recycle_bin_deleted_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_recycle_bin")),
        sa.UniqueConstraint("kind", "record_id", name=op.f("uq_core_recycle_bin_kind_record_id")),
    )
    op.create_index("ix_core_recycle_bin_purge", "core_recycle_bin", ["purge_after", "id"])
    op.create_index("ix_core_recycle_bin_listed", "core_recycle_bin", ["kind", "deleted_at"])
    op.create_index("ix_core_recycle_bin_deleted", "core_recycle_bin", ["deleted_at"])
    op.create_table(
        "core_record_redirect",
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("merged_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("merged_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_by"],
            ["core_user.id"],
            name=op.f("fk_core_record_redirect_merged_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("kind", "record_id", name=op.f("pk_core_record_redirect")),
    )
    op.create_index("ix_core_record_redirect_target", "core_record_redirect", ["kind", "target_id"])


def downgrade() -> None:
    op.drop_index("ix_core_record_redirect_target", table_name="core_record_redirect")
    op.drop_table("core_record_redirect")
    op.drop_index("ix_core_recycle_bin_deleted", table_name="core_recycle_bin")
    op.drop_index("ix_core_recycle_bin_listed", table_name="core_recycle_bin")
    op.drop_index("ix_core_recycle_bin_purge", table_name="core_recycle_bin")
    op.drop_table("core_recycle_bin")

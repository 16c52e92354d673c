"""imports

Revision ID: core_0009
Revises: core_0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "core_0009"
down_revision: str | Sequence[str] | None = "core_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "core_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=60), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("delimiter", sa.String(length=4), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("duplicates", sa.String(length=10), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("next_row", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'queued', 'running', 'done', 'failed', 'cancelled')",
            name=op.f("ck_core_import_status"),
        ),
        sa.CheckConstraint(
            "duplicates IN ('skip', 'fill', 'update', 'create')", name=op.f("ck_core_import_duplicates")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["core_job.id"], name=op.f("fk_core_import_job_id_core_job"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["core_user.id"], name=op.f("fk_core_import_user_id_core_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_import")),
    )
    op.create_index("ix_core_import_user", "core_import", ["user_id", "created_at"])
    op.create_table(
        "core_import_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["core_import.id"],
            name=op.f("fk_core_import_row_import_id_core_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_import_row")),
    )
    op.create_index("ix_core_import_row_import", "core_import_row", ["import_id", "row"])


def downgrade() -> None:
    op.drop_index("ix_core_import_row_import", table_name="core_import_row")
    op.drop_table("core_import_row")
    op.drop_index("ix_core_import_user", table_name="core_import")
    op.drop_table("core_import")

"""attachments and file storage

Revision ID: core_0007
Revises: core_0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "core_0007"
down_revision: str | Sequence[str] | None = "core_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "core_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["core_user.id"],
            name=op.f("fk_core_attachment_uploaded_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_attachment")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_core_attachment_storage_key")),
    )
    op.create_index("ix_core_attachment_record", "core_attachment", ["kind", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_core_attachment_record", table_name="core_attachment")
    op.drop_table("core_attachment")

"""record references, tags and the audit log

Revision ID: core_0005
Revises: core_0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "core_0005"
down_revision: str | Sequence[str] | None = "core_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "core_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("name_key", voronka.core.types.SearchKey(length=200), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_tag")),
        sa.UniqueConstraint("name_key", name=op.f("uq_core_tag_name_key")),
    )
    op.create_table(
        "core_tag_link",
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["core_tag.id"], name=op.f("fk_core_tag_link_tag_id_core_tag"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("kind", "record_id", "tag_id", name=op.f("pk_core_tag_link")),
    )
    op.create_index("ix_core_tag_link_tag", "core_tag_link", ["tag_id", "kind"])
    op.create_table(
        "core_audit",
        sa.Column("id", AUDIT_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.Column("at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("change_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["core_user.id"], name=op.f("fk_core_audit_actor_id_core_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_audit")),
    )
    op.create_index("ix_core_audit_record", "core_audit", ["kind", "record_id", "at"])
    op.create_index("ix_core_audit_change_id", "core_audit", ["change_id"])


def downgrade() -> None:
    op.drop_index("ix_core_audit_change_id", table_name="core_audit")
    op.drop_index("ix_core_audit_record", table_name="core_audit")
    op.drop_table("core_audit")
    op.drop_index("ix_core_tag_link_tag", table_name="core_tag_link")
    op.drop_table("core_tag_link")
    op.drop_table("core_tag")

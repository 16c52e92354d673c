"""custom fields

Revision ID: core_0006
Revises: core_0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "core_0006"
down_revision: str | Sequence[str] | None = "core_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALUE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TYPES = "type IN ('text', 'number', 'money', 'date', 'choice', 'multichoice', 'bool', 'link')"


def upgrade() -> None:
    op.create_table(
        "core_custom_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("unique", sa.Boolean(), nullable=False),
        sa.Column("default", sa.JSON(), nullable=True),
        sa.Column("filterable", sa.Boolean(), nullable=False),
        sa.Column("searchable", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("changed_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(TYPES, name=op.f("ck_core_custom_field_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_custom_field")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_core_custom_field_kind_key")),
    )
    op.create_table(
        "core_custom_value",
        sa.Column("id", VALUE_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("text_key", voronka.core.types.SearchKey(length=200), nullable=True),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["core_custom_field.id"],
            name=op.f("fk_core_custom_value_field_id_core_custom_field"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_custom_value")),
    )
    op.create_index("ix_core_custom_value_text", "core_custom_value", ["field_id", "text_key", "record_id"])
    op.create_index("ix_core_custom_value_number", "core_custom_value", ["field_id", "number"])
    op.create_index("ix_core_custom_value_date", "core_custom_value", ["field_id", "date"])
    op.create_index("ix_core_custom_value_record", "core_custom_value", ["record_id", "field_id"])


def downgrade() -> None:
    op.drop_index("ix_core_custom_value_record", table_name="core_custom_value")
    op.drop_index("ix_core_custom_value_date", table_name="core_custom_value")
    op.drop_index("ix_core_custom_value_number", table_name="core_custom_value")
    op.drop_index("ix_core_custom_value_text", table_name="core_custom_value")
    op.drop_table("core_custom_value")
    op.drop_table("core_custom_field")

"""company settings, exchange rates and numbering sequences

Revision ID: core_0003
Revises: core_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "core_0003"
down_revision: str | Sequence[str] | None = "core_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "core_exchange_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_on", sa.Date(), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("created_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_exchange_rate")),
        sa.UniqueConstraint("currency", "valid_on", name=op.f("uq_core_exchange_rate_currency_valid_on")),
    )
    op.create_table(
        "core_sequence",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("digits", sa.Integer(), nullable=False),
        sa.Column("per_year", sa.Boolean(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("next_value >= 1", name=op.f("ck_core_sequence_next_value")),
        sa.CheckConstraint("digits >= 1 AND digits <= 12", name=op.f("ck_core_sequence_digits")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_core_sequence")),
    )


def downgrade() -> None:
    op.drop_table("core_sequence")
    op.drop_table("core_exchange_rate")

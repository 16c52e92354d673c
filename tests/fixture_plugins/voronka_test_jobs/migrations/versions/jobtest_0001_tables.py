"""jobtest tables

Revision ID: jobtest_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "jobtest_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("jobtest",)
depends_on: str | Sequence[str] | None = ("core_0004",)


def upgrade() -> None:
    op.create_table(
        "jobtest_effect",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("handler", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobtest_effect")),
    )
    op.create_table(
        "jobtest_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=120), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("started_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobtest_run")),
    )


def downgrade() -> None:
    op.drop_table("jobtest_run")
    op.drop_table("jobtest_effect")

"""fx_evolving items (version 1)

Revision ID: fx_evolving_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fx_evolving_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("fx_evolving",)
depends_on: str | Sequence[str] | None = ("core_0001",)


def upgrade() -> None:
    op.create_table(
        "fx_evolving_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_evolving_item")),
    )


def downgrade() -> None:
    op.drop_table("fx_evolving_item")

"""fx_migfan rows

Revision ID: fx_migfan_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fx_migfan_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("fx_migfan",)
depends_on: str | Sequence[str] | None = ("fx_migfail_0001",)


def upgrade() -> None:
    op.create_table(
        "fx_migfan_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_migfan_row")),
    )


def downgrade() -> None:
    op.drop_table("fx_migfan_row")

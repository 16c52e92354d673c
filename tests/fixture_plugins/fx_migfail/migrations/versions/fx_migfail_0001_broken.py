"""fx_migfail: a migration that fails half-way

Revision ID: fx_migfail_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fx_migfail_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("fx_migfail",)
depends_on: str | Sequence[str] | None = ("core_0001",)


def upgrade() -> None:
    thing = op.create_table(
        "fx_migfail_thing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_migfail_thing")),
    )
    op.bulk_insert(thing, [{"id": 1}])
    raise RuntimeError("fx_migfail's migration fails after creating a table, on purpose")


def downgrade() -> None:
    op.drop_table("fx_migfail_thing")

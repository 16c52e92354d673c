"""fx_evolving: version 2 adds a column, then fails

Revision ID: fx_evolving_0002
Revises: fx_evolving_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fx_evolving_0002"
down_revision: str | Sequence[str] | None = "fx_evolving_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fx_evolving_item") as batch:
        batch.add_column(sa.Column("label", sa.String(length=60), nullable=True))
    raise RuntimeError("fx_evolving's second migration fails on purpose")


def downgrade() -> None:
    with op.batch_alter_table("fx_evolving_item") as batch:
        batch.drop_column("label")

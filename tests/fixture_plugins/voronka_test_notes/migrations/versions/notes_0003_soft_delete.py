"""notes soft delete

Revision ID: notes_0003
Revises: notes_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "notes_0003"
down_revision: str | Sequence[str] | None = "notes_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing notes stay live: the new column is empty (NULL) for every row.
    with op.batch_alter_table("notes_note") as batch:
        batch.add_column(sa.Column("deleted_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_notes_note_deleted_at"), ["deleted_at"])


def downgrade() -> None:
    with op.batch_alter_table("notes_note") as batch:
        batch.drop_index(batch.f("ix_notes_note_deleted_at"))
        batch.drop_column("deleted_at")

"""notes custom fields column

Revision ID: notes_0002
Revises: notes_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notes_0002"
down_revision: str | Sequence[str] | None = "notes_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default fills existing rows with an empty object; the model writes {} itself.
    with op.batch_alter_table("notes_note") as batch:
        batch.add_column(sa.Column("custom", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
    # The list, filtered by custom fields or not, reads notes newest first and stops after a page.
    op.create_index("ix_notes_note_created", "notes_note", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_notes_note_created", table_name="notes_note")
    with op.batch_alter_table("notes_note") as batch:
        batch.drop_column("custom")

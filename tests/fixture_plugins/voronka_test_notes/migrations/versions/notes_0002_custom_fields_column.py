"""notes custom fields column

Revision ID: notes_0002
Revises: notes_0001
"""

from collections.abc import Sequence

revision: str = "notes_0002"
down_revision: str | Sequence[str] | None = "notes_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

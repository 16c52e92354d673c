"""notes soft delete

Revision ID: notes_0003
Revises: notes_0002
"""

from collections.abc import Sequence

revision: str = "notes_0003"
down_revision: str | Sequence[str] | None = "notes_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""soft delete recycle bin and merged-into redirects

Revision ID: core_0008
Revises: core_0007
"""

from collections.abc import Sequence

revision: str = "core_0008"
down_revision: str | Sequence[str] | None = "core_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

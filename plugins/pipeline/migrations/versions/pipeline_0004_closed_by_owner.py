"""indexes for one owner's deals closed in a period (the board's won and lost zones)

Revision ID: pipeline_0004
Revises: pipeline_0003
Create Date: 2026-11-28 02:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "pipeline_0004"
down_revision: str | Sequence[str] | None = "pipeline_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_pipeline_opportunity_owner_closed", "pipeline_opportunity",
                    ["owner_user_id", "status", "closed_on"])  # fmt: skip
    op.create_index("ix_pipeline_opportunity_team_closed", "pipeline_opportunity",
                    ["owner_team_id", "status", "closed_on"])  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_pipeline_opportunity_team_closed", table_name="pipeline_opportunity")
    op.drop_index("ix_pipeline_opportunity_owner_closed", table_name="pipeline_opportunity")

"""notes table

Generated with ``Migrator.revision("notes", "notes table")``, then tidied.

Revision ID: notes_0001
Revises:
Create Date: 2026-11-27 12:35:47.574802
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "notes_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("notes",)
depends_on: str | Sequence[str] | None = ("core_0001",)


def upgrade() -> None:
    op.create_table(
        "notes_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_key", voronka.core.types.SearchKey(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("ref_kind", sa.String(length=60), nullable=True),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("created_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_team_id"], ["core_team.id"], name=op.f("fk_notes_note_owner_team_id_core_team"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["core_user.id"], name=op.f("fk_notes_note_owner_user_id_core_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes_note")),
    )
    op.create_index("ix_notes_note_owner_created", "notes_note", ["owner_user_id", "created_at"])
    op.create_index(op.f("ix_notes_note_owner_team_id"), "notes_note", ["owner_team_id"])
    op.create_index(op.f("ix_notes_note_owner_user_id"), "notes_note", ["owner_user_id"])
    op.create_index("ix_notes_note_ref", "notes_note", ["ref_kind", "ref_id"])
    op.create_index(op.f("ix_notes_note_title_key"), "notes_note", ["title_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notes_note_title_key"), table_name="notes_note")
    op.drop_index("ix_notes_note_ref", table_name="notes_note")
    op.drop_index(op.f("ix_notes_note_owner_user_id"), table_name="notes_note")
    op.drop_index(op.f("ix_notes_note_owner_team_id"), table_name="notes_note")
    op.drop_index("ix_notes_note_owner_created", table_name="notes_note")
    op.drop_table("notes_note")

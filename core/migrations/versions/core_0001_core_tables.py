"""core tables

Revision ID: core_0001
Revises:
Create Date: 2026-11-27 12:29:34.419744
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types

revision: str = "core_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("core",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "core_login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_login_attempt")),
    )
    with op.batch_alter_table("core_login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_core_login_attempt_key_at", ["key", "at"], unique=False)

    op.create_table(
        "core_rate_counter",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window", name=op.f("pk_core_rate_counter")),
    )
    op.create_table(
        "core_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.CheckConstraint("visibility IN ('own', 'team', 'under', 'all')", name=op.f("ck_core_role_visibility")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_role")),
        sa.UniqueConstraint("key", name=op.f("uq_core_role_key")),
    )
    op.create_table(
        "core_setting",
        sa.Column("plugin", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("changed_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plugin", "key", name=op.f("pk_core_setting")),
    )
    op.create_table(
        "core_state_version",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_core_state_version")),
    )
    op.create_table(
        "core_team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("is_queue", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_team")),
        sa.UniqueConstraint("name", name=op.f("uq_core_team_name")),
    )
    op.create_table(
        "core_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("name_key", voronka.core.types.SearchKey(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_user")),
        sa.UniqueConstraint("username", name=op.f("uq_core_user_username")),
    )
    with op.batch_alter_table("core_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_core_user_name_key"), ["name_key"], unique=False)

    op.create_table(
        "core_api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", voronka.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["core_user.id"], name=op.f("fk_core_api_key_user_id_core_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_core_api_key_prefix")),
    )
    op.create_table(
        "core_manager_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint("user_id <> manager_id", name=op.f("ck_core_manager_link_not_self")),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_core_manager_link_dates")),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["core_user.id"], name=op.f("fk_core_manager_link_manager_id_core_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["core_user.id"], name=op.f("fk_core_manager_link_user_id_core_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_manager_link")),
    )
    with op.batch_alter_table("core_manager_link", schema=None) as batch_op:
        batch_op.create_index("ix_core_manager_link_manager", ["manager_id", "valid_from"], unique=False)
        batch_op.create_index("ix_core_manager_link_user", ["user_id", "valid_from"], unique=False)

    op.create_table(
        "core_plugin_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", voronka.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["core_user.id"],
            name=op.f("fk_core_plugin_state_changed_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_core_plugin_state")),
    )
    op.create_table(
        "core_role_permission",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("permission", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["core_role.id"], name=op.f("fk_core_role_permission_role_id_core_role"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("role_id", "permission", name=op.f("pk_core_role_permission")),
    )
    op.create_table(
        "core_team_member",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["core_team.id"], name=op.f("fk_core_team_member_team_id_core_team"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["core_user.id"], name=op.f("fk_core_team_member_user_id_core_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_core_team_member")),
    )
    with op.batch_alter_table("core_team_member", schema=None) as batch_op:
        batch_op.create_index("ix_core_team_member_user_id", ["user_id"], unique=False)

    op.create_table(
        "core_user_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["core_role.id"], name=op.f("fk_core_user_role_role_id_core_role"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["core_user.id"], name=op.f("fk_core_user_role_user_id_core_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_core_user_role")),
    )


def downgrade() -> None:
    op.drop_table("core_user_role")
    with op.batch_alter_table("core_team_member", schema=None) as batch_op:
        batch_op.drop_index("ix_core_team_member_user_id")

    op.drop_table("core_team_member")
    op.drop_table("core_role_permission")
    op.drop_table("core_plugin_state")
    with op.batch_alter_table("core_manager_link", schema=None) as batch_op:
        batch_op.drop_index("ix_core_manager_link_user")
        batch_op.drop_index("ix_core_manager_link_manager")

    op.drop_table("core_manager_link")
    op.drop_table("core_api_key")
    with op.batch_alter_table("core_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_core_user_name_key"))

    op.drop_table("core_user")
    op.drop_table("core_team")
    op.drop_table("core_state_version")
    op.drop_table("core_setting")
    op.drop_table("core_role")
    op.drop_table("core_rate_counter")
    with op.batch_alter_table("core_login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_core_login_attempt_key_at")

    op.drop_table("core_login_attempt")

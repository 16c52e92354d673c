"""Core tables: users, roles, teams, manager links, plugin state, security counters, settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from .db import Base
from .types import SearchKey, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "core_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    display_name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(SearchKey(), index=True, default="")
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Kyiv")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Role(Base):
    __tablename__ = "core_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    visibility: Mapped[str] = mapped_column(String(10), default="own")
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (CheckConstraint("visibility IN ('own', 'team', 'under', 'all')", name="visibility"),)


class RolePermission(Base):
    __tablename__ = "core_role_permission"

    role_id: Mapped[int] = mapped_column(ForeignKey("core_role.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(120), primary_key=True)


class UserRole(Base):
    __tablename__ = "core_user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("core_role.id", ondelete="CASCADE"), primary_key=True)


class Team(Base):
    __tablename__ = "core_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    is_queue: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamMember(Base):
    __tablename__ = "core_team_member"

    team_id: Mapped[int] = mapped_column(ForeignKey("core_team.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_core_team_member_user_id", "user_id"),)


class ManagerLink(Base):
    """``user`` reported to ``manager`` from ``valid_from`` (inclusive) until ``valid_to`` (exclusive)."""

    __tablename__ = "core_manager_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"))
    manager_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    __table_args__ = (
        Index("ix_core_manager_link_manager", "manager_id", "valid_from"),
        Index("ix_core_manager_link_user", "user_id", "valid_from"),
        CheckConstraint("user_id <> manager_id", name="not_self"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates"),
    )


class PluginState(Base):
    """An admin's choice to enable or disable a plugin; absent rows fall back to the config file."""

    __tablename__ = "core_plugin_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"), nullable=True)


class StateVersion(Base):
    """Counters every process polls (about once a second) to drop caches another process invalidated."""

    __tablename__ = "core_state_version"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class LoginSession(Base):
    """A signed-in browser. The cookie carries a random token; only its hash is stored, so logout and
    "log out everywhere" revoke a session even when its cookie was copied."""

    __tablename__ = "core_session"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class LoginAttempt(Base):
    """Failed logins, shared by all processes so throttling holds across them."""

    __tablename__ = "core_login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_core_login_attempt_key_at", "key", "at"),)


class RateCounter(Base):
    """Requests per key per fixed window, for routes marked ``rate_limit``."""

    __tablename__ = "core_rate_counter"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ApiKey(Base):
    """A per-integration key; only its hash is stored. ``scopes`` is a list of scope names."""

    __tablename__ = "core_api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SettingValue(Base):
    """A plugin setting chosen by an admin (the plugin's ``settings_schema`` gives type and default)."""

    __tablename__ = "core_setting"

    plugin: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OwnedMixin:
    """Ownership columns for record tables: the owner is a user or a team (a queue), both indexed.

    Declare these columns in the plugin's own migration; visibility filters
    (:func:`voronka.core.security.visibility.visible`) read them.
    """

    @declared_attr
    def owner_user_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"), nullable=True, index=True)

    @declared_attr
    def owner_team_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("core_team.id", ondelete="SET NULL"), nullable=True, index=True)


class VersionedMixin:
    """A version column for optimistic concurrency on records people edit (see ``concurrency``)."""

    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)


class SoftDeleteMixin:
    """``deleted_at`` for record tables whose deletions go to the recycle bin (see ``core.recycle``).

    Declare it in the plugin's own migration (nullable, indexed). Kinds whose model has it are deleted
    softly and can be restored by an admin until the retention period ends; every normal read
    (``RecordKind.visible_to``, ``RecordKinds.resolve``) leaves deleted rows out.
    """

    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)


class CustomFieldsMixin:
    """The JSON column holding a record's custom field values by field key (see ``core.custom_fields``).

    Declare it in the plugin's own migration (``sa.JSON``, not null, server default ``'{}'``); values are
    written only through ``core.writes``, which validates them and keeps the index table in step.
    """

    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"), nullable=False)


__all__ = [
    "ApiKey",
    "CustomFieldsMixin",
    "LoginAttempt",
    "LoginSession",
    "ManagerLink",
    "OwnedMixin",
    "PluginState",
    "RateCounter",
    "Role",
    "RolePermission",
    "SettingValue",
    "SoftDeleteMixin",
    "StateVersion",
    "Team",
    "TeamMember",
    "User",
    "UserRole",
    "VersionedMixin",
]
from . import models_company as _models_company  # noqa: E402,F401  (exchange rates, sequences)
from . import models_fields as _models_fields  # noqa: E402,F401  (custom fields)
from . import models_files as _models_files  # noqa: E402,F401  (attachments)
from . import models_imports as _models_imports  # noqa: E402,F401  (imports)
from . import models_jobs as _models_jobs  # noqa: E402,F401  (outbox, jobs, leases)
from . import models_records as _models_records  # noqa: E402,F401  (tags, audit log)
from . import models_trash as _models_trash  # noqa: E402,F401  (recycle bin, merged-into redirects)

"""Bring a database up to date for a set of plugins: migrations, roles and permissions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from voronka.core.config import Settings
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.migrate import Migrator
from voronka.core.plugins import PluginHost
from voronka.core.security.permissions import CORE_PERMISSIONS, sync_roles

from .plugins_setup import build_host


def sync_permissions(engine: Engine, host: PluginHost) -> None:
    perms = list(CORE_PERMISSIONS)
    for batch in host.all_hooks.permissions():
        perms.extend(batch or [])
    with write_transaction(make_sessionmaker(engine)) as session:
        sync_roles(session, perms)


def upgrade(settings: Settings, extra_sources: list[Any] | None = None) -> tuple[PluginHost, dict[str, str]]:
    """Run every pending migration (core first, then plugins); returns the host and plugin failures."""
    engine = make_engine(settings.database_url)
    try:
        host = build_host(settings, extra_sources)
        failures = Migrator(engine, host).upgrade()
        sync_permissions(engine, host)
        return host, failures
    finally:
        engine.dispose()

"""What one application instance holds: settings, engine, plugin host, caches, and their freshness."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from voronka.core.config import Settings
from voronka.core.migrate import Migrator
from voronka.core.models import PluginState
from voronka.core.plugins import PluginHost
from voronka.core.security.sessions import session_owner
from voronka.core.security.users import CurrentUser, load_user
from voronka.core.settings_store import SettingsStore
from voronka.core.state import read_versions

log = logging.getLogger("voronka")


@dataclass
class Runtime:
    """Per-app state. Caches are dropped when another process bumps a version counter."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    host: PluginHost
    migrator: Migrator
    settings_store: SettingsStore
    templates: Any = None
    record_kinds: Any = None
    """:class:`voronka.core.records.RecordKinds` of the loaded plugins, built at start-up."""
    versions: dict[str, int] = field(default_factory=dict)
    users: dict[int, CurrentUser] = field(default_factory=dict)
    live_sessions: dict[str, int | None] = field(default_factory=dict)
    migration_errors: dict[str, str] = field(default_factory=dict)

    def sync(self, force: bool = False) -> None:
        """Re-read the version counters (at most once per poll interval) and drop stale caches."""
        if not force and not self.host.should_check(self.settings.state_poll_seconds):
            return
        with self.engine.connect() as conn:
            versions = read_versions(conn)
            if force or versions.get("plugins", 0) != self.versions.get("plugins", -1):
                rows = {name: enabled for name, enabled in conn.execute(select(PluginState.name, PluginState.enabled))}
                if self.host.apply_state(versions.get("plugins", 0), rows):
                    log.info("enabled plugins: %s", ", ".join(sorted(self.host.enabled)) or "none")
        if force or versions.get("security", 0) != self.versions.get("security", -1):
            self.users.clear()
        if force or versions.get("sessions", 0) != self.versions.get("sessions", -1):
            self.live_sessions.clear()
        if force or versions.get("settings", 0) != self.versions.get("settings", -1):
            self.settings_store.invalidate()
        self.versions = versions

    def session_user_id(self, token: str) -> int | None:
        """Whose live session ``token`` is; cached until a logout anywhere bumps "sessions"."""
        if token in self.live_sessions:
            return self.live_sessions[token]
        with self.sessions() as session:
            owner = session_owner(session, token)
        if len(self.live_sessions) > 50_000:  # bounded: a flood of forged tokens cannot grow it forever
            self.live_sessions.clear()
        self.live_sessions[token] = owner
        return owner

    def user(self, user_id: int) -> CurrentUser | None:
        found = self.users.get(user_id)
        if found is None:
            with self.sessions() as session:
                found = load_user(session, user_id)
            if found is not None:
                self.users[user_id] = found
        return found

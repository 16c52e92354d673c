"""Fast databases per test: migrate once per session into a template, clone it for each test.

SQLite: the template is a file, copied per test. PostgreSQL: ``CREATE DATABASE … TEMPLATE``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from voronka.core.config import Settings
from voronka.core.db import make_engine, make_sessionmaker, write_transaction

from ..provision import upgrade
from .users import create_test_users

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    return os.environ.get("VORONKA_TEST_PG_URL", DEFAULT_PG_URL)


def postgres_problem() -> str | None:
    """None when PostgreSQL answers at the test URL, else why not."""
    engine = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"PostgreSQL is not reachable at {pg_admin_url()}: {type(exc).__name__}: {exc}"
    finally:
        engine.dispose()
    return None


@dataclass(frozen=True)
class PluginSet:
    """Which plugins an app loads: entry points on/off plus extra module specs, and initial state."""

    modules: tuple[str, ...] = ()
    entry_points: bool = True
    disabled: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        raw = f"{self.entry_points}|{','.join(sorted(self.modules))}"
        return hashlib.sha1(raw.encode()).hexdigest()[:10]

    def settings(self, url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": url,
            "secret_key": "test-secret-key-test-secret-key!",
            "entry_points": self.entry_points,
            "extra_plugins": list(self.modules),
            "disabled_plugins": list(self.disabled),
            "state_poll_seconds": 0.0,
            # a background runner would race the test's own writes; tests that need it pass True
            "run_jobs_in_server": False,
            "gc_tuning": False,  # frozen objects are never collected: not in a process that builds many apps
        }
        values.update(overrides)
        return Settings(**values)


@dataclass
class TemplateStore:
    """Per-session templates keyed by (engine, plugin set); clones per test; drops on close."""

    workdir: Path
    templates: dict[tuple[str, str], str] = field(default_factory=dict)
    pg_databases: list[str] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def template(self, engine: str, plugins: PluginSet) -> str:
        key = (engine, plugins.key)
        if key not in self.templates:
            if engine == "sqlite":
                url = f"sqlite:///{self.workdir / f'template-{plugins.key}.sqlite'}"
            else:
                name = f"vtpl_{self.run_id}_{plugins.key}"
                self._pg_execute(f'DROP DATABASE IF EXISTS "{name}"')
                self._pg_execute(f'CREATE DATABASE "{name}"')
                self.pg_databases.append(name)
                url = str(make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False))
            upgrade(plugins.settings(url))
            engine_ = make_engine(url)
            with write_transaction(make_sessionmaker(engine_)) as session:
                create_test_users(session)
            if engine_.dialect.name == "sqlite":
                with engine_.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine_.dispose()
            self.templates[key] = url
        return self.templates[key]

    def clone(self, engine: str, plugins: PluginSet, dest_dir: Path) -> str:
        template = self.template(engine, plugins)
        if engine == "sqlite":
            source = Path(make_url(template).database or "")
            target = dest_dir / "voronka-test.sqlite"
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        name = f"vt_{self.run_id}_{uuid.uuid4().hex[:10]}"
        template_name = make_url(template).database
        self._pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
        self.pg_databases.append(name)
        return str(make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False))

    def drop(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql" or parsed.database not in self.pg_databases:
            return
        self._pg_execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        self.pg_databases.remove(parsed.database)

    def close(self) -> None:
        for name in list(self.pg_databases):
            self._pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.pg_databases.clear()

    @staticmethod
    def _pg_execute(sql: str) -> None:
        engine = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()


def new_empty_database(engine: str, tmp_path: Path, store: TemplateStore) -> str:
    """An empty database (no migrations) for tests of migrations and first start-up."""
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / f'empty-{uuid.uuid4().hex[:6]}.sqlite'}"
    name = f"vt_{store.run_id}_{uuid.uuid4().hex[:10]}"
    store._pg_execute(f'CREATE DATABASE "{name}"')
    store.pg_databases.append(name)
    return str(make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False))

"""Benchmark databases: migrated from empty with every installed plugin, the test kit's users, and
optionally each enabled plugin's seed data at a chosen scale."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from voronka.core.config import Settings
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.seeding import SeedContext
from voronka.web import seed_core
from voronka.web.app import create_app
from voronka.web.provision import upgrade
from voronka.web.testkit.users import create_test_users

DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-secret-key-bench-secret-key"


def settings_for(url: str, workdir: Path, extra_plugins: list[str]) -> Settings:
    return Settings(
        database_url=url, secret_key=SECRET, data_dir=str(workdir / "data"), extra_plugins=list(extra_plugins)
    )


def environment_for(url: str, workdir: Path, extra_plugins: list[str]) -> dict[str, str]:
    """``VORONKA_*`` variables that make ``Settings.load()`` in a child process match ``settings_for``."""
    config = workdir / "bench.toml"
    config.write_text("# settings come from VORONKA_* variables\n", encoding="utf-8")
    return {
        "VORONKA_CONFIG": str(config),
        "VORONKA_DATABASE_URL": url,
        "VORONKA_SECRET_KEY": SECRET,
        "VORONKA_DATA_DIR": str(workdir / "data"),
        "VORONKA_EXTRA_PLUGINS": ",".join(extra_plugins),
    }


@contextmanager
def bench_database(
    engine: str, workdir: Path, extra_plugins: list[str], scale: int = 0, pg_admin_url: str = DEFAULT_PG_ADMIN
) -> Iterator[str]:
    """Yield the URL of a freshly migrated database (dropped afterwards on PostgreSQL)."""
    if engine == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite'}"
        created = None
    else:
        created = f"voronka_bench_{uuid.uuid4().hex[:8]}"
        _pg(pg_admin_url, f'CREATE DATABASE "{created}"')
        url = make_url(pg_admin_url).set(database=created).render_as_string(hide_password=False)
    try:
        settings = settings_for(url, workdir, extra_plugins)
        _, failures = upgrade(settings)
        if failures:
            raise RuntimeError(f"migrations failed: {failures}")
        db = make_engine(url)
        with write_transaction(make_sessionmaker(db)) as session:
            create_test_users(session)
        db.dispose()
        if scale > 0:
            seed(settings, scale)
        yield url
    finally:
        if created:
            _pg(pg_admin_url, f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')


def seed(settings: Settings, scale: int) -> None:
    app = create_app(settings)
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        ctx = SeedContext(engine=runtime.engine, session=session, scale=scale, host=runtime.host)
        seed_core.seed_core(ctx)
        runtime.host.call_ordered("seed", ctx=ctx)
    runtime.engine.dispose()


def _pg(admin_url: str, sql: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()

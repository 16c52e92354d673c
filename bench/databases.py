"""Benchmark databases: migrated from empty with every installed plugin, the test kit's users, and
optionally each enabled plugin's seed data at a chosen scale."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

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


def has_rows(url: str, model: Any) -> bool:
    """Whether ``model``'s table at ``url`` exists and holds a row: a kept benchmark database is seeded once."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(literal(1)).select_from(model).limit(1)) is not None
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


BENCH_DATA = Path("/work/bench-data")
"""Where benchmark databases are kept between runs (seeding a million rows takes minutes)."""


def add_kept_database_arguments(parser: argparse.ArgumentParser, repeat: int) -> None:
    """The options every benchmark on a kept database takes: the engine, where the database is, how often."""
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--sqlite-file", type=Path)
    parser.add_argument("--pg-database")
    parser.add_argument("--pg-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--repeat", type=int, default=repeat)


def kept_database(args: argparse.Namespace, prefix: str, count: int) -> tuple[str, Path]:
    """The URL and work folder of the benchmark database ``prefix`` at ``count`` rows, kept between runs: a
    SQLite file under :data:`BENCH_DATA`, or a PostgreSQL database (created when missing)."""
    BENCH_DATA.mkdir(parents=True, exist_ok=True)
    workdir = BENCH_DATA / f"{prefix}-work-{'pg' if args.pg else 'sqlite'}-{count}"
    workdir.mkdir(parents=True, exist_ok=True)
    if not args.pg:
        return f"sqlite:///{args.sqlite_file or BENCH_DATA / f'{prefix}-{count}.sqlite'}", workdir
    name = args.pg_database or f"voronka_{prefix.replace('-', '_')}_{count}"
    probe = make_engine(args.pg_url)
    try:
        with probe.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    finally:
        probe.dispose()
    if not exists:
        _pg(args.pg_url, f'CREATE DATABASE "{name}"')
    return make_url(args.pg_url).set(database=name).render_as_string(hide_password=False), workdir


def upgraded(url: str, workdir: Path) -> None:
    """Run the migrations added since a kept database was seeded; a failure stops the benchmark."""
    _, failures = upgrade(settings_for(url, workdir, []))
    if failures:
        raise RuntimeError(f"migrations failed: {failures}")

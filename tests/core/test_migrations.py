"""Migrations on both engines: from empty to head and back to base for core and every installed plugin,
models that match their migrations, refusal to serve an old schema, and data kept across upgrades.

The installed plugins are the entry points (the built-in plugins) plus the notes fixture plugin, which
has its own branch depending on core's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, func, inspect, select, text

from voronka.core.db import Base, make_engine, make_sessionmaker, write_transaction
from voronka.core.errors import PendingMigrations
from voronka.core.migrate import CORE_BRANCH, VERSION_TABLE, Migrator
from voronka.core.models import User
from voronka.core.security.users import create_user
from voronka.web.app import create_app
from voronka.web.plugins_setup import build_host
from voronka.web.provision import upgrade

NOTES = (Path(__file__).resolve().parents[1] / "fixture_plugins" / "voronka_test_notes" / "__init__.py").is_file()
pytestmark = pytest.mark.voronka(plugins=["notes=voronka_test_notes"] if NOTES else [])


@pytest.fixture
def empty(empty_db_url: str, plugin_set: Any) -> Iterator[tuple[Any, Engine, Migrator]]:
    """Settings, engine and migrator for an empty database with the installed plugins."""
    settings = plugin_set.settings(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        yield settings, engine, Migrator(engine, build_host(settings))
    finally:
        engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def model_tables(prefix: str) -> set[str]:
    return {name for name in Base.metadata.tables if name.startswith(prefix)}


def with_migrations(migrator: Migrator) -> list[str]:
    return [p.name for p in migrator.host.loaded if p.migrations_dir is not None]


def dependents(migrator: Migrator, name: str) -> set[str]:
    """Plugins that require ``name``, directly or not: their migrations depend on its tables."""
    found: set[str] = set()
    for info in migrator.host.loaded:
        requires = set(getattr(info.manifest, "requires", {}) or {})
        if info.migrations_dir is not None and (name in requires or requires & found):
            found.add(info.name)
    return found - {name}


def drift(engine: Engine, prefix: str, metadata: MetaData = Base.metadata) -> list[Any]:
    def include(obj: Any, name: str, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return bool(table) and table.startswith(prefix) and table != VERSION_TABLE

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include, "version_table": VERSION_TABLE}
        )
        return compare_metadata(context, metadata)


def test_upgrade_from_empty_and_downgrade_to_base(empty):
    _settings, engine, migrator = empty
    plugins = with_migrations(migrator)
    if NOTES:
        assert "notes" in plugins, "the notes fixture plugin did not load; its branch would go untested"
    assert set(migrator.pending()) == {CORE_BRANCH, *plugins}
    for _ in range(2):  # a full round trip, twice: the downgrade leaves nothing that stops the next upgrade
        assert migrator.upgrade() == {}
        assert migrator.pending() == []
        present = tables(engine)
        assert model_tables("core_") <= present
        for name in plugins:
            assert model_tables(f"{name}_") <= present, name
        heads = {s.head for s in migrator.status()}
        assert migrator.current_revisions() <= heads and migrator.current_revisions()
        migrator.downgrade("base")
        assert tables(engine) == {VERSION_TABLE}, "a downgrade to base must drop every table"
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(text(VERSION_TABLE))) == 0
            if engine.dialect.name == "postgresql":
                leftovers = conn.execute(
                    text(
                        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND relkind IN ('S', 'i', 'v') "
                        "AND relname NOT LIKE :version"
                    ),
                    {"version": f"%{VERSION_TABLE}%"},
                ).scalars()
                assert list(leftovers) == [], "sequences, indexes or views were left behind"
                enums = text(
                    "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = 'public' AND t.typtype = 'e'"
                )
                assert conn.scalar(enums) == 0, "enum types were left behind"
        assert set(migrator.pending()) == {CORE_BRANCH, *plugins}


def test_each_plugin_branch_goes_down_alone(empty):
    _settings, engine, migrator = empty
    assert migrator.upgrade() == {}
    for name in with_migrations(migrator):
        migrator.downgrade(f"{name}@base")
        present = tables(engine)
        assert not {t for t in present if t.startswith(f"{name}_")}, name
        assert model_tables("core_") <= present, f"downgrading {name} touched core"
        # a branch that depends on this one (pipeline's tables point at contacts') goes down with it
        assert set(migrator.pending()) == {name, *dependents(migrator, name)}
        assert migrator.upgrade(migrator.pending()) == {}
        assert model_tables(f"{name}_") <= tables(engine)


def test_models_match_migrations(empty):
    """No drift: what the models declare is what the migrations build, on this engine."""
    _settings, engine, migrator = empty
    assert migrator.upgrade() == {}
    assert drift(engine, "core_") == [], "core's models and core's migrations differ"
    for name in with_migrations(migrator):
        assert drift(engine, f"{name}_") == [], f"{name}'s models and migrations differ"


def test_the_drift_check_sees_a_difference(empty):
    """The comparison above is not vacuous: a column the migrations lack is reported."""
    _settings, engine, migrator = empty
    assert migrator.upgrade([CORE_BRANCH]) == {}
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        if table.name.startswith("core_"):
            table.to_metadata(changed)
    changed.tables["core_user"].append_column(Column("nickname", String(40), nullable=True))
    found = drift(engine, "core_", changed)
    assert [d[0] for d in found] == ["add_column"] and found[0][3].name == "nickname"


def test_create_app_refuses_an_empty_database_and_names_the_command(empty):
    settings, _engine, _migrator = empty
    with pytest.raises(PendingMigrations, match="voronka db upgrade"):
        create_app(settings)


def test_create_app_refuses_a_partly_migrated_core(empty):
    settings, engine, migrator = empty
    migrator.upgrade([CORE_BRANCH])
    with engine.begin() as conn:  # the tables are there but the version table says core has not run
        conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
    with pytest.raises(PendingMigrations, match="voronka db upgrade"):
        create_app(settings)


def test_upgrade_keeps_data(empty):
    settings, engine, migrator = empty
    upgrade(settings)  # what `voronka db upgrade` runs: migrations, then roles and permissions
    factory = make_sessionmaker(engine)
    with write_transaction(factory) as session:
        create_user(session, "keeper", "a-long-password", display_name="Kateryna Keeper", roles=("manager",))
    note_id = None
    if "notes" in with_migrations(migrator):
        from voronka_test_notes.models import Note

        with write_transaction(factory) as session:
            note = Note(title="Keep me", title_key="keep me", body="")
            session.add(note)
            session.flush()
            note_id = note.id
    _host, failures = upgrade(settings)  # again: nothing to do, nothing lost
    assert failures == {}
    with factory() as session:
        assert session.scalar(select(User.display_name).where(User.username == "keeper")) == "Kateryna Keeper"
        if note_id is not None:
            assert session.get(Note, note_id).title == "Keep me"
    if note_id is not None:  # a plugin's branch going down and up leaves core's data alone
        migrator.downgrade("notes@base")
        upgrade(settings)
        with factory() as session:
            assert session.scalar(select(User.id).where(User.username == "keeper")) is not None
    app = create_app(settings)
    try:
        assert app.state.voronka.migrator.pending() == []
    finally:
        app.state.voronka.engine.dispose()

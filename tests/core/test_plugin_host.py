"""Loading plugins in isolation: broken ones are disabled with their dependents, the rest run.

Fixture plugins (tests/fixture_plugins): the chain A → B → C is fx_root ← fx_trunk ← fx_leaf, named so
that alphabetical order (leaf, root, trunk) differs from dependency order. Each broken fixture has a
dependent ("…fan") that must go down with it, the chain named in its error.
"""

from __future__ import annotations

import logging

import fx_calls
import pytest
from alembic import command
from markupsafe import escape
from sqlalchemy import inspect

from voronka.core import HOOK_API_VERSION
from voronka.core.config import Settings
from voronka.core.db import make_engine, write_transaction
from voronka.core.errors import PendingMigrations, PluginLoadError
from voronka.core.migrate import VERSION_TABLE, Migrator, core_head
from voronka.core.plugins import PluginHost, module_source
from voronka.core.seeding import SeedContext
from voronka.web.app import create_app
from voronka.web.plugins_setup import build_host
from voronka.web.provision import upgrade
from voronka.web.testkit import VoronkaClient

NOTES = "notes=voronka_test_notes"
CHAIN = ["fx_leaf", "fx_trunk", "fx_root"]  # listed leaf first: the order must come from `requires`
BROKEN = {
    # plugin: (its own problem, the plugins that go down with it)
    "fx_boom": ("cannot be imported: RuntimeError: fx_boom fails on import on purpose", ["fx_boomfan", "fx_boomfan2"]),
    "fx_orphan": ("requires 'fx_absent', which is not installed", ["fx_orphanfan"]),
    "fx_cyc_x": ("sits in a dependency cycle fx_cyc_x → fx_cyc_y → fx_cyc_x", ["fx_cycfan"]),
    "fx_cyc_y": ("sits in a dependency cycle fx_cyc_x → fx_cyc_y → fx_cyc_x", []),
    "fx_oldapi": (f"supports hook API >=0.1,<1.0 but this Voronka provides {HOOK_API_VERSION}", ["fx_oldapifan"]),
    "fx_toonew": ("requires fx_root >=2.0, but fx_root 1.0.0 is installed", ["fx_toonewfan"]),
    "fx_unknown": ("navigation_itemz matches no hook of the host or of an installed plugin", ["fx_unknownfan"]),
    "fx_badspecs": ("has hookspecs that cannot be loaded: ImportError: fx_badspecs's hookspecs", ["fx_badspecsfan"]),
}
BROKEN_MODULES = [*BROKEN, *(fan for _, fans in BROKEN.values() for fan in fans)]
DUPLICATE = "fx_root=fx_rootdup"  # a second package calling itself fx_root
MIGRATION = ["fx_migfail", "fx_migfan"]
EVERYTHING = [*CHAIN, *BROKEN_MODULES, *MIGRATION, DUPLICATE, NOTES]


def sources(specs: list[str]) -> list:
    found = []
    for spec in specs:
        name, _, module = spec.rpartition("=")
        found.append(module_source(module, name or None))
    return found


def chain_names(error: str) -> list[str]:
    """The plugins named along a "requires X, which is disabled: X requires Y, …" chain."""
    return [part.split("'")[1] for part in error.split("requires ")[1:] if part.startswith("'")]


@pytest.fixture
def clear_calls():
    fx_calls.CALLS.clear()
    yield fx_calls
    fx_calls.CALLS.clear()


def test_each_broken_plugin_is_disabled_with_everything_that_requires_it(caplog):
    with caplog.at_level(logging.ERROR, logger="voronka.plugins"):
        host = PluginHost(sources(EVERYTHING))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for broken, (problem, fans) in BROKEN.items():
        info = host.plugins[broken]
        assert not info.loaded and problem in info.error, (broken, info.error)
        assert f"plugin {broken}" in logged and problem in logged
        for fan in fans:
            error = host.plugins[fan].error
            assert error is not None and problem in error, (fan, error)  # the root cause is named …
            assert broken in chain_names(error)  # … and so is the chain that leads to it
            assert f"plugin {fan} disabled: {error}" in logged
            assert not host.pm.has_plugin(fan)
        assert not host.pm.has_plugin(broken)
    # the two-step chain names every link: boomfan2 → boomfan → boom
    assert chain_names(host.plugins["fx_boomfan2"].error) == ["fx_boomfan", "fx_boom"]

    duplicates = [p for key, p in host.plugins.items() if key.startswith("fx_root#")]
    assert len(duplicates) == 1 and duplicates[0].source == "module fx_rootdup"
    assert "is taken by module fx_root" in duplicates[0].error and "fx_rootdup" in duplicates[0].error
    assert host.plugins["fx_root"].loaded and host.plugins["fx_root"].version == "1.0.0"

    assert host.order == ["fx_root", "fx_trunk", "fx_leaf", "fx_migfail", "fx_migfan", "notes"]
    assert {p.name for p in host.failed} == set(BROKEN_MODULES) | {"fx_root"}  # fx_root: the impostor's entry
    host.pm.check_pending()  # clean: no implementation of an unknown hook stayed registered
    registered = {n for n in host.order if host.pm.has_plugin(n)}
    assert registered == {"fx_root", "fx_trunk", "fx_leaf", "fx_migfail", "notes"}  # fx_migfan has no hooks


def test_a_plugin_failing_at_run_time_takes_its_dependents_down():
    host = PluginHost(sources(CHAIN))
    assert host.enabled == {"fx_root", "fx_trunk", "fx_leaf"}
    host.fail("fx_trunk", "failed to list its routes: RuntimeError: boom")
    assert host.order == ["fx_root"] and host.enabled == {"fx_root"}
    assert chain_names(host.plugins["fx_leaf"].error) == ["fx_trunk"]
    assert "failed to list its routes" in host.plugins["fx_leaf"].error
    host.pm.check_pending()


def test_strict_mode_makes_any_load_error_fatal_and_names_the_plugins():
    with pytest.raises(PluginLoadError) as raised:
        PluginHost(sources(EVERYTHING), strict=True)
    message = str(raised.value)
    for name in BROKEN_MODULES:
        assert f"\n  {name}: " in message, name
    assert "fx_rootdup" in message
    assert "fx_migfail" not in message  # migrations have not run yet: nothing wrong at load time
    strict_ok = PluginHost(sources([*CHAIN, NOTES]), strict=True)
    assert not strict_ok.failed


def test_strict_setting_stops_the_app(db_url):
    settings = Settings(database_url=db_url, secret_key="x" * 32, entry_points=False, strict_plugins=True,
                        extra_plugins=["fx_root", "fx_orphan"])  # fmt: skip
    with pytest.raises(PluginLoadError, match="fx_orphan: requires 'fx_absent'"):
        create_app(settings)


@pytest.mark.voronka(plugins=EVERYTHING, entry_points=False)
def test_the_rest_of_the_app_runs_and_serves_pages(app, client):
    host = app.state.voronka.host
    host.pm.check_pending()
    assert host.enabled == {"fx_root", "fx_trunk", "fx_leaf", "notes"}
    # fx_migfail's migration failed when the database was upgraded, so at start-up it is pending
    assert "run `voronka db upgrade`" in host.plugins["fx_migfail"].error
    assert chain_names(host.plugins["fx_migfan"].error) == ["fx_migfail"]

    client.login("admin")
    home = client.get("/")
    assert home.status_code == 200
    for key in ("fx_root.index", "fx_leaf.index", "notes.list"):
        assert f'data-key="{key}"' in home.text
    assert 'data-key="fx_unknown.index"' not in home.text
    assert client.get("/fx_root/").text == "fx_root is serving"
    assert client.get("/fx_leaf/").text == "fx_leaf is serving"
    assert client.get("/notes/").status_code == 200
    assert client.get("/fx_migfail/").status_code == 404
    assert client.hx_get("/search", params={"q": "anything"}).status_code == 200

    admin_page = client.get("/admin/plugins")  # the chain is named on the admin page too
    assert admin_page.status_code == 200
    for name in [*BROKEN_MODULES, *MIGRATION]:
        assert f'id="plugin-{name}"' in admin_page.text, name
        assert str(escape(host.plugins[name].error)) in admin_page.text, name


@pytest.mark.voronka(plugins=CHAIN, entry_points=False)
def test_startup_shutdown_and_seed_run_in_dependency_order(app, clear_calls):
    assert app.state.voronka.host.order == ["fx_root", "fx_trunk", "fx_leaf"]
    with VoronkaClient(app) as client:
        assert clear_calls.order_of("startup") == ["fx_root", "fx_trunk", "fx_leaf"]
        assert client.get("/health").status_code == 200
    assert clear_calls.order_of("shutdown") == ["fx_leaf", "fx_trunk", "fx_root"]

    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        ctx = SeedContext(engine=runtime.engine, session=session)
        ran = runtime.host.call_ordered("seed", ctx=ctx)
    assert [name for name, _ in ran] == ["fx_root", "fx_trunk", "fx_leaf"]
    assert clear_calls.order_of("seed") == ["fx_root", "fx_trunk", "fx_leaf"]
    assert ctx.ids["fx_leaf.saw_trunk"] == [1]  # each saw what the one before it seeded


@pytest.mark.voronka(plugins=CHAIN, entry_points=False, disabled=["fx_trunk"])
def test_start_up_skips_disabled_plugins_and_their_dependents(app, clear_calls):
    with VoronkaClient(app):
        assert clear_calls.order_of("startup") == ["fx_root"]


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def applied_revisions(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")}
    finally:
        engine.dispose()


def test_a_failing_migration_is_rolled_back_and_disables_the_plugin_and_its_dependents(empty_db_url, caplog):
    settings = Settings(database_url=empty_db_url, secret_key="x" * 32, entry_points=False,
                        extra_plugins=[*MIGRATION, *CHAIN, NOTES])  # fmt: skip
    with caplog.at_level(logging.ERROR):
        host, failures = upgrade(settings)
    # order: fx_root, fx_trunk, fx_leaf, fx_migfail, fx_migfan, notes — notes still migrates after the failure
    assert host.order == ["fx_root", "fx_trunk", "fx_leaf", "notes"]
    assert list(failures) == ["fx_migfail"]
    assert "migration failed and was rolled back: RuntimeError: fx_migfail's migration fails" in failures["fx_migfail"]
    assert host.plugins["fx_migfail"].error == failures["fx_migfail"]
    assert chain_names(host.plugins["fx_migfan"].error) == ["fx_migfail"]
    assert "migration failed and was rolled back" in host.plugins["fx_migfan"].error
    assert host.enabled == {"fx_root", "fx_trunk", "fx_leaf", "notes"}
    assert "plugin fx_migfail migration failed and was rolled back" in caplog.text

    tables = table_names(empty_db_url)
    assert {"core_user", "core_plugin_state", "fx_root_item", "notes_note"} <= tables
    assert "fx_migfail_thing" not in tables  # created before the error, rolled back with it
    assert "fx_migfan_row" not in tables
    # the heads: core's own (when plugins depend on an older core revision) and the plugins that migrated
    assert applied_revisions(empty_db_url) - {core_head()} == {"fx_root_0001", "notes_0003"}  # notes at its head
    engine = make_engine(empty_db_url)
    try:
        assert Migrator(engine, build_host(settings)).pending() == ["fx_migfail", "fx_migfan"]
    finally:
        engine.dispose()

    # the next start-up sees fx_migfail's migrations pending: that disables it (and fx_migfan), nothing more
    app = create_app(Settings(**{**settings.__dict__, "state_poll_seconds": 0.0}))
    started = app.state.voronka.host
    assert "has migrations that have not run; run `voronka db upgrade`" in started.plugins["fx_migfail"].error
    # and says why the last upgrade failed, which `voronka db upgrade` recorded
    assert "its last upgrade failed: migration failed and was rolled back: RuntimeError" in (
        started.plugins["fx_migfail"].error
    )
    assert chain_names(started.plugins["fx_migfan"].error) == ["fx_migfail"]
    assert started.enabled == {"fx_root", "fx_trunk", "fx_leaf", "notes"}
    with VoronkaClient(app) as client:
        assert client.get("/health").status_code == 200
        assert "/login" in str(client.get("/notes/").url)  # served (behind the login), not a 404
        assert client.get("/fx_migfail/").status_code == 404


@pytest.mark.voronka(plugins=[NOTES], entry_points=False)
def test_a_plugin_with_pending_migrations_is_disabled_at_create_app(make_app, client):
    app = make_app(extra_plugins=[NOTES, *CHAIN])  # fx_root's migration never ran on this database
    host = app.state.voronka.host
    assert host.plugins["fx_root"].error == "has migrations that have not run; run `voronka db upgrade`"
    for dependent in ("fx_trunk", "fx_leaf"):
        assert "fx_root has migrations that have not run" in host.plugins[dependent].error
    assert host.enabled == {"notes"}
    with VoronkaClient(app) as second:
        second.login("admin")
        assert second.get("/fx_root/").status_code == 404
        assert second.get("/notes/").status_code == 200


def test_core_pending_migrations_stop_create_app_naming_the_command(empty_db_url):
    settings = Settings(database_url=empty_db_url, secret_key="x" * 32, entry_points=False, extra_plugins=[NOTES])
    with pytest.raises(PendingMigrations, match="voronka db upgrade"):
        create_app(settings)


def test_a_failing_later_migration_keeps_the_earlier_ones_and_does_not_stop_other_plugins(empty_db_url):
    """Version 1 of fx_evolving migrated long ago; version 2's migration fails. Its applied revision stays
    in the version table, and the other plugins' upgrades must still resolve it and run."""
    settings = Settings(database_url=empty_db_url, secret_key="x" * 32, entry_points=False,
                        extra_plugins=["fx_evolving", NOTES])  # fmt: skip
    engine = make_engine(empty_db_url)
    try:
        before = Migrator(engine, build_host(settings))
        before.upgrade(["core"])
        with engine.begin() as conn:  # what version 1 of the plugin had done
            command.upgrade(before.config(conn), "fx_evolving_0001")

        host = build_host(settings)
        failures = Migrator(engine, host).upgrade()
        assert list(failures) == ["fx_evolving"]
        assert "RuntimeError: fx_evolving's second migration fails on purpose" in failures["fx_evolving"]
        assert host.enabled == {"notes"}
        columns = {c["name"] for c in inspect(engine).get_columns("fx_evolving_item")}
        assert columns == {"id"}  # version 2's column was rolled back, version 1's table stays
        assert "notes_note" in inspect(engine).get_table_names()
        assert Migrator(engine, build_host(settings)).pending() == ["fx_evolving"]
    finally:
        engine.dispose()

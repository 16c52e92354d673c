"""``check_plugin`` (``voronka plugins check``): passes on every built-in plugin and on notes, and reports
each kind of mistake in a small broken fixture plugin with a message that says what to fix."""

from __future__ import annotations

import pytest

from voronka.core.config import Settings
from voronka.web.testkit import check_plugin

BUILT_IN = ("contacts", "leads", "pipeline", "planning", "outlook")


def fixture_settings(*specs: str) -> Settings:
    return Settings(database_url="sqlite://", secret_key="check", entry_points=False, extra_plugins=list(specs))


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_plugin_passes(name):
    result = check_plugin(name)  # found through the voronka.plugins entry points, as partners' plugins are
    assert result.ok, "\n".join(result.problems)
    assert "manifest" in result.passed and "migrations match models" in result.passed


def test_notes_passes():
    result = check_plugin("notes", fixture_settings("notes=voronka_test_notes"))
    assert result.ok, "\n".join(result.problems)
    assert len(result.passed) == 7


def test_an_unknown_plugin_is_reported():
    result = check_plugin("nosuch", fixture_settings("notes=voronka_test_notes"))
    assert result.problems == ["no plugin named 'nosuch' is installed (installed: notes)"]


BROKEN = {
    "fx_bad_table": ["table prefixes: Widget uses table 'widgets'; name it 'fx_bad_table_…'"],
    "fx_bad_template": [
        "templates compile: fx_bad_template/page.html:3: Expected an expression, got 'end of statement block'",
        "templates compile: template stray.html must live under templates/fx_bad_template/ so names do not collide",
    ],
    "fx_open_form": ["routes and markers: /submit: a public CSRF-exempt route must be rate-limited"],
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_plugin_is_reported_with_what_to_fix(name):
    result = check_plugin(name, fixture_settings(name))
    assert not result.ok
    assert result.problems == BROKEN[name]


def test_a_hookimpl_with_arguments_the_spec_does_not_pass_is_reported():
    result = check_plugin("fx_bad_args", fixture_settings("fx_bad_args"))
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.startswith("loading: fx_bad_args has hook implementations that do not match the specs")
    assert "nav_items(request, colour)" in problem
    assert "Argument(s) {'colour'} are declared in the hookimpl but can not be found in the hookspec" in problem


def test_models_that_drift_from_migrations_are_reported():
    result = check_plugin("fx_drift", fixture_settings("fx_drift"))
    drift = [p for p in result.problems if p.startswith("migrations match models:")]
    assert drift and "add_column" in drift[0] and "'fx_drift_item'" in drift[0] and "colour" in drift[0]
    assert any("write a migration" in p and "Migrator.revision('fx_drift'" in p for p in drift)
    assert [p for p in result.problems if p not in drift] == []

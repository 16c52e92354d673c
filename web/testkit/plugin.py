"""The pytest plugin (entry point ``pytest11: voronka``): fixtures for apps, databases and clients."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from voronka.core.config import Settings

from ..app import create_app
from .client import VoronkaClient
from .databases import PluginSet, TemplateStore, new_empty_database, postgres_problem
from .recorder import HookRecorder

ENGINES = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("voronka")
    group.addoption(
        "--voronka-engines",
        default=os.environ.get("VORONKA_TEST_ENGINES", "sqlite,postgresql"),
        help="database engines that database tests run on (comma-separated: sqlite,postgresql)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "voronka(plugins=[...], entry_points=True, disabled=[...]): which plugins the test's app loads",
    )
    config.addinivalue_line("markers", "engines(*names): limit a database test to these engines")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" not in metafunc.fixturenames:
        return
    chosen = [e.strip() for e in metafunc.config.getoption("--voronka-engines").split(",") if e.strip()]
    marker = metafunc.definition.get_closest_marker("engines")
    if marker is not None:
        chosen = [e for e in chosen if e in marker.args]
    metafunc.parametrize("engine", chosen, ids=chosen)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(problem: str | None) -> None:
    """Skip with the reason when a service is missing; under CI fail instead."""
    if problem is None:
        return
    if in_ci():
        pytest.fail(f"{problem} (CI=true: a missing service fails the run)")
    pytest.skip(problem)


@pytest.fixture(scope="session")
def voronka_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateStore]:
    store = TemplateStore(tmp_path_factory.mktemp("voronka-templates"))
    yield store
    store.close()


@pytest.fixture(scope="session")
def _pg_problem() -> str | None:
    return postgres_problem()


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The database engine this test runs on; parametrized over ``--voronka-engines``."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def plugin_set(request: pytest.FixtureRequest) -> PluginSet:
    """The plugins of the test's app, from ``@pytest.mark.voronka(...)`` (default: installed plugins)."""
    marker = request.node.get_closest_marker("voronka")
    kwargs = dict(marker.kwargs) if marker else {}
    return PluginSet(
        modules=tuple(kwargs.get("plugins", ())),
        entry_points=kwargs.get("entry_points", True),
        disabled=tuple(kwargs.get("disabled", ())),
    )


@pytest.fixture
def db_url(
    engine: str, plugin_set: PluginSet, voronka_templates: TemplateStore, tmp_path: Path, _pg_problem: str | None
) -> Iterator[str]:
    """A migrated database with the test users, cloned from the session's template."""
    if engine == "postgresql":
        require_service(_pg_problem)
    url = voronka_templates.clone(engine, plugin_set, tmp_path)
    yield url
    voronka_templates.drop(url)


@pytest.fixture
def empty_db_url(
    engine: str, voronka_templates: TemplateStore, tmp_path: Path, _pg_problem: str | None
) -> Iterator[str]:
    """An empty database (nothing migrated), for migration and first-start tests."""
    if engine == "postgresql":
        require_service(_pg_problem)
    url = new_empty_database(engine, tmp_path, voronka_templates)
    yield url
    voronka_templates.drop(url)


@pytest.fixture
def voronka_settings(db_url: str, plugin_set: PluginSet, tmp_path: Path) -> Settings:
    return plugin_set.settings(db_url, data_dir=str(tmp_path / "data"))


@pytest.fixture
def make_app(voronka_settings: Settings) -> Iterator[Callable[..., Any]]:
    """``make_app(**setting_overrides)`` builds another app on the same database (a second process)."""
    built: list[Any] = []

    def build(**overrides: Any) -> Any:
        values = {**voronka_settings.__dict__, **overrides}
        app = create_app(Settings(**values))
        built.append(app)
        return app

    yield build
    # An app whose lifespan never ran (no client) still holds pooled connections: close them, or the
    # garbage collector does it later with a ResourceWarning that fails an unrelated test.
    for app in built:
        app.state.voronka.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app()


@pytest.fixture
def client(app: Any) -> Iterator[VoronkaClient]:
    with VoronkaClient(app) as test_client:
        yield test_client


@pytest.fixture
def hook_recorder(app: Any) -> Iterator[HookRecorder]:
    recorder = HookRecorder.attach(app)
    yield recorder
    recorder.detach()

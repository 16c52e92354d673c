"""Walk every registered route of the app — core's and every loaded plugin's — and prove the guard holds.

The app loads the installed plugins (entry points) and every fixture plugin package in
tests/fixture_plugins, found when the tests are collected, so a route a plugin adds tomorrow is walked
without touching this file. For each route and method, with dummy values for path parameters:

- an anonymous GET of a non-public route redirects to /login (401 for HTMX and JSON), never 200 or 500;
- an unsafe method without a CSRF token is refused with 403 unless the route is marked exempt;
- nothing answers 500, anonymous or logged in, with or without a token, with an empty form.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute

from voronka.core.security.markers import RouteMarks
from voronka.web.guard import SAFE_METHODS, route_marks

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixture_plugins"


def fixture_plugin_specs() -> list[str]:
    """Every fixture plugin package, as ``module`` or ``name=module`` when its manifest names it otherwise.

    Broken fixtures (they fail on import, on purpose) are passed as they are: the host disables them.
    """
    packages = sorted(
        p.name for p in FIXTURE_DIR.iterdir() if (p / "__init__.py").is_file() and not p.name.startswith("_")
    )
    specs = []
    for package in packages:
        try:
            name = getattr(importlib.import_module(package).manifest, "name", package)
        except Exception:
            name = package
        taken = name in packages or any(s.startswith(f"{name}=") for s in specs)
        specs.append(package if name == package or taken else f"{name}={package}")
    return specs


FIXTURE_PLUGINS = fixture_plugin_specs()
pytestmark = pytest.mark.voronka(plugins=FIXTURE_PLUGINS)

CSRF_MESSAGE = "did not come from this site"
CHECKED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?\}")
_DUMMIES = {
    "int": "987654",
    "float": "1.5",
    "path": "dummy/deeper",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "str": "zz-dummy",
}


@dataclass(frozen=True)
class Leaf:
    """One endpoint as a client reaches it: its full path template, a concrete URL and its markers."""

    template: str
    url: str
    route: BaseRoute
    methods: frozenset[str]
    marks: RouteMarks
    static: bool = False

    def __str__(self) -> str:
        return self.template


def fill(template: str, **override: str) -> str:
    """Put a dummy value of the right kind in every ``{param}`` / ``{param:convertor}``."""
    values = {**_DUMMIES, **override}
    return _PARAM.sub(lambda m: values.get(m.group(2) or "str", "zz-dummy"), template)


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[Leaf]:
    """Every leaf route under ``routes``, recursing into mounts (plugins sit behind a mounted gate)."""
    for route in routes:
        if isinstance(route, Mount):
            if hasattr(route.app, "directory"):  # StaticFiles: public by nature
                yield Leaf(prefix + route.path + "/{path:path}", "", route, frozenset({"GET"}), RouteMarks(), True)
            else:
                yield from walk(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            template = prefix + route.path
            methods = frozenset(route.methods or {"GET"}) & set(CHECKED_METHODS)
            yield Leaf(template, fill(template), route, methods, route_marks(route))
        elif isinstance(route, WebSocketRoute):
            raise AssertionError(f"websocket route {prefix}{route.path}: the guard does not cover websockets yet")
        else:
            raise AssertionError(f"{prefix}: a {type(route).__name__} route is not walked; teach this test about it")


def resolve(routes: list[BaseRoute], scope: dict[str, Any]) -> BaseRoute | None:
    """The leaf route Starlette would dispatch ``scope`` to (None: 404 or 405)."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            if isinstance(route, Mount) and not hasattr(route.app, "directory"):
                return resolve(list(route.routes), {**scope, **child})
            return route
    return None


def leaves(app: Any) -> list[Leaf]:
    return list(walk(list(app.routes)))


def dispatches_to(app: Any, leaf: Leaf, method: str) -> bool:
    """False when another route shadows this one for the dummy URL (then only "no 500" is checked)."""
    path = urlsplit(leaf.url).path
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "path_params": {}}
    return resolve(list(app.routes), scope) is leaf.route


def plugin_prefixes(app: Any) -> dict[str, str]:
    host = app.state.voronka.host
    return {f"/{info.name}/": info.name for info in host.loaded if getattr(info.hooks, "routes", None) is not None}


def send(client: Any, method: str, url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("follow_redirects", False)
    if method in SAFE_METHODS:
        return client.request(method, url, **kwargs)
    return client.request(method, url, data=kwargs.pop("data", {}), **kwargs)


# -- the walk sees everything -------------------------------------------------------------------------


def test_walk_covers_core_and_every_plugin_with_routes(app):
    found = leaves(app)
    templates = {leaf.template for leaf in found}
    assert {"/", "/login", "/logout", "/health", "/me", "/search"} <= templates
    for prefix, name in plugin_prefixes(app).items():
        assert any(t.startswith(prefix) for t in templates), f"plugin {name} has a routes hook but no route walked"
    # the fixture's nested mount and path parameters are reached and filled
    assert "/voronka_test_security/nested/{slug}/detail" in templates
    assert "/voronka_test_security/items/{item_id:int}" in templates
    assert "/voronka_test_security/items/987654" in {leaf.url for leaf in found}
    for leaf in found:
        if not leaf.static:
            endpoint = leaf.route.endpoint  # type: ignore[attr-defined]
            assert getattr(endpoint, "__wrapped__", None) is not None, f"{leaf} is not wrapped by the guard"
            assert "{" not in leaf.url, f"{leaf}: a path parameter was not filled"


def test_fixture_plugins_are_loaded_through_the_marker(app):
    host = app.state.voronka.host
    assert host.is_enabled("voronka_test_security")
    loaded = {info.name for info in host.loaded}
    names = {spec.partition("=")[0] for spec in FIXTURE_PLUGINS}
    assert len(loaded & names) > 1, "fixture plugins did not load: the walk would miss plugin routes"


# -- anonymous ------------------------------------------------------------------------------------------


def test_anonymous_requests_never_reach_a_protected_route(app, client):
    checked = 0
    for leaf in leaves(app):
        if leaf.static:
            continue
        for method in sorted(leaf.methods):
            response = send(client, method, leaf.url)
            where = f"anonymous {method} {leaf} ({leaf.url})"
            assert response.status_code < 500, f"{where} answered {response.status_code}"
            if not dispatches_to(app, leaf, method):
                continue
            checked += 1
            marks = leaf.marks
            if marks.api_scopes is not None:
                assert response.status_code == 401, f"{where}: an API-key route without a key must be 401"
                continue
            if method == "GET" and not marks.public:
                assert response.status_code == 303, f"{where}: expected a redirect to /login"
                location = urlsplit(response.headers["location"])
                assert location.path == "/login", where
                assert parse_qs(location.query)["next"] == [leaf.url], where
                htmx = send(client, method, leaf.url, headers={"HX-Request": "true"})
                assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/login?next="), where
                api = send(client, method, leaf.url, headers={"Accept": "application/json"})
                assert api.status_code == 401 and api.json()["status"] == 401, where
            elif method not in SAFE_METHODS and not marks.public:
                assert response.status_code == 401, f"{where}: an unsafe request without a login must be 401"
            elif method not in SAFE_METHODS and not marks.csrf_exempt:
                assert response.status_code == 403 and CSRF_MESSAGE in response.text, f"{where}: CSRF not checked"
            if not marks.public:
                assert response.status_code != 200, f"{where} answered 200"
    assert checked > 20


def test_static_files_are_public_and_a_missing_file_is_404(app, client):
    statics = [leaf for leaf in leaves(app) if leaf.static]
    assert statics
    for leaf in statics:
        prefix = leaf.template.removesuffix("/{path:path}")
        assert send(client, "GET", f"{prefix}/no-such-file.css").status_code == 404
        directory = Path(leaf.route.app.directory)  # type: ignore[attr-defined]
        first = next((p for p in sorted(directory.rglob("*")) if p.is_file()), None)
        if first is not None:
            response = send(client, "GET", f"{prefix}/{first.relative_to(directory).as_posix()}")
            assert response.status_code == 200, f"{prefix}: a shipped asset must be served without a login"


# -- logged in ------------------------------------------------------------------------------------------


def test_unsafe_requests_without_a_csrf_token_are_refused(app, client):
    client.login("admin")
    checked = 0
    for leaf in leaves(app):
        for method in sorted(leaf.methods - SAFE_METHODS):
            if not dispatches_to(app, leaf, method):
                continue
            checked += 1
            where = f"{method} {leaf} without a CSRF token"
            missing = send(client, method, leaf.url, data={"text": "x"})
            forged = send(client, method, leaf.url, headers={"X-CSRF-Token": "forged-token"})
            forged_field = send(client, method, leaf.url, data={"csrf_token": "forged-token"})
            for response in (missing, forged, forged_field):
                assert response.status_code < 500, f"{where} answered {response.status_code}"
                if leaf.marks.api_scopes is not None:
                    assert response.status_code == 401, where
                elif leaf.marks.csrf_exempt:
                    assert CSRF_MESSAGE not in response.text, f"{where}: the route is exempt but CSRF was checked"
                else:
                    assert response.status_code == 403 and CSRF_MESSAGE in response.text, where
            assert client.get("/me", follow_redirects=False).status_code == 200, f"{where} logged the user out"
    assert checked >= 8


@pytest.mark.parametrize("username", ["admin", "sales"])
def test_nothing_answers_500_when_logged_in(app, client, username):
    client.login(username)
    for leaf in leaves(app):
        if leaf.static:
            continue
        for method in sorted(leaf.methods):
            where = f"{username}: {method} {leaf} ({leaf.url})"
            if method in SAFE_METHODS:
                # the dummy id finds nothing (404); id 1 is a real row in most tables (the first user, role...)
                existing = fill(leaf.template, int="1")
                for url, headers in [
                    (leaf.url, {}),
                    (leaf.url, {"HX-Request": "true"}),
                    (leaf.url, {"Accept": "application/json"}),
                    *([(existing, {}), (existing, {"HX-Request": "true"})] if existing != leaf.url else []),
                ]:
                    response = send(client, method, url, headers=headers)
                    assert response.status_code < 500, f"{where} {url} {headers} answered {response.status_code}"
                    if not leaf.marks.public and leaf.marks.api_scopes is None and dispatches_to(app, leaf, method):
                        assert not _is_login_redirect(response), f"{where}: logged in, yet sent to /login"
                continue
            token = client.csrf_token or client.refresh_csrf()
            response = send(client, method, leaf.url, headers={"X-CSRF-Token": token})
            assert response.status_code < 500, f"{where} with an empty form answered {response.status_code}"
            assert CSRF_MESSAGE not in response.text, f"{where}: a valid CSRF token was refused"
            if client.get("/me", follow_redirects=False).status_code != 200:  # e.g. POST /logout
                client.login(username)


def _is_login_redirect(response: Any) -> bool:
    return response.status_code in (302, 303) and urlsplit(response.headers["location"]).path == "/login"

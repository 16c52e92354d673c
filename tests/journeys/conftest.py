"""Browser journeys: a real uvicorn server on a loopback port, driven by Debian's Chromium through Playwright.

The server runs in a thread of the test process against a migrated SQLite database cloned from the test
kit's session template (the same users as every other test: admin, manager, sales, sales2, operator).
Chromium comes from the system (``/usr/bin/chromium``, or ``$VORONKA_CHROMIUM``); ``playwright install`` is
never needed. Without Chromium or Playwright the journeys skip with the reason, except under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from voronka.core.db import write_transaction
from voronka.core.seeding import SeedContext
from voronka.web import seed_core
from voronka.web.app import create_app
from voronka.web.testkit.databases import PluginSet, TemplateStore
from voronka.web.testkit.plugin import require_service
from voronka.web.testkit.users import TEST_PASSWORD

log = logging.getLogger("voronka.tests.journeys")

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}
# Fixture plugins that make the shell show nav, pages, panels and search hits coming from a plugin.
OPTIONAL_FIXTURE_PLUGINS = {"notes": "voronka_test_notes"}


def chromium_path() -> str | None:
    explicit = os.environ.get("VORONKA_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def browser_problem() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install playwright; no browser download needed)"
    if chromium_path() is None:
        return "Chromium is not installed (apt-get install -y chromium, or set VORONKA_CHROMIUM)"
    return None


def screenshots_dir() -> Path:
    folder = Path(os.environ.get("VORONKA_SCREENSHOTS") or REPO / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- the server -------------------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: Any
    plugins: tuple[str, ...]
    seeded: bool


def _journey_plugins() -> PluginSet:
    modules = tuple(
        f"{name}={module}"
        for name, module in OPTIONAL_FIXTURE_PLUGINS.items()
        if importlib.util.find_spec(module) is not None
    )
    return PluginSet(modules=modules)


def _seed(app: Any) -> bool:
    """Demo data at the smallest scale (as ``voronka demo`` makes it), so pages and search have content."""
    runtime = app.state.voronka
    try:
        with write_transaction(runtime.sessions) as session:
            ctx = SeedContext(engine=runtime.engine, session=session, scale=1, host=runtime.host)
            seed_core.seed_core(ctx)
            runtime.host.call_ordered("seed", ctx=ctx)
    except Exception:
        log.warning("seeding for the journeys failed; pages are shown without demo data", exc_info=True)
        return False
    return True


def _serve(app: Any) -> tuple[str, Callable[[], None]]:
    """Start uvicorn (one worker, in a thread) on a free loopback port; returns the URL and a stopper."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="journey-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start for the browser journeys")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()

    return f"http://127.0.0.1:{port}", stop


@pytest.fixture(scope="session")
def _browser_problem() -> str | None:
    return browser_problem()


@pytest.fixture(scope="module")
def live_server(
    _browser_problem: str | None, voronka_templates: TemplateStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """uvicorn serving a fresh app on a migrated SQLite clone (with the notes fixture plugin if present)."""
    require_service(_browser_problem)
    plugins = _journey_plugins()
    workdir = tmp_path_factory.mktemp("journey-db")
    url = voronka_templates.clone("sqlite", plugins, workdir)
    app = create_app(plugins.settings(url, data_dir=str(workdir / "data")))
    seeded = _seed(app)
    base, stop = _serve(app)
    try:
        yield LiveServer(base, app, plugins.modules, seeded)
    finally:
        stop()


# --- the browser ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(_browser_problem: str | None) -> Iterator[Any]:
    require_service(_browser_problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# Collected in the page before any of its scripts run; CDP-injected, so the CSP does not block it.
_CSP_PROBE = """
window.__voronkaCsp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__voronkaCsp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
                           ' at ' + (e.sourceFile || '') + ':' + (e.lineNumber || 0));
});
"""


@dataclass
class Browsing:
    """One browser context (a viewport) with the console watched for errors."""

    server: LiveServer
    context: Any
    page: Any
    width: int
    height: int
    errors: list[str] = field(default_factory=list)
    shots: Path = field(default_factory=screenshots_dir)
    failed_documents: set[str] = field(default_factory=set)

    def goto(self, path: str, *, status: int | None = 200) -> Any:
        """Open ``path`` and wait for HTMX to settle; ``status=None`` accepts any answer."""
        url = self.server.url + path
        response = self.page.goto(url, wait_until="networkidle")
        assert response is not None, f"no response for {path}"
        if status is not None:
            assert response.status == status, f"{path}: expected HTTP {status}, got {response.status}"
        return response

    def login(self, username: str = "admin", password: str = TEST_PASSWORD) -> None:
        """Log in through the real form, as a person would."""
        self.goto("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation(wait_until="networkidle"):
            self.page.click("button[type=submit]")
        assert "/login" not in self.page.url, f"login as {username} failed: still on {self.page.url}"

    def take_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and CSP violations since the last call."""
        try:
            csp = self.page.evaluate("window.__voronkaCsp || []")
            self.page.evaluate("window.__voronkaCsp = []")
        except Exception:
            csp = []
        found = self.errors + [f"CSP violation: {v}" for v in csp]
        self.errors = []
        return found

    def _on_response(self, response: Any) -> None:
        if response.status >= 400 and response.request.is_navigation_request():
            self.failed_documents.add(response.url)

    def _on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        location = (message.location or {}).get("url", "")
        # The browser reports a document answered with 4xx/5xx as a failed resource; the tests check
        # every page's status themselves (a 404 page is meant to be one).
        if text.startswith("Failed to load resource") and location in self.failed_documents:
            return
        self.errors.append(f"console error: {text} ({location})")


@pytest.fixture
def browse(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Browsing]]:
    """``browse("desktop" | "phone")`` opens a fresh context at that viewport (``locale=`` sets the browser's
    language, and so its Accept-Language); closed after the test."""
    opened: list[Any] = []

    def open_context(viewport: str, locale: str = "en-GB") -> Browsing:
        width, height = VIEWPORTS[viewport]
        context = browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=1,
            is_mobile=viewport == "phone",
            has_touch=viewport == "phone",
            locale=locale,
            timezone_id="Europe/Kyiv",
        )
        context.add_init_script(_CSP_PROBE)
        page = context.new_page()
        page.set_default_timeout(10_000)
        browsing = Browsing(live_server, context, page, width, height)
        page.on("response", browsing._on_response)
        page.on("console", browsing._on_console)
        page.on("pageerror", lambda exc: browsing.errors.append(f"uncaught exception: {exc}"))
        opened.append(context)
        return browsing

    yield open_context
    for context in opened:
        context.close()

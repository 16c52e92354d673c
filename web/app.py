"""The application factory: settings in, a Starlette app with every enabled plugin's routes out."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Router
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from voronka.core import i18n
from voronka.core.config import Settings
from voronka.core.db import APP_INFO, Base, check_connection, make_engine, make_sessionmaker
from voronka.core.errors import PendingMigrations
from voronka.core.files import attach_storage, storage_from_settings
from voronka.core.i18n import N_
from voronka.core.migrate import CORE_BRANCH, Migrator
from voronka.core.plugins import PluginHost
from voronka.core.records import build_registry
from voronka.core.secrets import check_keys, install_keys
from voronka.core.settings_store import SettingsStore
from voronka.core.templating import make_environment, render

from .guard import PERMISSION_DENIED, guard_routes
from .middleware import SECURITY_HEADERS, BodyLimit, SecurityHeaders, SessionCookies, VoronkaContext
from .plugins_setup import build_host
from .provision import sync_permissions
from .routes import admin, auth, imports, people, record_fields, record_files, recycle, shell
from .runtime import Runtime
from .tuning import tune_gc
from .worker import start_in_server

log = logging.getLogger("voronka")

WEB_DIR = Path(__file__).resolve().parent


class PluginGate:
    """Mounted in front of a plugin's router: a disabled plugin's routes answer 404."""

    def __init__(self, name: str, router: Router, runtime: Runtime):
        self.name = name
        self.router = router
        self.runtime = runtime

    @property
    def routes(self) -> list[BaseRoute]:
        return self.router.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.runtime.host.is_enabled(self.name):
            raise HTTPException(404)
        await self.router(scope, receive, send)


def create_app(settings: Settings | None = None, *, extra_sources: list[Any] | None = None) -> Starlette:
    """Build the app. Raises ``DatabaseUnavailable`` or ``PendingMigrations`` with a message that says
    what to do; plugins with pending or failed migrations are disabled, not fatal.
    """
    settings = settings or Settings.load()
    settings.ensure_secret()
    engine = make_engine(settings.database_url)
    try:  # a refusal to start must not leave pooled connections behind
        check_connection(engine)
        host = build_host(settings, extra_sources)
        migrator = Migrator(engine, host)
        runtime = Runtime(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            host=host,
            migrator=migrator,
            settings_store=SettingsStore(),
        )
        runtime.sessions.configure(info={APP_INFO: runtime})  # handlers with only a session reach the app
        _check_migrations(runtime)
        install_keys(engine, settings.secret_keys)  # stored secrets: a missing or wrong key stops start-up
        check_keys(engine, Base.metadata)
        attach_storage(engine, storage_from_settings(settings))  # where attachments' files live
    except BaseException:
        engine.dispose()
        raise
    runtime.record_kinds = build_registry(host)  # may disable a plugin whose kind name is taken
    runtime.templates = make_environment(host, settings.template_dir, WEB_DIR / "templates")
    i18n.load_catalogs(_locale_dirs(host))
    _collect_settings_schemas(runtime)
    sync_permissions(engine, host)
    runtime.sync(force=True)

    routes: list[BaseRoute] = [
        *guard_routes(
            shell.routes
            + auth.routes
            + people.routes
            + admin.routes
            + record_fields.routes
            + record_files.routes
            + recycle.routes
            + imports.routes
        ),
    ]
    for info in host.loaded:  # before /static, which would otherwise answer /static/plugins/… with a 404
        static = info.subdir("static")
        if static is not None:
            routes.append(Mount(f"/static/plugins/{info.name}", app=StaticFiles(directory=str(static)),
                                name=f"static-{info.name}"))  # fmt: skip
    routes.append(Mount("/static", app=StaticFiles(directory=str(WEB_DIR / "static")), name="static"))
    for info in host.loaded:
        plugin_routes: list[BaseRoute] = []
        impl = getattr(info.hooks, "routes", None)
        if impl is not None:
            try:
                plugin_routes = list(impl() or [])
            except Exception as exc:
                host.fail(info.name, f"failed to list its routes: {type(exc).__name__}: {exc}")
                continue
        if plugin_routes:
            router = Router(guard_routes(plugin_routes))
            routes.append(Mount(f"/{info.name}", app=PluginGate(info.name, router, runtime), name=info.name))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        host.call_ordered("startup", isolate=True, app=app)
        tune_gc(settings)  # everything loaded now lives as long as the process
        jobs = await start_in_server(app)  # background jobs and event delivery (run_jobs_in_server)
        try:
            yield
        finally:
            if jobs is not None:
                await jobs.stop()
            for name in reversed(host.order):
                impl = getattr(host.plugins[name].hooks, "shutdown", None)
                if impl is not None and host.is_enabled(name):
                    try:
                        impl(app=app)
                    except Exception:
                        log.exception("plugin %s failed in shutdown", name)
            engine.dispose()

    app = Starlette(
        debug=settings.debug,
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, hsts=settings.secure_cookies),
            Middleware(BodyLimit, limit=settings.max_body_bytes, upload_limit=settings.max_upload_bytes),
            Middleware(
                SessionCookies,
                secret_key=settings.secret_key,
                session_cookie="voronka_session",
                max_age=settings.session_max_age,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
            Middleware(VoronkaContext, runtime=runtime),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},  # type: ignore[dict-item]
        lifespan=lifespan,
    )
    app.state.voronka = runtime
    return app


def _check_migrations(runtime: Runtime) -> None:
    pending = runtime.migrator.pending()
    if CORE_BRANCH in pending:
        raise PendingMigrations(
            "The database schema is older than this Voronka. Run `voronka db upgrade` (back up first)."
        )
    reasons = runtime.migrator.failure_reasons() if pending else {}
    for name in pending:
        if runtime.host.plugins[name].loaded:  # not when already down with a requirement: keep that chain
            reason = "has migrations that have not run; run `voronka db upgrade`"
            if name in reasons:
                reason += f" (its last upgrade failed: {reasons[name]})"
            runtime.host.fail(name, reason)
    runtime.migration_errors = reasons


def _locale_dirs(host: PluginHost) -> list[Path]:
    dirs = [WEB_DIR / "locale"]
    dirs += [d for d in (p.subdir("locale") for p in host.loaded) if d is not None]
    return dirs


def _collect_settings_schemas(runtime: Runtime) -> None:
    for info in runtime.host.loaded:
        impl = getattr(info.hooks, "settings_schema", None)
        if impl is not None:
            runtime.settings_store.schemas[info.name] = list(impl() or [])


MESSAGES = {
    400: N_("The request could not be understood."),
    401: N_("Log in to continue."),
    403: N_("You do not have permission to do that."),
    404: N_("There is nothing at this address. It may have moved, or the plugin that served it is switched off."),
    405: N_("This address does not accept that kind of request."),
    413: N_("The upload is too large."),
    429: N_("Too many requests. Wait a minute and try again."),
}


async def http_error(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail if exc.detail and exc.detail not in _REASON_PHRASES else MESSAGES.get(exc.status_code, "")
    headers = dict(exc.headers or {})
    if _wants_json(request):
        return JSONResponse({"error": detail, "status": exc.status_code}, exc.status_code, headers=headers)
    if "user" not in request.scope or request.app.state.voronka.templates is None:
        return PlainTextResponse(detail, exc.status_code, headers=headers)
    context = {
        "status": exc.status_code,
        "message": i18n.gettext(detail),
        "permission_denied": detail in (PERMISSION_DENIED, MESSAGES[403]),
    }
    return render(request, "error.html", context, block="content", status_code=exc.status_code, headers=headers)


async def server_error(request: Request, exc: Exception) -> Response:
    """Starlette calls this from its outermost middleware, outside ours: add the security headers here."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = N_("Something went wrong on our side. Nothing you entered was saved twice; try again in a moment.")
    response: Response
    if _wants_json(request):
        response = JSONResponse({"error": message, "status": 500}, 500)
    else:
        # Outside VoronkaContext, which has reset the language by now: pick the person's language again.
        user = request.scope.get("user")
        signed_in = getattr(user, "is_authenticated", False)
        saved = getattr(user, "language", None) if signed_in else request.scope.get("session", {}).get("lang")
        token = i18n.current_language.set(i18n.pick_language(request.headers.get("accept-language"), saved))
        try:
            response = render(request, "error.html", {"status": 500, "message": i18n.gettext(message)}, status_code=500)
        except Exception:
            response = PlainTextResponse(message, 500)
        finally:
            i18n.current_language.reset(token)
    for key, value in SECURITY_HEADERS:
        response.headers.setdefault(key.decode(), value.decode())
    return response


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


_REASON_PHRASES = {
    "Not Found", "Forbidden", "Unauthorized", "Method Not Allowed", "Bad Request", "Internal Server Error",
    "Too Many Requests", "Request Entity Too Large", "Content Too Large",
}  # fmt: skip

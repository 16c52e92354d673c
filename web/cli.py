"""The ``voronka`` command line: set up, migrate, serve, manage plugins and users, seed a demo.

Every error meant for a person (:class:`~voronka.core.errors.VoronkaError`, and database errors) is printed
in red on stderr with exit status 2, never a traceback. ``plugins check`` exits 1 when it finds problems,
``db upgrade`` exits 1 when a plugin's migration failed (core's succeeded). Plugins add commands through
the ``cli(app)`` hook; :func:`main` calls it on the plugins the configuration enables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import random
import secrets
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import typer
from alembic.util import CommandError
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from typer.core import TyperGroup

from voronka.core.config import DEFAULT_CONFIG, Settings
from voronka.core.db import check_connection, make_engine, make_sessionmaker, safe_url, write_transaction
from voronka.core.errors import ConfigError, DatabaseUnavailable, PendingMigrations, VoronkaError
from voronka.core.migrate import CORE_BRANCH, Migrator
from voronka.core.models import ApiKey, PluginState, Role, Team, TeamMember, User, UserRole
from voronka.core.plugin_state import ToggleRefused, switch_plugins
from voronka.core.plugins import PluginHost
from voronka.core.security.api_keys import create_api_key, find_by_prefix, revoke_api_key
from voronka.core.security.passwords import password_problem
from voronka.core.security.users import create_user, normalize_username
from voronka.core.seeding import PluginSeeded, SeedContext, seed_plugins
from voronka.core.state import read_versions

from . import cli_imports, cli_jobs, provision, seed_core
from .plugins_setup import build_host

log = logging.getLogger("voronka.cli")

EXIT_ERROR = 2
EXIT_PROBLEMS = 1


class CliError(VoronkaError):
    """Command-line input Voronka cannot act on (a missing option, an unknown name)."""


def fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(EXIT_ERROR)


class VoronkaGroup(TyperGroup):
    """The root command group: turns errors meant for a person into a red message and exit status 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except VoronkaError as exc:
            raise fail(str(exc)) from None
        except CommandError as exc:
            raise fail(f"Migration error: {exc}") from None
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            raise fail(f"Database error: {orig if orig is not None else exc}") from None


# -- shared plumbing ------------------------------------------------------------------------------------


@dataclass
class CliState:
    config: Path | None = None

    def settings(self) -> Settings:
        return Settings.load(self.config)


def _state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def _settings(ctx: typer.Context) -> Settings:
    return _state(ctx).settings()


@dataclass
class Deployment:
    """One deployment's database and plugins, opened for a command."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    host: PluginHost
    migrator: Migrator


def require_existing_database(url: str) -> None:
    """A SQLite file that does not exist is a typo or a missing ``voronka init``, not a new database."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"The database URL {url!r} is not valid: {exc}") from None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if parsed.database.startswith("file:"):
        return
    path = Path(parsed.database)
    if not path.exists():
        raise DatabaseUnavailable(
            f"The database file {path.resolve()} does not exist. Run `voronka init` to set up a new deployment, "
            "or point database_url (or VORONKA_DATABASE_URL) at the existing database."
        )


def load_enabled_state(engine: Engine, host: PluginHost) -> None:
    """Adopt the enabled flags an admin stored (the same rows the admin page and every process read)."""
    with engine.connect() as conn:
        versions = read_versions(conn)
        rows = {name: enabled for name, enabled in conn.execute(select(PluginState.name, PluginState.enabled))}
    host.apply_state(versions.get("plugins", 0), rows)


def core_pending(migrator: Migrator) -> list[str]:
    """Branches with pending migrations; raises :class:`PendingMigrations` when core's own are pending."""
    pending = migrator.pending()
    if CORE_BRANCH in pending:
        raise PendingMigrations(
            "The database schema is older than this Voronka. Run `voronka db upgrade` (back up first)."
        )
    return pending


def preflight(settings: Settings) -> list[str]:
    """What ``serve`` checks before starting: the database answers and core's schema is current.

    Returns the plugins whose own migrations are pending (the app disables them and carries on); raises
    ``DatabaseUnavailable`` or ``PendingMigrations`` with the command to run.
    """
    require_existing_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        check_connection(engine)
        return [b for b in core_pending(Migrator(engine, build_host(settings))) if b != CORE_BRANCH]
    finally:
        engine.dispose()


@contextmanager
def deployment(settings: Settings, *, current: bool = True, must_exist: bool = True) -> Iterator[Deployment]:
    """Open the database and plugins; with ``current`` refuse when core's migrations are pending."""
    if must_exist:
        require_existing_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        check_connection(engine)
        host = build_host(settings)
        migrator = Migrator(engine, host)
        if current:
            core_pending(migrator)
            load_enabled_state(engine, host)
        yield Deployment(settings, engine, make_sessionmaker(engine), host, migrator)
    finally:
        engine.dispose()


def _ask(value: str | None, label: str, option: str, *, secret: bool = False, default: str | None = None) -> str:
    """The option's value, else a prompt on a terminal, else the default, else a clear error."""
    if value is not None:
        return value
    if sys.stdin.isatty():
        return str(typer.prompt(label, default=default, hide_input=secret, confirmation_prompt=secret))
    if default is not None:
        return default
    raise CliError(f"Pass {option}: standard input is not a terminal, so Voronka cannot ask for it.")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        typer.secho(line, bold=n == 0)


def _note(message: str) -> None:
    typer.secho(message, fg=typer.colors.YELLOW, err=True)


def _ok(message: str) -> None:
    typer.secho(message, fg=typer.colors.GREEN)


# -- the application ------------------------------------------------------------------------------------


def create_cli() -> typer.Typer:
    """The ``voronka`` command tree without plugin commands (see :func:`build_cli`)."""
    app = typer.Typer(
        cls=VoronkaGroup,
        name="voronka",
        help="Voronka, the plugin-based CRM: set up, migrate, serve, manage plugins and users, seed a demo.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    db_app = typer.Typer(help="Migrations: core's branch and one branch per installed plugin.", no_args_is_help=True)
    plugins_app = typer.Typer(help="Installed plugins: list, enable, disable, check.", no_args_is_help=True)
    users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
    apikeys_app = typer.Typer(help="API keys other systems send to routes marked @api_key.", no_args_is_help=True)
    app.add_typer(db_app, name="db")
    app.add_typer(plugins_app, name="plugins")
    app.add_typer(users_app, name="users")
    app.add_typer(apikeys_app, name="apikeys")
    secrets_app = typer.Typer(help="Keys that encrypt stored secrets (secret_keys).", no_args_is_help=True)
    app.add_typer(secrets_app, name="secrets")

    @app.callback()
    def root(
        ctx: typer.Context,
        config: Annotated[
            Path | None,
            typer.Option("--config", help="The configuration file (default: $VORONKA_CONFIG, then ./voronka.toml)."),
        ] = None,
    ) -> None:
        ctx.obj = CliState(config)

    # -- init ------------------------------------------------------------------------------------------

    @app.command()
    def init(
        ctx: typer.Context,
        admin_username: Annotated[str | None, typer.Option(help="The first administrator's username.")] = None,
        admin_password: Annotated[str | None, typer.Option(help="Their password (8 characters or more).")] = None,
        admin_name: Annotated[str | None, typer.Option(help="Their display name.")] = None,
        admin_email: Annotated[str, typer.Option(help="Their e-mail address.")] = "",
        database_url: Annotated[
            str | None,
            typer.Option(help="SQLAlchemy URL (default: $VORONKA_DATABASE_URL, else voronka.db by the configuration)."),
        ] = None,
        config: Annotated[Path | None, typer.Option("--config", help="Where to write the configuration.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing configuration file.")] = False,
    ) -> None:
        """Write voronka.toml (with a new secret key), create and migrate the database, add the first admin."""
        path = (config or _state(ctx).config or Path(os.environ.get("VORONKA_CONFIG") or DEFAULT_CONFIG)).expanduser()
        if path.exists() and not force:
            raise ConfigError(f"{path} already exists; pass --force to overwrite it (its secret key will change).")
        username = _ask(admin_username, "Administrator username", "--admin-username", default="admin")
        name = _ask(admin_name, "Administrator's name", "--admin-name", default=username)
        password = _ask(admin_password, "Administrator password", "--admin-password", secret=True)
        if problem := password_problem(password):
            raise CliError(f"--admin-password: {problem}")
        url = (
            database_url
            or os.environ.get("VORONKA_DATABASE_URL")
            or f"sqlite:///{path.resolve().parent / 'voronka.db'}"
        )
        from voronka.core.secrets import generate_key

        settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(32), secret_keys=[generate_key()])
        _create_sqlite_folder(url)
        engine = make_engine(url)
        try:
            check_connection(engine)
        finally:
            engine.dispose()
        _host, failures = provision.upgrade(settings)
        for plugin, error in failures.items():
            _note(f"plugin {plugin}: {error} (it stays disabled)")
        engine = make_engine(url)
        try:
            with write_transaction(make_sessionmaker(engine)) as session:
                create_user(session, username, password, display_name=name, email=admin_email, roles=("admin",))
        finally:
            engine.dispose()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_config(settings), encoding="utf-8")
        _ok(f"Wrote {path}, migrated {safe_url(url)} and created the administrator {username!r}.")
        hint = "" if path == Path(DEFAULT_CONFIG) else f"--config {path} "
        typer.echo(f"Start Voronka with `voronka {hint}serve`, or add demo data first with `voronka {hint}demo`.")

    # -- serve -----------------------------------------------------------------------------------------

    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
        reload: Annotated[bool, typer.Option("--reload", help="Restart when the code changes (development).")] = False,
        workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    ) -> None:
        """Run the web application with uvicorn (refuses while core's migrations are pending)."""
        import uvicorn

        settings = _settings(ctx)
        for plugin in preflight(settings):
            _note(f"plugin {plugin} has migrations that have not run and stays off; run `voronka db upgrade`")
        if (workers > 1 or reload) and not settings.secret_key:
            raise ConfigError(
                "secret_key is not set, so each worker would sign sessions with its own key. "
                "Set it in the configuration (voronka init writes one) or in VORONKA_SECRET_KEY."
            )
        typer.echo(f"Voronka on http://{host}:{port} (Ctrl+C stops it)")
        if workers == 1 and not reload:
            from .app import create_app

            uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
            return
        if settings.source:
            os.environ["VORONKA_CONFIG"] = str(Path(settings.source).resolve())
        uvicorn.run(
            "voronka.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            reload=reload,
            reload_dirs=[str(Path(__file__).resolve().parents[1])] if reload else None,
            workers=None if reload else workers,
            log_level="info",
        )

    @app.command()
    def worker(
        ctx: typer.Context,
        once: Annotated[bool, typer.Option("--once", help="Deliver pending events and run due jobs once.")] = False,
        concurrency: Annotated[int, typer.Option(help="Jobs run at the same time.", min=1)] = 4,
    ) -> None:
        """Run background jobs and deliver events (set run_jobs_in_server = false on the web servers)."""
        from .app import create_app
        from .worker import run_worker

        application = create_app(_settings(ctx))
        try:
            run_worker(application.state.voronka, once=once, concurrency=concurrency)
        finally:
            application.state.voronka.engine.dispose()

    # -- db --------------------------------------------------------------------------------------------

    @db_app.command("upgrade")
    def db_upgrade(ctx: typer.Context) -> None:
        """Run every pending migration: core first, then each installed plugin in dependency order."""
        settings = _settings(ctx)
        _create_sqlite_folder(settings.database_url)
        with deployment(settings, current=False, must_exist=False) as d:
            before = set(d.migrator.pending())
        host, failures = provision.upgrade(settings)
        for name in [CORE_BRANCH, *(p.name for p in host.loaded)]:
            if name in before:
                _ok(f"{name}: upgraded")
        for name, error in failures.items():
            typer.secho(f"{name}: {error}; the plugin stays disabled", fg=typer.colors.RED, err=True)
        if not before:
            typer.echo("Everything is up to date.")
        if failures:
            raise typer.Exit(EXIT_PROBLEMS)

    @db_app.command("downgrade")
    def db_downgrade(
        ctx: typer.Context,
        target: Annotated[str, typer.Argument(help="An Alembic target: notes@base, contacts@-1, base…")],
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    ) -> None:
        """Undo migrations down to TARGET (tables and their data are dropped)."""
        with deployment(_settings(ctx), current=False) as d:
            if not yes:
                if not sys.stdin.isatty():
                    raise CliError("Downgrading drops tables and their data; pass --yes to confirm.")
                typer.confirm(f"Downgrade {safe_url(d.engine)} to {target}, dropping tables and data?", abort=True)
            d.migrator.downgrade(target)
            _ok(f"Downgraded to {target}.")
            _print_status(d.migrator)

    @db_app.command("current")
    def db_current(ctx: typer.Context) -> None:
        """Show each branch's head and whether the database has it."""
        with deployment(_settings(ctx), current=False) as d:
            typer.echo(f"Database: {safe_url(d.engine)}")
            _print_status(d.migrator)

    @db_app.command("history")
    def db_history(ctx: typer.Context) -> None:
        """List every revision of core and the installed plugins."""
        settings = _settings(ctx)
        migrator = Migrator(make_engine("sqlite://"), build_host(settings))
        try:
            typer.echo(migrator.history().rstrip())
        finally:
            migrator.engine.dispose()

    @db_app.command("revision")
    def db_revision(
        ctx: typer.Context,
        plugin: Annotated[str, typer.Option("--plugin", "-p", help="The branch: core or a plugin's name.")],
        message: Annotated[str, typer.Option("--message", "-m", help="What the revision does.")],
        empty: Annotated[bool, typer.Option("--empty", help="Write an empty revision (no autogenerate).")] = False,
    ) -> None:
        """Write a new migration for a plugin (or core), autogenerated from its models."""
        with deployment(_settings(ctx), current=False) as d:
            if plugin != CORE_BRANCH and (plugin not in d.host.plugins or not d.host.plugins[plugin].loaded):
                raise CliError(_unknown_plugin(d.host, plugin))
            path = d.migrator.revision(plugin, message, autogenerate=not empty)
            _ok(f"Wrote {path}")

    # -- plugins ---------------------------------------------------------------------------------------

    @plugins_app.command("list")
    def plugins_list(ctx: typer.Context) -> None:
        """Installed plugins: version, state (enabled, disabled, blocked, failed), requirements."""
        settings = _settings(ctx)
        try:
            with deployment(settings) as d:
                _print_plugins(d.host)
        except (DatabaseUnavailable, PendingMigrations) as exc:
            _note(f"{exc}\nShowing the initial state from the configuration.")
            _print_plugins(build_host(settings))

    @plugins_app.command("enable")
    def plugins_enable(
        ctx: typer.Context, names: Annotated[list[str], typer.Argument(help="Plugins to switch on.")]
    ) -> None:
        """Switch plugins on for every process (like the admin page); refused when a requirement is off."""
        with deployment(_settings(ctx)) as d:
            _toggle(d, names, True)

    @plugins_app.command("disable")
    def plugins_disable(
        ctx: typer.Context, names: Annotated[list[str], typer.Argument(help="Plugins to switch off.")]
    ) -> None:
        """Switch plugins off (their data stays); refused while an enabled plugin requires them."""
        with deployment(_settings(ctx)) as d:
            _toggle(d, names, False)

    @plugins_app.command("check")
    def plugins_check(
        ctx: typer.Context,
        names: Annotated[list[str] | None, typer.Argument(help="Plugins to check (default: all installed).")] = None,
    ) -> None:
        """Run the conformance checks (manifest, hooks, tables, migrations, templates, routes)."""
        from .testkit.conformance import check_plugin

        settings = dataclasses.replace(_settings(ctx), strict_plugins=False)
        host = build_host(settings)
        chosen = list(names or [n for n in host.plugins if "#" not in n])
        if not chosen:
            _note("No plugins are installed.")
            return
        failed = 0
        for name in chosen:
            result = check_plugin(name, settings, host)
            if result.ok:
                _ok(f"{name}: ok ({', '.join(result.passed) or 'nothing to check'})")
                continue
            failed += 1
            typer.secho(f"{name}: {len(result.problems)} problem(s)", fg=typer.colors.RED, bold=True)
            for problem in result.problems:
                typer.secho(f"  - {problem}", fg=typer.colors.RED)
        if failed:
            raise typer.Exit(EXIT_PROBLEMS)

    # -- users -----------------------------------------------------------------------------------------

    @users_app.command("create")
    def users_create(
        ctx: typer.Context,
        username: Annotated[str | None, typer.Option(help="Login name (no spaces).")] = None,
        password: Annotated[str | None, typer.Option(help="Password (8 characters or more).")] = None,
        name: Annotated[str | None, typer.Option(help="Display name.")] = None,
        email: Annotated[str, typer.Option(help="E-mail address.")] = "",
        role: Annotated[
            list[str] | None, typer.Option(help="Role key, repeatable: admin, manager, sales, operator…")
        ] = None,
        language: Annotated[str, typer.Option(help="Interface language (en, uk).")] = "en",
        timezone: Annotated[str, typer.Option(help="Time zone.")] = "Europe/Kyiv",
    ) -> None:
        """Create a user account."""
        login = _ask(username, "Username", "--username")
        display = _ask(name, "Name", "--name", default=login)
        secret = _ask(password, "Password", "--password", secret=True)
        with deployment(_settings(ctx)) as d, write_transaction(d.sessions) as session:
            user = create_user(
                session, login, secret, display_name=display, email=email, roles=tuple(role or ["sales"]),
                language=language, timezone=timezone,
            )  # fmt: skip
            _ok(f"Created user {user.username!r} (id {user.id}) with roles {', '.join(role or ['sales'])}.")

    @users_app.command("list")
    def users_list(ctx: typer.Context) -> None:
        """List user accounts with their roles and teams."""
        with deployment(_settings(ctx)) as d, d.sessions() as session:
            roles: dict[int, list[str]] = {}
            for uid, key in session.execute(select(UserRole.user_id, Role.key).join(Role, Role.id == UserRole.role_id)):
                roles.setdefault(uid, []).append(key)
            teams: dict[int, list[str]] = {}
            for uid, team in session.execute(
                select(TeamMember.user_id, Team.name).join(Team, Team.id == TeamMember.team_id)
            ):
                teams.setdefault(uid, []).append(team)
            rows = [
                (u.id, u.username, u.display_name, ",".join(sorted(roles.get(u.id, []))) or "-",
                 "; ".join(sorted(teams.get(u.id, []))) or "-", "yes" if u.active else "no")
                for u in session.scalars(select(User).order_by(User.id))
            ]  # fmt: skip
        _table(("ID", "USERNAME", "NAME", "ROLES", "TEAMS", "ACTIVE"), rows)

    # -- apikeys ---------------------------------------------------------------------------------------

    @apikeys_app.command("create")
    def apikeys_create(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="Who uses the key, e.g. 'Website form'.")],
        scope: Annotated[
            list[str] | None, typer.Option("--scope", help="A scope the key holds, repeatable (see the admin page).")
        ] = None,
        user: Annotated[str | None, typer.Option("--user", help="Username of the person the key acts for.")] = None,
    ) -> None:
        """Create an API key and print its secret (shown only this once)."""
        with deployment(_settings(ctx)) as d:
            known = app_scopes(d.settings)
            with write_transaction(d.sessions) as session:
                user_id = None
                if user is not None:
                    user_id = session.scalar(select(User.id).where(User.username == normalize_username(user)))
                    if user_id is None:
                        raise CliError(f"--user: no user is called {user!r} (`voronka users list` shows them).")
                key, secret = create_api_key(session, name, scope or [], user_id, known_scopes=known)
                summary = f"Created the API key {key.name!r} ({key.prefix}) with scopes {', '.join(key.scopes)}."
        _ok(summary)
        typer.echo(secret)
        _note("Copy the secret now: it is shown only this once and cannot be shown again.")

    @apikeys_app.command("list")
    def apikeys_list(ctx: typer.Context) -> None:
        """List API keys (never their secrets): prefix, name, scopes, acting user, dates, state."""
        with deployment(_settings(ctx)) as d, d.sessions() as session:
            rows = [
                (k.prefix, k.name, ",".join(k.scopes or []) or "-", username or "-", _when(k.created_at),
                 _when(k.last_used_at) if k.last_used_at else "never", "active" if k.active else "revoked")
                for k, username in session.execute(
                    select(ApiKey, User.username).outerjoin(User, User.id == ApiKey.user_id).order_by(ApiKey.id)
                )
            ]  # fmt: skip
        if not rows:
            typer.echo("No API keys yet. Create one with `voronka apikeys create NAME --scope SCOPE`.")
            return
        _table(("PREFIX", "NAME", "SCOPES", "USER", "CREATED", "LAST USED", "STATE"), rows)

    @apikeys_app.command("revoke")
    def apikeys_revoke(
        ctx: typer.Context, prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. vk_ab12cd34.")]
    ) -> None:
        """Revoke an API key: requests that send it are refused from now on, in every process."""
        with deployment(_settings(ctx)) as d, write_transaction(d.sessions) as session:
            key = find_by_prefix(session, prefix)
            if key is None:
                raise CliError(f"No API key has the prefix {prefix!r} (`voronka apikeys list` shows them).")
            if not key.active:
                typer.echo(f"The API key {key.name!r} ({key.prefix}) is already revoked.")
                return
            revoke_api_key(session, key.id)
            _ok(f"Revoked the API key {key.name!r} ({key.prefix}).")

    # -- secrets ---------------------------------------------------------------------------------------

    @secrets_app.command("generate-key")
    def secrets_generate_key() -> None:
        """Print a new key for secret_keys (put it first to encrypt with it; keep the old ones to decrypt)."""
        from voronka.core.secrets import generate_key

        typer.echo(generate_key())

    @secrets_app.command("rotate")
    def secrets_rotate(
        ctx: typer.Context,
        batch_size: Annotated[int, typer.Option(help="Values per transaction.", min=1, max=100000)] = 500,
    ) -> None:
        """Re-encrypt every stored secret with the first key in secret_keys, batch by batch."""
        from voronka.core.db import Base
        from voronka.core.secrets import install_keys, rotate

        with deployment(_settings(ctx)) as d:
            install_keys(d.engine, d.settings.secret_keys)
            done = rotate(d.engine, Base.metadata, batch_size=batch_size)
        if not done:
            typer.echo("No installed plugin stores encrypted secrets; nothing to rotate.")
            return
        _table(("COLUMN", "RE-ENCRYPTED"), sorted(done.items()))
        _ok("Every stored secret is now encrypted with the first key; older keys can be removed.")

    # -- demo ------------------------------------------------------------------------------------------

    @app.command()
    def demo(
        ctx: typer.Context,
        scale: Annotated[
            int,
            typer.Option(
                help="How much data: 1 is a 15-person demo; each step adds a branch of 15 people, up to 195 users "
                "at scale 13 (five levels of managers from scale 2), while plugins' records keep growing with "
                "the scale (1000 gives about a million).",
                min=1,
                max=10000,
            ),
        ] = 1,
        seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same data).")] = 20261127,
    ) -> None:
        """Fill the database with demo data: core's organisation, then every enabled plugin's seed hook.

        Runs once per database, in one transaction: a second run changes nothing and says so. Large scales
        take minutes (a million rows in one to two); on SQLite other writers wait meanwhile, so seed before
        `serve`.
        """
        with deployment(_settings(ctx)) as d:
            provision.sync_permissions(d.engine, d.host)
            run_demo(d, scale, seed)

    cli_jobs.register(app, deployment, _settings, _table, _ok, fail)
    cli_imports.register(app, _settings)  # `voronka import` and `voronka export`
    return app


def build_cli(config: Path | None = None) -> typer.Typer:
    """The full command tree: :func:`create_cli` plus the commands of plugins the configuration enables.

    The database is not consulted here (``init`` runs before there is one), so plugins switched off only
    on the admin page still show their commands; a plugin whose ``cli`` hook raises is skipped with a warning.
    """
    app = create_cli()
    try:
        settings = Settings.load(config)
        previous = logging.root.manager.disable
        logging.disable(logging.CRITICAL)  # the command itself reports plugin load errors
        try:
            host = build_host(dataclasses.replace(settings, strict_plugins=False))
        finally:
            logging.disable(previous)
    except VoronkaError:
        return app  # the command reports the configuration problem itself
    impls = {impl.plugin_name: impl for impl in host.pm.hook.cli.get_hookimpls()}
    for name in host.order:
        impl = impls.get(name)
        if impl is None or not host.is_enabled(name):
            continue
        try:
            impl.function(**({"app": app} if "app" in impl.argnames else {}))
        except Exception as exc:
            _note(f"plugin {name} could not add its commands: {type(exc).__name__}: {exc}")
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point ``voronka``."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=os.environ.get("VORONKA_LOG_LEVEL", "WARNING").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    app = build_cli(_config_from_args(args))
    app(args=args, prog_name="voronka")


def _config_from_args(args: list[str]) -> Path | None:
    for n, arg in enumerate(args):
        if arg == "--config" and n + 1 < len(args):
            return Path(args[n + 1])
        if arg.startswith("--config="):
            return Path(arg.split("=", 1)[1])
    return None


# -- command bodies -------------------------------------------------------------------------------------


def render_config(settings: Settings) -> str:
    """A commented voronka.toml for ``settings`` (TOML basic strings accept JSON's escapes)."""

    def q(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    return "\n".join(
        [
            "# Voronka configuration, written by `voronka init`. Every key can also be set in the environment",
            "# as VORONKA_<KEY> (VORONKA_DATABASE_URL, VORONKA_SECRET_KEY, ...), which wins over this file.",
            "",
            f"database_url = {q(settings.database_url)}",
            "# Signs session cookies: keep it private, keep it stable.",
            f"secret_key = {q(settings.secret_key)}",
            "# Encrypt stored secrets (mailbox passwords, tokens): the first key encrypts, all decrypt. To rotate,",
            "# put a new key (`voronka secrets generate-key`) first, run `voronka secrets rotate`, drop the old one.",
            f"secret_keys = {q(settings.secret_keys)}",
            f"default_language = {q(settings.default_language)}",
            f"default_timezone = {q(settings.default_timezone)}",
            "",
            "[plugins]",
            "# Plugins that start switched off (admins can switch them on), and plugins nobody can switch on.",
            f"disabled = {q(settings.disabled_plugins)}",
            f"blocked = {q(settings.blocked_plugins)}",
            '# Plugin modules to load besides the installed entry points: ["module"] or ["name=module"].',
            f"extra = {q(settings.extra_plugins)}",
            "# Make any plugin load error fatal instead of disabling that plugin.",
            f"strict = {q(settings.strict_plugins)}",
            "",
        ]
    )


def app_scopes(settings: Settings) -> dict[str, list[str]]:
    """The scopes the app's ``@api_key`` routes ask for (the same walk as the admin page), by building the app."""
    from .app import create_app
    from .routes.admin_api_keys import known_scopes

    web_app = create_app(dataclasses.replace(settings))
    try:
        return known_scopes(web_app.routes)
    finally:
        web_app.state.voronka.engine.dispose()


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _create_sqlite_folder(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"The database URL {url!r} is not valid: {exc}") from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _print_status(migrator: Migrator) -> None:
    rows = []
    for status in migrator.status():
        state = "no migrations" if status.head is None else ("up to date" if status.current else "PENDING")
        rows.append((status.name, status.head or "-", state))
    _table(("BRANCH", "HEAD", "STATE"), rows)
    if any(s.pending for s in migrator.status()):
        typer.echo("Run `voronka db upgrade` to apply the pending migrations.")


def _unknown_plugin(host: PluginHost, name: str) -> str:
    info = host.plugins.get(name)
    if info is not None and info.error:
        return f"Plugin {name} {info.error}"
    installed = ", ".join(sorted(n for n in host.plugins if "#" not in n)) or "none"
    return f"No plugin named {name!r} is installed (installed: {installed})."


def plugin_state_label(host: PluginHost, name: str) -> str:
    info = host.plugins[name]
    if info.error:
        return "failed"
    if name in host.blocked:
        return "blocked"
    if host.is_enabled(name):
        return "enabled"
    if host.wanted(name):
        assert info.manifest is not None
        off = [d for d in info.manifest.requires if not host.is_enabled(d)]
        return f"off (needs {', '.join(off)})"
    return "disabled"


def _print_plugins(host: PluginHost) -> None:
    rows = []
    for name, info in sorted(host.plugins.items()):
        requires = ", ".join(f"{d}{s}" for d, s in info.manifest.requires.items()) if info.manifest else ""
        rows.append((info.name, info.version, plugin_state_label(host, name), requires or "-", info.source))
    if not rows:
        typer.echo("No plugins are installed.")
        return
    _table(("NAME", "VERSION", "STATE", "REQUIRES", "SOURCE"), rows)
    for info in host.failed:
        typer.secho(f"{info.name}: {info.error}", fg=typer.colors.RED)
    for warning in host.config_warnings:
        _note(warning)


def _toggle(d: Deployment, names: list[str], enable: bool) -> None:
    """Switch plugins as the admin page does: bump the "plugins" counter first (its row lock serialises
    concurrent toggles), decide on the committed state, write PluginState rows, all in one transaction.

    Plugins are taken in dependency order (requirements first when enabling, dependents first when
    disabling), so ``enable contacts leads`` works; any refusal leaves everything as it was.
    """
    host = d.host
    for name in names:
        if name not in host.plugins or not host.plugins[name].loaded:
            raise CliError(_unknown_plugin(host, name))
    try:
        with write_transaction(d.sessions) as session:
            changes = switch_plugins(session, host, names, enable)
            if not changes:
                session.rollback()  # nothing switched: leave the counter alone
    except ToggleRefused as exc:
        raise CliError(f"Cannot {'enable' if enable else 'disable'} {exc.name}: {exc}.") from None
    for name in sorted(set(names) - set(changes)):
        typer.echo(f"{name} is already {'enabled' if enable else 'disabled'}.")
    for name in changes:
        _ok(f"{name}: {'enabled' if enable else 'disabled'} (every process picks this up within a second)")


def run_demo(d: Deployment, scale: int, seed: int) -> None:
    """Core's organisation, then each enabled plugin's ``seed`` hook, in one transaction."""
    with write_transaction(d.sessions) as session:
        earlier = seed_core.already_seeded(session)
        if earlier is not None:
            typer.echo(
                f"This database already has demo data (scale {earlier.get('scale')}, seeded {earlier.get('at')}); "
                "nothing to do. Use a new database for a fresh demo."
            )
            return
        ctx = SeedContext(
            engine=d.engine, session=session, scale=scale, rng=random.Random(seed),
            language=d.settings.default_language, progress=lambda line: typer.echo(f"  {line}"), host=d.host,
        )  # fmt: skip
        started = dt.datetime.now()
        summary = seed_core.seed_core(ctx)
        assert summary is not None
        _ok(f"core: {summary.describe()} in {(dt.datetime.now() - started).total_seconds():.1f} s")

        def done(p: PluginSeeded) -> None:
            _ok(f"{p.plugin}: seeded {p.rows:,} rows in {p.seconds:.1f} s ({p.rate:,.0f} rows/s)")

        try:
            results = [(p.plugin, p.result) for p in seed_plugins(d.host, ctx, done)]
        except Exception as exc:
            plugin = _plugin_of(exc.__traceback__, d.host) or "a plugin"
            raise CliError(
                f"The demo data could not be created: {plugin}'s seed hook failed with "
                f"{type(exc).__name__}: {exc}. Nothing was saved."
            ) from None
        seed_core.mark_seeded(session, scale, [CORE_BRANCH, *(n for n, _ in results)])
    seconds = (dt.datetime.now() - started).total_seconds()
    typer.echo(f"Demo data ready in {seconds:.1f} s.")
    typer.echo(
        f"Log in as your administrator, or as any demo user (e.g. {summary.director}) "
        f"with the password {seed_core.DEMO_PASSWORD!r}."
    )


def _plugin_of(tb: TracebackType | None, host: PluginHost) -> str | None:
    """The plugin whose code raised: the innermost traceback frame inside a plugin's package."""
    packages = {info.module.__name__: name for name, info in host.plugins.items() if info.module is not None}
    found = None
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        for package, name in packages.items():
            if module == package or module.startswith(package + "."):
                found = name
        tb = tb.tb_next
    return found


if __name__ == "__main__":
    main()

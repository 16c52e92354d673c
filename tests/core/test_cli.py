"""The ``voronka`` command line, on both engines where a database is involved.

Commands run in-process through typer's ``CliRunner`` (fast), and through the installed console script
where the process boundary matters (exit status, no traceback, prompts on a real terminal).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import select as select_fd
import shutil
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from voronka.core.config import Settings
from voronka.core.db import make_engine, make_sessionmaker
from voronka.core.errors import PendingMigrations
from voronka.core.migrate import core_head
from voronka.core.models import ManagerLink, PluginState, Role, StateVersion, Team, TeamMember, User, UserRole
from voronka.core.security.visibility import everyone_under
from voronka.web.app import create_app
from voronka.web.cli import build_cli, create_cli, main, preflight, render_config
from voronka.web.seed_core import DEMO_DOMAIN, DEMO_PASSWORD, INBOUND_QUEUE, KYIV_TEAM, LVIV_TEAM, dates
from voronka.web.testkit.client import VoronkaClient

CORE_HEAD = core_head()

GOOD_PASSWORD = "correct-horse-42"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ./voronka.toml and no VORONKA_* variables leak in from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("VORONKA_") and name not in ("VORONKA_TEST_PG_URL", "VORONKA_TEST_ENGINES"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(*args: str | Path, config: Path | None = None, input: str | None = None) -> Any:
    argv = [str(a) for a in ([*(["--config", config] if config else []), *args])]
    result = CliRunner().invoke(create_cli(), argv, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result


def write_config(path: Path, url: str, **plugins: Any) -> Path:
    """A configuration like ``voronka init`` writes; ``plugins`` are extra/disabled/blocked lists."""
    settings = Settings(
        database_url=url,
        secret_key="cli-test-secret-key-cli-test-secret",
        **{f"{key}_plugins": value for key, value in plugins.items()},
    )
    path.write_text(render_config(settings), encoding="utf-8")
    return path


@contextmanager
def opened(url: str) -> Iterator[Session]:
    """A session on ``url`` whose engine is disposed afterwards (no connection outlives the test)."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def app_client(settings: Settings) -> Iterator[VoronkaClient]:
    app = create_app(settings)
    try:
        with VoronkaClient(app) as client:
            yield client
    finally:
        app.state.voronka.engine.dispose()


def make_plugin(root: Path, name: str, hooks: str = "") -> str:
    """A throw-away plugin package in ``root`` (which the test puts on sys.path)."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text(
        "from voronka.core.manifest import Manifest\n"
        f"manifest = Manifest(name={name!r}, label={name.title()!r}, version='1.0.0')\n"
    )
    if hooks:
        (package / "hooks.py").write_text("from voronka.core.markers import hookimpl\n\n" + hooks)
    return name


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    root = tmp_path / "plugin_src"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    made: list[str] = []

    def make(name: str, hooks: str = "") -> str:
        made.append(make_plugin(root, name, hooks))
        return name

    yield make
    for name in made:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


# -- init -------------------------------------------------------------------------------------------------


def test_init_creates_config_database_and_an_admin_who_can_log_in(engine: str, empty_db_url: str, tmp_path: Path):
    config = tmp_path / "site" / "voronka.toml"
    (tmp_path / "site").mkdir()
    args = ["init", "--config", config, "--database-url", empty_db_url, "--admin-username", "boss",
            "--admin-password", GOOD_PASSWORD, "--admin-name", "Олена Коваленко"]  # fmt: skip
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "created the administrator 'boss'" in result.output

    settings = Settings.load(config)
    assert settings.database_url == empty_db_url
    assert len(settings.secret_key) >= 32
    first_secret = settings.secret_key
    with app_client(settings) as client:
        client.login("boss", GOOD_PASSWORD)
        home = client.get("/")
        assert home.status_code == 200 and "Олена Коваленко" in home.text
        assert client.get("/admin/plugins").status_code == 200  # the first user is an administrator

    again = cli(*args)
    assert again.exit_code == 2
    assert "already exists; pass --force" in again.output
    assert Settings.load(config).secret_key == first_secret

    taken = cli(*args, "--force")
    assert taken.exit_code == 2 and "'boss' is taken" in taken.output
    assert Settings.load(config).secret_key == first_secret  # nothing rewritten when init fails

    forced = cli(*args[:-6], "--admin-username", "boss2", "--admin-password", GOOD_PASSWORD, "--force")
    assert forced.exit_code == 0, forced.output
    assert Settings.load(config).secret_key != first_secret


def test_init_defaults_to_sqlite_next_to_the_config(tmp_path: Path):
    result = cli("init", "--admin-password", GOOD_PASSWORD)
    assert result.exit_code == 0, result.output
    settings = Settings.load(tmp_path / "voronka.toml")
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'voronka.db'}"
    assert (tmp_path / "voronka.db").is_file()
    with opened(settings.database_url) as session:
        assert session.scalar(select(User.username)) == "admin"


def test_init_refuses_bad_input_without_writing_anything(tmp_path: Path):
    short = cli("init", "--admin-password", "short")
    assert short.exit_code == 2
    assert "--admin-password: The password must be at least 8 characters long." in short.output
    missing = cli("init", "--admin-username", "boss")
    assert missing.exit_code == 2
    assert "Pass --admin-password: standard input is not a terminal" in missing.output
    spaced = cli("init", "--admin-username", "two words", "--admin-password", GOOD_PASSWORD)
    assert spaced.exit_code == 2 and "without spaces" in spaced.output
    assert not (tmp_path / "voronka.toml").exists()


@pytest.mark.skipif(not hasattr(os, "login_tty"), reason="needs os.login_tty (Python 3.11+ on Unix)")
def test_init_prompts_on_a_terminal(tmp_path: Path):
    """With stdin a real terminal, init asks for what the flags did not give (password twice, hidden)."""
    voronka = shutil.which("voronka") or pytest.skip("the voronka console script is not on PATH")
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VORONKA_")}
    proc = subprocess.Popen(
        [voronka, "init", "--admin-name", "Taras Shevchuk"], cwd=tmp_path, env=env,
        preexec_fn=lambda: os.login_tty(slave), pass_fds=(slave,),
    )  # fmt: skip
    os.close(slave)
    # (what the prompt says, the answer, whether to wait for echo to be off: getpass flushes typed-ahead input)
    answers = [("username", "taras", False), ("password", GOOD_PASSWORD, True), ("repeat", GOOD_PASSWORD, True)]
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select_fd.select([master], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
            if not answers or answers[0][0].encode() not in seen.lower().rsplit(b"\n", 1)[-1]:
                continue
            if answers[0][2] and termios.tcgetattr(master)[3] & termios.ECHO:
                continue
            os.write(master, answers.pop(0)[1].encode() + b"\n")
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0, seen.decode(errors="replace")
    assert GOOD_PASSWORD.encode() not in seen  # hidden input
    with opened(Settings.load(tmp_path / "voronka.toml").database_url) as session:
        assert session.scalar(select(User.display_name).where(User.username == "taras")) == "Taras Shevchuk"


# -- db -----------------------------------------------------------------------------------------------------


def test_db_upgrade_current_history_downgrade(engine: str, empty_db_url: str, tmp_path: Path):
    config = write_config(tmp_path / "voronka.toml", empty_db_url)
    settings = Settings.load(config)
    if engine == "sqlite":
        missing = cli("db", "current", config=config)
        assert missing.exit_code == 2 and "does not exist. Run `voronka init`" in missing.output
        blank = make_engine(empty_db_url)
        blank.connect().close()  # an empty database file: no tables yet
        blank.dispose()

    pending = cli("db", "current", config=config)
    assert pending.exit_code == 0 and "PENDING" in pending.output
    with pytest.raises(PendingMigrations, match=r"Run `voronka db upgrade`"):
        preflight(settings)
    refused = cli("users", "list", config=config)
    assert refused.exit_code == 2 and "Run `voronka db upgrade`" in refused.output

    upgraded = cli("db", "upgrade", config=config)
    assert upgraded.exit_code == 0, upgraded.output
    assert "core: upgraded" in upgraded.output
    assert preflight(settings) == []
    assert "Everything is up to date." in cli("db", "upgrade", config=config).output
    current = cli("db", "current", config=config)
    assert CORE_HEAD in current.output and "up to date" in current.output and "PENDING" not in current.output

    history = cli("db", "history", config=config)
    assert history.exit_code == 0 and "core_0001 (core)" in history.output and CORE_HEAD in history.output

    unconfirmed = cli("db", "downgrade", "base", config=config)
    assert unconfirmed.exit_code == 2 and "pass --yes" in unconfirmed.output
    bad_target = cli("db", "downgrade", "nosuchbranch@base", "--yes", config=config)
    assert bad_target.exit_code == 2 and "Migration error" in bad_target.output
    down = cli("db", "downgrade", "base", "--yes", config=config)
    assert down.exit_code == 0, down.output
    assert "PENDING" in down.output
    with pytest.raises(PendingMigrations):
        preflight(settings)


def test_db_revision_for_a_plugin_branch(engine: str, empty_db_url: str, tmp_path: Path, plugin_dir: Any):
    name = plugin_dir(f"clirev_{engine}")
    config = write_config(tmp_path / "voronka.toml", empty_db_url, extra=[name])
    assert cli("db", "upgrade", config=config).exit_code == 0

    unknown = cli("db", "revision", "--plugin", "nosuch", "-m", "x", config=config)
    assert unknown.exit_code == 2 and "No plugin named 'nosuch'" in unknown.output

    made = cli("db", "revision", "--plugin", name, "-m", "first tables", config=config)
    assert made.exit_code == 0, made.output
    versions = tmp_path / "plugin_src" / name / "migrations" / "versions"
    (written,) = versions.glob("*.py")
    source = written.read_text()
    assert f"branch_labels: str | Sequence[str] | None = ('{name}',)" in source
    assert f"depends_on: str | Sequence[str] | None = '{CORE_HEAD}'" in source  # core's head comes first

    current = cli("db", "current", config=config)
    assert name in current.output and "PENDING" in current.output
    assert f"{name}: upgraded" in cli("db", "upgrade", config=config).output
    assert "PENDING" not in cli("db", "current", config=config).output
    down = cli("db", "downgrade", f"{name}@base", "--yes", config=config)
    assert down.exit_code == 0, down.output
    rows = [line for line in down.output.splitlines() if line.startswith(("core ", f"{name} "))]
    assert any("up to date" in r for r in rows if r.startswith("core")), down.output
    assert any("PENDING" in r for r in rows if r.startswith(name)), down.output


# -- plugins ------------------------------------------------------------------------------------------------


def test_plugins_list_enable_disable(engine: str, db_url: str, tmp_path: Path):
    config = write_config(tmp_path / "voronka.toml", db_url)
    listed = cli("plugins", "list", config=config)
    assert listed.exit_code == 0
    for name in ("contacts", "leads", "pipeline", "planning", "outlook"):
        assert any(line.startswith(name) and " enabled " in line for line in listed.output.splitlines()), name

    refused = cli("plugins", "disable", "contacts", config=config)
    assert refused.exit_code == 2
    assert "Cannot disable contacts" in refused.output and "required by" in refused.output
    with opened(db_url) as session:
        assert session.scalar(select(func.count()).select_from(PluginState)) == 0
        before = session.scalar(select(StateVersion.version).where(StateVersion.key == "plugins")) or 0

    off = cli("plugins", "disable", "contacts", "leads", "pipeline", "outlook", config=config)
    assert off.exit_code == 0, off.output
    with opened(db_url) as session:
        states = dict(session.execute(select(PluginState.name, PluginState.enabled)).all())
        assert states == {"contacts": False, "leads": False, "pipeline": False, "outlook": False}
        assert session.scalar(select(StateVersion.version).where(StateVersion.key == "plugins")) == before + 1
    with app_client(Settings.load(config)) as client:
        host = client.app.state.voronka.host
        assert not host.is_enabled("contacts") and host.is_enabled("planning")
    assert "already disabled" in cli("plugins", "disable", "leads", config=config).output
    listed = cli("plugins", "list", config=config).output
    assert any(line.startswith("contacts") and "disabled" in line for line in listed.splitlines())

    needs = cli("plugins", "enable", "leads", config=config)
    assert needs.exit_code == 2 and "requires contacts" in needs.output
    both = cli("plugins", "enable", "leads", "contacts", config=config)
    assert both.exit_code == 0, both.output
    with opened(db_url) as session:
        assert session.get(PluginState, "leads").enabled and session.get(PluginState, "contacts").enabled

    unknown = cli("plugins", "enable", "nope", config=config)
    assert unknown.exit_code == 2
    assert "No plugin named 'nope' is installed (installed: contacts, leads" in unknown.output

    blocked = write_config(tmp_path / "blocked.toml", db_url, blocked=["planning"])
    assert " blocked " in cli("plugins", "list", config=blocked).output
    refused = cli("plugins", "enable", "planning", config=blocked)
    assert refused.exit_code == 2 and "blocked by the deployment's configuration" in refused.output


def test_plugins_check_passes_built_ins_and_names_problems(tmp_path: Path):
    every = cli("plugins", "check")
    assert every.exit_code == 0, every.output
    for name in ("contacts", "leads", "pipeline", "planning", "outlook"):
        assert f"{name}: ok" in every.output

    config = write_config(tmp_path / "voronka.toml", "sqlite://", extra=["fx_bad_table"])
    bad = cli("plugins", "check", "fx_bad_table", "contacts", config=config)
    assert bad.exit_code == 1
    assert "fx_bad_table: " in bad.output and "problem(s)" in bad.output
    assert "table prefixes: Widget uses table 'widgets'" in bad.output
    assert "contacts: ok" in bad.output
    missing = cli("plugins", "check", "nope")
    assert missing.exit_code == 1 and "no plugin named 'nope'" in missing.output


def test_plugins_add_their_own_commands(tmp_path: Path, plugin_dir: Any, capsys: pytest.CaptureFixture[str]):
    good = plugin_dir(
        "clihello",
        "@hookimpl\ndef cli(app):\n    @app.command()\n    def hello(name: str = 'світ'):\n"
        "        print(f'Привіт, {name}!')\n",
    )
    broken = plugin_dir("clibroken", "@hookimpl\ndef cli(app):\n    raise RuntimeError('no commands today')\n")
    config = write_config(tmp_path / "voronka.toml", "sqlite://", extra=[good, broken])

    with pytest.raises(SystemExit) as exited:
        main(["--config", str(config), "hello", "--name", "Олено"])
    assert exited.value.code == 0
    captured = capsys.readouterr()
    assert "Привіт, Олено!" in captured.out
    assert "plugin clibroken could not add its commands: RuntimeError: no commands today" in captured.err

    switched_off = write_config(tmp_path / "off.toml", "sqlite://", extra=[good, broken], disabled=[good])
    app = build_cli(switched_off)
    result = CliRunner().invoke(app, ["hello"])
    assert result.exit_code == 2 and "No such command" in result.output


# -- users --------------------------------------------------------------------------------------------------


def test_users_create_and_list(engine: str, db_url: str, tmp_path: Path):
    config = write_config(tmp_path / "voronka.toml", db_url)
    weak = cli("users", "create", "--username", "nadiia", "--password", "short", config=config)
    assert weak.exit_code == 2
    assert "password: The password must be at least 8 characters long." in weak.output

    made = cli("users", "create", "--username", "nadiia", "--password", GOOD_PASSWORD, "--name", "Надія Руденко",
               "--role", "manager", "--role", "operator", "--language", "uk", config=config)  # fmt: skip
    assert made.exit_code == 0, made.output
    taken = cli("users", "create", "--username", "nadiia", "--password", GOOD_PASSWORD, config=config)
    assert taken.exit_code == 2 and "The username 'nadiia' is taken." in taken.output
    role = cli("users", "create", "--username", "x1", "--password", GOOD_PASSWORD, "--role", "boss", config=config)
    assert role.exit_code == 2 and "Unknown role(s): boss." in role.output

    listed = cli("users", "list", config=config)
    assert listed.exit_code == 0
    line = next(line for line in listed.output.splitlines() if " nadiia " in line)
    assert "Надія Руденко" in line and "manager,operator" in line
    assert any(" sales " in line and "Sales" in line for line in listed.output.splitlines())  # teams column

    with app_client(Settings.load(config)) as client:
        client.login("nadiia", GOOD_PASSWORD)


# -- demo ---------------------------------------------------------------------------------------------------


@pytest.mark.voronka(plugins=["notes=voronka_test_notes"])
def test_demo_seeds_the_organisation_then_plugins(engine: str, db_url: str, tmp_path: Path):
    config = write_config(tmp_path / "voronka.toml", db_url, extra=["notes=voronka_test_notes"])
    result = cli("demo", config=config)
    assert result.exit_code == 0, result.output
    assert "core: 15 users, 3 teams, 15 manager links" in result.output
    assert "notes: seeded" in result.output

    with opened(db_url) as session:
        demo_users = dict(
            session.execute(select(User.username, User.id).where(User.email.like(f"%@{DEMO_DOMAIN}"))).all()
        )
        assert len(demo_users) > 10
        teams = dict(session.execute(select(Team.name, Team.is_queue)).all())
        assert teams[KYIV_TEAM] is False and teams[LVIV_TEAM] is False and teams[INBOUND_QUEUE] is True
        queue_members = set(
            session.scalars(
                select(TeamMember.user_id).join(Team, Team.id == TeamMember.team_id).where(Team.name == INBOUND_QUEUE)
            )
        )
        assert demo_users["maksym.savchenko"] in queue_members

        links = session.scalars(select(ManagerLink).where(ManagerLink.user_id.in_(demo_users.values()))).all()
        assert any(link.valid_to is not None for link in links)  # the past re-organisation
        for user_id in demo_users.values():  # one manager per user per date: no overlapping links
            mine = sorted((link.valid_from, link.valid_to or dt.date.max) for link in links if link.user_id == user_id)
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(mine))

        founded, reorganised = dates()
        director, kyiv, lviv = (demo_users[u] for u in ("olena.kovalenko", "andrii.melnyk", "taras.shevchuk"))
        james = demo_users["james.carter"]
        today = dt.date.today()
        before = reorganised - dt.timedelta(days=1)
        assert {kyiv, lviv, james, demo_users["iryna.bondarenko"]} <= everyone_under(session, director, today)
        assert lviv in everyone_under(session, kyiv, before) and lviv not in everyone_under(session, kyiv, today)
        assert james in everyone_under(session, kyiv, before) and james not in everyone_under(session, kyiv, today)
        assert james in everyone_under(session, lviv, today)
        assert everyone_under(session, director, founded - dt.timedelta(days=1)) == set()
        depth_chain = everyone_under(session, kyiv, today)
        assert demo_users["dmytro.tkachenko"] in depth_chain  # director → Kyiv head → team lead → sales

        roles = {
            key: set(session.scalars(select(UserRole.user_id).join(Role).where(Role.key == key)))
            for key in ("admin", "manager", "sales", "operator")
        }
        assert demo_users["vira.marchenko"] in roles["admin"]
        assert demo_users["andrii.melnyk"] in roles["manager"]
        assert demo_users["emma.wilson"] in roles["sales"]
        assert demo_users["oliver.brown"] in roles["operator"]

        from voronka_test_notes.models import Note  # the fixture plugin on tests/fixture_plugins

        assert session.scalar(select(func.count()).select_from(Note)) > 0
        users_before = session.scalar(select(func.count()).select_from(User))
    again = cli("demo", config=config)
    assert again.exit_code == 0 and "already has demo data" in again.output
    with opened(db_url) as session:
        assert session.scalar(select(func.count()).select_from(User)) == users_before

    with app_client(Settings.load(config)) as client:
        client.login("iuliia.lysenko", DEMO_PASSWORD)
        assert "Юлія Лисенко" in client.get("/").text


def test_demo_scale_multiplies_people(engine: str, db_url: str, tmp_path: Path):
    config = write_config(tmp_path / "voronka.toml", db_url)
    result = cli("demo", "--scale", "3", config=config)
    assert result.exit_code == 0, result.output
    with opened(db_url) as session:
        people = session.scalar(select(func.count()).select_from(User).where(User.email.like(f"%@{DEMO_DOMAIN}")))
        assert people == 45
        names = set(session.scalars(select(Team.name)))
        assert {"Одеса — продажі", "Kharkiv Sales"} <= names


def test_demo_names_a_failing_plugin_and_saves_nothing(engine: str, db_url: str, tmp_path: Path, plugin_dir: Any):
    name = plugin_dir(f"cliseed_{engine}", "@hookimpl\ndef seed(ctx):\n    raise ValueError('no data today')\n")
    config = write_config(tmp_path / "voronka.toml", db_url, extra=[name])
    with opened(db_url) as session:
        users_before = session.scalar(select(func.count()).select_from(User))
    result = cli("demo", config=config)
    assert result.exit_code == 2
    assert f"{name}'s seed hook failed with ValueError: no data today. Nothing was saved." in result.output
    with opened(db_url) as session:
        assert session.scalar(select(func.count()).select_from(User)) == users_before
        assert session.scalar(select(func.count()).select_from(Team).where(Team.name == KYIV_TEAM)) == 0

    assert cli("plugins", "disable", name, config=config).exit_code == 0
    retried = cli("demo", config=config)  # with the broken plugin switched off the demo goes through
    assert retried.exit_code == 0, retried.output
    assert f"{name}: seeded" not in retried.output


# -- bad input ----------------------------------------------------------------------------------------------


def test_bad_databases_and_configs_give_a_clear_message(tmp_path: Path):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a SQLite database, just bytes " * 100)
    config = write_config(tmp_path / "corrupt.toml", f"sqlite:///{corrupt}")
    for args in (["users", "list"], ["db", "current"], ["demo"], ["plugins", "enable", "contacts"]):
        result = cli(*args, config=config)
        assert result.exit_code == 2, args
        assert "Cannot use the database" in result.output and "file is not a database" in result.output
    with pytest.raises(Exception, match="file is not a database"):
        preflight(Settings.load(config))

    unreachable = write_config(tmp_path / "pg.toml", "postgresql+psycopg://postgres@127.0.0.1:1/voronka")
    result = cli("db", "current", config=unreachable)
    assert result.exit_code == 2
    assert "Cannot open the database postgresql+psycopg://postgres@127.0.0.1:1/voronka" in result.output
    assert "Connection refused" in result.output or "connection failed" in result.output

    missing = write_config(tmp_path / "missing.toml", f"sqlite:///{tmp_path / 'nowhere.db'}")
    result = cli("users", "list", config=missing)
    assert result.exit_code == 2 and "does not exist. Run `voronka init`" in result.output
    assert not (tmp_path / "nowhere.db").exists()

    assert "is not valid" in cli("db", "current", config=write_config(tmp_path / "u.toml", "nonsense")).output

    unknown_key = tmp_path / "unknown.toml"
    unknown_key.write_text('database_url = "sqlite://"\ncolour = "red"\n')
    result = cli("users", "list", config=unknown_key)
    assert result.exit_code == 2 and "unknown settings colour" in result.output
    unknown_plugin_key = tmp_path / "plugins.toml"
    unknown_plugin_key.write_text("[plugins]\nenabled = ['contacts']\n")
    result = cli("plugins", "list", config=unknown_plugin_key)
    assert result.exit_code == 2 and "unknown keys in [plugins]: enabled" in result.output
    broken = tmp_path / "broken.toml"
    broken.write_text("database_url = \n")
    result = cli("db", "current", config=broken)
    assert result.exit_code == 2 and "is not valid TOML" in result.output
    result = cli("db", "current", config=tmp_path / "absent.toml")
    assert result.exit_code == 2 and "does not exist; run `voronka init`" in result.output


def test_console_script_exits_2_without_a_traceback(tmp_path: Path):
    voronka = shutil.which("voronka")
    if voronka is None:
        pytest.skip("the voronka console script is not on PATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VORONKA_")}
    helped = subprocess.run([voronka, "--help"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert helped.returncode == 0
    for command in ("init", "serve", "db", "plugins", "users", "demo"):
        assert command in helped.stdout
    failed = subprocess.run(
        [voronka, "--config", "absent.toml", "users", "list"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert failed.returncode == 2
    assert "absent.toml does not exist; run `voronka init`" in failed.stderr
    assert "Traceback" not in failed.stderr + failed.stdout

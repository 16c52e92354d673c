"""Migrations: one Alembic environment, core's branch plus one branch per installed plugin.

Core upgrades first; each plugin then upgrades in dependency order in its own transaction. A plugin whose
migration fails is rolled back (both engines run DDL transactionally) and disabled with its dependents;
only core's own failure or pending migrations stop the server.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, delete, insert, select

from .db import Base
from .errors import VoronkaError
from .models import SettingValue
from .plugins import PluginHost
from .types import utcnow

log = logging.getLogger("voronka.migrate")

CORE_BRANCH = "core"
VERSION_TABLE = "core_alembic_version"
_FAILURES = "migration_failures"


class UnknownRevisions(VoronkaError):
    """The version table names revisions no installed plugin provides."""


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass
class BranchStatus:
    name: str
    head: str | None
    current: bool
    error: str | None = None

    @property
    def pending(self) -> bool:
        return self.head is not None and not self.current


def core_head() -> str:
    """The revision core's own branch is at when fully upgraded."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


class Migrator:
    """Runs and inspects migrations for core and the loaded plugins of ``host``."""

    def __init__(self, engine: Engine, host: PluginHost, metadata: MetaData | None = None):
        self.engine = engine
        self.host = host
        self.metadata = metadata or Base.metadata

    def branches(self) -> list[str]:
        """Core, then every loaded plugin with migrations, in dependency order."""
        return [CORE_BRANCH] + [p.name for p in self.host.loaded if p.migrations_dir is not None]

    def config(self, connection: object | None = None) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        locations = [str(MIGRATIONS_DIR / "versions")]
        # Every installed plugin's scripts, disabled ones too: the version table may hold their revisions
        # (applied before they failed), and Alembic must resolve those to upgrade any other branch.
        # Entries under a "name#n" key are duplicates of another plugin's name; their scripts would clash.
        installed = [p for key, p in self.host.plugins.items() if key == p.name]
        locations += [str(p.migrations_dir) for p in installed if p.migrations_dir is not None]
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", os.pathsep.join(locations))
        cfg.attributes["connection"] = connection
        cfg.attributes["metadata"] = self.metadata
        cfg.attributes["version_table"] = VERSION_TABLE
        return cfg

    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())

    def current_revisions(self) -> set[str]:
        with self.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return set(ctx.get_current_heads())

    def status(self) -> list[BranchStatus]:
        script = self.script()
        applied = self._applied(script, self.current_revisions())
        statuses = []
        for branch in self.branches():
            head = self._branch_head(script, branch)
            statuses.append(BranchStatus(branch, head, head is None or head in applied))
        return statuses

    def pending(self) -> list[str]:
        return [s.name for s in self.status() if s.pending]

    def upgrade(self, branches: Iterable[str] | None = None) -> dict[str, str]:
        """Upgrade core and plugins (or the named branches) to head; return {branch: error} for failures.

        A failed core upgrade raises; a failed plugin upgrade is rolled back, the plugin and everything
        that requires it are disabled on ``host``, and the rest carry on.
        """
        wanted = list(branches) if branches is not None else self.branches()
        self.check_known_revisions()
        failures: dict[str, str] = {}
        for branch in self.branches():
            if branch not in wanted or (branch != CORE_BRANCH and not self.host.plugins[branch].loaded):
                continue
            try:
                self._run(lambda cfg, b=branch: command.upgrade(cfg, f"{b}@head"))
            except Exception as exc:
                message = f"migration failed and was rolled back: {type(exc).__name__}: {exc}"
                if branch == CORE_BRANCH:
                    raise
                failures[branch] = message
                self.host.fail(branch, message)
                log.error("plugin %s %s", branch, message)
        self._remember_failures(failures, [b for b in wanted if b != CORE_BRANCH])
        return failures

    def check_known_revisions(self) -> None:
        """Refuse clearly when the database holds migrations of a plugin that is no longer installed.

        Alembic cannot upgrade any branch while the version table names a revision it has no script for.
        """
        script = self.script()
        unknown = []
        for rev in sorted(self.current_revisions()):
            try:
                found = script.revision_map.get_revision(rev)
            except Exception:
                found = None
            if found is None:
                unknown.append(rev)
        if unknown:
            raise UnknownRevisions(
                f"The database has migrations this installation does not know: {', '.join(unknown)}. "
                "They belong to a plugin that is no longer installed (revision ids start with the plugin's "
                "name). Reinstall that plugin (it can stay disabled), then run `voronka db upgrade` again."
            )

    def failure_reasons(self) -> dict[str, str]:
        """Why plugins' last upgrades failed, as recorded by :meth:`upgrade` (shown at the next start)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(SettingValue.value).where(SettingValue.plugin == CORE_BRANCH, SettingValue.key == _FAILURES)
            ).scalar()
        return dict(value or {})

    def _remember_failures(self, failures: dict[str, str], attempted: list[str]) -> None:
        with self.engine.begin() as conn:
            known = dict(
                conn.execute(
                    select(SettingValue.value).where(SettingValue.plugin == CORE_BRANCH, SettingValue.key == _FAILURES)
                ).scalar()
                or {}
            )
            updated = {k: v for k, v in known.items() if k not in attempted} | failures
            if updated == known:
                return
            conn.execute(delete(SettingValue).where(SettingValue.plugin == CORE_BRANCH, SettingValue.key == _FAILURES))
            if updated:
                conn.execute(
                    insert(SettingValue).values(plugin=CORE_BRANCH, key=_FAILURES, value=updated, changed_at=utcnow())
                )

    def downgrade(self, target: str) -> None:
        """Downgrade to an Alembic target such as ``notes@base`` or ``base`` (everything)."""
        self._run(lambda cfg: command.downgrade(cfg, target))

    def history(self) -> str:
        return self._capture(lambda cfg: command.history(cfg, verbose=False))

    def heads_text(self) -> str:
        return self._capture(lambda cfg: command.heads(cfg))

    def revision(self, branch: str, message: str, autogenerate: bool = True) -> str:
        """Write a new revision for ``branch`` (core or a plugin), autogenerated from its models.

        The branch's first revision gets ``branch_labels=(branch,)`` and ``depends_on`` the heads of the
        plugins it requires, so ``alembic upgrade <plugin>@head`` brings those up first.
        """
        script = self.script()
        head = self._branch_head(script, branch)
        if branch == CORE_BRANCH:
            folder, depends = MIGRATIONS_DIR / "versions", None
        else:
            info = self.host.plugins[branch]
            if info.path is None:
                raise ValueError(f"plugin {branch} has no folder")
            folder = info.path / "migrations" / "versions"
            folder.mkdir(parents=True, exist_ok=True)
            assert info.manifest is not None
            needed = [CORE_BRANCH, *info.manifest.requires]
            depends = [h for h in (self._branch_head(script, b) for b in needed) if h] or None
        with self.engine.begin() as conn:
            cfg = self.config(conn)
            if str(folder) not in cfg.get_main_option("version_locations", ""):
                cfg.set_main_option(
                    "version_locations", cfg.get_main_option("version_locations") + os.pathsep + str(folder)
                )
            cfg.attributes["table_prefix"] = f"{branch}_"
            rev = command.revision(
                cfg,
                message=message,
                autogenerate=autogenerate,
                head=f"{branch}@head" if head else "base",
                branch_label=None if head else branch,
                version_path=str(folder),
                depends_on=None if head else depends,
            )
        return rev.path if rev is not None and not isinstance(rev, list) else ""

    def _run(self, action: object) -> None:
        with self.engine.begin() as conn:
            action(self.config(conn))  # type: ignore[operator]

    def _capture(self, action: object) -> str:
        out = io.StringIO()
        cfg = self.config()
        cfg.stdout = out
        with redirect_stdout(out):
            action(cfg)  # type: ignore[operator]
        return out.getvalue()

    @staticmethod
    def _branch_head(script: ScriptDirectory, branch: str) -> str | None:
        try:
            heads = script.revision_map.get_revisions(f"{branch}@head")
        except Exception:
            return None
        return heads[0].revision if heads else None

    @staticmethod
    def _applied(script: ScriptDirectory, current: set[str]) -> set[str]:
        """Every revision at or below the current heads, dependencies included."""
        applied: set[str] = set()
        todo = list(current)
        while todo:
            rev_id = todo.pop()
            if rev_id in applied:
                continue
            applied.add(rev_id)
            try:
                rev = script.revision_map.get_revision(rev_id)
            except Exception:
                continue
            if rev is None:
                continue
            todo.extend(rev._all_down_revisions)
        return applied

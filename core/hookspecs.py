"""The host's hook specifications. They know no CRM noun; plugins publish their own for their nouns.

Compatibility (hook API ``voronka.core.HOOK_API_VERSION``): arguments are added, never removed or renamed;
an implementation may accept any subset of a hook's arguments. A renamed hook or a retired argument keeps
working for one release with a ``DeprecationWarning`` naming its replacement (see ``plugins.RENAMED_HOOKS``
and pluggy's ``warn_on_impl_args``).

Unless a spec says otherwise, hooks are called only on *enabled* plugins. Hooks that keep data consistent
(``records_merged``, ``records_deleted``) are called on every installed plugin, enabled or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .markers import hookspec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from starlette.requests import Request


@hookspec
def startup(app: Any) -> None:
    """Called once when the application starts, in the topological order of ``requires``.

    Use it to warm caches or start in-process listeners. Return value ignored.
    """


@hookspec
def shutdown(app: Any) -> None:
    """Called once when the application stops, in reverse start-up order. Return value ignored."""


@hookspec
def routes() -> list[Any]:
    """Return Starlette routes for this plugin; the host mounts them under ``/<plugin name>``.

    Route names are namespaced by the plugin: ``url_for("notes:list")``. Every route needs a login
    unless decorated with a marker from :mod:`voronka.core.security.markers` (``public``,
    ``csrf_exempt``, ``api_key``, ``rate_limit``). A disabled plugin's routes answer 404.
    """


@hookspec
def nav_items(request: Request) -> list[Any]:
    """Return :class:`voronka.core.ui.NavItem` entries for the left sidebar, for this request's user.

    Filter by permission here (``request.user.can("notes.view")``). Called on every page render, so
    keep it free of database queries.
    """


@hookspec
def slot(name: str, request: Request, obj: Any) -> list[Any]:
    """Return :class:`voronka.core.ui.Panel` entries for the named place on a page.

    Fixed names: ``home`` (the start page), ``user.page`` (a user's profile; ``obj`` is the user),
    and ``<kind>.panels`` for each record kind's page. Each panel renders in its own try/except, so a
    failing panel shows an error box instead of breaking the page; a panel with ``lazy_url`` is loaded
    by HTMX after the page. Return ``[]`` when the slot is not yours.
    """


@hookspec
def search(session: Session, user: Any, query: str, limit: int) -> list[Any]:
    """Return up to ``limit`` :class:`voronka.core.ui.SearchHit` entries for the global search box.

    Results must already be filtered to what ``user`` may see (visibility scopes apply in the query).
    Use :func:`voronka.core.search_keys.prefix_filter` on indexed search keys so it stays fast.
    """


@hookspec
def permissions() -> list[Any]:
    """Return :class:`voronka.core.security.permissions.Permission` entries this plugin checks.

    Keys are namespaced (``notes.edit``). Each may name the default roles that get it
    (``admin``, ``manager``, ``sales``, ``operator``); admins edit roles afterwards.
    """


@hookspec
def settings_schema() -> list[Any]:
    """Return :class:`voronka.core.settings_store.SettingField` entries for the plugin's admin page.

    Values are validated by type and stored in the database per deployment; read them with
    ``runtime(request).settings_store.get(session, plugin, key)`` (``voronka.core.handlers.runtime``).
    """


@hookspec
def before_save(session: Session, record: Any, changes: dict[str, Any], actor_id: int | None) -> None:
    """Called inside the transaction before a record is written; raise ``ValidationError`` to refuse.

    ``changes`` maps field name to ``(old, new)``. :mod:`voronka.core.writes` calls it for every write
    path (forms, bulk actions, imports, the API), once per record, for records of every kind: check
    ``isinstance(record, YourModel)``. ``record`` already carries the new values (its ``id`` is None when
    it is being created); changes made to it here are written and audited too. A refusal refuses the
    whole call (a bulk call included): nothing is written. ``actor_id`` is the user making the change (None
    for the system), for rows a plugin writes beside the record (since hook API 1.2). Return value ignored.
    """


@hookspec
def before_save_batch(session: Session, kind: str, values: list[dict[str, Any]], ids: list[int | None]) -> None:
    """Called once by the batched write paths (an import's batch, a bulk update) before ``before_save`` runs
    for each of their records, so a plugin can load what its per-record checks need in a few queries
    instead of a few per record. Since hook API 1.1.

    ``kind`` is the record kind's name; ``values`` the checked values of each record about to be created
    (``ids`` None) or updated (its id), in order, rows already refused left out. Keep what you load in
    :func:`voronka.core.writes.batch_memo`, a dict that lives until the call ends; ``before_save`` then
    reads it (and falls back to its own queries when it is empty: single saves do not call this hook).
    Records of the batch are not in the database yet: a check between two of them belongs in
    ``before_save``, which sees them one by one. Return value ignored; raising refuses the whole batch.
    """


@hookspec
def on_event(session: Session, event: Any) -> None:
    """Called for each event delivered from the outbox, after the change committed, at least once.

    The handler's session is its own transaction, committed together with the "(event, handler) done"
    mark, so its database effects happen exactly once. ``event`` is a frozen
    :class:`voronka.core.events.Event` (``id``, ``name``, ``payload`` of plain data, ``occurred_at``);
    events are published with :func:`voronka.core.events.emit`. Check ``event.name`` and return for
    events that are not yours. Raising rolls the handler's work back; it is retried with backoff and,
    after repeated failures, listed on the admin jobs page for a retry. Other handlers are not affected.
    """


@hookspec
def records_merged(session: Session, kind: str, kept: int, merged: int, actor_id: int | None) -> None:
    """Called on every installed plugin (enabled or not) when record ``merged`` is merged into ``kept``.

    Repoint your rows that reference ``(kind, merged)`` so nothing is orphaned. ``actor_id`` is the user
    who merges (None for the system), for the audit entries your changes write (since hook API 1.1).
    """


@hookspec
def records_deleted(session: Session, kind: str, ids: list[int]) -> None:
    """Called on every installed plugin (enabled or not) when records are deleted for good."""


@hookspec
def record_kinds() -> list[Any]:
    """Return :class:`voronka.core.records.RecordKind` entries (name, label, model, URL, display name,
    visibility filter, optional duplicate matcher, writable and audited fields).

    Called once at start-up on every loaded plugin; the registry is ``runtime.record_kinds``. Kind names
    are plain nouns ("person"), unique across plugins: a plugin registering a taken name is disabled
    with its dependents, and the message names both plugins.
    """


@hookspec
def metrics() -> list[Any]:
    """Return :class:`voronka.core.metrics.Metric` definitions (plans, dashboards and reports read them).

    Each metric's ``values(session, viewer, owner_ids, start, end)`` answers in one grouped query,
    under the viewer's visibility, ``{owner_id: (actual, in_progress)}``; ``records(...)`` returns the
    rows behind a figure for drill-down. The test kit's ``check_metric`` verifies the contract.
    """


@hookspec
def jobs() -> list[Any]:
    """Return :class:`voronka.core.jobs.JobDefinition` entries (periodic, queued or long-running
    listeners) this plugin runs. Called by the job runner of the server or of ``voronka worker``; one
    process at a time runs a job (lease rows). Queue work with :func:`voronka.core.jobs.enqueue`.
    """


@hookspec
def seed(ctx: Any) -> None:
    """Create demo data. Called in dependency order by ``voronka demo``.

    ``ctx`` (:class:`voronka.core.seeding.SeedContext`) carries the scale, a seeded ``random.Random``,
    the ids created by plugins seeded earlier (``ctx.ids["core.users"]``) and ``ctx.bulk_insert``.
    Record the ids you create in ``ctx.ids`` under keys namespaced by your plugin.
    """


@hookspec
def cli(app: Any) -> None:
    """Add commands to the ``voronka`` command line: ``app`` is the root ``typer.Typer``."""

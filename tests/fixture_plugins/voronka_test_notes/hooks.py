"""Notes' answers to the host's hooks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from voronka.core.errors import ValidationError
from voronka.core.handlers import db
from voronka.core.handlers import user as current_user
from voronka.core.i18n import gettext as _
from voronka.core.markers import hookimpl
from voronka.core.recycle import purge_attached
from voronka.core.search_keys import prefix_filter
from voronka.core.security.permissions import Permission
from voronka.core.security.visibility import visible
from voronka.core.settings_store import SettingField
from voronka.core.ui import NavItem, Panel, SearchHit

from . import queries
from . import routes as notes_routes
from . import seed as notes_seed
from .kinds import NOTE
from .metrics import NOTES_CREATED
from .models import Note

VIEW, EDIT = notes_routes.VIEW, notes_routes.EDIT


@hookimpl
def routes() -> list[Any]:
    return notes_routes.routes


@hookimpl
def nav_items(request: Any) -> list[NavItem]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    return [NavItem("notes.list", _("Notes"), "/notes/", icon="note", order=60)]


@hookimpl
def slot(name: str, request: Any, obj: Any) -> list[Panel]:
    viewer = current_user(request)
    if viewer is None or not viewer.can(VIEW):
        return []
    if name == "home":
        return [Panel("notes.recent", _("Recent notes"), lazy_url="/notes/panels/recent", order=50)]
    if name == "user.page" and getattr(obj, "id", None) is not None:
        notes = queries.notes_of(db(request), viewer, obj.id)
        owner_name = getattr(obj, "display_name", "")
        return [Panel("notes.of_user", _("Notes"), "notes/panel_user.html", {"notes": notes, "owner_name": owner_name})]
    return []


@hookimpl
def search(session: Any, user: Any, query: str, limit: int) -> list[SearchHit]:
    if not user.can(VIEW):
        return []
    match = prefix_filter(Note.title_key, query)
    if match is None:
        return []
    rows = session.execute(
        select(Note.id, Note.title, Note.created_at)
        .where(match, visible(Note, user), Note.deleted_at.is_(None))
        .order_by(Note.title_key, Note.id)
        .limit(limit)
    )
    return [
        SearchHit(title=r.title, url=f"/notes/{r.id}", kind=_("Note"), subtitle=r.created_at.date().isoformat())
        for r in rows
    ]


@hookimpl
def permissions() -> list[Permission]:
    return [
        Permission(VIEW, "See notes", "Open the notes page and see notes in panels and search.",
                   ("admin", "manager", "sales")),
        Permission(EDIT, "Write notes", "Create notes.", ("admin", "manager", "sales")),
    ]  # fmt: skip


@hookimpl
def settings_schema() -> list[SettingField]:
    return [
        SettingField("default_title", "Title of a new note", "text", default="Untitled note",
                     help="What the title field of the new-note form starts with."),
        SettingField("list_limit", "Notes per page", "int", default=50, min=1, max=500),
    ]  # fmt: skip


@hookimpl
def metrics() -> list[Any]:
    return [NOTES_CREATED]


@hookimpl
def seed(ctx: Any) -> None:
    notes_seed.seed(ctx)


@hookimpl
def records_merged(session: Any, kind: str, kept: int, merged: int) -> None:
    """Notes attached to the merged record follow it to the record that was kept (those in the recycle bin
    too, so a restored one comes back attached to the kept record)."""
    session.execute(update(Note).where(Note.ref_kind == kind, Note.ref_id == merged).values(ref_id=kept))
    if kind == "note":  # the kept note was attached to the one merged into it: it must not point at itself
        itself = (Note.id == kept) & (Note.ref_kind == "note") & (Note.ref_id == kept)
        session.execute(update(Note).where(itself).values(ref_kind=None, ref_id=None))


@hookimpl
def records_deleted(session: Any, kind: str, ids: list[int]) -> None:
    """Notes attached to records deleted for good go with them, so none points at nothing: through core's
    purge, so their tags, attachments and the notes attached to them go too.

    Notes already in the recycle bin stay there until their own purge date (restoring one is refused with
    a message: what it belongs to is gone). Called directly, outside core's purge, the rows simply go.
    """
    if not ids:
        return
    attached = select(Note.id).where(Note.ref_kind == kind, Note.ref_id.in_(list(ids)), Note.deleted_at.is_(None))
    if kind == "note":
        attached = attached.where(Note.id.not_in(list(ids)))
    found = list(session.scalars(attached))
    if found and not purge_attached(session, "note", found):
        session.execute(delete(Note).where(Note.id.in_(found)))


@hookimpl
def record_kinds() -> list[Any]:
    return [NOTE]


@hookimpl
def before_save(session: Any, record: Any, changes: dict[str, Any]) -> None:
    """A note keeps a title on every write path, not only behind the form's own check (imports, bulk, API)."""
    if isinstance(record, Note) and "title" in changes and not (record.title or "").strip():
        raise ValidationError({"title": _("Give the note a title.")})

"""The "note" record kind: what core's record services (write path, audit, tags, references) know of notes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.records import RecordKind
from voronka.core.search_keys import search_key

from .models import Note

FIELDS = ("title", "body", "owner_user_id", "owner_team_id", "ref_kind", "ref_id")


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """The search key follows the title on every write path (form, bulk, import)."""
    return {"title_key": search_key(values["title"])} if "title" in values else {}


def duplicates(session: Session, values: dict[str, Any]) -> list[int]:
    """Notes with the same folded title: what an import asks before creating one."""
    key = search_key(values.get("title") or "")
    if not key:
        return []
    return list(session.scalars(select(Note.id).where(Note.title_key == key).order_by(Note.id).limit(20)))


NOTE = RecordKind(
    name="note",
    label="Note",
    model=Note,
    url="/notes/{id}",
    display=lambda note: note.title,
    duplicates=duplicates,
    fields=FIELDS,
    derive=derive,
    references=(("ref_kind", "ref_id"),),
    view_permission="notes.view",
    edit_permission="notes.edit",
)

"""Tags on records of any kind, by the generic reference ``(kind, id)``.

Tags themselves are shared by all kinds (one "VIP" tag on people and on deals). Every read given a
``user`` goes through the kind's visibility filter, so a tag never reveals a record its viewer may not see.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, bindparam, delete, exists, select
from sqlalchemy.orm import Session

from .errors import ValidationError
from .i18n import gettext as _
from .models_records import Tag, TagLink
from .records import RecordKind
from .search_keys import search_key
from .security.visibility import visibility_key
from .statements import StatementCache

NAME_MAX = 60
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOUR = "#6b7280"


def _check_record(session: Session, kind: RecordKind, record_id: int, user: Any) -> None:
    query = select(kind.model.id).where(kind.model.id == record_id)
    if user is not None:
        query = query.where(kind.visible_to(user))  # leaves out records in the recycle bin
    elif getattr(kind.model, "deleted_at", None) is not None:
        query = query.where(kind.model.deleted_at.is_(None))
    if session.scalar(query) is None:
        raise ValidationError(_("There is no such record, or it is not yours to see."))


def tag_named(session: Session, name: str, colour: str | None = None, *, create: bool = True) -> Tag | None:
    """The tag called ``name`` (case and script folded), created with ``colour`` when missing."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"tag": _("Give the tag a name.")})
    if len(name) > NAME_MAX:
        raise ValidationError({"tag": _("Keep the tag under %(n)s characters.") % {"n": NAME_MAX}})
    if colour is not None and not COLOUR.match(colour):
        raise ValidationError({"colour": _("Pick a colour like #1f9d55.")})
    key = search_key(name)
    found = session.scalars(select(Tag).where(Tag.name_key == key)).first()
    if found is None and create:
        found = Tag(name=name, name_key=key, colour=colour or DEFAULT_COLOUR)
        session.add(found)
        session.flush()
    return found


def add_tag(
    session: Session, kind: RecordKind, record_id: int, name: str, *, user: Any = None, colour: str | None = None
) -> Tag:
    """Put tag ``name`` on the record (a no-op when it is there). With ``user``, only on a record they see."""
    _check_record(session, kind, record_id, user)
    tag = tag_named(session, name, colour)
    assert tag is not None
    linked = select(TagLink).where(TagLink.kind == kind.name, TagLink.record_id == record_id, TagLink.tag_id == tag.id)
    if session.scalars(linked).first() is None:
        session.add(TagLink(kind=kind.name, record_id=record_id, tag_id=tag.id))
        session.flush()
    return tag


def remove_tag(session: Session, kind: RecordKind, record_id: int, tag_id: int, *, user: Any = None) -> bool:
    """Take the tag off the record; True when it was there."""
    _check_record(session, kind, record_id, user)
    result = session.execute(
        delete(TagLink).where(TagLink.kind == kind.name, TagLink.record_id == record_id, TagLink.tag_id == tag_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def tags_of(session: Session, kind: RecordKind, record_id: int, user: Any = None) -> list[Tag]:
    """The record's tags by name; empty when ``user`` may not see the record."""
    return tags_for(session, kind, [record_id], user).get(record_id, [])


_tag_statements = StatementCache()


def _tags_query(kind: RecordKind, user: Any) -> Select[Any]:
    """Tags of the records in the bound ``ids`` (built once per kind and viewer's visibility: a card asks
    for every page view, and building the visibility filter cost more than the query)."""
    query = (
        select(TagLink.record_id, Tag)
        .join(Tag, Tag.id == TagLink.tag_id)
        .where(TagLink.kind == kind.name, TagLink.record_id.in_(bindparam("ids", expanding=True)))
        .order_by(Tag.name_key)
    )
    if user is not None:
        query = query.where(
            exists(select(kind.model.id).where(kind.model.id == TagLink.record_id, kind.visible_to(user)))
        )
    return query


def tags_for(session: Session, kind: RecordKind, ids: Iterable[int], user: Any = None) -> dict[int, list[Tag]]:
    """Tags of many records in one query (for lists): record id → tags, only records ``user`` sees."""
    wanted = list(ids)
    if not wanted:
        return {}
    key = (kind.name, kind.model, None if user is None else visibility_key(user))
    query = _tag_statements.get(key, lambda: _tags_query(kind, user))
    found: dict[int, list[Tag]] = {}
    for record_id, tag in session.execute(query, {"ids": wanted}):
        found.setdefault(record_id, []).append(tag)
    return found


def tagged(kind: RecordKind, tag_id: int, user: Any) -> Select[Any]:
    """SELECT of the ids of ``kind`` records carrying the tag that ``user`` may see (to filter lists)."""
    return (
        select(kind.model.id)
        .join(TagLink, (TagLink.record_id == kind.model.id) & (TagLink.kind == kind.name))
        .where(TagLink.tag_id == tag_id, kind.visible_to(user))
    )


__all__ = ["add_tag", "remove_tag", "tag_named", "tagged", "tags_for", "tags_of"]

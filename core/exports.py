"""CSV export of any record kind, streamed: a list page passes its own filtered query, so "export" means
exactly the rows the person sees in that list (and never more: the kind's visibility filter is applied on
top of whatever query comes in).

Columns: id, the kind's writable fields (the owner as a username, the team by name), custom fields
formatted as people read them, tags, and the creation/update times when the model has them. The header
uses names the importer recognises, so an exported file edited in a spreadsheet imports back (the id
column makes each row update its record).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import StreamingResponse

from .i18n import gettext as _
from .imports_targets import custom_field_definitions, format_custom
from .models import Team, User
from .records import RecordKind
from .tags import tags_for
from .types import UTC

CHUNK = 1000
BOM = "\ufeff"


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any, dict[str, Any]], str]
    """``value(record, extra)``; ``extra`` holds the chunk's lookups (users, teams, tags)."""


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value.tzinfo else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?\d[\d\s.,]*$")


def safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ gets a leading
    apostrophe (numbers such as -5 stay as they are); the importer takes it off again."""
    if text.startswith(FORMULA_START) and not NUMBER.match(text):
        return "'" + text
    return text


def columns(session: Session, kind: RecordKind) -> list[Column]:
    """The export's columns for ``kind``, in order."""
    found = [Column("id", lambda r, _x: str(r.id))]
    for name in kind.writable:
        if name == "custom":
            continue  # the custom fields' JSON: one column per field follows
        if name == "owner_user_id":
            found.append(Column("owner", lambda r, x: x["users"].get(r.owner_user_id, "")))
        elif name == "owner_team_id":
            found.append(Column("team", lambda r, x: x["teams"].get(r.owner_team_id, "")))
        else:
            found.append(Column(name, lambda r, _x, name=name: _plain(getattr(r, name))))
    for definition in custom_field_definitions(session, kind.name):
        found.append(Column(definition.label, lambda r, _x, d=definition: format_custom(
            d, (getattr(r, "custom", None) or {}).get(d.key))))  # fmt: skip
    found.append(Column("tags", lambda r, x: ", ".join(t.name for t in x["tags"].get(r.id, []))))
    for name in ("created_at", "updated_at"):
        if name in kind.columns and name not in kind.writable:
            found.append(Column(name, lambda r, _x, name=name: _plain(getattr(r, name))))
    return found


def ids_of(kind: RecordKind, query: Select[Any] | None) -> Select[Any]:
    """The record ids a list query selects, without its paging and order (the first column may be any)."""
    if query is None:
        return select(kind.model.id)
    return query.with_only_columns(kind.model.id).order_by(None).limit(None).offset(None)


def _context(session: Session, kind: RecordKind) -> tuple[list[Column], dict[int, str], dict[int, str]]:
    cols = columns(session, kind)
    users = dict(session.execute(select(User.id, User.username)).all()) if "owner_user_id" in kind.writable else {}
    teams = dict(session.execute(select(Team.id, Team.name)).all()) if "owner_team_id" in kind.writable else {}
    return cols, users, teams


def _chunk(session: Session, kind: RecordKind, user: Any, wanted: Select[Any], after: int) -> list[Any]:
    model = kind.model
    query = select(model).where(model.id.in_(wanted), kind.visible_to(user), model.id > after)
    if getattr(model, "deleted_at", None) is not None:
        query = query.where(model.deleted_at.is_(None))  # the recycle bin is not part of any list
    return list(session.scalars(query.order_by(model.id).limit(CHUNK)))


def rows(session: Session, kind: RecordKind, user: Any, query: Select[Any] | None = None) -> Iterator[list[str]]:
    """The header, then one list of cells per record ``user`` may see among ``query``'s, by id."""
    cols, users, teams = _context(session, kind)
    yield [c.header for c in cols]
    wanted = ids_of(kind, query)
    last = 0
    while chunk := _chunk(session, kind, user, wanted, last):
        extra = {"users": users, "teams": teams, "tags": tags_for(session, kind, [r.id for r in chunk])}
        for record in chunk:
            yield [safe_cell(c.value(record, extra)) for c in cols]
        last = chunk[-1].id


def stream(
    sessions: sessionmaker[Session], kind: RecordKind, user: Any, query: Select[Any] | None = None, *, bom: bool = True
) -> Iterator[str]:
    """CSV text, :data:`CHUNK` records per piece, each piece read in a short session of its own (a
    streamed response outlives the request, and its pieces may be produced on different threads).
    ``bom`` makes Excel read the file as UTF-8."""
    wanted = ids_of(kind, query)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with sessions() as session:
        cols, users, teams = _context(session, kind)
    writer.writerow([c.header for c in cols])
    last = 0
    while True:
        with sessions() as session:
            chunk = _chunk(session, kind, user, wanted, last)
            if chunk:
                extra = {"users": users, "teams": teams, "tags": tags_for(session, kind, [r.id for r in chunk])}
                writer.writerows([safe_cell(c.value(record, extra)) for c in cols] for record in chunk)
                last = chunk[-1].id
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if bom:
            text, bom = BOM + text, False
        if text:
            yield text
        if len(chunk) < CHUNK:
            return


def filename_for(kind: RecordKind, when: dt.date | None = None) -> str:
    stem = re.sub(r"[^a-z0-9_-]+", "-", kind.name.lower())
    return f"{stem}-{(when or dt.date.today()).isoformat()}.csv"


def export_response(request: Request, kind: RecordKind, query: Select[Any] | None = None) -> StreamingResponse:
    """What a list route returns for "Export CSV": the rows of ``query`` (its filters, not its paging)
    that the signed-in person may see. ``?bom=0`` leaves the byte-order mark out (for scripts)."""
    user = request.scope.get("user")
    if not kind.may_view(user):
        raise HTTPException(403)
    sessions = request.app.state.voronka.sessions
    bom = request.query_params.get("bom", "1") != "0"
    headers = {"Content-Disposition": f'attachment; filename="{filename_for(kind)}"', "Cache-Control": "no-store"}
    return StreamingResponse(
        stream(sessions, kind, user, query, bom=bom), media_type="text/csv; charset=utf-8", headers=headers
    )


__all__ = ["Column", "columns", "export_response", "filename_for", "ids_of", "rows", "safe_cell", "stream"]

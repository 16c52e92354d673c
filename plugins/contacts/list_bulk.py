"""Bulk actions on the rows selected in a list: assign an owner (user or team), add a tag, export as CSV,
delete into the recycle bin (after a confirmation). At most :data:`BULK_MAX` rows; each action is one
transaction through core's write path, so it is all done or, with a message on the list, not at all.

The selection is the ticked ``ids``, or with "select all shown" every ``page_ids`` the list rendered. Only
parties of the list's kinds that the user may see count: anything else refuses the whole action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.exports import export_response
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.i18n import ngettext
from voronka.core.ids import existing_owner, parse_count, parse_ids
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.tags import add_tag
from voronka.core.writes import delete, save_many

from .kinds import EDIT
from .models import Party

BULK_MAX = 500
ACTIONS = ("owner", "tag", "export", "delete")
CONFIRM_NAMES = 10


class Refused(Exception):
    """A bulk action that cannot run; the message is shown on the list."""


def notice(request: Request) -> str:
    """The message after a bulk action that redirected back to the list (``?done=owner&n=3``)."""
    done, raw = request.query_params.get("done", ""), request.query_params.get("n", "")
    return notice_text(done, parse_count(raw) or 0)


def notice_text(done: str, n: int) -> str:
    if done == "owner":
        return ngettext("%(n)s record has a new owner.", "%(n)s records have a new owner.", n) % {"n": n}
    if done == "tag":
        return ngettext("The tag is on %(n)s record.", "The tag is on %(n)s records.", n) % {"n": n}
    if done == "delete":
        return ngettext(
            "%(n)s record is in the recycle bin; an administrator can restore it.",
            "%(n)s records are in the recycle bin; an administrator can restore them.",
            n,
        ) % {"n": n}
    return ""


def selection(form: Any) -> list[int]:
    """The selected ids, checked for shape and count (refused, never truncated)."""
    key = "page_ids" if form.get("all_shown") else "ids"
    raw = form.getlist(key)
    if not raw:
        raise Refused(_("Select the rows to act on first."))
    ids = parse_ids(v if isinstance(v, str) else None for v in raw)
    if ids is None:
        raise Refused(_("The selection is not valid; reload the list and try again."))
    if len(ids) > BULK_MAX:
        message = _("Select at most %(max)s rows at a time (you selected %(n)s).")
        raise Refused(message % {"max": BULK_MAX, "n": len(ids)})
    return ids


def visible_selection(request: Request, kinds: tuple[str, ...], ids: list[int]) -> dict[str, list[int]]:
    """The selected ids by kind, all of them live, of the list's kinds and visible to the user."""
    stmt = select(Party.id, Party.kind).where(
        Party.id.in_(ids), Party.kind.in_(kinds), Party.deleted_at.is_(None), visible(Party, user(request))
    )
    found = dict(db(request).execute(stmt).all())
    if len(found) != len(ids):
        raise Refused(_("Some of the selected records are gone or not yours to see; reload the list."))
    by_kind: dict[str, list[int]] = {}
    for party_id in ids:
        by_kind.setdefault(found[party_id], []).append(party_id)
    return by_kind


def new_owner(request: Request, raw: Any) -> dict[str, Any]:
    """``u:<id>`` (an active user) or ``t:<id>`` (a team) as the owner fields to write; refused otherwise."""
    values = existing_owner(db(request), raw)
    if values is None:
        raise Refused(_("Choose an active user or a team as the new owner."))
    return values


def _errors(exc: ValidationError) -> str:
    return "; ".join(str(v) for v in exc.errors.values()) or str(exc)


def back_to_list(request: Request, view: Any, render_list: Callable[..., Response], done: str, n: int) -> Response:
    """After an action: the list with the same filters and a message (a redirect without HTMX, so a
    reload does not post again; the list block with HTMX)."""
    if request.headers.get("hx-request") == "true":
        return render_list(request, view, notice=notice_text(done, n))
    query = urlencode([*request.query_params.multi_items(), ("done", done), ("n", str(n))])
    return RedirectResponse(f"{view.path}?{query}", status_code=303)


def bulk_route(view: Any, render_list: Callable[..., Response], kinds_of: Callable[..., list[Any]]) -> Any:
    @requires(EDIT)
    async def bulk(request: Request) -> Response:
        form = await request.form()
        action = str(form.get("action") or "")
        viewer = user(request)
        kinds = {k.name: k for k in kinds_of(request, view)}
        try:
            if action not in ACTIONS:
                raise Refused(_("Choose what to do with the selected rows."))
            ids = selection(form)
            by_kind = visible_selection(request, view.kinds, ids)
            if action == "export":
                if len(by_kind) > 1:
                    raise Refused(_("Export people and organisations from their own lists."))
                kind = kinds[next(iter(by_kind))]
                return export_response(request, kind, select(Party.id).where(Party.id.in_(ids)))
            if action == "delete" and not form.get("confirm"):
                names = db(request).scalars(select(Party.name).where(Party.id.in_(ids)).order_by(Party.name_key)
                                            .limit(CONFIRM_NAMES))  # fmt: skip
                confirm = {"ids": ids, "count": len(ids), "names": list(names)}
                return render_list(request, view, confirm=confirm)
            values = new_owner(request, form.get("owner")) if action == "owner" else {}
            with write_transaction(runtime(request).sessions) as session:
                if action == "owner":
                    for name, chosen in by_kind.items():
                        save_many(session, kinds[name], chosen, values, actor=viewer, source="bulk")
                elif action == "tag":
                    tag = str(form.get("tag") or "")
                    for name, chosen in by_kind.items():
                        for party_id in chosen:
                            add_tag(session, kinds[name], party_id, tag, user=viewer)
                else:
                    for name, chosen in by_kind.items():
                        for party_id in chosen:
                            delete(session, kinds[name], party_id, actor=viewer, source="bulk")
        except Refused as exc:
            return render_list(request, view, status_code=400, bulk_error=str(exc))
        except ValidationError as exc:
            return render_list(request, view, status_code=400, bulk_error=_errors(exc))
        return back_to_list(request, view, render_list, action, len(ids))

    bulk.__name__ = f"{view.key}_bulk"
    return bulk

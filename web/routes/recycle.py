"""The recycle bin (restore, purge, retention period) for admins, and the generic record address.

``/admin/recycle-bin`` lists deleted records of every kind (filter by kind), who deleted them, when and
when they will be purged. Restoring and purging, one record or the selected ones, go through a
confirmation page (a GET, so it works without JavaScript); both are all or nothing.

``/records/{kind}/{id}`` leads to a record's own page, or, for a record merged into another, to the kept
one's (404 when it is gone or not the viewer's to see): other plugins store and link such references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core import recycle
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.i18n import ngettext
from voronka.core.models import User
from voronka.core.models_trash import RecordRedirect, RecycleBinEntry
from voronka.core.records import NAME, RecordKind, RecordKinds, Ref
from voronka.core.security.markers import requires
from voronka.core.security.permissions import ADMIN

from .admin_base import done, int_param, page, read_form, text, valid_id

PAGE_SIZE = 50
SELECT_MAX = 500
ACTIONS = ("restore", "purge")


@dataclass
class Row:
    """One bin entry as the page shows it."""

    entry: RecycleBinEntry
    kind_label: str
    known: bool
    deleted_by: str | None
    merged_into: int | None


def _kinds(request: Request) -> RecordKinds:
    return runtime(request).record_kinds


def _kind_label(kinds: RecordKinds, name: str) -> str:
    kind = kinds.kinds.get(name)
    return _(kind.label) if kind is not None else name


def _rows(session: Session, kinds: RecordKinds, entries: list[tuple[Any, ...]]) -> list[Row]:
    return [
        Row(entry, _kind_label(kinds, entry.kind), entry.kind in kinds, by, target) for entry, by, target in entries
    ]


def _select_entries() -> Any:
    return (
        select(RecycleBinEntry, User.display_name, RecordRedirect.target_id)
        .outerjoin(User, User.id == RecycleBinEntry.deleted_by)
        .outerjoin(
            RecordRedirect,
            (RecordRedirect.kind == RecycleBinEntry.kind) & (RecordRedirect.record_id == RecycleBinEntry.record_id),
        )
    )


def _list_context(request: Request, params: QueryParams | None = None) -> dict[str, Any]:
    session, kinds = db(request), _kinds(request)
    params = params if params is not None else request.query_params
    kind_filter = params.get("kind", "")
    counts = dict(
        session.execute(
            select(RecycleBinEntry.kind, func.count()).group_by(RecycleBinEntry.kind).order_by(RecycleBinEntry.kind)
        ).all()
    )
    if kind_filter not in counts:
        kind_filter = ""
    where = [RecycleBinEntry.kind == kind_filter] if kind_filter else []
    total = sum(counts.values()) if not kind_filter else counts[kind_filter]
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    current = min(int_param(params.get("page")) or 1, pages)
    entries = session.execute(
        _select_entries()
        .where(*where)
        .order_by(RecycleBinEntry.deleted_at.desc(), RecycleBinEntry.id.desc())
        .limit(PAGE_SIZE)
        .offset((current - 1) * PAGE_SIZE)
    ).all()

    def query(**changes: Any) -> str:
        values = {"kind": kind_filter, "page": current, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})

    first = (current - 1) * PAGE_SIZE + 1 if total else 0
    return {
        "rows": _rows(session, kinds, list(entries)),
        "kind_filter": kind_filter,
        "kind_choices": [(name, _kind_label(kinds, name), count) for name, count in counts.items()],
        "total": total,
        "first": first,
        "last": first + len(entries) - 1 if total else 0,
        "prev_query": query(page=current - 1) if current > 1 else None,
        "next_query": query(page=current + 1) if current < pages else None,
        "retention": recycle.retention_days(session),
        "retention_input": None,
        "errors": {},
        "message": _message(request.query_params),
    }


def _message(params: QueryParams) -> str | None:
    count = int_param(params.get("n")) or 0
    outcome = params.get("done", "")
    if outcome == "restored":
        return ngettext("%(n)s record is restored.", "%(n)s records are restored.", count) % {"n": count}
    if outcome == "purged":
        return ngettext("%(n)s record is deleted for good.", "%(n)s records are deleted for good.", count) % {
            "n": count
        }
    if outcome == "retention":
        return _("Saved. Deleted records now stay in the bin for the new period, counted from their deletion.")
    return None


@requires(ADMIN)
async def recycle_bin(request: Request) -> Response:
    """The bin; HTMX (the kind filter) gets only the list."""
    block = "bin_list" if request.headers.get("HX-Target") == "bin-list" else None
    return page(request, "admin/recycle.html", _list_context(request), tab="recycle", block=block)


@requires(ADMIN)
async def retention(request: Request) -> Response:
    form = await read_form(request)
    raw = text(form, "days", 20)
    try:
        with write_transaction(runtime(request).sessions) as session:
            recycle.set_retention_days(session, raw)
    except ValidationError as exc:
        ctx = _list_context(request)
        ctx.update(errors=exc.errors, retention_input=raw)
        return page(request, "admin/recycle.html", ctx, tab="recycle", status_code=400)
    return done(request, "/admin/recycle-bin", done="retention")


def _selected(session: Session, values: list[Any]) -> list[Any]:
    """The bin entries behind submitted ids (a forged or stale selection is a 400 with a message)."""
    wanted: set[int] = set()
    for value in values:
        number = int_param(value if isinstance(value, str) else None)
        if number is None:
            raise HTTPException(400, _("The selection is not valid; reload the recycle bin and try again."))
        wanted.add(number)
    if not wanted:
        raise HTTPException(400, _("Select the records first."))
    if len(wanted) > SELECT_MAX:
        raise HTTPException(400, _("Select at most %(n)s records at a time.") % {"n": SELECT_MAX})
    found = session.execute(
        _select_entries().where(RecycleBinEntry.id.in_(wanted)).order_by(RecycleBinEntry.deleted_at.desc())
    ).all()
    if len(found) != len(wanted):
        raise HTTPException(
            400, _("Some of the selected records have left the bin meanwhile; reload the recycle bin and try again.")
        )
    return list(found)


def _confirm_page(request: Request, action: str, entries: list[Any], error: str | None = None,
                  status_code: int = 200) -> Response:  # fmt: skip
    kinds = _kinds(request)
    ctx = {"action": action, "rows": _rows(db(request), kinds, entries), "error": error}
    return page(request, "admin/recycle_confirm.html", ctx, tab="recycle", status_code=status_code)


@requires(ADMIN)
async def confirm(request: Request) -> Response:
    """What restoring or purging the selection would do, with the button that does it (changes nothing)."""
    action = request.query_params.get("action", "")
    if action not in ACTIONS:
        raise HTTPException(400, _("Choose whether to restore or to delete for good."))
    entries = _selected(db(request), request.query_params.getlist("ids"))
    return _confirm_page(request, action, entries)


def _unknown(entries: list[Any], kinds: RecordKinds) -> str | None:
    for entry, _by, _target in entries:
        if entry.kind not in kinds:
            return _(
                "“%(label)s” is a record of “%(kind)s”, which no installed plugin keeps now; install the plugin "
                "again to restore or purge it."
            ) % {"label": entry.label, "kind": entry.kind}
    return None


def _restore_all(session: Session, kinds: RecordKinds, entries: list[Any], actor: Any) -> int:
    """Restore every entry, parents before the records that belong to them (the order of the list may not
    be); a record that still cannot come back refuses the whole selection."""
    todo = [entry for entry, _by, _target in entries]
    while todo:
        refused: list[tuple[Any, ValidationError]] = []
        for entry in todo:
            try:
                with session.begin_nested():  # a refusal after a flush must not poison the others
                    recycle.restore(session, kinds[entry.kind], entry.record_id, actor=actor)
            except ValidationError as exc:
                refused.append((entry, exc))
        if len(refused) == len(todo):
            raise refused[0][1]
        todo = [entry for entry, _exc in refused]
    return len(entries)


def _fail_message(exc: ValidationError) -> str:
    return " ".join(exc.errors.values())


async def _act(request: Request, action: str) -> Response:
    form: FormData = await read_form(request)
    kinds = _kinds(request)
    entries = _selected(db(request), form.getlist("ids"))
    problem = _unknown(entries, kinds)
    if problem is not None:
        return _confirm_page(request, action, entries, problem, 400)
    viewer = user(request)
    try:
        with write_transaction(runtime(request).sessions) as session:
            if action == "restore":
                count = _restore_all(session, kinds, entries, viewer)
            else:
                count = 0
                by_kind: dict[str, list[int]] = {}
                for entry, _by, _target in entries:
                    by_kind.setdefault(entry.kind, []).append(entry.record_id)
                for name, record_ids in by_kind.items():
                    count += recycle.purge(session, kinds[name], record_ids, actor=viewer)
    except ValidationError as exc:
        db(request).expire_all()
        return _confirm_page(request, action, entries, _fail_message(exc), 400)
    return done(request, "/admin/recycle-bin", done="restored" if action == "restore" else "purged", n=str(count))


@requires(ADMIN)
async def restore(request: Request) -> Response:
    return await _act(request, "restore")


@requires(ADMIN)
async def purge(request: Request) -> Response:
    return await _act(request, "purge")


# -- the generic record address -----------------------------------------------------------------------------


def _kind_or_404(request: Request) -> RecordKind:
    name = request.path_params["kind"]
    kind = _kinds(request).kinds.get(name) if NAME.match(name) else None
    if kind is None or not runtime(request).host.is_enabled(kind.plugin):
        raise HTTPException(404)
    return kind


async def record_address(request: Request) -> Response:
    """``/records/{kind}/{id}``: the record's page, or the page of the record it was merged into."""
    kind = _kind_or_404(request)
    viewer = user(request)
    if not kind.may_view(viewer):
        raise HTTPException(403)
    record_id = request.path_params["record_id"]
    if not valid_id(record_id):
        raise HTTPException(404)
    session = db(request)
    if _kinds(request).resolve(session, Ref(kind.name, record_id), viewer) is not None:
        return RedirectResponse(kind.url_for(record_id), 303)
    target = recycle.redirect_url(session, kind, record_id, viewer)
    if target is not None:
        return RedirectResponse(target, 303)
    raise HTTPException(404, _("There is no such record, or it is not yours to see."))


routes = [
    Route("/admin/recycle-bin", recycle_bin, methods=["GET"], name="admin-recycle-bin"),
    Route("/admin/recycle-bin/retention", retention, methods=["POST"], name="admin-recycle-retention"),
    Route("/admin/recycle-bin/confirm", confirm, methods=["GET"], name="admin-recycle-confirm"),
    Route("/admin/recycle-bin/restore", restore, methods=["POST"], name="admin-recycle-restore"),
    Route("/admin/recycle-bin/purge", purge, methods=["POST"], name="admin-recycle-purge"),
    Route("/records/{kind}/{record_id:int}", record_address, methods=["GET"], name="record-address"),
]

"""Soft delete, the recycle bin, purging for good, merges and merged-into redirects, for every record kind.

A kind whose model has :class:`~voronka.core.models.SoftDeleteMixin` (``deleted_at``) is deleted softly:
the row stays, hidden from every normal read, with a row in ``core_recycle_bin`` (who, when, its name then,
when it will be purged); an admin may restore it until the retention period ends, after which the job
``core.recycle_purge`` purges it. Kinds without the column are deleted for good at once.

Purging (for good) keeps every installed plugin's data consistent, in this order: custom field values
(``voronka.core.custom_fields.on_records_deleted``), attachments (``voronka.core.attachments``), tags,
every installed plugin's ``records_deleted`` (enabled or not), then the rows themselves. A merge moves
custom fields, attachments, tags and every plugin's references (``records_merged``) to the kept record,
puts the merged one in the bin and leaves a redirect, so its old address leads to the kept record.

Every function works inside the caller's transaction (``write_transaction``): a refusal raises
:class:`~voronka.core.errors.ValidationError` before anything is written. Permissions are the caller's:
the web pages let administrators restore and purge, and a kind's editors delete and merge.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from .db import write_transaction
from .errors import ValidationError
from .i18n import N_
from .i18n import gettext as _
from .jobs import PERIODIC, JobContext, JobDefinition
from .models import SettingValue
from .models_records import TagLink
from .models_trash import RecordRedirect, RecycleBinEntry
from .records import RecordKind, RecordKinds, Ref, build_registry
from .state import bump
from .types import utcnow
from .writes import CHUNK, _check_call, _Context, _flush, snapshot

log = logging.getLogger("voronka.recycle")

SETTING_PLUGIN = "core"
RETENTION_KEY = "recycle_retention_days"
"""The retention period is a company-wide admin setting: a ``core_setting`` row (plugin "core")."""
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650
PURGE_BATCH = 250
"""Bin entries purged per transaction by the job: about 40 ms of CPU on SQLite for notes, well under the
200 ms a write transaction may take (``python -m bench.recycle``)."""
LABEL_MAX = 200
JOB_KEY = "core.recycle_purge"
KINDS_KEY = "voronka.recycle.kinds"
"""``session.info`` key: the registry of the running recycle call, for hooks that purge records of theirs."""
CONSISTENCY_MODULES = ("voronka.core.custom_fields", "voronka.core.attachments")
MERGE_TAKES_KIND = frozenset({"voronka.core.custom_fields"})
"""Modules whose ``on_records_merged`` gets the RecordKind rather than its name: custom fields fill the kept
record's empty values through the write path, which needs the kind itself."""


# -- the retention period ----------------------------------------------------------------------------------


def retention_days(session: Session) -> int:
    """How many days deleted records stay in the recycle bin (default 30)."""
    value = session.scalar(
        select(SettingValue.value).where(SettingValue.plugin == SETTING_PLUGIN, SettingValue.key == RETENTION_KEY)
    )
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_RETENTION_DAYS


def set_retention_days(session: Session, raw: Any) -> int:
    """Validate and store the retention period; entries already in the bin get their purge date moved to
    match (deleted at + the new period), so shortening it takes effect for them too."""
    text = str(raw if raw is not None else "").strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_RETENTION_DAYS:
        raise ValidationError(
            {"days": _("Enter a whole number of days from 1 to %(max)s.") % {"max": MAX_RETENTION_DAYS}}
        )
    days = int(text)
    row = session.get(SettingValue, (SETTING_PLUGIN, RETENTION_KEY))
    if row is None:
        session.add(SettingValue(plugin=SETTING_PLUGIN, key=RETENTION_KEY, value=days, changed_at=utcnow()))
    else:
        row.value, row.changed_at = days, utcnow()
    session.execute(
        update(RecycleBinEntry).values(purge_after=_plus_days(session, RecycleBinEntry.deleted_at, days)),
        execution_options={"synchronize_session": False},
    )
    bump(session, "settings")
    session.flush()
    return days


def _plus_days(session: Session, column: Any, days: int) -> Any:
    """``column + days`` in SQL on both engines (SQLite stores naive UTC text in SQLAlchemy's format)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f000", column, f"+{days} days")
    return column + literal(dt.timedelta(days=days))


# -- reading -----------------------------------------------------------------------------------------------


def soft_deletes(kind: RecordKind) -> bool:
    """Whether the kind's records go to the recycle bin (its model has ``deleted_at``)."""
    return getattr(kind.model, "deleted_at", None) is not None


def redirect_target(session: Session, kind_name: str, record_id: int) -> int | None:
    """The id record ``record_id`` of ``kind_name`` was merged into (chains already followed), or None."""
    return session.scalar(
        select(RecordRedirect.target_id).where(RecordRedirect.kind == kind_name, RecordRedirect.record_id == record_id)
    )


def merged_into(session: Session, kind: RecordKind, record_id: int, user: Any = None) -> int | None:
    """Where a detail page for a record that is not there should send the viewer: the id of the record it
    was merged into, when that one is live (and, given ``user``, visible to them); otherwise None (a 404).

    Plugins call it in their detail route when their own lookup finds nothing::

        target = merged_into(session, kind, note_id, viewer)
        if target is not None:
            return RedirectResponse(kind.url_for(target), 303)
        raise HTTPException(404)
    """
    target = redirect_target(session, kind.name, record_id)
    if target is None:
        return None
    query = select(kind.model.id).where(kind.model.id == target)
    query = query.where(kind.visible_to(user)) if user is not None else _live(kind, query)
    return target if session.scalar(query) is not None else None


def redirect_url(session: Session, kind: RecordKind, record_id: int, user: Any = None) -> str | None:
    """:func:`merged_into` as the kept record's URL (``kind.url_for``), or None."""
    target = merged_into(session, kind, record_id, user)
    return None if target is None else kind.url_for(target)


def bin_entry(session: Session, kind_name: str, record_id: int) -> RecycleBinEntry | None:
    return session.scalars(
        select(RecycleBinEntry).where(RecycleBinEntry.kind == kind_name, RecycleBinEntry.record_id == record_id)
    ).first()


# -- delete, restore, purge, merge --------------------------------------------------------------------------


def delete(
    session: Session,
    kind: RecordKind,
    record_id: int,
    *,
    actor: Any,
    source: str = "form",
    at: dt.datetime | None = None,
) -> None:
    """Delete one record: into the recycle bin for kinds with ``deleted_at``, otherwise for good.

    One audit entry (action "delete", field "", ``old`` = the record's audited fields) and the event
    ``<plugin>.<kind>_deleted`` either way. A record already deleted is refused.
    """
    _check_call(kind, source)
    _remember(session, kind)
    record = _live_one(session, kind, record_id)
    context = _Context(kind, actor, source, at)
    before = snapshot(kind, record)
    if soft_deletes(kind):
        _discard(session, kind, record, context)
    else:
        _purge_rows(session, kind, [record_id])
    _flush(session)
    context.entries.append(context.row(record_id, "delete", "", before, None))
    context.events.append((f"{kind.plugin}.{kind.name}_deleted", context.payload(record_id, {})))
    context.write(session)


def restore(
    session: Session,
    kind: RecordKind,
    record_id: int,
    *,
    actor: Any,
    source: str = "form",
    at: dt.datetime | None = None,
) -> Any:
    """Take a record out of the recycle bin (with its tags, custom fields and attachments, which stayed).

    Refused, with nothing changed, when a record it belongs to (``kind.references``) was purged, or is in
    the bin itself: the message names the one to restore first. A merged record comes back as itself and
    its redirect goes; what the merge moved to the kept record stays there. Returns the record.
    """
    _check_call(kind, source)
    _remember(session, kind)
    if not soft_deletes(kind):
        raise ValidationError(_("Records of this kind are deleted for good; there is nothing to restore."))
    found = _load_any(session, kind, [record_id])
    if not found:
        raise ValidationError(_("This record was deleted for good; it can no longer be restored."))
    record = found[0]
    if record.deleted_at is None:
        raise ValidationError(
            _("“%(label)s” is not in the recycle bin; someone may have restored it.") % {"label": _label(kind, record)}
        )
    _check_parents(session, kind, record)
    record.deleted_at = None
    if hasattr(record, "version"):
        record.version = (record.version or 0) + 1
    session.execute(
        sql_delete(RecycleBinEntry).where(RecycleBinEntry.kind == kind.name, RecycleBinEntry.record_id == record_id)
    )
    session.execute(
        sql_delete(RecordRedirect).where(RecordRedirect.kind == kind.name, RecordRedirect.record_id == record_id)
    )
    _flush(session)
    context = _Context(kind, actor, source, at)
    context.entries.append(context.row(record_id, "restore", "", None, None))
    context.events.append((f"{kind.plugin}.{kind.name}_restored", context.payload(record_id, {})))
    context.write(session)
    return record


def purge(
    session: Session,
    kind: RecordKind,
    ids: Iterable[int],
    *,
    actor: Any,
    source: str = "form",
    at: dt.datetime | None = None,
) -> int:
    """Delete records for good (whether in the bin or not); ids that no longer exist are skipped.

    Runs the consistency chain per 1,000 ids (custom fields, attachments, tags, every installed plugin's
    ``records_deleted``, the rows), writes one audit entry per record (action "purge"; ``old`` keeps the
    record's fields when it was not in the bin already) and queues ``<plugin>.<kind>_purged`` with the
    ids. Returns how many records were purged.
    """
    _check_call(kind, source)
    _remember(session, kind)
    wanted = list(dict.fromkeys(int(i) for i in ids))
    found, live = _existing(session, kind, wanted)
    if not found:
        return 0
    context = _Context(kind, actor, source, at)
    kept = {r.id: snapshot(kind, r) for r in _load_any(session, kind, live)} if live else {}
    for record_id in found:
        context.entries.append(context.row(record_id, "purge", "", kept.get(record_id), None))
    _purge_rows(session, kind, found, live=live)
    for chunk in _chunks(found):
        payload = {"kind": kind.name, "ids": chunk, "actor_id": context.actor_id, "source": context.source,
                   "change_id": context.change_id}  # fmt: skip
        context.events.append((f"{kind.plugin}.{kind.name}_purged", payload))
    context.write(session)
    return len(found)


def merge(
    session: Session,
    kind: RecordKind,
    kept_id: int,
    merged_id: int,
    *,
    actor: Any,
    source: str = "form",
    at: dt.datetime | None = None,
) -> Any:
    """Merge record ``merged_id`` into ``kept_id``: custom fields and attachments (their modules), tags and
    every installed plugin's references (``records_merged``) move to the kept record; the merged one goes
    to the recycle bin (for good for kinds without ``deleted_at``) and its address redirects to the kept
    one, also from records merged into it before (A→B then B→C sends A to C).

    Audit: a "merge" entry on both records and the merged one's "delete" entry. Events
    ``<plugin>.<kind>_merged`` (``id`` kept, ``merged``) and ``<plugin>.<kind>_deleted``. Merging a record
    into itself, into a deleted record or a deleted record is refused. Returns the kept record.
    """
    _check_call(kind, source)
    _remember(session, kind)
    if kept_id == merged_id:
        raise ValidationError(_("A record cannot be merged into itself; choose another one."))
    records = {r.id: r for r in _load_any(session, kind, sorted({kept_id, merged_id}))}
    kept, merged = records.get(kept_id), records.get(merged_id)
    if merged is None or getattr(merged, "deleted_at", None) is not None:
        raise ValidationError(_("The record to merge no longer exists; someone may have deleted or merged it."))
    if kept is None:
        raise ValidationError(_("The record to merge into no longer exists; choose another one."))
    if getattr(kept, "deleted_at", None) is not None:
        raise ValidationError(
            _("“%(label)s” is in the recycle bin; restore it before merging into it.") % {"label": _label(kind, kept)}
        )
    context = _Context(kind, actor, source, at)
    before = snapshot(kind, merged)
    for name, module in _consistency_modules("on_records_merged", named=True):
        module(session, kind if name in MERGE_TAKES_KIND else kind.name, kept_id, merged_id)
    _move_tags(session, kind.name, kept_id, merged_id)
    kind.host.all_hooks.records_merged(
        session=session, kind=kind.name, kept=kept_id, merged=merged_id, actor_id=context.actor_id
    )
    session.execute(
        update(RecordRedirect)
        .where(RecordRedirect.kind == kind.name, RecordRedirect.target_id == merged_id)
        .values(target_id=kept_id),
        execution_options={"synchronize_session": False},
    )
    if soft_deletes(kind):
        _discard(session, kind, merged, context)
    else:
        _purge_rows(session, kind, [merged_id])
    session.execute(
        sql_delete(RecordRedirect).where(RecordRedirect.kind == kind.name, RecordRedirect.record_id == merged_id)
    )
    session.add(
        RecordRedirect(kind=kind.name, record_id=merged_id, target_id=kept_id, merged_at=context.at,
                       merged_by=context.actor_id)
    )  # fmt: skip
    _flush(session)
    context.entries.append(context.row(kept_id, "merge", "", None, {"merged": merged_id}))
    context.entries.append(context.row(merged_id, "merge", "", None, {"kept": kept_id}))
    context.entries.append(context.row(merged_id, "delete", "", before, None))
    context.events.append((f"{kind.plugin}.{kind.name}_merged", {**context.payload(kept_id, {}), "merged": merged_id}))
    context.events.append((f"{kind.plugin}.{kind.name}_deleted", context.payload(merged_id, {})))
    context.write(session)
    return kept


def purge_attached(session: Session, kind_name: str, ids: Sequence[int]) -> bool:
    """For a ``records_deleted`` hook: purge records of yours that belong to the records being purged, through
    the whole chain (so their tags, attachments and the records attached to *them* go too).

    Returns False, having done nothing, when called outside a purge by this module (the hook was called
    directly and no registry is at hand): the caller then deletes its rows itself.
    """
    kinds: RecordKinds | None = session.info.get(KINDS_KEY)
    if kinds is None or kind_name not in kinds:
        return False
    if ids:
        purge(session, kinds[kind_name], ids, actor=None, source="bulk")
    return True


# -- the retention job ------------------------------------------------------------------------------------


def purge_expired(
    sessions: sessionmaker[Session],
    kinds: RecordKinds,
    *,
    batch: int = PURGE_BATCH,
    now: dt.datetime | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> int:
    """Purge every bin entry past its purge date, ``batch`` entries per short transaction, oldest first.

    Each batch commits on its own, so a crash or a stop loses at most the batch in flight and the next
    run simply goes on with what is left. Entries of kinds no installed plugin registers wait (their
    rows cannot be reached). Returns how many records were purged.
    """
    now = now or utcnow()
    names = list(kinds)
    if not names:
        return 0
    due = (RecycleBinEntry.purge_after <= now) & RecycleBinEntry.kind.in_(names)
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(RecycleBinEntry).where(due)) or 0
    done = 0
    size = max(1, batch // 5)  # the first batch also compiles every statement: keep it short too
    while not should_stop():
        with write_transaction(sessions) as session:
            rows = session.execute(
                select(RecycleBinEntry.kind, RecycleBinEntry.record_id)
                .where(due)
                .order_by(RecycleBinEntry.purge_after, RecycleBinEntry.id)
                .limit(size)
            ).all()
            by_kind: dict[str, list[int]] = {}
            for kind_name, record_id in rows:
                by_kind.setdefault(kind_name, []).append(record_id)
            for kind_name, ids in by_kind.items():
                if purge(session, kinds[kind_name], ids, actor=None, source="bulk") < len(ids):
                    # a bin row whose record had already gone (purged around the bin) must not come back
                    session.execute(
                        sql_delete(RecycleBinEntry).where(
                            RecycleBinEntry.kind == kind_name, RecycleBinEntry.record_id.in_(ids)
                        )
                    )
        if not rows:
            break
        done += len(rows)
        progress(done, max(total, done))
        if len(rows) < size:
            break
        size = batch
    return done


_registries: WeakKeyDictionary[Any, RecordKinds] = WeakKeyDictionary()


def _kinds_of(host: Any) -> RecordKinds:
    """The record kinds of a job's plugin host (the job runner knows the host, not the app's registry)."""
    found = _registries.get(host)
    if found is None:
        found = _registries[host] = build_registry(host)
    return found


def purge_job(*, interval: float = 3600.0, batch: int = PURGE_BATCH) -> JobDefinition:
    """Core's periodic job: purge the recycle bin's expired entries, in batches, resumable."""

    def run(ctx: JobContext) -> None:
        state = ctx.state if isinstance(ctx.state, dict) else {}
        before = int(state.get("purged", 0)) if isinstance(state.get("purged", 0), int) else 0

        def saved(done: int, total: int) -> None:
            ctx.save({"purged": before + done}, done=done, total=total)

        purged = purge_expired(ctx.sessions, _kinds_of(ctx.host), batch=batch, should_stop=lambda: ctx.should_stop,
                               progress=saved)  # fmt: skip
        if purged:
            log.info("recycle bin: purged %s expired records", purged)

    return JobDefinition(JOB_KEY, PERIODIC, run, interval=interval, label=N_("Recycle bin clean-up"))


# -- the parts --------------------------------------------------------------------------------------------


def _remember(session: Session, kind: RecordKind) -> None:
    if kind.registry is not None:
        session.info[KINDS_KEY] = kind.registry


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _live(kind: RecordKind, query: Any) -> Any:
    return query.where(kind.model.deleted_at.is_(None)) if soft_deletes(kind) else query


def _load_any(session: Session, kind: RecordKind, ids: Sequence[int]) -> list[Any]:
    """The records, deleted or not, locked for this transaction on PostgreSQL."""
    model = kind.model
    found: list[Any] = []
    for chunk in _chunks(ids):
        query = select(model).where(model.id.in_(chunk)).with_for_update().execution_options(populate_existing=True)
        found.extend(session.scalars(query))
    return found


def _existing(session: Session, kind: RecordKind, ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """Which of ``ids`` exist, and which of those are live (not in the bin), locked on PostgreSQL; plain
    rows, no ORM objects: the bin's records need no snapshot, and purging thousands must stay cheap."""
    model = kind.model
    deleted_at = model.deleted_at if soft_deletes(kind) else literal(None)
    found: list[int] = []
    live: list[int] = []
    for chunk in _chunks(ids):
        for record_id, when in session.execute(
            select(model.id, deleted_at).where(model.id.in_(chunk)).order_by(model.id).with_for_update()
        ):
            found.append(record_id)
            if when is None:
                live.append(record_id)
    return found, live


def _live_one(session: Session, kind: RecordKind, record_id: int) -> Any:
    found = _load_any(session, kind, [record_id])
    if not found or getattr(found[0], "deleted_at", None) is not None:
        raise ValidationError(_("This record no longer exists; someone may have deleted it."))
    return found[0]


def _label(kind: RecordKind, record: Any) -> str:
    try:
        text = str(kind.display(record) or "")
    except Exception:
        text = ""
    return (text or f"{kind.label} #{record.id}")[:LABEL_MAX]


def _discard(session: Session, kind: RecordKind, record: Any, context: _Context) -> None:
    """Soft-delete: hide the row and list it in the bin until the retention period ends."""
    record.deleted_at = context.at
    if hasattr(record, "version"):
        record.version = (record.version or 0) + 1
    session.execute(
        sql_delete(RecycleBinEntry).where(RecycleBinEntry.kind == kind.name, RecycleBinEntry.record_id == record.id)
    )
    session.add(
        RecycleBinEntry(
            kind=kind.name,
            record_id=record.id,
            label=_label(kind, record),
            deleted_by=context.actor_id,
            deleted_at=context.at,
            purge_after=context.at + dt.timedelta(days=retention_days(session)),
        )
    )


def _check_parents(session: Session, kind: RecordKind, record: Any) -> None:
    """Refuse to restore a record whose parent (a generic reference it holds) is gone or in the bin."""
    registry: RecordKinds = kind.registry
    label = _label(kind, record)
    for kind_field, id_field in kind.references:
        parent_kind_name, parent_id = getattr(record, kind_field), getattr(record, id_field)
        if parent_kind_name is None or parent_id is None or (parent_kind_name, parent_id) == (kind.name, record.id):
            continue
        parent_kind = registry.kinds.get(parent_kind_name)
        parent = (
            registry.resolve(session, Ref(parent_kind_name, parent_id), include_deleted=True)
            if parent_kind is not None
            else None
        )
        if parent is None:
            raise ValidationError(
                {
                    id_field: _(
                        "“%(label)s” cannot be restored: the record it belongs to (%(kind)s #%(id)s) was deleted "
                        "for good. Purge it instead, or leave it to be purged."
                    )
                    % {
                        "label": label,
                        "kind": _(parent_kind.label) if parent_kind else parent_kind_name,
                        "id": parent_id,
                    }
                }
            )
        if getattr(parent, "deleted_at", None) is not None:
            parent_label = _label(parent_kind, parent)
            raise ValidationError(
                {
                    id_field: _(
                        "“%(label)s” belongs to “%(parent)s” (%(kind)s), which is in the recycle bin too. "
                        "Restore “%(parent)s” first."
                    )
                    % {"label": label, "parent": parent_label, "kind": _(parent_kind.label)}
                }
            )


def _consistency_modules(function: str, *, named: bool = False) -> list[Any]:
    """``function`` of core's custom-field and attachment modules, in that order (with the module's name
    when ``named``); a module not installed in this build is skipped (an error inside one is not)."""
    found: list[Any] = []
    for name in CONSISTENCY_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        handler = getattr(module, function, None)
        if handler is not None:
            found.append((name, handler) if named else handler)
    return found


def _purge_rows(session: Session, kind: RecordKind, ids: Sequence[int], *, live: Sequence[int] | None = None) -> None:
    """The consistency chain, then the rows, the bin entries and the redirects that led to them.

    ``live`` are the ids not in the bin (all of them when not given): they are marked deleted first, so
    hooks that purge records attached to these never come back to them."""
    model = kind.model
    modules = _consistency_modules("on_records_deleted")
    marking = set(ids if live is None else live) if soft_deletes(kind) else set()
    for chunk in _chunks(ids):
        mark = [i for i in chunk if i in marking]
        if mark:
            session.execute(
                update(model).where(model.id.in_(mark), model.deleted_at.is_(None)).values(deleted_at=utcnow()),
                execution_options={"synchronize_session": False},
            )
        for module in modules:
            module(session, kind.name, chunk)
        session.execute(sql_delete(TagLink).where(TagLink.kind == kind.name, TagLink.record_id.in_(chunk)))
        kind.host.all_hooks.records_deleted(session=session, kind=kind.name, ids=chunk)
        wanted = set(chunk)
        for record in [r for r in session.identity_map.values() if isinstance(r, model) and r.id in wanted]:
            session.expunge(record)
        session.execute(sql_delete(model).where(model.id.in_(chunk)), execution_options={"synchronize_session": False})
        session.execute(
            sql_delete(RecycleBinEntry).where(RecycleBinEntry.kind == kind.name, RecycleBinEntry.record_id.in_(chunk))
        )
        session.execute(
            sql_delete(RecordRedirect).where(RecordRedirect.kind == kind.name, RecordRedirect.target_id.in_(chunk))
        )


def _move_tags(session: Session, kind_name: str, kept_id: int, merged_id: int) -> None:
    have = set(session.scalars(select(TagLink.tag_id).where(TagLink.kind == kind_name, TagLink.record_id == kept_id)))
    moving = session.scalars(select(TagLink.tag_id).where(TagLink.kind == kind_name, TagLink.record_id == merged_id))
    new = [{"kind": kind_name, "record_id": kept_id, "tag_id": t} for t in moving if t not in have]
    session.execute(sql_delete(TagLink).where(TagLink.kind == kind_name, TagLink.record_id == merged_id))
    if new:
        session.execute(insert(TagLink), new)


__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "JOB_KEY",
    "PURGE_BATCH",
    "bin_entry",
    "delete",
    "merge",
    "merged_into",
    "purge",
    "purge_attached",
    "purge_expired",
    "purge_job",
    "redirect_target",
    "redirect_url",
    "restore",
    "retention_days",
    "set_retention_days",
    "soft_deletes",
]

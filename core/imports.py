"""Import CSV files into any record kind, or into the organisation (users, teams, manager hierarchy).

An import is a row in ``core_import`` holding the uploaded bytes, the column mapping and the duplicate
mode. :func:`create_import` reads the header and suggests a mapping, :func:`preview` parses the first rows
with per-cell errors, :func:`start_import` queues the job, and :func:`run_import` (the job, and the CLI
in-process) writes the rows in batches:

- every batch is one short write transaction, sized by its CPU time (about :data:`TARGET_SECONDS`), so on
  SQLite other people's saves wait about that long, and a loaded machine does not shrink the batches;
- records go through :func:`voronka.core.writes.save_batch`: ``before_save``, validation, custom fields,
  audit entries with source "import" and events, exactly as a form would (new records of a model its plugin
  registered go in as one executemany: :mod:`.imports_bulk`);
- the import's counters and ``next_row`` commit in the same transaction as the batch, so a worker killed
  mid-batch leaves nothing half-written and the retried job resumes after the last committed batch;
- duplicates are found by the kind's duplicate matcher, once per batch: skip, fill empty fields only,
  update, or create. A matcher (``RecordKind.duplicates_many``) may also offer ``within(session, rows)``
  (for each new row, the earlier rows of the batch it matches: the batch is then written in parts, each
  matched against the database holding the ones before, with no second look after writing) and
  ``prepare(session, rows)`` (work that needs no write, done before the write transaction in a read-only
  session; contacts normalises e-mails and phones there);
- a dry run does all of it inside a savepoint it rolls back: counts and per-row errors, nothing written.

Two generic extension points, both on the record kind: a *row source* (``RecordKind.import_sources``)
reads another file format into the same header-and-rows shape (contacts reads vCards this way), and extra
targets (``RecordKind.import_targets``) may have an ``after`` step that runs after each batch with the
written records' ids; what it cannot apply yet (a link to a record further
down the file) is kept with the import and applied at its end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, sessionmaker

from .db import write_transaction
from .errors import ValidationError
from .i18n import N_
from .i18n import gettext as _
from .imports_csv import CsvFile, Decoded, Row, open_csv
from .imports_people import PEOPLE
from .imports_targets import ID, AfterBatch, Lookups, Pending, Target, check_mapping, kind_targets, suggest_mapping
from .jobs import QUEUED, JobContext, JobDefinition, JobInterrupted, LeaseLost, enqueue
from .models_imports import DUPLICATE_MODES, Import, ImportFile, ImportRow
from .records import RecordKind
from .security.users import load_user
from .types import utcnow
from .writes import live_ids, save_batch

JOB_KEY = "core.import"
JOB_ATTEMPTS = 5
TARGET_SECONDS = 0.1
"""CPU time one batch's write transaction should take on SQLite (one writer at a time: everybody else's
saves wait for it, since writers of the process queue in turn: ``FairWriteLock``). The batch size follows
the batch's measured CPU time (the import's thread: Python and SQLite's own work), not its wall time, which
on a machine shared with other work grows with theirs: a batch shrunk for that pays its commit and
lookups over fewer rows, and the import slows down the more the machine is loaded. Idle, a batch's write
transaction takes about this long; loaded, longer in wall time, not in work."""
TARGET_SECONDS_CONCURRENT = 0.1
"""The same on PostgreSQL (the server's share of the work is not in the thread's CPU time)."""
FIRST_BATCH, MIN_BATCH, MAX_BATCH = 100, 50, 5000
"""A batch has at least ``MIN_BATCH`` rows however slow a row is (a floor: per-batch costs stay small)."""
ANALYZE_AT = (5_000, 50_000, 500_000)
"""Rows after which an import on PostgreSQL refreshes the planner's statistics (see ``_refresh_statistics``)."""
SQLITE_GAP, SQLITE_GAP_SHARE = 0.005, 0.1
"""The pause after each batch on SQLite: at least 5 ms, 10 % of the batch's time (see ``run_import``).
Writers in this process need none (they queue for the lock); it leaves room for another process's."""
PROGRESS_EVERY = 1.0
"""Seconds between job progress saves (the import's own row counts commit with every batch)."""
PREVIEW_ROWS = 20
MODES = {
    "skip": N_("Skip the row"),
    "fill": N_("Fill only the empty fields of the existing record"),
    "update": N_("Update the existing record"),
    "create": N_("Create a new record anyway"),
}


RowSource = Callable[[bytes, dict[str, Any]], Any]
"""``opener(data, options)`` → an object shaped like :class:`~voronka.core.imports_csv.CsvFile`: ``header``
(column names), optionally ``mapping`` (a target key per column; else one is suggested), ``rows(skip=0)`` yielding
:class:`~voronka.core.imports_csv.Row` and ``count()``. Raises ValidationError keyed "file" for a file it
cannot read. ``options`` is the import's ``options`` (what the uploading page put there)."""


def _opener(kinds: Any, target: str, name: str) -> RowSource:
    """The row source ``name`` of the target kind (``RecordKind.import_sources``), while its plugin is on."""
    kind = None if target in PEOPLE else kinds.get(target)
    on = kind is not None and (kinds.host is None or kinds.host.is_enabled(kind.plugin))
    opener = kind.import_sources.get(name) if on else None
    if opener is None:
        raise ValidationError({"file": _("This kind of file cannot be imported here (its plugin is off).")})
    return opener


class ImportInterrupted(JobInterrupted):
    """The process is stopping: the job runs again and resumes at the saved row (not a failed attempt)."""


class _InBatchDuplicate(Exception):
    """Two rows of one batch are duplicates of each other: redo the batch one row at a time."""


# -- targets ---------------------------------------------------------------------------------------------


def target_choices(kinds: Any, user: Any) -> list[tuple[str, str]]:
    """(name, label) of what ``user`` may import into: kinds they may edit, and for admins the organisation."""
    found = [(k.name, _(k.label)) for k in kinds.enabled() if k.may_edit(user)]
    found.sort(key=lambda pair: pair[1].casefold())
    if getattr(user, "is_admin", False):
        found += [(name, _(t.label)) for name, t in PEOPLE.items()]
    return found


def may_import(kinds: Any, user: Any, target: str) -> bool:
    return any(name == target for name, _label in target_choices(kinds, user))


def targets_for(session: Session, kinds: Any, target: str, lookups: Lookups | None = None) -> list[Target]:
    lookups = lookups if lookups is not None else Lookups.load(session)
    if target in PEOPLE:
        return PEOPLE[target].targets(session, lookups)
    return kind_targets(session, kinds.kind(target), lookups)


def target_label(kinds: Any, target: str) -> str:
    if target in PEOPLE:
        return _(PEOPLE[target].label)
    kind = kinds.get(target)
    return _(kind.label) if kind is not None else target


# -- creating, previewing, starting -------------------------------------------------------------------


def create_import(
    session: Session,
    kinds: Any,
    user: Any,
    target: str,
    filename: str,
    data: bytes,
    *,
    encoding: str = "",
    delimiter: str = "",
    source: str = "",
    options: dict[str, Any] | None = None,
) -> Import:
    """Check the file (encoding, delimiter, header) and keep it as a draft with a suggested mapping.

    ``source`` names a registered row source for a file that is not CSV (``options`` go to it and stay
    with the import). Raises ValidationError keyed by form field ("target", "file", "encoding", "delimiter").
    """
    if not may_import(kinds, user, target):
        raise ValidationError({"target": _("Choose what to import into from the list.")})
    extra: dict[str, Any] = {}
    if source:
        extra = {**(options or {}), "source": source}
        csv_file = _opener(kinds, target, source)(data, extra)
        decoded = Decoded("", "utf-8")
    else:
        csv_file, decoded = open_csv(data, encoding, delimiter)
    total = csv_file.count()
    if total == 0:
        raise ValidationError({"file": _("The file has a header but no rows to import.")})
    mapping = getattr(csv_file, "mapping", None) or suggest_mapping(
        csv_file.header, targets_for(session, kinds, target)
    )
    delimiter = getattr(csv_file, "delimiter", ",")
    imp = Import(
        target=target, user_id=user.id, filename=(filename or "upload.csv")[-255:], size=len(data),
        encoding=decoded.encoding, delimiter=delimiter, mapping=mapping, duplicates="skip", dry_run=False,
        status="draft", total_rows=total, next_row=0, created=0, updated=0, skipped=0, failed=0, message="",
        options={"guessed_encoding": decoded.guessed, **extra}, created_at=utcnow(),
    )  # fmt: skip
    session.add(imp)
    session.flush()
    session.add(ImportFile(import_id=imp.id, content=data))
    return imp


def open_file(imp: Import, kinds: Any) -> CsvFile:
    """The import's file as header and rows: CSV, or what the target kind's row source reads."""
    source = (imp.options or {}).get("source")
    if source:
        return _opener(kinds, imp.target, source)(imp.content, dict(imp.options))  # type: ignore[no-any-return]
    csv_file, _decoded = open_csv(imp.content, imp.encoding, imp.delimiter)
    return csv_file


@dataclass
class PreviewRow:
    number: int
    cells: list[tuple[str, str]]
    """(text, error) per column."""
    error: str = ""
    outcome: str = ""
    note: str = ""


@dataclass
class Preview:
    header: list[str]
    mapping: list[str]
    targets: list[Target]
    rows: list[PreviewRow]
    errors: dict[str, str] = field(default_factory=dict)


def preview(
    session: Session,
    kinds: Any,
    imp: Import,
    user: Any,
    *,
    mapping: list[str] | None = None,
    duplicates: str | None = None,
    limit: int = PREVIEW_ROWS,
) -> Preview:
    """The first ``limit`` rows as the import would read them: each mapped cell parsed (its error next to
    it) and, for record kinds, what the duplicate matcher says; writes nothing."""
    csv_file = open_file(imp, kinds)
    mapping = list(mapping if mapping is not None else imp.mapping)
    mode = duplicates or imp.duplicates
    lookups = Lookups.load(session)
    targets = targets_for(session, kinds, imp.target, lookups)
    by_key = {t.key: t for t in targets}
    result = Preview(csv_file.header, mapping, targets, [], check_mapping(mapping, csv_file.header, targets))
    kind = kinds.get(imp.target) if imp.target not in PEOPLE else None
    for row in _take(csv_file.rows(), limit):
        if row.error:
            result.rows.append(PreviewRow(row.number, [(c, "") for c in row.cells], row.error, "error"))
            continue
        cells: list[tuple[str, str]] = []
        values: dict[str, Any] = {}
        for index, text in enumerate(row.cells):
            key = mapping[index] if index < len(mapping) else ""
            target = by_key.get(key)
            error = ""
            if target is not None and text.strip():
                try:
                    values[key] = target.parse(unescape_cell(text))
                except ValidationError as exc:
                    error = "; ".join(exc.errors.values())
            elif target is not None and target.required:
                error = _("Required.")
            cells.append((text, error))
        entry = PreviewRow(row.number, cells)
        if any(e for _t, e in cells):
            entry.outcome = "error"
        elif kind is not None:
            own = {k: v for k, v in values.items() if by_key[k].after is None}
            entry.outcome, entry.note = _preview_match(session, kind, user, own, mode)
        else:
            entry.outcome = "ok"
        if row.note:
            entry.note = f"{entry.note} · {row.note}" if entry.note else row.note
        result.rows.append(entry)
    return result


def _preview_match(session: Session, kind: RecordKind, user: Any, values: dict[str, Any], mode: str) -> tuple[str, str]:
    if values.get(ID) is not None:
        return "update", _("Updates #%(id)s") % {"id": values[ID]}
    if mode == "create" or kind.duplicates is None:
        return "new", _("New")
    ids = _visible(session, kind, None, list(kind.duplicates(session, {k: v for k, v in values.items() if k != ID})))
    if not ids:
        return "new", _("New")
    if mode == "skip":
        return "skip", _("Duplicate of #%(id)s: skipped") % {"id": ids[0]}
    visible = _visible(session, kind, user, ids)
    if not visible:
        return "error", _("Matches a record you cannot see")
    if len(visible) > 1:
        return "error", _("Matches %(n)s records: %(ids)s") % {"n": len(visible), "ids": _ids(visible)}
    return "update", _("Updates #%(id)s") % {"id": visible[0]}


def start_import(
    session: Session,
    kinds: Any,
    imp: Import,
    user: Any,
    *,
    mapping: list[str],
    duplicates: str,
    dry_run: bool,
) -> Import:
    """Check the mapping and queue the job in the caller's transaction (it runs after commit)."""
    if imp.status != "draft":
        raise ValidationError(_("This import has already been started."))
    if not may_import(kinds, user, imp.target):
        raise ValidationError({"target": _("You may not import into %(target)s.") % {"target": imp.target}})
    if duplicates not in DUPLICATE_MODES:
        raise ValidationError({"duplicates": _("Choose what to do with duplicates.")})
    csv_file = open_file(imp, kinds)
    errors = check_mapping(mapping, csv_file.header, targets_for(session, kinds, imp.target))
    if errors:
        raise ValidationError(errors)
    imp.mapping, imp.duplicates, imp.dry_run, imp.status = list(mapping), duplicates, bool(dry_run), "queued"
    job = enqueue(session, JOB_KEY, {"import_id": imp.id}, max_attempts=JOB_ATTEMPTS)
    imp.job_id = job.id
    session.flush()
    return imp


def copy_for_real(session: Session, imp: Import, user: Any) -> Import:
    """A finished dry run's settings as a new draft, to run for real after checking the outcome."""
    copy = Import(
        target=imp.target, user_id=user.id, filename=imp.filename, size=imp.size,
        encoding=imp.encoding, delimiter=imp.delimiter, mapping=list(imp.mapping), duplicates=imp.duplicates,
        dry_run=False, status="draft", total_rows=imp.total_rows, next_row=0, created=0, updated=0, skipped=0,
        failed=0, message="", options=dict(imp.options or {}), created_at=utcnow(),
    )  # fmt: skip
    session.add(copy)
    session.flush()
    session.add(ImportFile(import_id=copy.id, content=imp.content))
    return copy


def cancel_import(session: Session, imp: Import) -> None:
    """Stop a queued or running import after its current batch; what is written stays written."""
    if imp.status in ("draft", "queued"):
        imp.status, imp.finished_at = "cancelled", utcnow()
    elif imp.status == "running":
        imp.cancel_requested = True
    session.flush()


# -- running -------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """One data row converted outside the transaction: its record id (an ``id`` column), values, errors."""

    number: int
    record_id: int | None
    values: dict[str, Any]
    errors: dict[str, str]
    extras: dict[str, Any] = field(default_factory=dict)
    """Values of targets with an ``after`` step: applied after the batch, not saved on the record."""
    note: str = ""

    @property
    def message(self) -> str:
        return " ".join(f"{k}: {v}" if k else v for k, v in self.errors.items())


@dataclass
class Result:
    number: int
    outcome: str
    record_id: int | None = None
    message: str = ""


@dataclass
class _Plan:
    imp_id: int
    target: str
    kind: RecordKind | None
    mode: str
    dry_run: bool
    user: Any
    header: list[str]
    mapping: list[str]
    targets: dict[str, Target]
    lookups: Lookups
    kinds: Any = None
    deferred: list[tuple[str, Pending]] = field(default_factory=list)
    """What ``after`` steps left for the end of the import, from the batch being written."""


def _take(rows: Iterator[Row], n: int) -> list[Row]:
    found = []
    for row in rows:
        found.append(row)
        if len(found) >= n:
            break
    return found


def _ids(ids: list[int]) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:5])
    return shown + ("…" if len(ids) > 5 else "")


def _visible(session: Session, kind: RecordKind, user: Any | None, ids: list[int]) -> list[int]:
    """Those of ``ids`` that exist, are not in the recycle bin and (given ``user``) that user may see."""
    if not ids:
        return []
    found = live_ids(session, kind, ids)
    if user is not None and found:
        model = kind.model
        query = select(model.id).where(model.id.in_(sorted(found)), kind.visible_to(user))
        found = set(session.scalars(query))
    return [i for i in ids if i in found]


def unescape_cell(text: str) -> str:
    """Undo the apostrophe an export puts before a value a spreadsheet would take for a formula."""
    return text[1:] if text.startswith("'") and text[1:2] in ("=", "+", "-", "@") else text


def convert(plan: _Plan, row: Row) -> Prepared:
    """Cells to values by the mapping; a bad cell is an error named by its column."""
    if row.error:
        return Prepared(row.number, None, {}, {"": row.error})
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for index, key in enumerate(plan.mapping):
        if not key:
            continue
        text = unescape_cell(row.cells[index])
        if not text.strip():
            continue
        try:
            values[key] = plan.targets[key].parse(text)
        except ValidationError as exc:
            errors[plan.header[index] or str(index + 1)] = "; ".join(exc.errors.values())
    record_id = values.pop(ID, None)
    if record_id is None:
        for index, key in enumerate(plan.mapping):
            if key and plan.targets[key].required and key not in values:
                errors.setdefault(plan.header[index] or str(index + 1), _("Required."))
    extras = {key: values.pop(key) for key in list(values) if plan.targets[key].after is not None}
    return Prepared(row.number, record_id, values, errors, extras, row.note)


def _kind_batch(session: Session, plan: _Plan, rows: list[Prepared], *, careful: bool = False) -> list[Result]:
    """Write one batch of a record kind's rows; returns a result per row.

    When the kind's matcher can tell duplicates among the batch's own new rows (``duplicates_many.within``),
    the rows before the first such row are written first and the rest is matched again (against the
    database, which then holds the earlier rows), as often as needed: the outcome of writing the rows one
    by one, in a matcher call or so per batch. Without it, the created rows are matched once more after
    writing and a batch with duplicates among them is written again row by row (``_InBatchDuplicate``)."""
    if careful:
        found: list[Result] = []
        for row in rows:
            found += _kind_part(session, plan, [row])[0]
        return found
    results: list[Result] = []
    while rows:
        done, rows = _kind_part(session, plan, rows)
        results += done
    return results


def _kind_part(session: Session, plan: _Plan, rows: list[Prepared]) -> tuple[list[Result], list[Prepared]]:
    """Write ``rows`` up to the first that duplicates an earlier new row of them; (results, rows left)."""
    kind = plan.kind
    assert kind is not None
    results: dict[int, Result] = {}
    explicit = [r.record_id for r in rows if r.record_id is not None and not r.errors]
    matches: dict[int, list[int]] = {}
    within = getattr(kind.duplicates_many, "within", None)
    rest: list[Prepared] = []
    if plan.mode != "create" and kind.duplicates is not None:
        asked = [row for row in rows if row.record_id is None and not row.errors]
        found = _duplicates(session, kind, [dict(row.values) for row in asked])
        matches = {row.number: ids for row, ids in zip(asked, found, strict=True)}
        live = set(_visible(session, kind, None, sorted({i for ids in matches.values() for i in ids})))
        matches = {number: [i for i in ids if i in live] for number, ids in matches.items()}
        if within is not None:
            new = [row for row in asked if not matches[row.number]]
            earlier = within(session, [dict(row.values) for row in new])
            first = next((row for row, ids in zip(new, earlier, strict=True) if ids), None)
            if first is not None:
                cut = rows.index(first)
                rows, rest = rows[:cut], rows[cut:]
    check = set(explicit) | ({i for ids in matches.values() for i in ids} if plan.mode in ("update", "fill") else set())
    visible = set(_visible(session, kind, plan.user, sorted(check))) if check else set()
    writes: list[tuple[Prepared, int | None, dict[str, Any]]] = []
    for row in rows:
        if row.errors:
            results[row.number] = Result(row.number, "failed", None, row.message)
            continue
        if row.record_id is not None:
            if row.record_id not in visible:
                message = _("There is no record #%(id)s you may change.") % {"id": row.record_id}
                results[row.number] = Result(row.number, "failed", None, message)
                continue
            writes.append((row, row.record_id, row.values))
            continue
        ids = matches.get(row.number) or []
        if not ids:
            writes.append((row, None, _with_owner(kind, plan, row.values)))
        elif plan.mode == "skip":
            results[row.number] = Result(row.number, "skipped", ids[0],
                                         _("Duplicate of %(ids)s.") % {"ids": _ids(ids)})  # fmt: skip
        else:
            seen = [i for i in ids if i in visible]
            if not seen:
                results[row.number] = Result(row.number, "failed", None,
                                             _("Matches a record you cannot see; nothing was changed."))  # fmt: skip
            elif len(seen) > 1:
                results[row.number] = Result(row.number, "failed", None, _(
                    "Matches %(n)s records (%(ids)s); add an id column to say which one to update."
                ) % {"n": len(seen), "ids": _ids(seen)})  # fmt: skip
            else:
                writes.append((row, seen[0], row.values))
    hidden = _hidden_references(session, plan, [(row, vals) for row, _rid, vals in writes])
    for row, _rid, _vals in writes:
        if row.number in hidden:
            results[row.number] = Result(row.number, "failed", None, hidden[row.number])
    writes = [w for w in writes if w[0].number not in hidden]
    if plan.mode == "fill":
        writes = _only_empty(session, kind, writes)
    outcomes = save_batch(session, kind, [(rid, vals) for _row, rid, vals in writes], actor=plan.user.id)
    created: list[tuple[Prepared, int]] = []
    for (row, _rid, _vals), outcome in zip(writes, outcomes, strict=True):
        if outcome.outcome == "failed":
            message = " ".join(f"{_field_label(plan, k)}: {v}" if k else v for k, v in outcome.errors.items())
            results[row.number] = Result(row.number, "failed", None, message)
        else:
            results[row.number] = Result(row.number, outcome.outcome, outcome.record_id, row.note)
            if outcome.outcome == "created":
                created.append((row, outcome.record_id))  # type: ignore[arg-type]
    if plan.mode != "create" and kind.duplicates is not None and within is None and len(created) > 1:
        made: set[int] = set()
        for (_row, record_id), ids in zip(created, _duplicates(session, kind, [dict(r.values) for r, _i in created]),
                                          strict=True):  # fmt: skip
            if made & set(ids):
                raise _InBatchDuplicate()
            made.add(record_id)
    written = [(row, results[row.number].record_id) for row, _rid, _vals in writes
               if results[row.number].outcome != "failed"]  # fmt: skip
    _after(session, plan, [(row.number, rid, row.extras) for row, rid in written if rid is not None], final=False)
    return [results[r.number] for r in rows], rest


def _hidden_references(session: Session, plan: _Plan, rows: list[tuple[Prepared, dict[str, Any]]]) -> dict[int, str]:
    """Rows whose generic reference (an activity's "about", say) names a record the importing user may not
    see, by row number, with the message: an import attaches to what its user could pick in a form, no more.
    (A kind nobody registered or a record that does not exist is the write path's to refuse.)"""
    assert plan.kind is not None
    wanted: dict[str, set[int]] = {}
    for _row, values in rows:
        for kind_field, id_field in plan.kind.references:
            ref_kind, ref_id = values.get(kind_field), values.get(id_field)
            if isinstance(ref_kind, str) and isinstance(ref_id, int) and ref_kind in plan.kinds:
                wanted.setdefault(ref_kind, set()).add(ref_id)
    seen = {name: set(_visible(session, plan.kinds[name], plan.user, sorted(ids))) for name, ids in wanted.items()}
    hidden: dict[int, str] = {}
    for row, values in rows:
        for kind_field, id_field in plan.kind.references:
            ref_kind, ref_id = values.get(kind_field), values.get(id_field)
            if ref_kind in seen and ref_id not in seen[ref_kind]:
                hidden[row.number] = _("There is no %(kind)s #%(id)s you may see.") % {
                    "kind": _(plan.kinds[ref_kind].label).lower(), "id": ref_id}  # fmt: skip
    return hidden


def _duplicates(session: Session, kind: RecordKind, rows: list[dict[str, Any]]) -> list[list[int]]:
    """The kind's duplicate candidates per row: all at once when the kind can (``duplicates_many``)."""
    if not rows or kind.duplicates is None:
        return [[] for _row in rows]
    if kind.duplicates_many is not None:
        return [list(ids) for ids in kind.duplicates_many(session, rows)]
    return [list(kind.duplicates(session, values)) for values in rows]


def _after(session: Session, plan: _Plan, rows: list[tuple[int, int, dict[str, Any]]], *, final: bool) -> None:
    """Run the ``after`` step of each extra target over the written rows that have a value for it; keep
    what it leaves in ``plan.deferred``."""
    for key, target in plan.targets.items():
        if target.after is None:
            continue
        items: list[Pending] = [(number, rid, extras[key], "") for number, rid, extras in rows if key in extras]
        if items:
            context = AfterBatch(session, plan.user, plan.kinds, final=final, dry_run=plan.dry_run)
            plan.deferred += [(key, item) for item in target.after(context, items)]


def _field_label(plan: _Plan, key: str) -> str:
    target = plan.targets.get(key)
    return target.label if target is not None else key


def _with_owner(kind: RecordKind, plan: _Plan, values: dict[str, Any]) -> dict[str, Any]:
    """New records belong to the person importing unless the file names an owner or a team; the kind's
    ``import_defaults`` fill what the file leaves out (a lead's channel is "import")."""
    if kind.import_defaults:
        values = {**kind.import_defaults, **values}
    writable = kind.writable
    if "owner_user_id" in writable and "owner_user_id" not in values and "owner_team_id" not in values:
        return {**values, "owner_user_id": plan.user.id}
    return values


def _only_empty(
    session: Session, kind: RecordKind, writes: list[tuple[Prepared, int | None, dict[str, Any]]]
) -> list[tuple[Prepared, int | None, dict[str, Any]]]:
    """For "fill": keep only the values whose field is empty on the existing record."""
    ids = [rid for _row, rid, _vals in writes if rid is not None]
    if not ids:
        return writes
    mapper = sa_inspect(kind.model)
    source = mapper.base_mapper.class_ if mapper.single else kind.model  # by primary key alone: see live_ids
    query = select(source).where(source.id.in_(ids))
    records = {r.id: r for r in session.scalars(query) if isinstance(r, kind.model)}
    kept = []
    for row, rid, values in writes:
        record = records.get(rid) if rid is not None else None
        if record is None or row.record_id is not None:
            kept.append((row, rid, values))
            continue
        custom = getattr(record, "custom", None) or {}
        kept.append((row, rid, {
            key: value for key, value in values.items()
            if (custom.get(key[3:]) if key.startswith("cf.") else getattr(record, key, None)) in (None, "", [], {})
        }))  # fmt: skip
    return kept


def _people_batch(session: Session, plan: _Plan, rows: list[Prepared]) -> list[Result]:
    """Users, teams or manager links: each row in its own savepoint through the core functions."""
    writer = PEOPLE[plan.target]
    results = []
    for row in rows:
        if row.errors:
            results.append(Result(row.number, "failed", None, row.message))
            continue
        savepoint = session.begin_nested()
        try:
            outcome = writer.write(session, row.values, plan.mode, plan.lookups)
        except ValidationError as exc:
            savepoint.rollback()
            message = " ".join(f"{_field_label(plan, k)}: {v}" if k else v for k, v in exc.errors.items())
            results.append(Result(row.number, "failed", None, message))
            continue
        savepoint.commit()
        results.append(Result(row.number, outcome.outcome, outcome.record_id, outcome.message))
    return results


def _write_batch(session: Session, plan: _Plan, rows: list[Prepared], careful: bool) -> list[Result]:
    plan.deferred = []
    savepoint = session.begin_nested() if plan.dry_run else None
    try:
        if plan.kind is not None:
            return _kind_batch(session, plan, rows, careful=careful)
        return _people_batch(session, plan, rows)
    finally:
        if savepoint is not None:
            savepoint.rollback()
            if plan.kind is None:
                plan.lookups = Lookups.load(session)  # names a dry run "created" are not there


COUNTED = {"created": "created", "updated": "updated", "unchanged": "skipped", "skipped": "skipped",
           "failed": "failed"}  # fmt: skip


def run_import(
    sessions: sessionmaker[Session],
    kinds: Any,
    import_id: int,
    *,
    progress: Callable[[Import], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    target_seconds: float | None = None,
) -> Import:
    """Run (or resume) import ``import_id`` to the end; returns its final state (detached).

    Raises :class:`ImportInterrupted` when ``should_stop`` says so between batches: call again to resume.
    """
    with write_transaction(sessions) as session:
        imp = session.get(Import, import_id, with_for_update=True)
        if imp is None:
            raise ValidationError(_("There is no import #%(id)s.") % {"id": import_id})
        if imp.status in ("done", "failed", "cancelled"):
            session.expunge(imp)
            return imp
        try:
            plan = _plan(session, kinds, imp)
            csv_file = open_file(imp, kinds)
        except ValidationError as exc:
            imp.status, imp.finished_at = "failed", utcnow()
            imp.message = "; ".join(exc.errors.values())
            session.flush()
            session.expunge(imp)
            return imp
        imp.status = "running"
        imp.started_at = imp.started_at or utcnow()
        start = imp.next_row
    rows = csv_file.rows(skip=start)
    single_writer = sessions.kw["bind"].dialect.name == "sqlite"
    _run_batches(sessions, plan, rows, start, import_id, single_writer, progress, should_stop, target_seconds)
    with sessions() as session:
        final = session.get(Import, import_id)
        assert final is not None
        session.expunge(final)
        return final


def _run_batches(
    sessions: sessionmaker[Session],
    plan: _Plan,
    rows: Iterator[Row],
    start: int,
    import_id: int,
    single_writer: bool,
    progress: Callable[[Import], None] | None,
    should_stop: Callable[[], bool] | None,
    target_seconds: float | None,
) -> None:
    if target_seconds is None:
        target_seconds = TARGET_SECONDS if single_writer else TARGET_SECONDS_CONCURRENT
    size = FIRST_BATCH
    done = start
    while True:
        if should_stop is not None and should_stop():
            raise ImportInterrupted(f"import #{import_id} stopped at row {done}; it resumes there")
        batch = [convert(plan, row) for row in _take(rows, size)]
        _prepare(sessions, plan, batch)
        began, cpu = time.perf_counter(), time.thread_time()
        state = _commit_batch(sessions, plan, batch, done)
        elapsed, cpu = time.perf_counter() - began, time.thread_time() - cpu
        if state is None:  # cancelled, finished elsewhere, or another process moved on
            break
        if not single_writer and any(done < mark <= state.next_row for mark in ANALYZE_AT):
            _refresh_statistics(sessions)
        done = state.next_row
        if progress is not None:
            progress(state)
        if not batch:
            break
        # sized by the batch's own CPU time: on a loaded machine its wall time grows with other people's
        # work, and shrinking the batch for that only adds per-batch costs (a commit, the lookups)
        ideal = size * target_seconds / max(cpu, 1e-4)
        size = int(min(MAX_BATCH, max(MIN_BATCH, (size + ideal) / 2)))
        if single_writer:
            # SQLite has one writer; this process's writers queue in turn, but another process's poll
            # (up to 100 ms apart): leave them a gap, or back-to-back batches would starve them
            time.sleep(max(SQLITE_GAP, elapsed * SQLITE_GAP_SHARE))


def _prepare(sessions: sessionmaker[Session], plan: _Plan, batch: list[Prepared]) -> None:
    """Let the kind's matcher do what needs no write before the batch's write transaction begins
    (``duplicates_many.prepare(session, rows)``: contacts normalises e-mails and phones, which its checks and
    rules inside then find done), in a read-only session: the write lock is held that much shorter."""
    kind = plan.kind
    prepare = getattr(kind.duplicates_many, "prepare", None) if kind is not None else None
    rows = [row.values for row in batch if not row.errors]
    if prepare is None or not rows:
        return
    with sessions() as session:
        prepare(session, rows)


def _refresh_statistics(sessions: sessionmaker[Session]) -> None:
    """ANALYZE on PostgreSQL once a large import has grown its tables: the planner otherwise keeps the
    plans of near-empty tables until autovacuum comes round (the lookups and foreign-key checks of the
    following batches then scan: a contacts import went from 1,500 rows a minute to 28,000 after one)."""
    with sessions.begin() as session:  # ANALYZE, unlike VACUUM, runs inside a transaction
        session.execute(sql_text("ANALYZE"))


def _plan(session: Session, kinds: Any, imp: Import) -> _Plan:
    user = load_user(session, imp.user_id) if imp.user_id is not None else None
    if user is None:
        raise ValidationError(_("The person who started this import can no longer sign in, so it was stopped."))
    if not may_import(kinds, user, imp.target):
        raise ValidationError(_("The person who started this import may no longer import into it."))
    lookups = Lookups.load(session)
    targets = {t.key: t for t in targets_for(session, kinds, imp.target, lookups)}
    csv_file = open_file(imp, kinds)
    if check_mapping(list(imp.mapping), csv_file.header, list(targets.values())):
        raise ValidationError(_("The column mapping no longer fits the fields (one was removed); start again."))
    kind = None if imp.target in PEOPLE else kinds.kind(imp.target)
    return _Plan(imp.id, imp.target, kind, imp.duplicates, imp.dry_run, user, csv_file.header, list(imp.mapping),
                 targets, lookups, kinds)  # fmt: skip


def _commit_batch(sessions: sessionmaker[Session], plan: _Plan, batch: list[Prepared], start: int) -> Import | None:
    """One write transaction: the batch's records, its failed/skipped rows, the counters and ``next_row``."""
    careful = False
    while True:
        try:
            with write_transaction(sessions) as session:
                imp = session.get(Import, plan.imp_id, with_for_update=True, populate_existing=True)
                if imp is None or imp.status != "running" or imp.next_row != start:
                    return None
                if imp.cancel_requested:
                    imp.status, imp.finished_at = "cancelled", utcnow()
                    imp.message = _("Cancelled after %(n)s rows.") % {"n": imp.next_row}
                    return None
                results = _write_batch(session, plan, batch, careful) if batch else []
                counts = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
                for result in results:
                    counts[COUNTED[result.outcome]] += 1
                noted = [
                    {"import_id": plan.imp_id, "row": r.number, "outcome": r.outcome, "record_id": r.record_id,
                     "message": r.message[:2000]}
                    for r in results if r.outcome in ("failed", "skipped") or r.message
                ]  # fmt: skip
                noted += _deferred(session, plan, imp, final=not batch)
                if noted:
                    session.execute(insert(ImportRow), noted)
                imp.created += counts["created"]
                imp.updated += counts["updated"]
                imp.skipped += counts["skipped"]
                imp.failed += counts["failed"]
                imp.next_row = start + len(batch)
                if not batch:
                    imp.status, imp.finished_at = "done", utcnow()
                session.flush()
                session.expunge(imp)
                return imp
        except _InBatchDuplicate:
            careful = True  # the transaction rolled back; redo the batch one row at a time


def _deferred(session: Session, plan: _Plan, imp: Import, *, final: bool) -> list[dict[str, Any]]:
    """Keep what this batch's ``after`` steps left (with the import, so a resumed job has it); at the end,
    offer it all once more and report what is still left as failed rows (their records stay written)."""
    if plan.dry_run or plan.kind is None:
        return []
    kept = [[key, *item] for key, item in plan.deferred]
    plan.deferred = []
    options = dict(imp.options or {})
    waiting = list(options.get("deferred") or []) + kept
    if not final:
        if kept:
            imp.options = {**options, "deferred": waiting}
        return []
    if not waiting:
        return []
    by_key: dict[str, list[Pending]] = {}
    for key, number, record_id, value, _reason in waiting:
        by_key.setdefault(key, []).append((number, record_id, value, ""))
    left: list[tuple[str, Pending]] = []
    for key, items in by_key.items():
        target = plan.targets.get(key)
        if target is None or target.after is None:
            continue
        context = AfterBatch(session, plan.user, plan.kinds, final=True, dry_run=False)
        left += [(key, item) for item in target.after(context, items)]
    imp.options = {**options, "deferred": []}
    return [{"import_id": plan.imp_id, "row": number, "outcome": "failed", "record_id": record_id,
             "message": f"{_field_label(plan, key)}: {reason}"[:2000]}
            for key, (number, record_id, _value, reason) in left]  # fmt: skip


def import_jobs(kinds: Callable[[], Any]) -> list[JobDefinition]:
    """The job that runs queued imports; ``kinds`` returns the app's record kinds (``runtime.record_kinds``)."""

    def handle(ctx: JobContext) -> None:
        import_id = ctx.payload.get("import_id")
        if not isinstance(import_id, int):
            raise ValueError(f"job {ctx.key} #{ctx.job_id} has no import_id")

        last = [0.0]

        def progress(imp: Import) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY or imp.next_row >= imp.total_rows:
                last[0] = now  # one short transaction a second, not one per batch
                ctx.save({"next_row": imp.next_row}, done=imp.next_row, total=imp.total_rows)

        try:
            run_import(ctx.sessions, kinds(), import_id, progress=progress, should_stop=lambda: ctx.should_stop)
        except (ImportInterrupted, LeaseLost):
            raise  # resumes later, here or in the process that took the job over: not a failure
        except Exception as exc:
            if ctx.attempts >= JOB_ATTEMPTS:
                with write_transaction(ctx.sessions) as session:
                    imp = session.get(Import, import_id)
                    if imp is not None and imp.status in ("queued", "running"):
                        imp.status, imp.finished_at = "failed", utcnow()
                        imp.message = _("The import stopped on an error after %(n)s rows: %(error)s") % {
                            "n": imp.next_row, "error": f"{type(exc).__name__}: {exc}"[:500]}  # fmt: skip
            raise

    return [JobDefinition(JOB_KEY, QUEUED, handle, label=N_("Import"), lease_seconds=30, max_attempts=JOB_ATTEMPTS)]


__all__ = [
    "JOB_KEY",
    "MODES",
    "ImportInterrupted",
    "Preview",
    "PreviewRow",
    "cancel_import",
    "convert",
    "copy_for_real",
    "create_import",
    "import_jobs",
    "may_import",
    "open_file",
    "preview",
    "run_import",
    "start_import",
    "target_choices",
    "target_label",
    "targets_for",
]

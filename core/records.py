"""Record kinds: what a plugin tells core about its records, the registry of them, and generic references.

A kind's ``name`` is a plain noun ("note", "person", "opportunity"), not prefixed by plugin: DESIGN uses
plain names in slot names (``person.panels``) and in stored references (``(kind, id)`` columns of other
plugins, tags, the audit log), where a plugin prefix would freeze today's packaging into everyone's data
(moving a kind to another plugin would rewrite every reference). Names are unique across installed
plugins: a second plugin registering a taken name fails to load, with a message naming both. Event names
stay plugin-qualified (``notes.note_updated``), as DESIGN asks of every key a plugin contributes.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, inspect, select
from sqlalchemy.orm import Session

from .errors import ValidationError
from .i18n import gettext as _
from .security.permissions import ADMIN
from .security.visibility import visible
from .types import SearchKey

log = logging.getLogger("voronka.records")

NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")

BOOKKEEPING = frozenset({"id", "version", "created_at", "updated_at", "deleted_at", "custom"})
"""Columns the write function manages itself; never accepted from callers, never audited as such (custom
values are written and audited one by one, as ``cf.<key>``)."""


@functools.cache
def _column_attrs(model: Any) -> dict[str, Any]:
    """The model's mapped columns by attribute name; mappers are fixed once configured, and the write path
    asks several times per record."""
    return {c.key: c for c in inspect(model).column_attrs}


def _default_visibility(model: Any) -> Callable[[Any], ColumnElement[bool]]:
    return lambda user: visible(model, user)


@dataclass(frozen=True)
class RecordKind:
    """One kind of record a plugin owns (returned from its ``record_kinds()`` hook).

    ``url`` is a pattern with ``{id}`` ("/notes/{id}") or a callable ``url(record_id) -> str``.
    ``display(record) -> str`` is the name people see. ``visibility(user)`` returns a WHERE clause on
    ``model``; by default :func:`~voronka.core.security.visibility.visible` (the model needs
    :class:`~voronka.core.models.OwnedMixin`). ``duplicates(session, values) -> list[int]`` returns ids of
    candidate duplicates for a dict of values (system scope: not filtered by a viewer). Optionally
    ``duplicates_many(session, rows) -> list[list[int]]`` does the same for many rows at once (an import
    batch: a few queries per batch instead of some per row); it must answer as ``duplicates`` would for
    each row, and core's import uses it when it is set.

    ``fields`` are the columns the write function accepts; by default every mapped column except
    :data:`BOOKKEEPING` ones and search keys. ``audited`` are the fields whose changes are written to the
    audit log (default: ``fields``). ``derive(values) -> dict`` returns columns computed from changed
    values (search keys), written with them but not audited. ``references`` lists generic references
    the record holds as ``(kind column, id column)`` pairs; the write function refuses a kind nobody
    registered or a record that does not exist.

    ``import_targets(session, lookups) -> list[Target]`` offers a CSV import more columns than the kind's
    own and its custom fields (:class:`~voronka.core.imports_targets.Target`, with an ``after`` step for
    what is written once the batch's records exist: links to other records, say). ``import_sources`` maps
    a name to a *row source* that reads another file format into rows for this kind
    (:data:`~voronka.core.imports.RowSource`; ``create_import(..., source=name)``). Both are offered only
    while the kind's plugin is enabled. ``import_defaults`` are values a new record gets from an import when
    the file has no column for them.

    ``view_permission`` and ``edit_permission`` are what core's generic pages for the kind's records
    (attachments, custom fields edited in place, history, export, import, recycle bin) require on top of
    the visibility filter: None for viewing means any signed-in user who can see the record; None for
    editing means administrators only (``core.admin``), so a kind is never writable by accident.

    ``plugin``, ``host`` (whose enabled plugins' ``before_save`` the write function calls) and
    ``registry`` are filled in by the registry: take kinds from ``runtime.record_kinds``, not from the plugin's module.
    """

    name: str
    label: str
    model: Any
    url: str | Callable[[int], str]
    display: Callable[[Any], str] = lambda record: str(getattr(record, "id", ""))
    visibility: Callable[[Any], ColumnElement[bool]] | None = None
    duplicates: Callable[[Session, dict[str, Any]], list[int]] | None = None
    duplicates_many: Callable[[Session, list[dict[str, Any]]], list[list[int]]] | None = None
    fields: tuple[str, ...] | None = None
    audited: tuple[str, ...] | None = None
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    references: tuple[tuple[str, str], ...] = ()
    view_permission: str | None = None
    edit_permission: str | None = None
    import_targets: Callable[[Session, Any], list[Any]] | None = field(default=None, compare=False)
    import_sources: Mapping[str, Callable[[bytes, dict[str, Any]], Any]] = field(
        default_factory=dict, compare=False, repr=False
    )
    import_defaults: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    plugin: str = ""
    host: Any = field(default=None, repr=False, compare=False)
    registry: Any = field(default=None, repr=False, compare=False)

    def may_view(self, user: Any) -> bool:
        """Whether ``user`` may use the kind's generic pages at all (records still pass ``visible_to``)."""
        return user is not None and (self.view_permission is None or user.can(self.view_permission))

    def may_edit(self, user: Any) -> bool:
        """Whether ``user`` may change the kind's records through core's generic pages."""
        return user is not None and user.can(self.edit_permission or ADMIN)

    def url_for(self, record_id: int) -> str:
        return self.url(record_id) if callable(self.url) else self.url.format(id=record_id)

    def visible_to(self, user: Any) -> ColumnElement[bool]:
        """What ``user`` may see of the kind: its visibility filter, without records in the recycle bin."""
        clause = (self.visibility or _default_visibility(self.model))(user)
        deleted_at = getattr(self.model, "deleted_at", None)
        return clause if deleted_at is None else and_(clause, deleted_at.is_(None))

    @property
    def columns(self) -> dict[str, Any]:
        return _column_attrs(self.model)

    @property
    def writable(self) -> tuple[str, ...]:
        if self.fields is not None:
            return self.fields
        found = []
        for key, attr in self.columns.items():
            column = attr.columns[0]
            if key in BOOKKEEPING or isinstance(column.type, SearchKey) or column.primary_key:
                continue
            found.append(key)
        return tuple(found)

    @property
    def audited_fields(self) -> tuple[str, ...]:
        return self.audited if self.audited is not None else self.writable

    def problems(self) -> list[str]:
        """What is wrong with this definition (empty when it can be registered)."""
        found = []
        if not NAME.match(self.name or ""):
            found.append(f"record kind name {self.name!r} must be lower case letters, digits and _ (max 60)")
        try:
            columns = self.columns
        except Exception:
            return [*found, f"record kind {self.name!r} has no mapped model: {self.model!r}"]
        if "id" not in columns:
            found.append(f"record kind {self.name!r}: model {self.model.__name__} has no id column")
        for name in (*(self.fields or ()), *(self.audited or ()), *(c for pair in self.references for c in pair)):
            if name not in columns:
                found.append(f"record kind {self.name!r}: {name!r} is not a column of {self.model.__name__}")
        if self.visibility is None and not {"owner_user_id", "owner_team_id"} <= set(columns):
            found.append(
                f"record kind {self.name!r}: {self.model.__name__} has no ownership columns (OwnedMixin); "
                "give the kind a visibility function"
            )
        return found


@dataclass(frozen=True)
class Ref:
    """A generic reference to a record of any registered kind."""

    kind: str
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Ref:
        """``"note:12"`` → ``Ref("note", 12)``; anything else is a ValidationError."""
        kind, sep, raw = (text or "").partition(":")
        if not sep or not raw.isdigit() or not NAME.match(kind):
            raise ValidationError(_("“%(ref)s” is not a record reference.") % {"ref": text})
        return cls(kind, int(raw))


@dataclass
class RecordKinds(Mapping[str, RecordKind]):
    """The registry: kinds of every loaded plugin by name, built once per app (``runtime.record_kinds``).

    Kinds of installed but disabled plugins stay registered, so their records can still be resolved and
    kept consistent (the plugin can be switched back on at run time); ``enabled(host)`` lists those
    whose plugin is on, for menus and pickers.
    """

    kinds: dict[str, RecordKind] = field(default_factory=dict)
    host: Any = None

    def __getitem__(self, name: str) -> RecordKind:
        return self.kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.kinds)

    def __len__(self) -> int:
        return len(self.kinds)

    def enabled(self) -> list[RecordKind]:
        return [k for k in self.kinds.values() if self.host is None or self.host.is_enabled(k.plugin)]

    def kind(self, name: str) -> RecordKind:
        """The kind called ``name``; an unknown name is a ValidationError (references come from input)."""
        found = self.kinds.get(name)
        if found is None:
            raise ValidationError({"kind": _("There is no record kind “%(kind)s”.") % {"kind": name}})
        return found

    def check(self, ref: Ref) -> Ref:
        """Refuse a reference to a kind nobody registered (the record itself may be gone later)."""
        self.kind(ref.kind)
        if not isinstance(ref.id, int) or isinstance(ref.id, bool) or ref.id < 1:
            raise ValidationError({"id": _("“%(ref)s” is not a record reference.") % {"ref": ref}})
        return ref

    def resolve(self, session: Session, ref: Ref, user: Any = None, *, include_deleted: bool = False) -> Any:
        """The record ``ref`` points at, or None when it is gone (or, given ``user``, not visible to them).

        Records in the recycle bin count as gone unless ``include_deleted`` (the bin's own pages)."""
        kind = self.kind(ref.kind)
        query = select(kind.model).where(kind.model.id == ref.id)
        if user is not None:
            query = query.where((kind.visibility or _default_visibility(kind.model))(user))
        deleted_at = getattr(kind.model, "deleted_at", None)
        if deleted_at is not None and not include_deleted:
            query = query.where(deleted_at.is_(None))
        return session.scalars(query).first()

    def ref_url(self, ref: Ref) -> str:
        return self.kind(ref.kind).url_for(ref.id)

    def ref_label(self, session: Session, ref: Ref, user: Any = None) -> str | None:
        """The display name of the referenced record; None when it is gone or not visible to ``user``."""
        record = self.resolve(session, ref, user)
        return None if record is None else self.kind(ref.kind).display(record)


def build_registry(host: Any) -> RecordKinds:
    """Collect ``record_kinds()`` from every loaded plugin, in dependency order.

    A plugin whose kinds are invalid, or whose kind name another plugin already registered, is disabled
    (``host.fail``) with its dependents, and the message names both plugins; the first one keeps the name.
    """
    registry = RecordKinds(host=host)
    owners: dict[str, str] = {}
    for name in list(host.order):
        if name not in host.order:  # disabled meanwhile, as a dependent of a plugin that failed here
            continue
        impl = getattr(host.plugins[name].hooks, "record_kinds", None)
        if impl is None:
            continue
        try:
            kinds = list(impl() or [])
        except Exception as exc:
            host.fail(name, f"failed to list its record kinds: {type(exc).__name__}: {exc}")
            continue
        problems: list[str] = []
        seen: set[str] = set()
        for kind in kinds:
            if not isinstance(kind, RecordKind):
                problems.append(f"record_kinds() returned {kind!r}, not a voronka.core.records.RecordKind")
                continue
            problems += kind.problems()
            if kind.name in owners:
                problems.append(
                    f"registers the record kind {kind.name!r}, which plugin {owners[kind.name]!r} already "
                    "registered; kind names are unique across plugins: rename one of them"
                )
            elif kind.name in seen:
                problems.append(f"registers the record kind {kind.name!r} twice")
            seen.add(kind.name)
        if problems:
            host.fail(name, "; ".join(problems))
            continue
        for kind in kinds:
            registry.kinds[kind.name] = dataclasses.replace(kind, plugin=name, host=host, registry=registry)
            owners[kind.name] = name
    return registry


__all__ = ["BOOKKEEPING", "RecordKind", "RecordKinds", "Ref", "build_registry"]

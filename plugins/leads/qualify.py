"""Qualify in one click: a lead becomes the records its chosen outcomes make (a person, an organisation,
an opportunity…) or is linked to existing ones, all inside the caller's one transaction.

The lead is locked first (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transaction already holds
the only write lock) and must still be open; its version is bumped through core's write path with the
version read under the lock, so a second qualification of the same lead at the same time fails with a
clear message instead of making everything twice. The work runs in a savepoint: whatever an outcome
raises (its own plugin's bug included), nothing it or the others wrote stays, the lead stays open and
intact, and the message names the outcome that failed and why.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.events import emit
from voronka.core.i18n import gettext as _
from voronka.core.writes import audit_changes, save

from . import channel_rollups, contract, mapping, rules
from . import outcomes as own
from .contract import Context, Outcome
from .models import FINISHED, OPEN_STATUSES, QUALIFIED, Lead, LeadOutcome, Qualification

log = logging.getLogger(__name__)

EVENT = "leads.lead_qualified"
"""Payload: ``{"lead_id", "channel", "campaign_id", "actor_id", "outcomes": {key: {"kind", "id",
"created"}}}`` — plain data, queued in the qualification's transaction."""
AUDIT_FIELD = "qualified_into"
"""The lead's audit entry that lists what it became (``["organisation:12", "person:13", …]``)."""
EXCERPT = 60


class QualifyError(ValidationError):
    """Qualification refused or failed; ``outcome`` names the outcome that failed (None: the lead itself)."""

    def __init__(self, errors: dict[str, str] | str, outcome: str | None = None):
        super().__init__(errors)
        self.outcome = outcome


def latest_answers(session: Session, lead_id: int, run_id: int | None = None) -> dict[str, Any]:
    """The answers of the lead's latest finished qualification run (or of run ``run_id`` of this lead)."""
    query = select(Qualification.answers).where(Qualification.lead_id == lead_id)
    if run_id is not None:
        query = query.where(Qualification.id == run_id)
    else:
        query = query.where(Qualification.status == FINISHED).order_by(
            Qualification.finished_at.desc(), Qualification.id.desc()
        )
    found = session.scalars(query.limit(1)).first()
    return dict(found) if isinstance(found, dict) else {}


def lead_data(session: Session, host: Any, lead: Lead) -> dict[str, Any]:
    """The lead as outcomes see it: its columns, ``custom``, and the labels of its channel and campaign."""
    data = {column.key: getattr(lead, column.key) for column in Lead.__table__.columns}
    data["custom"] = dict(lead.custom or {})
    channel = contract.channels(mapping.plugin_host(host)).get(lead.channel)
    data["channel_label"] = _(channel.label) if channel is not None else lead.channel
    data["message_excerpt"] = _excerpt(lead.message)
    return data


def _excerpt(text: str | None) -> str:
    words = " ".join((text or "").split())
    if len(words) <= EXCERPT:
        return words
    cut = words[:EXCERPT].rsplit(" ", 1)[0]
    return cut + "…"


def chosen_outcomes(host: Any, keys: list[str] | None) -> list[Outcome]:
    """The outcomes to make, in creation order; ``None`` = those ticked by default."""
    available = contract.outcomes(mapping.plugin_host(host))
    if keys is None:
        keys = [key for key, outcome in available.items() if outcome.default]
    unknown = [key for key in keys if key not in available]
    if unknown:
        raise QualifyError(_("“%(outcome)s” cannot be made now: its plugin is off or it does not exist.")
                           % {"outcome": unknown[0][:60]})  # fmt: skip
    if not keys:
        raise QualifyError(_("Choose at least one thing the lead becomes."))
    return contract.outcome_order([available[key] for key in dict.fromkeys(keys)])


def _lock(session: Session, lead: Lead | int) -> Lead:
    lead_id = lead if isinstance(lead, int) else lead.id
    query = select(Lead).where(Lead.id == lead_id).with_for_update().execution_options(populate_existing=True)
    found = session.scalars(query).first()
    if found is None or found.deleted_at is not None:
        raise QualifyError(_("This lead no longer exists; someone may have deleted it."))
    if found.status not in OPEN_STATUSES:
        if found.status == QUALIFIED:
            raise QualifyError(_("This lead has been qualified already (perhaps by someone else just now)."))
        raise QualifyError(_("This lead is disqualified; reopen it before you qualify it."))
    return found


def qualify(
    session: Session,
    host: Any,
    actor: Any,
    lead: Lead | int,
    *,
    outcomes: list[str] | None = None,
    links: dict[str, int] | None = None,
    fill_empty_only: bool = True,
    answers: dict[str, Any] | None = None,
) -> dict[str, tuple[str, int]]:
    """Qualify ``lead`` in the caller's transaction; return outcome key → ``(kind, record id)``.

    ``host`` is the plugin host or the app's runtime; ``outcomes`` the keys to make (None: the defaults);
    ``links`` outcome key → an existing record to link instead of creating one (only its empty fields
    are filled when ``fill_empty_only``); ``answers`` default to the latest finished script run's.
    Raises :class:`QualifyError` (a ValidationError) with a clear message; nothing is left written."""
    kinds = mapping.record_kinds(host)
    locked = _lock(session, lead)
    version = locked.version
    ordered = chosen_outcomes(host, outcomes)
    _check_allowed(kinds, actor, ordered)
    try:
        links = {str(key): int(value) for key, value in (links or {}).items()}
    except (TypeError, ValueError):
        raise QualifyError(_("The record to link no longer exists, or you cannot see it.")) from None
    stray = [key for key in links if key not in {o.key for o in ordered}]
    if stray:
        raise QualifyError(_("“%(outcome)s” is linked but not chosen.") % {"outcome": stray[0][:60]})
    if answers is None:
        answers = latest_answers(session, locked.id)
    data = lead_data(session, host, locked)
    savepoint = session.begin_nested()
    try:
        made = _make(session, host, kinds, actor, locked, data, ordered, links, fill_empty_only, answers)
        _finish(session, kinds, actor, locked, version, made)
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()
    return {key: (kind, record_id) for key, (kind, record_id, _created) in made.items()}


def _check_allowed(kinds: Any, actor: Any, ordered: list[Outcome]) -> None:
    """A person qualifies only into kinds they may create: every caller (screen, bulk, script) is held to it."""
    if not hasattr(actor, "can"):
        return  # the system (seed, an event handler acting for no one)
    for outcome in ordered:
        kind = kinds.get(outcome.kind) if kinds is not None else None
        if kind is None or not kind.may_edit(actor):
            raise QualifyError(
                _("You may not create or change records of the kind “%(kind)s”; ask a manager.")
                % {"kind": _(outcome.label)}
            )


def _make(session: Session, host: Any, kinds: Any, actor: Any, lead: Lead, data: dict[str, Any],
          ordered: list[Outcome], links: dict[str, int], fill_empty_only: bool,
          answers: dict[str, Any]) -> dict[str, tuple[str, int, bool]]:  # fmt: skip
    made: dict[str, tuple[str, int, bool]] = {}
    rows = mapping.overrides(session)
    for outcome in ordered:
        values = mapping.values_for(session, host, outcome, lead, answers, rows=rows.get(outcome.key, {}))
        ctx = Context(session=session, actor=actor, lead=dict(data), answers=dict(answers), values=values,
                      created={k: (kind, rid) for k, (kind, rid, _c) in made.items()}, lead_id=lead.id)  # fmt: skip
        ctx.kinds = kinds  # type: ignore[attr-defined]  # the registered kinds, for core's write path
        try:
            if outcome.key in links:
                record_id = link(session, kinds, actor, outcome, links[outcome.key], values, fill_empty_only)
                created = False
            else:
                record_id = outcome.create(ctx)
                created = True
            if not isinstance(record_id, int) or isinstance(record_id, bool) or record_id < 1:
                raise TypeError(f"create() returned {record_id!r}, not a record id")
        except (ValidationError, StaleRecord) as exc:
            raise QualifyError({outcome.key: _("%(outcome)s: %(reason)s") % {
                "outcome": _(outcome.label), "reason": str(exc)}}, outcome.key) from exc  # fmt: skip
        except Exception as exc:
            log.exception("qualification outcome %s of plugin %s failed", outcome.key, outcome.plugin)
            raise QualifyError({outcome.key: _("%(outcome)s could not be made (plugin %(plugin)s failed: "
                                               "%(reason)s). Nothing was saved; the lead is still open.") % {
                "outcome": _(outcome.label), "plugin": outcome.plugin, "reason": f"{type(exc).__name__}: {exc}"[:300]}},
                outcome.key) from exc  # fmt: skip
        made[outcome.key] = (outcome.kind, record_id, created)
    person, organisation = made.get(own.PERSON), made.get(own.ORGANISATION)
    if person is not None and organisation is not None:
        try:
            own.tie_person(session, kinds, actor, person[1], organisation[1], fresh=person[2] or organisation[2])
        except ValidationError as exc:
            raise QualifyError({own.PERSON: _("The person could not be tied to the organisation: %(reason)s")
                                % {"reason": str(exc)}}, own.PERSON) from exc  # fmt: skip
    return made


def _empty(value: Any) -> bool:
    return value is None or value == "" or value is False or value == [] or value == {}


def link(session: Session, kinds: Any, actor: Any, outcome: Outcome, record_id: int, values: dict[str, Any],
         fill_empty_only: bool) -> int:  # fmt: skip
    """Link an existing record of the outcome's kind (one the actor may see), writing the mapped values
    through core's write path: into its empty fields only, or over differing ones too."""
    kind = kinds.get(outcome.kind)
    if kind is None:
        raise ValidationError(_("There is no record kind “%(kind)s”.") % {"kind": outcome.kind})
    query = select(kind.model).where(kind.model.id == record_id)
    query = query.where(kind.visible_to(actor)) if hasattr(actor, "can") else query
    deleted_at = getattr(kind.model, "deleted_at", None)
    if deleted_at is not None:
        query = query.where(deleted_at.is_(None))
    record = session.scalars(query).first()
    if record is None:
        raise ValidationError(_("The record to link no longer exists, or you cannot see it."))
    custom = dict(getattr(record, "custom", None) or {})
    updates: dict[str, Any] = {}
    for target, value in values.items():
        if target.startswith(mapping.CUSTOM):
            current = custom.get(target[len(mapping.CUSTOM) :])
        elif target in kind.writable:
            current = getattr(record, target)
        else:
            continue  # an outcome's own target (an amount typed as text) means nothing on a stored record
        if current == value or (fill_empty_only and not _empty(current)):
            continue
        updates[target] = value
    if updates:
        save(session, kind, record_id, mapping.write_values(updates), actor=actor)
    return record_id


def _finish(session: Session, kinds: Any, actor: Any, lead: Lead, version: int,
            made: dict[str, tuple[str, int, bool]]) -> None:  # fmt: skip
    actor_id = actor if isinstance(actor, int) or actor is None else getattr(actor, "id", None)
    rows = [LeadOutcome(lead_id=lead.id, outcome=key, kind=kind, record_id=record_id, created=created, by_id=actor_id)
            for key, (kind, record_id, created) in made.items()]  # fmt: skip
    session.add_all(rows)
    session.flush()
    if hasattr(channel_rollups, "outcome_added"):
        for row in rows:
            channel_rollups.outcome_added(session, lead, row)
    qualifying: set[Any] = session.info.setdefault(rules.QUALIFYING, set())
    qualifying.add(lead)
    try:
        save(session, kinds["lead"], lead.id, {"status": QUALIFIED}, actor=actor, expected_version=version)
    except StaleRecord as exc:
        raise QualifyError(_("Someone else changed this lead just now; reload it and qualify again.")) from exc
    finally:
        qualifying.discard(lead)
    story = [f"{kind}:{record_id}" for kind, record_id, _created in made.values()]
    audit_changes(session, kinds["lead"], lead.id, {AUDIT_FIELD: (None, story)}, actor=actor)
    emit(session, EVENT, {
        "lead_id": lead.id, "channel": lead.channel, "campaign_id": lead.campaign_id, "actor_id": actor_id,
        "outcomes": {key: {"kind": kind, "id": record_id, "created": created}
                     for key, (kind, record_id, created) in made.items()},
    })  # fmt: skip

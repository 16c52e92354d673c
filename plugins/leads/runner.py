"""Running a qualification script on a lead: one step at a time, answers saved as the operator goes.

A :class:`Qualification` keeps the script version it started on, the current ``step``, the ``path`` of
steps shown (so Back works; it always ends with the current step) and ``answers`` (step key → value;
lookup steps store the lookup's value). Each answer is one short transaction; the row's ``version``
(optimistic, checked by the ORM on every update) makes the second of two people answering the same run at
once fail with :class:`RunConflict` instead of overwriting the first.

Lookup and action steps are taken on their own right after the step before them is answered. A step's
actions run when it is answered with a value it did not have (so Back and Next over a step do not repeat
them): ``inside`` actions in the answer's transaction (raising refuses the answer), ``after`` actions as
an event :data:`script_actions.EVENT` delivered through the outbox. Reaching an outcome step waits for
the operator to confirm it (:func:`finish`); until then Back can still change answers. Finishing keeps only
the answers of the steps on the path, which is what qualification maps onto the new records.
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.db import runtime_of as app_runtime
from voronka.core.errors import ValidationError, VoronkaError
from voronka.core.events import database_key, emit
from voronka.core.i18n import gettext as _
from voronka.core.types import utcnow

from . import contract, scripts
from .models import ABANDONED, FINISHED, OPEN_STATUSES, RUNNING, Lead, Qualification, Script, ScriptVersion

log = logging.getLogger(__name__)

EVENT = "leads.action"
RUNTIME_KEY = "leads.runtime"
CURRENT_RUN = "leads.current_run"
MAX_AUTOMATIC = 50
"""Lookup and action steps taken in a row before the runner stops (a script is acyclic; this is a fuse)."""
MAX_DEPTH = 5
"""Scripts started by scripts, one inside the other, before the runner refuses."""
MAX_ANSWER = 2000
LEAD_FIELDS = (
    "id",
    "name",
    "first_name",
    "last_name",
    "job_title",
    "company",
    "company_key",
    "email",
    "email_key",
    "phone",
    "phone_key",
    "website",
    "city",
    "country",
    "message",
    "channel",
    "campaign_id",
    "status",
    "owner_user_id",
    "owner_team_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)


class RunConflict(VoronkaError):
    """Someone else moved this qualification on since the screen was opened (or it has ended)."""


# -- the app a session belongs to (event handlers get only a session) ---------------------------------

_runtimes: dict[str, Any] = {}


def remember(runtime: Any) -> None:
    """Note ``runtime`` as the app of its database, for code that only has a session (outbox handlers)."""
    _runtimes[database_key(runtime.engine)] = weakref.ref(runtime)


def runtime_of(session: Session) -> Any:
    found = session.info.get(RUNTIME_KEY) or app_runtime(session)
    if found is not None:
        return found
    ref = _runtimes.get(database_key(session.get_bind()))
    found = ref() if ref is not None else None
    if found is None:
        raise VoronkaError("leads: no application is known for this database (script_actions.startup not run)")
    return found


def use(session: Session, runtime: Any) -> None:
    session.info[RUNTIME_KEY] = runtime
    remember(runtime)


# -- reading --------------------------------------------------------------------------------------------


def lead_values(session: Session, lead: Lead) -> dict[str, Any]:
    """The lead as lookups and actions see it: plain fields, ``custom`` and ``channel``."""
    values = {name: getattr(lead, name) for name in LEAD_FIELDS}
    values["custom"] = dict(lead.custom or {})
    return values


def definition(session: Session, run: Qualification) -> dict[str, Any]:
    version = session.get(ScriptVersion, run.script_version_id)
    return version.definition if version is not None else {"start": "", "steps": []}


def script_of(session: Session, run: Qualification) -> tuple[Script | None, ScriptVersion | None]:
    version = session.get(ScriptVersion, run.script_version_id)
    return (session.get(Script, version.script_id) if version else None), version


def running(session: Session, lead_id: int) -> list[Qualification]:
    """The lead's unfinished runs, newest first (the lead page's "continue script")."""
    return list(
        session.scalars(
            select(Qualification)
            .where(Qualification.lead_id == lead_id, Qualification.status == RUNNING)
            .order_by(Qualification.started_at.desc(), Qualification.id.desc())
        )
    )


def runs(session: Session, lead_id: int, limit: int = 20) -> list[Qualification]:
    return list(
        session.scalars(
            select(Qualification)
            .where(Qualification.lead_id == lead_id)
            .order_by(Qualification.started_at.desc(), Qualification.id.desc())
            .limit(limit)
        )
    )


def path_answers(session: Session, run: Qualification) -> list[tuple[dict[str, Any], Any]]:
    """(step, answer) along the run's path, for summaries."""
    steps = scripts.steps_by_key(definition(session, run))
    return [(steps[k], (run.answers or {}).get(k)) for k in run.path or [] if k in steps]


def chosen_outcomes(session: Session, run: Qualification) -> list[str] | None:
    """The outcome keys the run's ``qualify`` step ticks (None: the qualify screen's defaults), for the
    qualify screen opened with ``?run=``."""
    step = scripts.steps_by_key(definition(session, run)).get(run.step) or {}
    if step.get("type") != scripts.OUTCOME or step.get("result") != scripts.QUALIFY or not step.get("outcomes"):
        return None
    return [str(key) for key in step["outcomes"]]


# -- starting -------------------------------------------------------------------------------------------


def start(
    session: Session,
    lead: Lead,
    script_id: int | None,
    actor: Any,
    *,
    runtime: Any = None,
    parent: Qualification | None = None,
) -> Qualification:
    """Start script ``script_id`` (None: the default script) on ``lead`` in the caller's transaction, taking
    any lookup and action steps at its start. Raises ValidationError with a clear message."""
    runtime = runtime or runtime_of(session)
    use(session, runtime)
    if lead.status not in OPEN_STATUSES:
        raise ValidationError(_("This lead is closed; reopen it to run a script."))
    script = session.get(Script, script_id) if script_id is not None else scripts.default_script(session)
    if script is None:
        raise ValidationError(
            _("There is no such script.")
            if script_id is not None
            else _("No script is set as the default; choose one.")
        )
    if script.archived or script.current_version_id is None:
        raise ValidationError(_("The script “%(name)s” is archived or has no saved version.") % {"name": script.name})
    depth, above = 0, parent
    while above is not None:
        depth += 1
        if depth >= MAX_DEPTH:
            raise ValidationError(_("Scripts started by scripts go %(n)s deep; stop here.") % {"n": MAX_DEPTH})
        above = session.get(Qualification, above.parent_id) if above.parent_id else None
    version = session.get(ScriptVersion, script.current_version_id)
    assert version is not None
    start_key = str(version.definition.get("start") or "")
    run = Qualification(
        lead_id=lead.id,
        script_version_id=version.id,
        parent_id=parent.id if parent else None,
        status=RUNNING,
        step=start_key,
        path=[start_key],
        answers={},
        started_at=utcnow(),
        started_by_id=_actor_id(actor),
    )
    session.add(run)
    session.flush()
    _advance(session, runtime, run, lead, actor)
    session.flush()
    return run


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "id", actor)


# -- answering ------------------------------------------------------------------------------------------


def check_turn(run: Qualification, step: str | None, version: Any) -> None:
    """Refuse an answer given on a screen that is no longer the run's current one."""
    if run.status != RUNNING:
        raise RunConflict(_("This script run has ended; its answers are kept."))
    if str(version or "") != str(run.version) or (step is not None and step != run.step):
        raise RunConflict(
            _("Someone else answered this script meanwhile. This is where it stands now; check the answer and go on.")
        )


def parse(step: Mapping[str, Any], raw: str | None) -> Any:
    """The typed answer of ``raw`` for ``step``; ValidationError with a message for the operator."""
    kind = step.get("type")
    text = (raw or "").strip()
    if kind == scripts.CHOICE:
        values = [str(o.get("value")) for o in step.get("options") or ()]
        if text not in values:
            raise ValidationError({"answer": _("Choose one of the answers.")})
        return text
    if kind == scripts.YES_NO:
        if text not in ("yes", "no"):
            raise ValidationError({"answer": _("Answer yes or no.")})
        return text == "yes"
    if not text:
        if step.get("required") is False:
            return None
        raise ValidationError({"answer": _("Write the answer, please.")})
    if len(text) > MAX_ANSWER:
        raise ValidationError({"answer": _("Keep the answer under %(n)s characters.") % {"n": MAX_ANSWER}})
    if kind == scripts.NUMBER:
        number = scripts._number(text)
        if number is None or number != number or abs(number) > 1e15:
            raise ValidationError({"answer": _("Write a number, like 25000 or 12.5.")})
        low, high = scripts._number(step.get("min")), scripts._number(step.get("max"))
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValidationError(
                {
                    "answer": _("Write a number from %(low)s to %(high)s.")
                    % {"low": step.get("min", "…"), "high": step.get("max", "…")}
                }
            )
        return int(number) if number.is_integer() else number
    if kind == scripts.DATE:
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValidationError({"answer": _("Write a date, like 2026-03-31.")}) from None
    return text


def answer(
    session: Session, run: Qualification, lead: Lead, raw: str | None, actor: Any, *, runtime: Any = None
) -> None:
    """Record the answer to the current step and move on (taking lookup and action steps on the way)."""
    runtime = runtime or runtime_of(session)
    use(session, runtime)
    steps = scripts.steps_by_key(definition(session, run))
    step = steps.get(run.step)
    if step is None or step.get("type") in (*scripts.AUTOMATIC, scripts.OUTCOME):
        raise ValidationError(_("This step takes no answer."))
    value = parse(step, raw)
    answers = dict(run.answers or {})
    changed = run.step not in answers or answers.get(run.step) != value
    answers[run.step] = value
    run.answers = answers
    if changed:
        _run_actions(session, runtime, run, lead, step, actor)
    _go(run, scripts.next_step(step, value))
    _advance(session, runtime, run, lead, actor)
    session.flush()


def back(session: Session, run: Qualification) -> None:
    """One screen back: to the step shown before this one (lookup and action steps are passed over)."""
    steps = scripts.steps_by_key(definition(session, run))
    path = list(run.path or [])
    while len(path) > 1:
        path.pop()
        if steps.get(path[-1], {}).get("type") not in scripts.AUTOMATIC:
            break
    if steps.get(path[-1], {}).get("type") in scripts.AUTOMATIC:
        return  # nothing to go back to: the script starts with a lookup or action
    run.path = path
    run.step = path[-1]
    session.flush()


def _go(run: Qualification, key: str) -> None:
    path = list(run.path or [])
    if run.step in path:
        path = path[: len(path) - path[::-1].index(run.step)]
    path.append(key)
    run.path = path
    run.step = key


def _advance(session: Session, runtime: Any, run: Qualification, lead: Lead, actor: Any) -> None:
    """Take lookup and action steps until a step that needs the operator (or an outcome)."""
    steps = scripts.steps_by_key(definition(session, run))
    for _i in range(MAX_AUTOMATIC):
        step = steps.get(run.step)
        if step is None:
            raise ValidationError(_("The script has no step “%(key)s”.") % {"key": run.step})
        kind = step.get("type")
        if kind not in scripts.AUTOMATIC:
            return
        answers = dict(run.answers or {})
        if kind == scripts.LOOKUP:
            value = _lookup(session, runtime, step, lead)
            fresh = answers.get(run.step, object()) != value
        else:
            value, fresh = True, run.step not in answers
        answers[run.step] = value
        run.answers = answers
        if fresh:
            _run_actions(session, runtime, run, lead, step, actor)
        _go(run, scripts.next_step(step, value))
    raise ValidationError(_("The script takes too many automatic steps in a row."))


def _lookup(session: Session, runtime: Any, step: Mapping[str, Any], lead: Lead) -> Any:
    """The lookup's value through the system scope; a lookup that fails or is gone takes "otherwise"."""
    key = str((step.get("branches") or {}).get("lookup") or "")
    found = contract.lookups(runtime.host).get(key)
    if found is None:
        log.warning("lookup %s is not offered now; taking the otherwise branch", key)
        return None
    values = lead_values(session, lead)
    savepoint = session.begin_nested()  # a lookup must not write: whatever it does is rolled back
    try:
        return found.run(session, values)
    except Exception:
        log.exception("lookup %s failed; taking the otherwise branch", key)
        return None
    finally:
        savepoint.rollback()


# -- actions --------------------------------------------------------------------------------------------


def context(session: Session, run: Qualification, lead: Lead, actor: Any) -> contract.Context:
    return contract.Context(
        session=session, actor=actor, lead=lead_values(session, lead), answers=dict(run.answers or {}), lead_id=lead.id
    )


def _run_actions(
    session: Session, runtime: Any, run: Qualification, lead: Lead, step: Mapping[str, Any], actor: Any
) -> None:
    listed = step.get("actions") or []
    if not listed:
        return
    offered = contract.actions(runtime.host)
    session.info[CURRENT_RUN] = run  # leads.start_script starts its run as this one's child
    for n, item in enumerate(listed):
        action = offered.get(item.get("action"))
        params = dict(item.get("params") or {})
        if action is None:
            raise ValidationError(
                _("The action “%(key)s” is not available now (is its plugin enabled?).") % {"key": item.get("action")}
            )
        if action.phase == contract.AFTER:
            session.flush()
            emit(
                session,
                EVENT,
                {
                    "action": action.key,
                    "params": _plain(params),
                    "lead_id": lead.id,
                    "qualification_id": run.id,
                    "step": run.step,
                    "index": n,
                    "actor_id": _actor_id(actor),
                    "answers": _plain(run.answers or {}),
                },
            )
            continue
        try:
            action.run(context(session, run, lead, actor), params)
        except ValidationError as exc:
            raise ValidationError(
                _("%(action)s: %(message)s") % {"action": _(action.label), "message": " ".join(exc.errors.values())}
            ) from None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# -- ending ---------------------------------------------------------------------------------------------


def finish(
    session: Session, run: Qualification, lead: Lead, actor: Any, *, runtime: Any = None
) -> tuple[str, Qualification | None]:
    """Confirm the outcome the run has reached, in the caller's transaction: ``(result, child run)``.

    ``qualify`` leaves the lead to the qualify screen (which reads the answers); ``disqualify`` closes the
    lead with the step's reason through the write path; ``script`` starts the other script as a child."""
    runtime = runtime or runtime_of(session)
    use(session, runtime)
    steps = scripts.steps_by_key(definition(session, run))
    step = steps.get(run.step) or {}
    if step.get("type") != scripts.OUTCOME:
        raise ValidationError(_("The script has not reached its end yet."))
    result = str(step.get("result"))
    _run_actions(session, runtime, run, lead, step, actor)
    child = None
    if result == scripts.DISQUALIFY:
        note = str(step.get("note") or "")
        kind = runtime.record_kinds["lead"]
        from voronka.core.writes import save

        save(
            session,
            kind,
            lead.id,
            {
                "status": "disqualified",
                "disqualify_reason": step.get("reason"),
                "disqualify_note": note or lead.disqualify_note,
            },
            actor=actor,
        )
    elif result == scripts.SCRIPT:
        other = scripts.by_key(session, str(step.get("script")))
        if other is None or other.archived:
            raise ValidationError(
                _("The script “%(key)s” this one starts is gone or archived.") % {"key": step.get("script")}
            )
        child = start(session, lead, other.id, actor, runtime=runtime, parent=run)
    run.answers = {k: v for k, v in (run.answers or {}).items() if k in set(run.path or [])}
    run.status = FINISHED
    run.outcome = result
    run.finished_at = utcnow()
    session.flush()
    return result, child


def abandon(session: Session, run: Qualification) -> None:
    run.status = ABANDONED
    run.finished_at = utcnow()
    session.flush()

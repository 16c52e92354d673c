"""The qualify screen: ``/leads/{id}/qualify`` (``?run=<qualification id>`` takes that run's answers).

It lists what the lead can become (pipeline's opportunity only while pipeline is on), offers for the
person and the organisation the likely duplicates contacts' matcher finds (system scope: a record the user
may open can be linked; any other is only "an existing record you cannot see matches — ask its owner"),
previews the mapped values, and posts everything to the qualify service in one transaction. A refusal
re-renders the screen with the message and the choices kept (400, or 409 when someone got there first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.handlers import db, go_to, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.models import Team, User
from voronka.core.security.markers import requires
from voronka.core.templating import render

from . import contract, mapping, qualify
from .kinds import EDIT
from .models import OPEN_STATUSES, Lead, Qualification, Script, ScriptVersion
from .outcomes import ORGANISATION, PERSON

TEMPLATE = "leads/qualify_page.html"
SUGGESTIONS = 5
MATCHED_KINDS = ("person", "organisation")


@dataclass
class Suggestion:
    id: int
    name: str
    url: str
    detail: str


@dataclass
class Choice:
    """One outcome as the screen shows it."""

    key: str
    label: str
    kind: str
    checked: bool
    preview: list[tuple[str, str]]
    suggestions: list[Suggestion] = field(default_factory=list)
    hidden: int = 0
    hidden_owner: str = ""
    link: int | None = None
    allowed: bool = True


def _lead_or_404(session: Session, request: Request, viewer: Any) -> Lead:
    lead_id = parse_id(request.path_params.get("lead_id"))
    kind = runtime(request).record_kinds["lead"]
    found = None
    if lead_id is not None:
        found = session.scalars(select(Lead).where(Lead.id == lead_id, kind.visible_to(viewer))).first()
    if found is None:
        raise HTTPException(404, _("There is no such lead, or you cannot see it."))
    return found


def _run(session: Session, lead: Lead, raw: Any) -> tuple[int | None, dict[str, Any], str, list[str] | None]:
    """(run id, answers, what the screen says about them, the outcomes its last step ticks or None) of
    ``?run=`` or of the lead's latest finished run."""
    run_id = parse_id(raw) if raw else None
    query = (select(Qualification.id, Qualification.answers, Qualification.step, Script.name, ScriptVersion.definition)
             .join(ScriptVersion, ScriptVersion.id == Qualification.script_version_id)
             .join(Script, Script.id == ScriptVersion.script_id)
             .where(Qualification.lead_id == lead.id))  # fmt: skip
    if run_id is not None:
        query = query.where(Qualification.id == run_id)
    else:
        query = query.where(Qualification.status == "finished").order_by(
            Qualification.finished_at.desc(), Qualification.id.desc()
        )
    row = session.execute(query.limit(1)).first()
    if row is None:
        if run_id is not None:
            raise HTTPException(404, _("This lead has no such script run."))
        return None, {}, "", None
    answers = dict(row.answers or {})
    note = _("Answers from the script “%(script)s” (%(n)s answers).") % {"script": row.name, "n": len(answers)}
    return row.id, answers, note, _ticks(row.definition, row.step)


def _ticks(definition: Any, step_key: str) -> list[str] | None:
    """The outcome keys the script's final step names (``outcomes``), or None when it names none."""
    steps = definition.get("steps") if isinstance(definition, dict) else None
    for step in steps if isinstance(steps, list) else ():
        if isinstance(step, dict) and step.get("key") == step_key:
            found = step.get("outcomes")
            if isinstance(found, list) and all(isinstance(k, str) for k in found) and found:
                return list(found)
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if hasattr(value, "isoformat"):
        return value.isoformat()[:16].replace("T", " ")
    return str(value)


def _labels(session: Session, outcome: contract.Outcome) -> dict[str, str]:
    try:
        return dict(outcome.fields(session))
    except Exception:  # another plugin's broken fields() must not take the screen down
        return {}


def _owner_name(session: Session, record: Any) -> str:
    if getattr(record, "owner_user_id", None):
        return session.scalar(select(User.display_name).where(User.id == record.owner_user_id)) or ""
    if getattr(record, "owner_team_id", None):
        return session.scalar(select(Team.name).where(Team.id == record.owner_team_id)) or ""
    return ""


def _match_values(kind_name: str, values: dict[str, Any], lead: Lead) -> dict[str, Any]:
    found = {k: v for k, v in values.items() if not k.startswith(mapping.CUSTOM)}
    if kind_name == "person" and lead.company:
        found.setdefault("organisation", lead.company)
    return found


def _suggest(session: Session, kinds: Any, viewer: Any, choice: Choice, values: dict[str, Any], lead: Lead) -> None:
    """Likely duplicates through the kind's matcher (system scope); only visible ones are named."""
    kind = kinds.get(choice.kind)
    if kind is None or kind.duplicates is None or choice.kind not in MATCHED_KINDS:
        return
    ids = kind.duplicates(session, _match_values(choice.kind, values, lead))[:20]
    if not ids:
        return
    rows = {r.id: r for r in session.scalars(select(kind.model).where(kind.model.id.in_(ids)))}
    visible = set(session.scalars(select(kind.model.id).where(kind.model.id.in_(ids), kind.visible_to(viewer))))
    for record_id in ids:
        record = rows.get(record_id)
        if record is None or getattr(record, "deleted_at", None) is not None:
            continue
        if record_id in visible:
            if len(choice.suggestions) < SUGGESTIONS:
                points = (getattr(record, name, "") for name in ("primary_email", "primary_phone", "city"))
                detail = " · ".join(p for p in points if p)
                choice.suggestions.append(Suggestion(record_id, kind.display(record), kind.url_for(record_id), detail))
        else:
            choice.hidden += 1
            choice.hidden_owner = choice.hidden_owner or _owner_name(session, record)


def build(session: Session, request: Request, viewer: Any, lead: Lead, answers: dict[str, Any],
          form: dict[str, Any] | None = None) -> list[Choice]:  # fmt: skip
    """The screen's outcomes in creation order, with previews, suggestions and (after a post) the choices."""
    rt = runtime(request)
    kinds = rt.record_kinds
    available = contract.outcomes(rt.host)
    chosen = set(form["outcomes"]) if form is not None else None
    choices = []
    rows = mapping.overrides(session)
    for outcome in contract.outcome_order(list(available.values())):
        values = mapping.values_for(session, rt, outcome, lead, answers, rows=rows.get(outcome.key, {}))
        labels = _labels(session, outcome)
        preview = [(labels.get(t, t), _text(v)) for t, v in values.items()]
        kind = kinds.get(outcome.kind)
        choice = Choice(outcome.key, _(outcome.label), outcome.kind,
                        outcome.default if chosen is None else outcome.key in chosen, preview,
                        allowed=kind is not None and kind.may_edit(viewer))  # fmt: skip
        if form is not None:
            choice.link = form["links"].get(outcome.key)
        _suggest(session, kinds, viewer, choice, values, lead)
        choices.append(choice)
    return choices


def _page(request: Request, lead: Lead, *, status_code: int = 200, form: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, message: str = "") -> Response:  # fmt: skip
    session, viewer = db(request), user(request)
    raw_run = (form or {}).get("run") or request.query_params.get("run")
    run_id, answers, answers_note, ticks = _run(session, lead, raw_run)
    if form is None and ticks is not None:
        form = {"outcomes": ticks, "links": {}, "fill_empty_only": True, "run": ""}
    choices = build(session, request, viewer, lead, answers, form) if lead.status in OPEN_STATUSES else []
    ctx = {
        "lead": lead,
        "choices": choices,
        "run_id": run_id,
        "answers_note": answers_note,
        "fill_empty_only": True if form is None else form["fill_empty_only"],
        "errors": errors or {},
        "message": message,
        "is_open": lead.status in OPEN_STATUSES,
        "extra_css": ["qualify.css"],
    }
    return render(request, TEMPLATE, ctx, block="qualify", status_code=status_code)


@requires(EDIT)
async def qualify_page(request: Request) -> Response:
    lead = _lead_or_404(db(request), request, user(request))
    return _page(request, lead, status_code=200 if lead.status in OPEN_STATUSES else 409)


async def _read_form(request: Request) -> dict[str, Any]:
    raw = await request.form()
    outcomes = [v for v in raw.getlist("outcome") if isinstance(v, str)][:20]
    links: dict[str, int] = {}
    for key in outcomes:
        value = raw.get(f"link:{key}")
        record_id = parse_id(value) if isinstance(value, str) and value else None
        if record_id is not None:
            links[key] = record_id
    run = raw.get("run")
    return {"outcomes": outcomes, "links": links, "fill_empty_only": raw.get("fill_empty_only") == "1",
            "run": run if isinstance(run, str) else ""}  # fmt: skip


def _target(kinds: Any, made: dict[str, tuple[str, int]], lead_id: int) -> str:
    """The new customer's card (the organisation, else the person), else the deal, else the lead."""
    for key in (ORGANISATION, PERSON, *made):
        if key in made:
            kind, record_id = made[key]
            found = kinds.get(kind)
            if found is not None:
                return f"{found.url_for(record_id)}?qualified_lead={lead_id}"
    return f"/leads/{lead_id}"


@requires(EDIT)
async def qualify_post(request: Request) -> Response:
    session, viewer, rt = db(request), user(request), runtime(request)
    lead = _lead_or_404(session, request, viewer)
    form = await _read_form(request)
    if not form["outcomes"]:
        return _page(
            request, lead, status_code=400, form=form, message=_("Choose at least one thing the lead becomes.")
        )
    available = contract.outcomes(rt.host)
    for key in form["outcomes"]:
        outcome = available.get(key)
        kind = rt.record_kinds.get(outcome.kind) if outcome is not None else None
        if outcome is not None and (kind is None or not kind.may_edit(viewer)):
            message = _("You may not create or change records of the kind “%(kind)s”; ask a manager.") % {
                "kind": _(outcome.label)}  # fmt: skip
            return _page(request, lead, status_code=403, form=form, message=message)
    answers = _run(session, lead, form["run"])[1]
    try:
        with write_transaction(rt.sessions) as tx:
            made = qualify.qualify(tx, rt, viewer, lead.id, outcomes=form["outcomes"], links=form["links"],
                                   fill_empty_only=form["fill_empty_only"], answers=answers)  # fmt: skip
    except qualify.QualifyError as exc:
        session.expire_all()
        fresh = _lead_or_404(session, request, viewer)
        status = 409 if fresh.status not in OPEN_STATUSES or "changed this lead" in str(exc) else 400
        return _page(request, fresh, status_code=status, form=form, errors=exc.errors, message=_message(exc))
    return go_to(request, _target(rt.record_kinds, made, lead.id))


def _message(exc: qualify.QualifyError) -> str:
    if exc.outcome is None:
        return str(exc)
    return _("Nothing was saved; the lead is still open. %(reason)s") % {
        "reason": exc.errors.get(exc.outcome, str(exc))
    }


routes: list[Any] = [
    Route("/{lead_id:int}/qualify", qualify_page, methods=["GET"], name="lead_qualify_page"),
    Route("/{lead_id:int}/qualify", qualify_post, methods=["POST"], name="lead_qualify"),
]

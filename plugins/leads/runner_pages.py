"""The script runner's pages: start a script on a lead, the one-question-per-screen wizard, the outcome.

``POST /leads/{id}/script`` starts (the default script unless the form names one; an unfinished run of the
same script is continued instead unless ``restart``), then ``/leads/{id}/run/{qid}`` shows the current
step. Every answer is one transaction; a screen posted after someone else moved the run on gets a 409
with the screen as it is now. ``GET /leads/{id}/scripts`` is a fragment for the lead page: runs to
continue and the start button.
"""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, form_dict, go_to, runtime, user
from voronka.core.i18n import N_, current_language
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.records import Ref
from voronka.core.security.markers import requires
from voronka.core.templating import render

from . import runner, scripts
from .kinds import EDIT, VIEW, lead_display
from .models import DISQUALIFY_REASONS, OPEN_STATUSES, RUNNING, Lead, Qualification, Script, ScriptVersion

REASON_LABELS = {
    "lost": N_("Lost"),
    "cannot_contact": N_("Cannot contact"),
    "not_interested": N_("No longer interested"),
    "canceled": N_("Canceled"),
}
RESULT_LABELS = {"qualify": N_("Qualify"), "disqualify": N_("Disqualify"), "script": N_("Another script")}
STATUS_LABELS = {"running": N_("in progress"), "finished": N_("finished"), "abandoned": N_("abandoned")}


def _lead(request: Request, session: Session) -> Lead:
    """The lead of the path, if the user may see it (else 404)."""
    lead_id = parse_id(request.path_params.get("lead_id"))
    kinds = runtime(request).record_kinds
    lead = kinds.resolve(session, Ref("lead", lead_id), user(request)) if lead_id else None
    if lead is None:
        raise HTTPException(404, _("There is no such lead, or it is not yours to see."))
    return lead


def _run(request: Request, session: Session, lead: Lead) -> Qualification:
    run_id = parse_id(request.path_params.get("run_id"))
    run = session.get(Qualification, run_id) if run_id else None
    if run is None or run.lead_id != lead.id:
        raise HTTPException(404, _("There is no such script run on this lead."))
    return run


def _url(lead_id: int, run_id: int) -> str:
    return f"/leads/{lead_id}/run/{run_id}"


def _answer_text(step: dict[str, Any], value: Any) -> str:
    """An answer as the summary shows it: the option's label, yes/no, the text or number."""
    if value is None:
        return "—"
    kind = step.get("type")
    if kind == scripts.CHOICE:
        for option in step.get("options") or ():
            if option.get("value") == value:
                return str(option.get("label") or value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (int, float)):
        return format_decimal(value, locale=current_language.get())
    return str(value)


def screen(
    request: Request,
    session: Session,
    lead: Lead,
    run: Qualification,
    *,
    errors: dict[str, str] | None = None,
    message: str = "",
    status_code: int = 200,
    raw: str | None = None,
) -> Response:
    """The run's current screen (or its summary once it has ended)."""
    script, version = runner.script_of(session, run)
    steps = scripts.steps_by_key(version.definition if version else {})
    step = steps.get(run.step) or {}
    answers = run.answers or {}
    shown = [k for k in run.path or [] if steps.get(k, {}).get("type") not in scripts.AUTOMATIC]
    summary = [
        (s.get("title") or s.get("key"), _answer_text(s, answers.get(s.get("key"))))
        for s, _v in runner.path_answers(session, run)
        if (s.get("key") != run.step or run.status != RUNNING)
        and s.get("type") not in (scripts.ACTION, scripts.OUTCOME)
    ]
    previous = answers.get(run.step)
    other = None
    if step.get("result") == scripts.SCRIPT:
        other = scripts.by_key(session, str(step.get("script") or ""))
    parent_url = _url(lead.id, run.parent_id) if run.parent_id else ""
    children = list(session.scalars(select(Qualification).where(Qualification.parent_id == run.id)))
    ctx = {
        "lead": lead,
        "lead_name": lead_display(lead),
        "run": run,
        "script": script,
        "version": version,
        "step": step,
        "kind": step.get("type"),
        "value": raw if raw is not None else ("" if previous is None else previous),
        "previous": previous,
        "can_back": len(shown) > 1 and run.status == RUNNING,
        "number": len(shown),
        "summary": summary,
        "errors": errors or {},
        "message": message,
        "url": _url(lead.id, run.id),
        "reason_label": _(REASON_LABELS.get(str(step.get("reason")), "")) if step.get("reason") else "",
        "other_script": other,
        "result_labels": RESULT_LABELS,
        "status_labels": STATUS_LABELS,
        "parent_url": parent_url,
        "children": [(c, _url(lead.id, c.id)) for c in children],
        "can_edit": user(request).can(EDIT),
        "lead_open": lead.status in OPEN_STATUSES,
        "extra_css": ["scripts.css"],
    }
    return render(request, "leads/run_wizard.html", ctx, block="wizard", status_code=status_code)


@requires(EDIT)
async def start_run(request: Request) -> Response:
    form = await form_dict(request)
    rt = runtime(request)
    runner.remember(rt)
    lead = _lead(request, db(request))
    raw = (form.get("script_id") or "").strip()
    script_id = parse_id(raw) if raw else None
    if raw and script_id is None:
        raise HTTPException(400, _("Choose a script from the list."))
    with write_transaction(rt.sessions) as session:
        target = session.get(Lead, lead.id)
        assert target is not None
        chosen = session.get(Script, script_id) if script_id else scripts.default_script(session)
        if chosen is not None and form.get("restart") != "1":
            for open_run in runner.running(session, lead.id):
                version = session.get(ScriptVersion, open_run.script_version_id)
                if version is not None and version.script_id == chosen.id and open_run.parent_id is None:
                    return go_to(request, _url(lead.id, open_run.id))
        elif chosen is not None:
            for open_run in runner.running(session, lead.id):
                version = session.get(ScriptVersion, open_run.script_version_id)
                if version is not None and version.script_id == chosen.id:
                    runner.abandon(session, open_run)
        try:
            run = runner.start(session, target, chosen.id if chosen else script_id, user(request), runtime=rt)
        except ValidationError as exc:
            session.rollback()
            return _start_refused(request, lead, " ".join(exc.errors.values()))
    return go_to(request, _url(lead.id, run.id))


def _start_refused(request: Request, lead: Lead, message: str) -> Response:
    return render(
        request,
        "leads/run_refused.html",
        {"lead": lead, "lead_name": lead_display(lead), "message": message, "extra_css": ["scripts.css"]},
        block="refused",
        status_code=400,
    )


@requires(VIEW)
async def run_page(request: Request) -> Response:
    session = db(request)
    runner.remember(runtime(request))
    lead = _lead(request, session)
    return screen(request, session, lead, _run(request, session, lead))


@requires(EDIT)
async def run_answer(request: Request) -> Response:
    """Next (answer the current step) or Back, in one transaction guarded by the run's version."""
    form = await form_dict(request)
    rt = runtime(request)
    lead = _lead(request, db(request))
    errors: dict[str, str] = {}
    try:
        with write_transaction(rt.sessions) as session:
            target = session.get(Lead, lead.id)
            run = _run(request, session, lead)
            runner.check_turn(run, form.get("step"), form.get("version"))
            if form.get("op") == "back":
                runner.back(session, run)
            else:
                if target is None or target.status not in OPEN_STATUSES:
                    raise ValidationError(_("This lead is closed; reopen it to go on with the script."))
                runner.answer(session, run, target, form.get("answer"), user(request), runtime=rt)
    except runner.RunConflict as exc:
        return _fresh(request, lead, message=str(exc), status_code=409)
    except (StaleDataError, StaleRecord):
        return _fresh(
            request,
            lead,
            message=_(
                "Someone else answered this script meanwhile. This is where it stands now; check the answer and go on."
            ),
            status_code=409,
        )
    except ValidationError as exc:
        errors = exc.errors
        answer_error = errors.get("answer", "")
        message = " ".join(v for k, v in errors.items() if k != "answer")
        return _fresh(
            request,
            lead,
            errors={"answer": answer_error} if answer_error else {},
            message=message,
            status_code=400,
            raw=form.get("answer"),
        )
    return _fresh(request, lead)


def _fresh(request: Request, lead: Lead, **kw: Any) -> Response:
    with runtime(request).sessions() as session:
        fresh_lead = session.get(Lead, lead.id) or lead
        return screen(request, session, fresh_lead, _run(request, session, fresh_lead), **kw)


@requires(EDIT)
async def run_finish(request: Request) -> Response:
    """Confirm the outcome: qualify (to the qualify screen), disqualify the lead, or start the other script."""
    form = await form_dict(request)
    rt = runtime(request)
    lead = _lead(request, db(request))
    try:
        with write_transaction(rt.sessions) as session:
            target = session.get(Lead, lead.id)
            run = _run(request, session, lead)
            runner.check_turn(run, form.get("step"), form.get("version"))
            if target is None or target.status not in OPEN_STATUSES:
                raise ValidationError(_("This lead is closed; reopen it to go on with the script."))
            result, child = runner.finish(session, run, target, user(request), runtime=rt)
            run_id = run.id
    except runner.RunConflict as exc:
        return _fresh(request, lead, message=str(exc), status_code=409)
    except (StaleDataError, StaleRecord):
        return _fresh(
            request,
            lead,
            message=_("Someone else changed this lead or script run meanwhile. This is where it stands now."),
            status_code=409,
        )
    except ValidationError as exc:
        return _fresh(request, lead, message=" ".join(exc.errors.values()), status_code=400)
    if result == scripts.QUALIFY:
        return go_to(request, f"/leads/{lead.id}/qualify?run={run_id}")
    if child is not None:
        return go_to(request, _url(lead.id, child.id))
    return go_to(request, f"/leads/{lead.id}")


@requires(EDIT)
async def run_abandon(request: Request) -> Response:
    form = await form_dict(request)
    lead = _lead(request, db(request))
    try:
        with write_transaction(runtime(request).sessions) as session:
            run = _run(request, session, lead)
            runner.check_turn(run, None, form.get("version"))
            runner.abandon(session, run)
    except (runner.RunConflict, StaleDataError) as exc:
        return _fresh(request, lead, message=str(exc) or _("The run changed meanwhile."), status_code=409)
    return go_to(request, f"/leads/{lead.id}")


def panel_context(session: Session, lead: Lead, viewer: Any) -> dict[str, Any]:
    """What the lead page's scripts panel shows (for ``leads/run_panel.html``)."""
    listed = []
    for run in runner.runs(session, lead.id):
        script, version = runner.script_of(session, run)
        listed.append(
            {
                "run": run,
                "url": _url(lead.id, run.id),
                "name": script.name if script else "?",
                "number": version.number if version else 0,
            }
        )
    available = list(
        session.scalars(
            select(Script)
            .where(Script.archived.is_(False), Script.current_version_id.is_not(None))
            .order_by(Script.is_default.desc(), Script.name)
        )
    )
    return {
        "lead": lead,
        "runs": listed,
        "scripts": available,
        "can_edit": viewer.can(EDIT),
        "lead_open": lead.status in OPEN_STATUSES,
        "status_labels": STATUS_LABELS,
        "reasons": DISQUALIFY_REASONS,
    }


@requires(VIEW)
async def run_panel(request: Request) -> Response:
    session = db(request)
    lead = _lead(request, session)
    return render(request, "leads/run_panel.html", panel_context(session, lead, user(request)))


routes = [
    Route("/{lead_id:int}/script", start_run, methods=["POST"], name="run_start"),
    Route("/{lead_id:int}/scripts", run_panel, methods=["GET"], name="run_panel"),
    Route("/{lead_id:int}/run/{run_id:int}", run_page, methods=["GET"], name="run_page"),
    Route("/{lead_id:int}/run/{run_id:int}", run_answer, methods=["POST"], name="run_answer"),
    Route("/{lead_id:int}/run/{run_id:int}/finish", run_finish, methods=["POST"], name="run_finish"),
    Route("/{lead_id:int}/run/{run_id:int}/abandon", run_abandon, methods=["POST"], name="run_abandon"),
]

"""Pipeline settings: admins define pipelines and their ordered stages (probability, forecast category,
outcome, expected days).

A stage that has ever held a deal keeps its row for good: the stage history and the funnel point at it.
It can be renamed and archived (it leaves pickers and the board; its deals stay where they are until
someone moves them, which the page offers for the open ones); only a stage nobody ever used is deleted.
Changing a stage's default probability does not touch deals already in it: they took the probability when
they entered, and a deal's probability is what the forecast reads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, form_dict, go_to, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.security.markers import requires
from voronka.core.templating import render
from voronka.core.writes import save_many

from .kinds import MANAGE
from .models import FORECAST_CATEGORIES, LOST, OPEN, OUTCOMES, WON, Opportunity, Pipeline, Stage, StageChange
from .stages import FORECAST_LABELS, STATUS_LABELS, catalogue, forget

PAGE = "/pipeline/settings"
MOVE_AT_ONCE = 2000
"""Open deals moved out of a stage per click: one short write transaction (SQLite has one writer)."""
OPEN_CATEGORIES = tuple(c for c in FORECAST_CATEGORIES if c not in (WON, LOST))


def _usage(session: Session) -> dict[int, tuple[int, int, bool]]:
    """Per stage id: (open deals, closed deals, ever used by the stage history)."""
    counts: dict[int, list[int]] = {}
    query = (select(Opportunity.stage_id, Opportunity.status, func.count())
             .where(Opportunity.deleted_at.is_(None)).group_by(Opportunity.stage_id, Opportunity.status))  # fmt: skip
    for stage_id, status, n in session.execute(query):
        slot = counts.setdefault(stage_id, [0, 0])
        slot[0 if status == OPEN else 1] += n
    used = set(session.scalars(select(StageChange.stage_id).distinct()))
    used |= set(session.scalars(select(Opportunity.stage_id).distinct()))
    return {sid: (c[0], c[1], sid in used) for sid, c in counts.items()} | {
        sid: (0, 0, True) for sid in used if sid not in counts
    }


def _context(request: Request, **extra: Any) -> dict[str, Any]:
    session = db(request)
    book = catalogue(session)
    ctx: dict[str, Any] = {
        "pipelines": book.pipelines,
        "usage": _usage(session),
        "outcomes": [(o, STATUS_LABELS[o]) for o in OUTCOMES],
        "categories": [(c, FORECAST_LABELS[c]) for c in OPEN_CATEGORIES],
        "forecast_labels": FORECAST_LABELS,
        "status_labels": STATUS_LABELS,
        "errors": {},
        "form": {},
        "editing": None,
        "form_pipeline": None,
        "saved": request.query_params.get("saved"),
        "extra_css": ["settings.css"],
    }
    ctx.update(extra)
    return ctx


def _page(request: Request, status_code: int = 200, **extra: Any) -> Response:
    return render(request, "pipeline/settings.html", _context(request, **extra), block="settings",
                  status_code=status_code)  # fmt: skip


def _number(raw: str | None, low: int, high: int) -> int | None:
    text = (raw or "").strip().rstrip("%").strip()
    if not text or not text.isascii() or not text.isdigit() or len(text) > 6:
        return None
    value = int(text)
    return value if low <= value <= high else None


def read_stage_form(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """A stage's values from a form, or messages per field. A closing stage takes 100 % (won) or 0 % (lost)
    and the matching forecast category: a won deal is certain, a lost one is gone."""
    errors: dict[str, str] = {}
    name = (form.get("name") or "").strip()
    if not name:
        errors["name"] = _("Give the stage a name.")
    elif len(name) > 120:
        errors["name"] = _("Keep the name under 120 characters.")
    outcome = form.get("outcome") or OPEN
    if outcome not in OUTCOMES:
        errors["outcome"] = _("A stage keeps a deal open, or closes it as won or lost.")
        outcome = OPEN
    probability = _number(form.get("probability"), 0, 100)
    if outcome == OPEN and probability is None:
        errors["probability"] = _("Write a whole number from 0 to 100.")
    category = form.get("forecast_category") or "pipeline"
    if outcome == OPEN and category not in OPEN_CATEGORIES:
        errors["forecast_category"] = _("Pick a forecast category from the list.")
    days_raw = (form.get("expected_days") or "").strip()
    expected_days = _number(days_raw, 1, 3650) if days_raw else None
    if days_raw and expected_days is None:
        errors["expected_days"] = _("Write a number of days from 1 to 3650, or leave it empty.")
    if outcome != OPEN:
        probability, category = (100, WON) if outcome == WON else (0, LOST)
    values = {"name": name, "outcome": outcome, "probability": probability, "forecast_category": category,
              "expected_days": expected_days}  # fmt: skip
    return values, errors


def _pipeline_or_404(session: Session, raw: Any) -> Pipeline:
    pipeline_id = parse_id(raw)
    found = session.get(Pipeline, pipeline_id) if pipeline_id is not None else None
    if found is None:
        raise HTTPException(404, _("There is no such pipeline."))
    return found


def _stage_or_404(session: Session, raw: Any) -> Stage:
    stage_id = parse_id(raw)
    found = session.get(Stage, stage_id) if stage_id is not None else None
    if found is None:
        raise HTTPException(404, _("There is no such stage."))
    return found


def _closing_stages_left(session: Session, stage: Stage, outcome: str | None) -> bool:
    """Whether the stage's pipeline keeps a live stage of the stage's outcome without it (every pipeline
    needs somewhere to open, win and lose a deal)."""
    others = select(func.count()).where(
        Stage.pipeline_id == stage.pipeline_id,
        Stage.id != stage.id,
        Stage.archived.is_(False),
        Stage.outcome == (outcome or stage.outcome),
    )
    return (session.scalar(others) or 0) > 0


@requires(MANAGE)
async def settings_page(request: Request) -> Response:
    editing = None
    if request.query_params.get("stage"):
        editing = _stage_or_404(db(request), request.query_params["stage"])
    form = {}
    if editing is not None:
        form = {
            "name": editing.name,
            "outcome": editing.outcome,
            "probability": str(editing.probability),
            "forecast_category": editing.forecast_category,
            "expected_days": editing.expected_days or "",
        }
    return _page(request, editing=editing, form=form)


@requires(MANAGE)
async def pipeline_create(request: Request) -> Response:
    form = await form_dict(request)
    name = (form.get("name") or "").strip()
    if not name or len(name) > 120:
        message = _("Give the pipeline a name (up to 120 characters).")
        return _page(request, 400, errors={"pipeline_name": message}, form={"pipeline_name": name})
    with write_transaction(runtime(request).sessions) as session:
        top = session.scalar(select(func.max(Pipeline.position))) or 0
        pipeline = Pipeline(name=name, position=top + 10, is_default=False)
        session.add(pipeline)
        session.flush()
        session.add_all([
            Stage(pipeline_id=pipeline.id, name=_("New"), position=10, probability=10, forecast_category="pipeline",
                  outcome=OPEN, expected_days=14),
            Stage(pipeline_id=pipeline.id, name=_("Won"), position=20, probability=100, forecast_category=WON,
                  outcome=WON),
            Stage(pipeline_id=pipeline.id, name=_("Lost"), position=30, probability=0, forecast_category=LOST,
                  outcome=LOST),
        ])  # fmt: skip
        forget(session)
    return go_to(request, f"{PAGE}?saved=1#pipeline-{pipeline.id}")


@requires(MANAGE)
async def pipeline_update(request: Request) -> Response:
    """Rename, make default, archive or bring back a pipeline."""
    form = await form_dict(request)
    with write_transaction(runtime(request).sessions) as session:
        pipeline = _pipeline_or_404(session, request.path_params["pipeline_id"])
        action = form.get("action") or "rename"
        if action == "rename":
            name = (form.get("name") or "").strip()
            if not name or len(name) > 120:
                session.rollback()
                message = _("Give the pipeline a name (up to 120 characters).")
                return _page(request, 400, errors={f"pipeline-{pipeline.id}": message})
            pipeline.name = name
        elif action == "default":
            for other in session.scalars(select(Pipeline)):
                other.is_default = other.id == pipeline.id
            pipeline.archived = False
        elif action in ("archive", "restore"):
            if action == "archive" and pipeline.is_default:
                session.rollback()
                message = _("The default pipeline cannot be archived; make another one the default first.")
                return _page(request, 409, action_error=message)
            pipeline.archived = action == "archive"
        else:
            raise HTTPException(400, _("Unknown action."))
        forget(session)
    return go_to(request, f"{PAGE}?saved=1#pipeline-{pipeline.id}")


@requires(MANAGE)
async def stage_create(request: Request) -> Response:
    form = await form_dict(request)
    session = db(request)
    pipeline = _pipeline_or_404(session, form.get("pipeline_id"))
    values, errors = read_stage_form(form)
    if errors:
        return _page(request, 400, errors=errors, form=form, form_pipeline=pipeline.id)
    with write_transaction(runtime(request).sessions) as tx:
        stages = list(tx.scalars(select(Stage).where(Stage.pipeline_id == pipeline.id).order_by(Stage.position)))
        # a new open stage goes after the last open one, before the closing stages; a closing one at the end
        before_closing = [s for s in stages if s.outcome == OPEN]
        anchor = before_closing[-1].position if values["outcome"] == OPEN and before_closing else (
            stages[-1].position if stages else 0)  # fmt: skip
        for later in stages:
            if later.position > anchor:
                later.position += 10
        tx.add(Stage(pipeline_id=pipeline.id, position=anchor + 5, **values))
        tx.flush()
        _renumber(tx, pipeline.id)
        forget(tx)
    return go_to(request, f"{PAGE}?saved=1#pipeline-{pipeline.id}")


@requires(MANAGE)
async def stage_update(request: Request) -> Response:
    form = await form_dict(request)
    session = db(request)
    stage = _stage_or_404(session, request.path_params["stage_id"])
    values, errors = read_stage_form(form)
    usage = _usage(session).get(stage.id, (0, 0, False))
    if not errors and values["outcome"] != stage.outcome and usage[2]:
        errors["outcome"] = _("Deals have been in this stage: add a new stage instead of changing what it means.")
    if not errors and values["outcome"] != stage.outcome and not _closing_stages_left(session, stage, None):
        errors["outcome"] = _("The pipeline needs a live stage of this kind; add another one first.")
    if errors:
        return _page(request, 400, errors=errors, form=form, editing=stage)
    with write_transaction(runtime(request).sessions) as tx:
        target = tx.get(Stage, stage.id)
        for name, value in values.items():
            setattr(target, name, value)
        forget(tx)
    return go_to(request, f"{PAGE}?saved=1#pipeline-{stage.pipeline_id}")


@requires(MANAGE)
async def stage_move(request: Request) -> Response:
    """One place up or down among the stages of its pipeline (buttons: works without a mouse)."""
    form = await form_dict(request)
    step = -1 if form.get("direction") == "up" else 1
    with write_transaction(runtime(request).sessions) as session:
        stage = _stage_or_404(session, request.path_params["stage_id"])
        stages = list(session.scalars(select(Stage).where(Stage.pipeline_id == stage.pipeline_id)
                                      .order_by(Stage.position, Stage.id)))  # fmt: skip
        index = next(i for i, s in enumerate(stages) if s.id == stage.id)
        other = index + step
        if 0 <= other < len(stages):
            stages[index], stages[other] = stages[other], stages[index]
            for position, item in enumerate(stages, start=1):
                item.position = position * 10
        forget(session)
    return go_to(request, f"{PAGE}#pipeline-{stage.pipeline_id}")


@requires(MANAGE)
async def stage_archive(request: Request) -> Response:
    form = await form_dict(request)
    archive = form.get("archived", "1") == "1"
    session = db(request)
    stage = _stage_or_404(session, request.path_params["stage_id"])
    if archive and not _closing_stages_left(session, stage, None):
        message = _("The pipeline needs a live stage of this kind; add another one before you archive this one.")
        return _page(request, 409, action_error=message)
    with write_transaction(runtime(request).sessions) as tx:
        tx.get(Stage, stage.id).archived = archive
        forget(tx)
    return go_to(request, f"{PAGE}?saved=1#pipeline-{stage.pipeline_id}")


@requires(MANAGE)
async def stage_delete(request: Request) -> Response:
    """Delete a stage no deal has ever been in; one with history can only be archived."""
    session = db(request)
    stage = _stage_or_404(session, request.path_params["stage_id"])
    open_deals, closed_deals, used = _usage(session).get(stage.id, (0, 0, False))
    if used or open_deals or closed_deals:
        if open_deals or closed_deals:
            message = _(
                "%(n)s deals are in this stage. Move the open ones to another stage first; a stage that has "
                "held deals can only be archived, so the history and the funnel keep it."
            ) % {"n": open_deals + closed_deals}
        else:
            message = _("Deals have been in this stage, and the history and the funnel keep it: archive it instead.")
        return _page(request, 409, action_error=message)
    if not _closing_stages_left(session, stage, None):
        return _page(request, 409, action_error=_("The pipeline needs a live stage of this kind; add another first."))
    with write_transaction(runtime(request).sessions) as tx:
        tx.delete(tx.get(Stage, stage.id))
        tx.flush()
        _renumber(tx, stage.pipeline_id)
        forget(tx)
    return go_to(request, f"{PAGE}?saved=1#pipeline-{stage.pipeline_id}")


@requires(MANAGE)
async def stage_empty(request: Request) -> Response:
    """Move the open deals of a stage to another open stage of the same pipeline, through the write path
    (history, events, audit), at most :data:`MOVE_AT_ONCE` per click."""
    form = await form_dict(request)
    session = db(request)
    stage = _stage_or_404(session, request.path_params["stage_id"])
    target = catalogue(session).stage(parse_id(form.get("target")))
    if target is None or target.pipeline_id != stage.pipeline_id or target.id == stage.id or target.archived:
        return _page(request, 400, action_error=_("Pick another live stage of the same pipeline."))
    viewer = user(request)
    kind = runtime(request).record_kinds["opportunity"]
    with write_transaction(runtime(request).sessions) as tx:
        ids = list(tx.scalars(select(Opportunity.id).where(Opportunity.stage_id == stage.id,
                                                            Opportunity.status == OPEN,
                                                            Opportunity.deleted_at.is_(None))
                              .order_by(Opportunity.id).limit(MOVE_AT_ONCE)))  # fmt: skip
        try:
            save_many(tx, kind, ids, {"stage_id": target.id}, actor=viewer, source="bulk")
        except ValidationError as exc:
            tx.rollback()
            return _page(request, 400, action_error=" ".join(exc.errors.values()))
    return go_to(request, f"{PAGE}?saved=1#pipeline-{stage.pipeline_id}")


def _renumber(session: Session, pipeline_id: int) -> None:
    stages = session.scalars(select(Stage).where(Stage.pipeline_id == pipeline_id).order_by(Stage.position, Stage.id))
    for position, stage in enumerate(stages, start=1):
        stage.position = position * 10


routes = [
    Route("/settings", settings_page, methods=["GET"], name="settings"),
    Route("/settings/pipelines", pipeline_create, methods=["POST"], name="pipeline_create"),
    Route("/settings/pipelines/{pipeline_id:int}", pipeline_update, methods=["POST"], name="pipeline_update"),
    Route("/settings/stages", stage_create, methods=["POST"], name="stage_create"),
    Route("/settings/stages/{stage_id:int}", stage_update, methods=["POST"], name="stage_update"),
    Route("/settings/stages/{stage_id:int}/move", stage_move, methods=["POST"], name="stage_move"),
    Route("/settings/stages/{stage_id:int}/archive", stage_archive, methods=["POST"], name="stage_archive"),
    Route("/settings/stages/{stage_id:int}/delete", stage_delete, methods=["POST"], name="stage_delete"),
    Route("/settings/stages/{stage_id:int}/empty", stage_empty, methods=["POST"], name="stage_empty"),
]

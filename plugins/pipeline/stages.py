"""Pipelines and their stages as the rest of the plugin reads them: a small, rarely changed table loaded
once per session and looked up by id (every save of a deal asks for its stage)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _

from .models import LOST, OPEN, WON, Pipeline, Stage

_CACHE = "pipeline.stages"

# The built-in names as gettext sees them (migration pipeline_0002 stores the same English words).
BUILTIN_PIPELINE = N_("Sales")
BUILTIN_STAGES = (N_("Initial contact"), N_("Interest confirmed"), N_("Qualified"), N_("Negotiation"),
                  N_("Commitment"), N_("Won"), N_("Lost"))  # fmt: skip
FORECAST_LABELS = {"pipeline": N_("Pipeline"), "best_case": N_("Best case"), "commit": N_("Committed"),
                   "omitted": N_("Omitted"), "won": N_("Won"), "lost": N_("Lost")}  # fmt: skip
STATUS_LABELS = {OPEN: N_("Open"), WON: N_("Won"), LOST: N_("Lost")}


@dataclass(frozen=True)
class StageInfo:
    id: int
    pipeline_id: int
    name: str
    position: int
    probability: int
    forecast_category: str
    outcome: str
    expected_days: int | None
    archived: bool

    @property
    def label(self) -> str:
        """The stage's name in the viewer's language (built-in names are translated)."""
        return _(self.name) if self.name in BUILTIN_STAGES else self.name

    @property
    def closed(self) -> bool:
        return self.outcome != OPEN


@dataclass(frozen=True)
class PipelineInfo:
    id: int
    name: str
    position: int
    is_default: bool
    archived: bool
    stages: tuple[StageInfo, ...]

    @property
    def label(self) -> str:
        return _(self.name) if self.name == BUILTIN_PIPELINE else self.name

    @property
    def open_stages(self) -> tuple[StageInfo, ...]:
        return tuple(s for s in self.stages if s.outcome == OPEN and not s.archived)

    def first_open(self) -> StageInfo | None:
        return next(iter(self.open_stages), None)

    def closing(self, outcome: str) -> StageInfo | None:
        """The first live stage that closes a deal as ``outcome`` (won or lost)."""
        return next((s for s in self.stages if s.outcome == outcome and not s.archived), None)


@dataclass(frozen=True)
class Catalogue:
    """Every pipeline with its stages, ordered by position."""

    pipelines: tuple[PipelineInfo, ...]

    def stage(self, stage_id: int | None) -> StageInfo | None:
        for pipeline in self.pipelines:
            for stage in pipeline.stages:
                if stage.id == stage_id:
                    return stage
        return None

    def pipeline(self, pipeline_id: int | None) -> PipelineInfo | None:
        return next((p for p in self.pipelines if p.id == pipeline_id), None)

    def default(self) -> PipelineInfo | None:
        live = [p for p in self.pipelines if not p.archived]
        return next((p for p in live if p.is_default), live[0] if live else None)

    @property
    def live(self) -> tuple[PipelineInfo, ...]:
        return tuple(p for p in self.pipelines if not p.archived)


def catalogue(session: Session) -> Catalogue:
    """The pipelines and stages, read once per session (call :func:`forget` after changing them)."""
    cached = session.info.get(_CACHE)
    if cached is not None:
        return cached
    stages: dict[int, list[StageInfo]] = {}
    for row in session.execute(select(Stage).order_by(Stage.pipeline_id, Stage.position, Stage.id)).scalars():
        stages.setdefault(row.pipeline_id, []).append(
            StageInfo(
                row.id,
                row.pipeline_id,
                row.name,
                row.position,
                row.probability,
                row.forecast_category,
                row.outcome,
                row.expected_days,
                row.archived,
            )
        )
    pipelines = tuple(
        PipelineInfo(p.id, p.name, p.position, p.is_default, p.archived, tuple(stages.get(p.id, ())))
        for p in session.execute(select(Pipeline).order_by(Pipeline.position, Pipeline.id)).scalars()
    )
    found = Catalogue(pipelines)
    session.info[_CACHE] = found
    return found


def forget(session: Session) -> None:
    session.info.pop(_CACHE, None)

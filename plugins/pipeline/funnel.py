"""The funnel of one pipeline for a filter: open deals per stage (count, value, weighted value), how deals
flow from stage to stage (conversion and time in stage, from the stage history sums), win rate and the
length of the sales cycle of deals closed in the period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from voronka.core.company import company_settings

from .analytics import Converted, Converter, StageFlow, deal_rows, owner_clauses, source, stage_flows
from .deal_filters import DealFilter
from .models import LOST, OPEN, WON, Opportunity
from .stages import PipelineInfo, StageInfo, catalogue


@dataclass(frozen=True)
class FunnelStage:
    stage: StageInfo
    deals: int
    value: int
    weighted: int
    flow: StageFlow | None


@dataclass(frozen=True)
class Funnel:
    pipeline: PipelineInfo
    stages: list[FunnelStage]
    won: int
    won_value: int
    lost: int
    lost_value: int
    cycle_days: float | None
    """Average days from creation to close of the deals won in the period."""
    start: dt.date | None
    end: dt.date | None
    converted: Converted

    @property
    def win_rate(self) -> float | None:
        closed = self.won + self.lost
        return self.won / closed if closed else None

    @property
    def open_deals(self) -> int:
        return sum(s.deals for s in self.stages)

    @property
    def open_value(self) -> int:
        return sum(s.value for s in self.stages)

    @property
    def weighted_value(self) -> int:
        return sum(s.weighted for s in self.stages)


def build(session: Session, viewer: Any, flt: DealFilter) -> Funnel | None:
    """None when there is no pipeline to show."""
    book = catalogue(session)
    pipeline = book.pipeline(flt.pipeline_id) if flt.pipeline_id else book.default()
    if pipeline is None:
        return None
    flt = replace(flt, pipeline_id=pipeline.id)
    today = company_settings(session).today()
    src = source(session, viewer, flt, today)
    rows = deal_rows(session, src.deal_clauses, owner_clauses(Opportunity, viewer, flt, today), (OPEN, WON, LOST),
                     flt.start, flt.end, by_category=False, model=src.deals)  # fmt: skip
    money = Converter(session, {r.currency for r in rows})
    flows = stage_flows(session, src.stage_clauses, flt.start, flt.end, model=src.stages)
    per_stage: dict[int, list[int]] = {}
    won = lost = won_value = lost_value = cycle = 0
    for row in rows:
        if row.status == OPEN:
            found = per_stage.setdefault(row.stage_id, [0, 0, 0])
            found[0] += row.deals
            found[1] += money.row(row)
            found[2] += money.row(row, weighted=True)
        elif row.status == WON:
            won += row.deals
            won_value += money.row(row)
            cycle += row.cycle_days
        else:
            lost += row.deals
            lost_value += money.row(row)
    stages = [FunnelStage(s, *per_stage.get(s.id, [0, 0, 0]), flows.get(s.id)) for s in pipeline.open_stages]
    return Funnel(pipeline, stages, won, won_value, lost, lost_value, cycle / won if won else None, flt.start, flt.end,
                  money.report)  # fmt: skip

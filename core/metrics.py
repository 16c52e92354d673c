"""The metrics contract: plans, dashboards and reports read every plugin's figures the same way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

UNITS = ("count", "money")

ValuesFn = Callable[[Session, Any, Sequence[int], dt.datetime, dt.datetime], dict[int, tuple[float, float]]]
RecordsFn = Callable[[Session, Any, int, dt.datetime, dt.datetime, str, int], list[Any]]


@dataclass(frozen=True)
class MetricRecord:
    """One row behind a figure, for drill-down: what it is, where to open it, how much it adds."""

    title: str
    url: str
    value: float
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Metric:
    """A figure per owner and period.

    ``key`` is namespaced by plugin (``pipeline.revenue_won``); ``unit`` is "count" or "money" (minor
    units of the base currency); ``in_progress`` says in words what counts as in progress.
    ``values(session, viewer, owner_ids, start, end)`` returns ``{owner_id: (actual, in_progress)}`` from
    one grouped query under the viewer's visibility, for owners in ``owner_ids`` (missing owners mean 0).
    ``records(session, viewer, owner_id, start, end, which, limit)`` lists the rows behind the figure;
    ``which`` is "actual" or "in_progress".
    """

    key: str
    label: str
    unit: str
    in_progress: str
    values: ValuesFn
    records: RecordsFn


def metric_problems(metric: Metric, plugin: str) -> list[str]:
    """Static contract checks (the test kit's ``check_metric`` also runs the functions)."""
    problems = []
    if not metric.key.startswith(f"{plugin}."):
        problems.append(f"metric key {metric.key!r} must start with '{plugin}.'")
    if metric.unit not in UNITS:
        problems.append(f"metric {metric.key!r} has unit {metric.unit!r}; use one of {', '.join(UNITS)}")
    if not metric.label or not metric.in_progress:
        problems.append(f"metric {metric.key!r} needs a label and an in-progress definition")
    if not callable(metric.values) or not callable(metric.records):
        problems.append(f"metric {metric.key!r} needs callable values and records")
    return problems

"""Which metrics a plan can use: every enabled plugin's, from the host's ``metrics()`` contract.

A plan keeps its metric's key when the plugin that answers it is disabled or uninstalled; :func:`describe`
then says so, and the plan shows its target with no figures until the plugin comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.i18n import gettext as _
from voronka.core.metrics import Metric

from .models import Plan


@dataclass(frozen=True)
class MetricInfo:
    """A metric as planning shows it. ``metric`` is None when no enabled plugin answers ``key``;
    ``problem`` then says why, for the page."""

    key: str
    label: str
    unit: str
    in_progress: str
    plugin: str
    metric: Metric | None
    problem: str = ""

    @property
    def available(self) -> bool:
        return self.metric is not None

    @property
    def is_money(self) -> bool:
        return self.unit == "money"


def plugin_host(host: Any) -> Any:
    """The plugin host from a host or an app's runtime (seed contexts and handlers carry either)."""
    return host if hasattr(host, "call_ordered") else host.host


def _cache(host: Any) -> dict[str, Any]:
    """Metrics of the enabled plugins, rebuilt when the enabled set changes (plugins switch at run time)."""
    host = plugin_host(host)
    state = getattr(host, "_planning_metrics", None)
    enabled = host.enabled
    if state is None or state[0] != enabled:
        found: dict[str, tuple[str, Metric]] = {}
        for plugin, metrics in host.call_ordered("metrics"):
            for metric in metrics or []:
                if isinstance(metric, Metric):
                    found[metric.key] = (plugin, metric)
        state = (enabled, found)
        host._planning_metrics = state
    return state[1]


def available(host: Any) -> list[MetricInfo]:
    """The metrics plans can use now, in plugin order."""
    return [_info(plugin, metric) for plugin, metric in _cache(host).values()]


def describe(host: Any, key: str, session: Session | None = None) -> MetricInfo:
    """``key`` as planning shows it, available or not; for one that is not, its unit as the plans with that
    metric keep it (read through ``session``), so a money target still reads as money."""
    found = _cache(host).get(key)
    if found is not None:
        return _info(*found)
    unit = "count"
    if session is not None:
        unit = session.scalar(select(Plan.unit).where(Plan.metric_key == key).limit(1)) or unit
    plugin = key.partition(".")[0]
    host = plugin_host(host)
    if plugin in getattr(host, "plugins", {}) and plugin not in host.enabled:
        problem = _("The %(plugin)s plugin is switched off: this plan keeps its target and shows figures again "
                    "when an administrator switches it back on.") % {"plugin": plugin}  # fmt: skip
    else:
        problem = _("No installed plugin measures “%(key)s” any more: this plan keeps its target but has no "
                    "figures.") % {"key": key}  # fmt: skip
    return MetricInfo(key=key, label=key, unit=unit, in_progress="", plugin=plugin, metric=None, problem=problem)


def _info(plugin: str, metric: Metric) -> MetricInfo:
    return MetricInfo(key=metric.key, label=_(metric.label), unit=metric.unit, in_progress=_(metric.in_progress),
                      plugin=plugin, metric=metric)  # fmt: skip

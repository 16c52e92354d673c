"""Server-rendered SVG for planning: a plan's progress bar and the team chart (actual against target per
direct report, with the pace). No script, no inline style (CSP): sizes are SVG attributes, colours come from
planning.css by status class, so a chart's colours are the badges' colours. Every picture has a <title>, and
the pages print the same numbers in a table or in words next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR_MAX = 200.0
"""A bar's scale stops at 200% of the target, so one huge overshoot does not flatten the rest."""


def _x(percent: float | None, scale: float) -> float:
    if not percent or percent <= 0:
        return 0.0
    return min(percent, scale) * 100 / scale


def progress_bar(percent: float | None, projected: float | None, pace: float, status: str, label: str) -> Markup:
    """A bar 0–100 % of the target: the actual (status colour), the projection behind it (lighter), the pace
    as a dark tick ("by today you should be here"), and the target as a tick when the bar overshoots it."""
    scale = min(BAR_MAX, max(100.0, percent or 0.0, projected or 0.0))
    actual_w, projected_w, pace_x = _x(percent, scale), _x(projected, scale), _x(pace, scale)
    parts = [f'<svg class="plan-bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
             f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
             '<rect class="plan-bar-track" x="0" y="0" width="100" height="10" rx="1"/>']  # fmt: skip
    if projected_w > actual_w:
        parts.append(f'<rect class="plan-bar-projection status-{escape(status)}" x="0" y="0" '
                     f'width="{projected_w:.2f}" height="10" rx="1"/>')  # fmt: skip
    if actual_w:
        parts.append(f'<rect class="plan-bar-fill status-{escape(status)}" x="0" y="0" width="{actual_w:.2f}" '
                     'height="10" rx="1"/>')  # fmt: skip
    if scale > 100:
        target_x = 100 * 100 / scale
        parts.append(f'<line class="plan-bar-target" x1="{target_x:.2f}" x2="{target_x:.2f}" y1="0" y2="10" '
                     'vector-effect="non-scaling-stroke"/>')  # fmt: skip
    if 0 < pace_x < 100:
        parts.append(f'<line class="plan-bar-pace" x1="{pace_x:.2f}" x2="{pace_x:.2f}" y1="0" y2="10" '
                     'vector-effect="non-scaling-stroke"/>')  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class TeamBar:
    label: str
    actual: float
    target: float | None
    should_be: float | None
    """Where the pace says the actual should be by today (None without a target)."""
    status: str
    note: str
    """The figures written after the bars, already formatted ("₴12,000 of ₴40,000 · 30%")."""


WIDTH = 760
ROW = 34
GAP = 10
LABEL_W = 170
AREA = 360


def team_bars(rows: Sequence[TeamBar], title: str, legend: tuple[str, str, str]) -> Markup:
    """Per direct report, the target as a pale bar, the actual over it in the status colour and the pace as a
    dark tick, on one scale for everyone; the figures follow on the right. ``legend``: actual, target,
    pace."""
    height = len(rows) * (ROW + GAP) + GAP + 28
    top = max([r.actual for r in rows] + [r.target or 0 for r in rows] + [1.0])
    parts = [f'<svg class="chart team-chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
             f'preserveAspectRatio="xMidYMin meet"><title>{escape(title)}</title>']  # fmt: skip
    for index, row in enumerate(rows):
        y = GAP + index * (ROW + GAP)
        middle = y + ROW / 2 + 5
        parts.append(f'<text class="chart-label" x="{LABEL_W - 8}" y="{middle}" text-anchor="end">'
                     f"{escape(_clip(row.label, 22))}</text>")  # fmt: skip
        if row.target:
            width = AREA * row.target / top
            parts.append(
                f'<rect class="team-chart-target" x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{ROW}" '
                f'rx="3"><title>{escape(row.label)} · {escape(legend[1])}: {escape(row.note)}</title></rect>'
            )
        if row.actual > 0:
            width = max(2.0, AREA * row.actual / top)
            parts.append(f'<rect class="team-chart-actual status-{escape(row.status)}" x="{LABEL_W}" y="{y + 7}" '
                         f'width="{width:.1f}" height="{ROW - 14}" rx="2"><title>{escape(row.label)} · '
                         f"{escape(legend[0])}: {escape(row.note)}</title></rect>")  # fmt: skip
        if row.should_be:
            x = LABEL_W + AREA * row.should_be / top
            parts.append(f'<line class="team-chart-pace" x1="{x:.1f}" x2="{x:.1f}" y1="{y - 2}" y2="{y + ROW + 2}">'
                         f"<title>{escape(row.label)} · {escape(legend[2])}</title></line>")  # fmt: skip
        parts.append(f'<text class="chart-value" x="{LABEL_W + AREA + 10}" y="{middle}">{escape(row.note)}</text>')
    y = height - 18
    x = float(LABEL_W)
    for name, shape in zip(legend, ("actual", "target", "pace"), strict=True):
        if shape == "pace":
            parts.append(f'<line class="team-chart-pace" x1="{x + 5:.1f}" x2="{x + 5:.1f}" y1="{y - 2}" '
                         f'y2="{y + 12}"/>')  # fmt: skip
        else:
            css = "team-chart-actual status-on_track" if shape == "actual" else "team-chart-target"
            parts.append(f'<rect class="{css}" x="{x:.1f}" y="{y}" width="10" height="10"/>')
        parts.append(f'<text class="chart-axis" x="{x + 14:.1f}" y="{y + 9}">{escape(name)}</text>')
        x += 14 + 7.2 * len(name) + 18
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(text: str, size: int) -> str:
    """Long names are cut in the picture only; the table next to it shows them whole."""
    return text if len(text) <= size else text[: size - 1] + "…"

"""Server-rendered SVG for the channel report, in the style of pipeline's charts (no script, scales with its
box, the same numbers always in the table beside it). Leads keeps its own copy: it may run without
pipeline, and never imports it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 760
ROW = 46
GAP = 10
LABEL_W = 200
AREA = 300


@dataclass(frozen=True)
class Channel:
    label: str
    leads: int
    qualified: int
    won: int
    note: str
    """The figures written after the bars (already formatted)."""


def channel_bars(rows: Sequence[Channel], title: str, legend: Sequence[str]) -> Markup:
    """Per channel, three nested bars on one scale: leads (lightest), qualified, won (darkest), so both the
    volume and where leads drop out show at a glance; the figures follow on the right."""
    height = len(rows) * (ROW + GAP) + GAP + 26
    top = max((r.leads for r in rows), default=0) or 1
    parts = [f'<svg class="chart chart-channels" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMin meet">'
             f"<title>{escape(title)}</title>"]  # fmt: skip
    for index, row in enumerate(rows):
        y = GAP + index * (ROW + GAP)
        parts.append(f'<text class="chart-label" x="{LABEL_W - 8}" y="{y + ROW / 2 + 5}" text-anchor="end">'
                     f"{escape(_clip(row.label, 26))}</text>")  # fmt: skip
        for layer, (value, inset) in enumerate(((row.leads, 0), (row.qualified, 8), (row.won, 16))):
            width = max(2.0, AREA * value / top) if value else 0.0
            if not width:
                continue
            parts.append(f'<rect class="chart-bar chart-layer-{layer}" x="{LABEL_W}" y="{y + inset}" '
                         f'width="{width:.1f}" height="{ROW - 2 * inset}" rx="3"><title>{escape(row.label)} · '
                         f"{escape(legend[layer])}: {value}</title></rect>")  # fmt: skip
        parts.append(f'<text class="chart-value" x="{LABEL_W + AREA + 10}" y="{y + ROW / 2 + 5}">'
                     f"{escape(row.note)}</text>")  # fmt: skip
    x = float(LABEL_W)
    y = height - 18
    for layer, name in enumerate(legend):
        parts.append(f'<rect class="chart-bar chart-layer-{layer}" x="{x:.1f}" y="{y}" width="10" height="10"/>'
                     f'<text class="chart-axis" x="{x + 14:.1f}" y="{y + 9}">{escape(name)}</text>')  # fmt: skip
        x += 14 + 7.2 * len(name) + 18
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(text: str, size: int) -> str:
    """Long labels are cut in the picture only; the table beside it shows them whole."""
    return text if len(text) <= size else text[: size - 1] + "…"

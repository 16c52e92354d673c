"""Server-rendered SVG charts for the funnel and the forecast: no script, scale with their box, and the
same numbers are always in a table next to them (the chart has a title and is a picture for readers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
BAR = 34
GAP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    note: str
    """The figure written at the bar's end (count and money, already formatted)."""


def funnel(bars: Sequence[Bar], title: str) -> Markup:
    """Centred bars, widest for the largest value, narrowing the way a funnel does when deals drop out;
    the stage on the left, its figures on the right."""
    height = len(bars) * (BAR + GAP) + GAP
    top = max((b.value for b in bars), default=0) or 1
    parts = [f'<svg class="chart chart-funnel" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMin meet">'
             f"<title>{escape(title)}</title>"]  # fmt: skip
    label_w, area = 150, 300
    for index, bar in enumerate(bars):
        y = GAP + index * (BAR + GAP)
        width = max(2.0, area * bar.value / top) if bar.value else 2.0
        x = label_w + (area - width) / 2
        parts.append(f'<text class="chart-label" x="{label_w - 8}" y="{y + BAR / 2 + 5}" text-anchor="end">'
                     f"{escape(_clip(bar.label, 20))}</text>")  # fmt: skip
        parts.append(f'<rect class="chart-bar chart-bar-{index % 6}" x="{x:.1f}" y="{y}" width="{width:.1f}" '
                     f'height="{BAR}" rx="4"><title>{escape(bar.label)}: {escape(bar.note)}'
                     "</title></rect>")  # fmt: skip
        parts.append(f'<text class="chart-value" x="{label_w + area + 10}" y="{y + BAR / 2 + 5}">'
                     f"{escape(bar.note)}</text>")  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Stack:
    label: str
    parts: tuple[int, ...]
    """Stacked from the bottom, in the order of the legend."""
    line: int | None = None
    """A marker drawn across the column (the weighted expectation)."""


def columns(stacks: Sequence[Stack], legend: Sequence[str], title: str, fmt: Callable[[int], str]) -> Markup:
    """Stacked columns per period with a legend and a marker per column."""
    height, base, left, width = 240, 200, 120, 900
    top = max([sum(s.parts) for s in stacks] + [s.line or 0 for s in stacks] + [1])
    step = (width - left - 10) / max(len(stacks), 1)
    bar = min(44.0, step * 0.7)
    parts = [f'<svg class="chart chart-columns" viewBox="0 0 {width} {height + 24}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']  # fmt: skip
    for tick in range(0, 5):
        value = top * tick / 4
        y = base - (base - 10) * tick / 4
        parts.append(f'<line class="chart-grid" x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="chart-axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{escape(fmt(int(value)))}</text>")  # fmt: skip
    for index, stack in enumerate(stacks):
        x = left + index * step + (step - bar) / 2
        y = float(base)
        for part_index, value in enumerate(stack.parts):
            h = (base - 10) * value / top
            if h <= 0:
                continue
            y -= h
            parts.append(f'<rect class="chart-bar chart-bar-{part_index}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                         f'height="{h:.1f}"><title>{escape(stack.label)} · {escape(legend[part_index])}: '
                         f"{escape(fmt(value))}</title></rect>")  # fmt: skip
        if stack.line:
            ly = base - (base - 10) * stack.line / top
            parts.append(
                f'<line class="chart-mark" x1="{x - 4:.1f}" x2="{x + bar + 4:.1f}" y1="{ly:.1f}" y2="{ly:.1f}"/>'
            )
        parts.append(f'<text class="chart-axis" x="{x + bar / 2:.1f}" y="{base + 16}" text-anchor="middle">'
                     f"{escape(stack.label)}</text>")  # fmt: skip
    x = float(left)
    for index, name in enumerate(legend):
        parts.append(f'<rect class="chart-bar chart-bar-{index}" x="{x:.1f}" y="{height + 8}" width="10" height="10"/>'
                     f'<text class="chart-axis" x="{x + 14:.1f}" y="{height + 17}">{escape(name)}</text>')  # fmt: skip
        x += 14 + 7.2 * len(name) + 18
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
